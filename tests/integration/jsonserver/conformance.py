"""Replays the course's requests against a json-server-like server and
compares the answers with a transcript recorded from json-server 0.17.4.

    python3 conformance.py record --json-server PATH/TO/json-server   # rewrites expected.json
    python3 conformance.py compare --url http://127.0.0.1:PORT       # prints differences

The integration test (tests/integration/test_jsonserver.py) runs `compare`
against `wirelab up` on the fixture lab in this folder. Recording needs
json-server 0.17.4 from the npm registry (see README.md); the test does not.
"""
import argparse
import http.client
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.parse

HERE = os.path.dirname(os.path.abspath(__file__))
REQUESTS = os.path.join(HERE, "requests.json")
EXPECTED = os.path.join(HERE, "expected.json")

# Response headers whose values must match json-server's. Date and
# Keep-Alive timing are left out: they differ between any two runs.
COMPARED_HEADERS = [
    "content-type", "content-length", "x-total-count", "link", "etag",
    "access-control-allow-origin", "access-control-allow-credentials",
    "access-control-allow-methods", "access-control-allow-headers",
    "access-control-expose-headers", "vary", "cache-control", "pragma",
    "expires", "location", "x-content-type-options", "x-powered-by", "connection",
]


def load_requests():
    with open(REQUESTS, encoding="utf-8") as f:
        return json.load(f)


def send(base_url, req, timeout=10):
    """One request on its own connection; returns the recorded response."""
    u = urllib.parse.urlsplit(base_url)
    conn = http.client.HTTPConnection(u.hostname, u.port, timeout=timeout)
    try:
        body = req.get("body")
        data = body.encode("utf-8") if body is not None else None
        headers = dict(req.get("headers", {}))
        conn.request(req["method"], req["target"], body=data, headers=headers)
        res = conn.getresponse()
        raw = res.read()
        hdrs = {}
        for k, v in res.getheaders():
            hdrs.setdefault(k.lower(), []).append(v)
        text = raw.decode("utf-8", errors="replace")
        try:
            parsed = json.loads(text) if text else None
            is_json = bool(text)
        except ValueError:
            parsed, is_json = None, False
        return {
            "status": res.status,
            "headers": {k: ", ".join(v) for k, v in hdrs.items() if k in COMPARED_HEADERS},
            "body_json" if is_json else "body_text": parsed if is_json else text,
        }
    finally:
        conn.close()


def normalise(resp, base_url):
    """Replaces the server's own URL in headers (Link, Location) with BASE."""
    out = json.loads(json.dumps(resp))
    for k, v in out["headers"].items():
        out["headers"][k] = v.replace(base_url.rstrip("/"), "BASE")
    return out


def replay(base_url):
    out = []
    for r in load_requests():
        resp = normalise(send(base_url, r), base_url)
        if r.get("compare") == "status-and-first-line":
            # An error page whose body is a stack trace: only its first line
            # (the error message) is the same on every machine.
            resp["body_text"] = resp.get("body_text", "").split("\n")[0]
            resp["headers"] = {k: v for k, v in resp["headers"].items()
                               if k not in ("content-length", "etag")}
        out.append(dict(name=r["name"], response=resp))
    return out


def diff(expected, actual):
    """Human-readable differences, one string per mismatching request."""
    problems = []
    for exp, act in zip(expected, actual):
        e, a = exp["response"], act["response"]
        where = f"{exp['name']!r}"
        if e["status"] != a["status"]:
            problems.append(f"{where}: status {a['status']}, json-server answers {e['status']}")
        for key in ("body_json", "body_text"):
            if e.get(key, None) != a.get(key, None) and (key in e or key in a):
                problems.append(f"{where}: {key} {json.dumps(a.get(key))[:300]}, "
                                f"json-server answers {json.dumps(e.get(key))[:300]}")
        for h in sorted(set(e["headers"]) | set(a["headers"])):
            if e["headers"].get(h) != a["headers"].get(h):
                problems.append(f"{where}: header {h}: {a['headers'].get(h)!r}, "
                                f"json-server answers {e['headers'].get(h)!r}")
    if len(expected) != len(actual):
        problems.append(f"{len(actual)} responses, transcript has {len(expected)}")
    return problems


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for(port, deadline):
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
            return
        except OSError:
            time.sleep(0.05)
    raise SystemExit(f"nothing listens on 127.0.0.1:{port}")


def record(json_server):
    with tempfile.TemporaryDirectory() as tmp:
        db = os.path.join(tmp, "cars.json")
        shutil.copy(os.path.join(HERE, "cars.json"), db)
        port = free_port()
        proc = subprocess.Popen([json_server, "--host", "127.0.0.1", "--port", str(port), db],
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            wait_for(port, time.monotonic() + 30)
            version = subprocess.run([json_server, "--version"], capture_output=True,
                                     text=True).stdout.strip()
            transcript = {"server": f"json-server {version}", "responses":
                          replay(f"http://127.0.0.1:{port}")}
        finally:
            proc.terminate()
            proc.wait()
    with open(EXPECTED, "w", encoding="utf-8") as f:
        json.dump(transcript, f, indent=1, ensure_ascii=False)
        f.write("\n")
    print(f"recorded {len(transcript['responses'])} responses from {transcript['server']}")


def compare(url):
    with open(EXPECTED, encoding="utf-8") as f:
        expected = json.load(f)["responses"]
    return diff(expected, replay(url))


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = p.add_subparsers(dest="cmd", required=True)
    r = sub.add_parser("record")
    r.add_argument("--json-server", required=True)
    c = sub.add_parser("compare")
    c.add_argument("--url", required=True)
    a = p.parse_args()
    if a.cmd == "record":
        record(a.json_server)
        return 0
    problems = compare(a.url)
    for line in problems:
        print(line)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
