#!/usr/bin/env python3
"""Benchmark: the classroom server with a class of hosted learners.

A release `wirelab classroom` with a 200-learner roster: its RSS idle; 200
hosted rest-cars sessions started one after another (time per session, the
classroom's RSS and the sessions' RSS); 20 learners running the rest-cars
solution against their own hosted API and pressing "check" while the
trainer's live stream is open (the time from the press to the grid's
update event, and to a fresh GET /api/grid); checks for all 200 (grading
throughput); the grid's size and time with 200 learners. No peer serves a
classroom, so these are absolute numbers on this machine. Run with `make
bench`; never part of `make test`.

Usage: bench/classroom.py [--wirelab build-release/app/wirelab] [--learners 200] [--append bench/RESULTS.md]
"""
import argparse
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
SOURCE = os.path.dirname(HERE)
SCENARIO = {
    "id": "bench-day",
    "title": "A benchmark day",
    "labs": [{"lab": "rest-cars", "open": True}],
    "faults": {"api-slow": {"lab": "rest-cars", "service": "api", "description": "1 ms before each answer",
                            "profile": {"latency": 1}}},
}


def rss_mb(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return 0.0


def children(pid):
    out = subprocess.run(["ps", "-o", "pid=", "--ppid", str(pid)], capture_output=True, text=True).stdout
    return [int(p) for p in out.split()]


def call(url, method, path, token, body=None):
    req = urllib.request.Request(url + path, data=json.dumps(body).encode() if body is not None else
                                 (b"" if method == "POST" else None), method=method)
    req.add_header("Authorization", "Bearer " + token)
    with urllib.request.urlopen(req, timeout=120) as r:
        return json.loads(r.read())


class Stream:
    """The trainer's server-sent events, with the time each one arrived."""

    def __init__(self, url, token):
        host, port = url[len("http://"):].rsplit(":", 1)
        self.sock = socket.create_connection((host, int(port)))
        self.sock.sendall(f"GET /api/events?token={token} HTTP/1.1\r\nHost: x\r\n\r\n".encode())
        self.events = []  # (time, submission id)
        self.cv = threading.Condition()
        threading.Thread(target=self.read, daemon=True).start()

    def read(self):
        buf = b""
        while True:
            chunk = self.sock.recv(65536)
            if not chunk:
                return
            now = time.perf_counter()
            buf += chunk
            while b"\n\n" in buf:
                frame, buf = buf.split(b"\n\n", 1)
                text = frame.decode()
                if text.startswith("event: submission"):
                    data = json.loads(text.split("data: ", 1)[1])
                    with self.cv:
                        self.events.append((now, data["id"]))
                        self.cv.notify_all()

    def wait_for(self, sub_id, timeout=30):
        with self.cv:
            end = time.perf_counter() + timeout
            while not any(i == sub_id for _, i in self.events):
                self.cv.wait(max(0.0, end - time.perf_counter()))
                if time.perf_counter() > end:
                    raise TimeoutError(f"no event for submission {sub_id}")
            return next(t for t, i in self.events if i == sub_id)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--wirelab", default=os.path.join(SOURCE, "build-release", "app", "wirelab"))
    ap.add_argument("--learners", type=int, default=200)
    ap.add_argument("--graded", type=int, default=20, help="learners who run the solution and press check")
    ap.add_argument("--append", default=None, help="append the section to this Markdown file")
    a = ap.parse_args()
    python = "/usr/bin/python3" if os.path.exists("/usr/bin/python3") else sys.executable

    with tempfile.TemporaryDirectory(prefix="wirelab-bench-classroom-") as tmp:
        scenario = os.path.join(tmp, "bench-day.json")
        with open(scenario, "w") as f:
            json.dump(SCENARIO, f)
        roster = os.path.join(tmp, "class.csv")
        with open(roster, "w") as f:
            f.write("name,email\n" + "".join(f"Learner {i},l{i}@example.org\n" for i in range(1, a.learners + 1)))
        room = subprocess.Popen([a.wirelab, "classroom", scenario, "--roster", roster, "--state", os.path.join(tmp, "state"),
                                 "--port", "0", "--format", "json"], stdout=subprocess.PIPE, text=True, cwd=SOURCE)
        try:
            info = json.loads(room.stdout.readline())
            url, trainer = info["url"], info["trainer_token"]
            tokens = [l["token"] for l in info["learners"]]
            time.sleep(0.5)
            r = {"learners": a.learners, "rss_idle_mb": rss_mb(room.pid)}

            starts, hosted = [], []
            t0 = time.perf_counter()
            for tok in tokens:
                s = time.perf_counter()
                hosted.append(call(url, "POST", "/api/labs/rest-cars/hosted", tok))
                starts.append((time.perf_counter() - s) * 1000)
            r["start_all_s"] = time.perf_counter() - t0
            r["start_p50_ms"] = statistics.median(starts)
            r["start_max_ms"] = max(starts)
            time.sleep(1)
            kids = children(room.pid)
            r["sessions"] = len(kids)
            r["rss_classroom_mb"] = rss_mb(room.pid)
            kid_rss = [rss_mb(k) for k in kids]
            r["rss_sessions_total_mb"] = sum(kid_rss)
            r["rss_session_p50_mb"] = statistics.median(kid_rss)

            stream = Stream(url, trainer)
            time.sleep(0.3)
            to_event, to_answer, to_grid = [], [], []
            for tok, h in list(zip(tokens, hosted))[: a.graded]:
                env = dict(os.environ, **h["env"])
                subprocess.run([python, os.path.join(SOURCE, "labs", "rest-cars", "solution.py")], env=env,
                               capture_output=True, check=True, timeout=60)
                s = time.perf_counter()
                graded = call(url, "POST", "/api/labs/rest-cars/hosted/check", tok)
                answered = time.perf_counter()
                seen = stream.wait_for(graded["id"])
                grid = call(url, "GET", "/api/grid", trainer)
                gridded = time.perf_counter()
                assert any(l["labs"].get("rest-cars", {}).get("latest") == graded["id"] for l in grid["learners"])
                to_answer.append((answered - s) * 1000)
                to_event.append((seen - s) * 1000)
                to_grid.append((gridded - s) * 1000)
            r["check_p50_ms"] = statistics.median(to_answer)
            r["event_p50_ms"] = statistics.median(to_event)
            r["event_max_ms"] = max(to_event)
            r["grid_updated_p50_ms"] = statistics.median(to_grid)

            t0 = time.perf_counter()
            for tok in tokens[a.graded:]:
                call(url, "POST", "/api/labs/rest-cars/hosted/check", tok)
            n = len(tokens) - a.graded
            r["checks_per_s"] = n / (time.perf_counter() - t0) if n else 0
            s = time.perf_counter()
            req = urllib.request.Request(url + "/api/grid", headers={"Authorization": "Bearer " + trainer})
            with urllib.request.urlopen(req) as resp:
                body = resp.read()
            r["grid_ms"] = (time.perf_counter() - s) * 1000
            r["grid_kb"] = len(body) / 1024
            # a class-wide fault switch restarts every hosted session of the lab
            s = time.perf_counter()
            call(url, "POST", "/api/actions", trainer, {"action": "fault", "fault": "api-slow"})
            r["fault_switch_s"] = time.perf_counter() - s
            r["sessions_after_switch"] = len(children(room.pid))
            r["rss_after_mb"] = rss_mb(room.pid)
        finally:
            room.terminate()
            room.wait(timeout=60)

    lines = [
        "",
        "## Classroom server: %d hosted learners" % r["learners"],
        "",
        "`bench/classroom.py` (release build): a %d-learner roster, one hosted rest-cars session per learner "
        "(a `wirelab up` process each), %d of them running the solution and pressing check while the "
        "trainer's live stream is open. No peer serves a classroom: absolute numbers, this machine." % (r["learners"], a.graded),
        "",
        "| measure | value |",
        "|---|---|",
        "| classroom RSS idle | %.1f MB |" % r["rss_idle_mb"],
        "| start %d hosted sessions, one after another | %.1f s (median %.0f ms, max %.0f ms each) |"
        % (r["learners"], r["start_all_s"], r["start_p50_ms"], r["start_max_ms"]),
        "| sessions running | %d |" % r["sessions"],
        "| classroom RSS with them | %.1f MB |" % r["rss_classroom_mb"],
        "| sessions' RSS | %.0f MB in all, median %.1f MB each |" % (r["rss_sessions_total_mb"], r["rss_session_p50_mb"]),
        "| \"check\" answered (snapshot + grade + store) | median %.0f ms |" % r["check_p50_ms"],
        "| dashboard update event after \"check\" | median %.0f ms, max %.0f ms |" % (r["event_p50_ms"], r["event_max_ms"]),
        "| …and a fresh grid fetched | median %.0f ms |" % r["grid_updated_p50_ms"],
        "| hosted checks, one after another | %.1f per second |" % r["checks_per_s"],
        "| GET /api/grid with %d learners | %.0f ms, %.0f KB |" % (r["learners"], r["grid_ms"], r["grid_kb"]),
        "| trainer switches a fault on: every hosted session restarted with it (same ports) | %.1f s, %d running after |"
        % (r["fault_switch_s"], r["sessions_after_switch"]),
        "| classroom RSS at the end | %.1f MB |" % r["rss_after_mb"],
        "",
    ]
    text = "\n".join(lines)
    print(text)
    if a.append:
        with open(a.append, "a") as f:
            f.write(text)
        with open(os.path.splitext(a.append)[0] + "-classroom.json", "w") as f:
            json.dump(r, f, indent=2)


if __name__ == "__main__":
    main()
