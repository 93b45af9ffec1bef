#!/usr/bin/env python3
"""Benchmarks against the tools a wirelab user would pick instead, side by
side in one run on this machine; writes bench/RESULTS.md.

Peers: json-server 0.17.4 and mountebank 2.9.1 (npm, in bench/node_modules),
nginx (Debian) serving the same JSON as static files, and a bare Boost.Beast
server (bench/floor, the floor of this stack). Load: wrk, one thread, on the
other core. Every number is the median of --repeat runs; the ratios between
servers measured in the same run are what to read, absolute numbers drift
on a shared machine.

Measured: REST throughput and latency (GET /cars of 100 cars, GET /cars/1,
POST /cars at 1 and 50 connections) with the server's CPU; start-up until
every service answers (a 1-service and a 4-service lab); RSS idle and after
load; `wirelab check` against `python3 solution.py` alone, in pairs; the rest-cars
checks over a journal of 100k exchanges, and journal bytes per exchange.

Usage: bench/peers.py [--wirelab build-release/app/wirelab] [--seconds 3] [--repeat 3] [--out bench/RESULTS.md]
"""
import argparse
import json
import os
import platform
import re
import shutil
import socket
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.parse
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
NODE_BIN = os.path.join(HERE, "node_modules")
PYTHON = "/usr/bin/python3" if os.path.exists("/usr/bin/python3") else sys.executable
TICK = os.sysconf("SC_CLK_TCK")


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def cars(n=100):
    brands = ["Ford", "Fiat", "Volvo", "Saab", "Skoda", "Opel", "Audi", "Kia", "Seat", "Mini"]
    return [{"id": i, "brand": brands[i % 10], "model": f"Model {i}", "production_year": 1950 + i % 70,
             "convertible": i % 3 == 0} for i in range(1, n + 1)]


def http_get(url, timeout=2):
    with urllib.request.urlopen(url, timeout=timeout) as r:
        return r.status, r.read()


def probe_http(url, timeout=0.5):
    """One GET over a plain socket, for the start-up timings: urllib's first
    request costs milliseconds of its own (openers, proxy lookup), which
    would be counted against whichever server is probed first."""
    u = urllib.parse.urlsplit(url)
    with socket.create_connection((u.hostname, u.port), timeout=timeout) as s:
        s.sendall(f"GET {u.path or '/'} HTTP/1.1\r\nHost: {u.netloc}\r\nConnection: close\r\n\r\n".encode())
        head = s.recv(64)
    if not head.startswith(b"HTTP/1.") or int(head[9:12]) >= 500:
        raise OSError(f"{url}: {head[:20]!r}")


def wait_http(url, deadline_s=30):
    t0 = time.monotonic()
    while time.monotonic() - t0 < deadline_s:
        try:
            probe_http(url)
            return time.monotonic() - t0
        except Exception:
            time.sleep(0.002)
    raise RuntimeError(f"{url} did not answer within {deadline_s} s")


def wait_tcp(port, deadline_s=30):
    t0 = time.monotonic()
    while time.monotonic() - t0 < deadline_s:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
            return
        except OSError:
            time.sleep(0.002)
    raise RuntimeError(f"port {port} did not accept within {deadline_s} s")


def cpu_ticks(pid):
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return int(fields[11]) + int(fields[12])  # utime + stime


def rss_mb(pid):
    with open(f"/proc/{pid}/status") as f:
        m = re.search(r"^VmRSS:\s+(\d+) kB", f.read(), re.M)
    return int(m.group(1)) / 1024


class Server:
    """A running server: its process, base URL, and the pid whose CPU and RSS count."""

    def __init__(self, name, proc, base, pid=None):
        self.name, self.proc, self.base, self.pid = name, proc, base, pid or proc.pid

    def stop(self):
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


class Peers:
    def __init__(self, args, tmp):
        self.a, self.tmp = args, tmp
        self.db = os.path.join(tmp, "db.json")
        json.dump({"cars": cars()}, open(self.db, "w"), indent=2)
        self.lab = os.path.join(tmp, "cars100")
        os.makedirs(os.path.join(self.lab, "data"))
        shutil.copy(self.db, os.path.join(self.lab, "data", "db.json"))
        json.dump({"id": "bench-cars", "title": "100 cars", "services": {"api": {"kind": "http", "data": "data/db.json"}},
                   "checks": [{"id": "exit", "title": "exits", "kind": "exit"}]}, open(os.path.join(self.lab, "lab.json"), "w"))
        self.four = os.path.join(tmp, "four")
        os.makedirs(os.path.join(self.four, "data"))
        shutil.copy(self.db, os.path.join(self.four, "data", "db.json"))
        json.dump({"id": "bench-four", "title": "four services", "services": {
            "api": {"kind": "http", "data": "data/db.json"},
            "echo": {"kind": "tcp", "protocol": "echo"},
            "db": {"kind": "sql", "schema": "CREATE TABLE t(id INTEGER PRIMARY KEY, name TEXT)"},
            "cache": {"kind": "nosql"}},
            "checks": [{"id": "exit", "title": "exits", "kind": "exit"}]}, open(os.path.join(self.four, "lab.json"), "w"))
        self.runs = 0

    # -- starting each server -------------------------------------------------
    def wirelab(self, journal=True, lab=None):
        self.runs += 1
        run = os.path.join(self.tmp, f"run{self.runs}")
        cmd = [self.a.wirelab, "up", lab or self.lab, "--ephemeral", "--format", "json", "--run-dir", run]
        if not journal:
            cmd.append("--no-traffic-journal")
        p = subprocess.Popen(cmd, stdout=subprocess.PIPE, text=True)
        info = json.loads(p.stdout.readline())
        s = Server("wirelab" if journal else "wirelab (no journal)", p, info["services"]["api"]["url"])
        s.info, s.run = info, run
        return s

    def json_server(self):
        port = free_port()
        p = subprocess.Popen(["node", os.path.join(NODE_BIN, "json-server", "lib", "cli", "bin.js"), "--port", str(port),
                              "--quiet", self.db], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, cwd=self.tmp)
        base = f"http://127.0.0.1:{port}"
        wait_http(base + "/cars/1")
        return Server("json-server", p, base)

    def mountebank(self, record=True):
        api, port = free_port(), free_port()
        p = subprocess.Popen(["node", os.path.join(NODE_BIN, "mountebank", "bin", "mb"), "--port", str(api), "--nologfile",
                              "--loglevel", "error"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, cwd=self.tmp)
        wait_http(f"http://127.0.0.1:{api}/imposters")
        all_cars = json.dumps(cars())
        one = json.dumps(cars()[0])
        hdr = {"Content-Type": "application/json; charset=utf-8"}
        imposter = {"port": port, "protocol": "http", "recordRequests": record, "stubs": [
            {"predicates": [{"equals": {"method": "GET", "path": "/cars/1"}}],
             "responses": [{"is": {"statusCode": 200, "headers": hdr, "body": one}}]},
            {"predicates": [{"equals": {"method": "GET", "path": "/cars"}}],
             "responses": [{"is": {"statusCode": 200, "headers": hdr, "body": all_cars}}]},
            {"predicates": [{"equals": {"method": "POST", "path": "/cars"}}],
             "responses": [{"is": {"statusCode": 201, "headers": hdr, "body": one}}]}]}
        req = urllib.request.Request(f"http://127.0.0.1:{api}/imposters", data=json.dumps(imposter).encode(),
                                     headers={"Content-Type": "application/json"}, method="POST")
        urllib.request.urlopen(req, timeout=10).read()
        base = f"http://127.0.0.1:{port}"
        wait_http(base + "/cars/1")
        return Server("mountebank" + ("" if record else " (no recording)"), p, base)

    def nginx(self):
        root = os.path.join(self.tmp, "www")
        os.makedirs(root, exist_ok=True)
        # nginx's worker runs as an unprivileged user: it must read the files
        os.chmod(self.tmp, 0o755)
        os.chmod(root, 0o755)
        json.dump(cars(), open(os.path.join(root, "cars.json"), "w"), indent=2)
        json.dump(cars()[0], open(os.path.join(root, "car1.json"), "w"), indent=2)
        port = free_port()
        conf = os.path.join(self.tmp, "nginx.conf")
        open(conf, "w").write(f"""
worker_processes 1; daemon off; pid {self.tmp}/nginx.pid; error_log {self.tmp}/nginx.err;
events {{ worker_connections 1024; }}
http {{
  access_log off; default_type application/json;
  client_body_temp_path {self.tmp}/nginx-body; proxy_temp_path {self.tmp}/nginx-proxy;
  fastcgi_temp_path {self.tmp}/nginx-fcgi; uwsgi_temp_path {self.tmp}/nginx-uwsgi; scgi_temp_path {self.tmp}/nginx-scgi;
  server {{ listen 127.0.0.1:{port}; root {root};
    location = /cars {{ try_files /cars.json =404; }}
    location = /cars/1 {{ try_files /car1.json =404; }} }}
}}""")
        p = subprocess.Popen(["nginx", "-c", conf, "-p", self.tmp], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        base = f"http://127.0.0.1:{port}"
        wait_http(base + "/cars/1")
        # the worker serves; its parent only supervises
        time.sleep(0.1)
        kids = open(f"/proc/{p.pid}/task/{p.pid}/children").read().split()
        return Server("nginx (static files)", p, base, int(kids[0]) if kids else p.pid)

    def beast(self):
        exe = os.path.join(os.path.dirname(self.a.wirelab), "..", "bench", "floor", "beast_floor")
        p = subprocess.Popen([exe, "0", os.path.join(self.tmp, "www", "cars.json") if os.path.exists(
            os.path.join(self.tmp, "www", "cars.json")) else self.db], stdout=subprocess.PIPE, text=True)
        port = int(p.stdout.readline())
        return Server("bare Beast", p, f"http://127.0.0.1:{port}")


def wrk(url, connections, seconds, script=None):
    cmd = ["wrk", "-t1", f"-c{connections}", f"-d{seconds}s", "--latency"]
    if script:
        cmd += ["-s", script]
    out = subprocess.run(cmd + [url], capture_output=True, text=True, check=True).stdout

    def pct(p):
        m = re.search(rf"^\s+{p}%\s+([\d.]+)(us|ms|s)\s*$", out, re.M)
        return float(m.group(1)) * {"us": 0.001, "ms": 1, "s": 1000}[m.group(2)]
    non2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    return {"rps": float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1)), "p50_ms": pct(50),
            "p99_ms": pct(99), "errors": int(non2xx.group(1)) if non2xx else 0}


def load(server, path, conns, seconds, script=None):
    t0, c0 = time.monotonic(), cpu_ticks(server.pid)
    r = wrk(server.base + path, conns, seconds, script)
    r["cpu_pct"] = 100 * (cpu_ticks(server.pid) - c0) / TICK / (time.monotonic() - t0)
    return r


def median_of(runs):
    return {k: statistics.median(r[k] for r in runs) for k in runs[0]}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--wirelab", default=os.path.join(ROOT, "build-release", "app", "wirelab"))
    ap.add_argument("--seconds", type=int, default=3)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--out", default=os.path.join(HERE, "RESULTS.md"))
    ap.add_argument("--only", default="rest,cost,micro,startup,memory,check,journal")
    a = ap.parse_args()
    a.wirelab = os.path.abspath(a.wirelab)
    parts = set(a.only.split(","))
    results = {"machine": machine(), "seconds": a.seconds, "repeat": a.repeat}

    with tempfile.TemporaryDirectory(prefix="wirelab-peers-") as tmp:
        peers = Peers(a, tmp)
        post = os.path.join(tmp, "post.lua")
        open(post, "w").write('wrk.method = "POST"\nwrk.headers["Content-Type"] = "application/json"\n'
                              'wrk.body = \'{"brand": "Volvo", "model": "P1800", "production_year": 1961}\'\n')
        if "rest" in parts:
            results["rest"] = rest(peers, a, post)
        if "cost" in parts:
            results["journal_cost"] = journal_cost(peers, a, post)
        if "micro" in parts:
            results["journal_micro"] = journal_micro(a)
        if "startup" in parts:
            results["startup"] = startup(peers, a)
        if "memory" in parts:
            results["memory"] = memory(peers, a)
        if "check" in parts:
            results["check"] = check_cost(a, tmp)
        if "journal" in parts:
            results["journal"] = journal_scale(a, tmp, results.get("rest"))
    with open(a.out, "w") as f:
        f.write(render(results, a))
    json.dump(results, open(os.path.splitext(a.out)[0] + ".json", "w"), indent=1)
    print(open(a.out).read())


def machine():
    model = ""
    try:
        model = re.search(r"^model name\s*:\s*(.+)$", open("/proc/cpuinfo").read(), re.M).group(1)
    except Exception:
        pass
    return {"cores": os.cpu_count(), "model": model, "kernel": platform.release(),
            "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())}


def rest(peers, a, post):
    out = []
    starters = [("wirelab", lambda: peers.wirelab(True)), ("wirelab (no journal)", lambda: peers.wirelab(False)),
                ("json-server", peers.json_server), ("mountebank", peers.mountebank),
                ("nginx (static files)", peers.nginx), ("bare Beast", peers.beast)]
    for name, start in starters:
        s = start()
        try:
            for label, path, script in (("GET /cars/1", "/cars/1", None), ("GET /cars", "/cars", None),
                                        ("POST /cars", "/cars", post)):
                if script and name.startswith("nginx"):
                    continue
                for conns in (1, 50):
                    runs = [load(s, path, conns, a.seconds, script) for _ in range(a.repeat)]
                    row = {"server": name, "request": label, "connections": conns, **median_of(runs)}
                    out.append(row)
                    print(f"{name:22} {label:12} c{conns:<3} {row['rps']:>10.0f}/s  p99 {row['p99_ms']:.2f} ms", flush=True)
            if name == "wirelab":
                db = os.path.join(s.run, "journal.db")
        finally:
            s.stop()
        if name == "wirelab":
            out.append({"journal": db_stats(db)})
        # The journal of the run just ended is a gigabyte or more of dirty
        # pages: written back while the next server runs, it stalled that
        # server (its CPU fell to ~40% and its p99 rose tenfold).
        os.sync()
    return out


def journal_cost(peers, a, post, rounds=6):
    """The journal's cost measured in pairs: a wirelab with its journal and
    one without, both running, loaded in turn (with, without, with, ...) at
    50 connections; the cost is the median of the rounds' ratios. Measured
    minutes apart, as the table above is, the two drift apart with the
    machine's load (runs of one server alone varied 17k-45k/s here)."""
    out = []
    on, off, floor = peers.wirelab(True), peers.wirelab(False), peers.beast()
    try:
        for label, path, script in (("GET /cars/1", "/cars/1", None), ("POST /cars", "/cars", post)):
            pairs = []
            for i in range(rounds):
                # which goes first alternates too; the bare Beast server is
                # loaded in the same rounds (the target of 0.5× it)
                order = [on, off, floor] if i % 2 == 0 else [floor, off, on]
                got = {s.name: load(s, path, 50, a.seconds, script)["rps"] for s in order}
                w, o, b = got[on.name], got[off.name], got[floor.name]
                pairs.append({"with": w, "without": o, "beast": b, "cost": 1 - w / o})
            row = {"request": label, "connections": 50, "rounds": pairs,
                   "cost": statistics.median(p["cost"] for p in pairs),
                   "of_beast": statistics.median(p["with"] / p["beast"] for p in pairs)}
            out.append(row)
            each = ", ".join(f"{100 * x['cost']:.0f}%" for x in pairs)
            print(f"journal's cost {label:12} c50 {100 * row['cost']:.0f}% (rounds: {each}); "
                  f"{row['of_beast']:.2f}× the bare Beast server", flush=True)
    finally:
        on.stop()
        off.stop()
        floor.stop()
    os.sync()
    return out


def journal_micro(a):
    """bench/floor/journal_micro (beside the wirelab binary's build): the
    journal alone, without sockets, the CPU time an exchange costs the
    serving thread and the writer thread, and its bytes on disk."""
    exe = os.path.join(os.path.dirname(os.path.dirname(a.wirelab)), "bench", "floor", "journal_micro")
    if not os.path.exists(exe):
        print(f"journal_micro: {exe} is not built (the release preset builds it)", flush=True)
        return []
    out = subprocess.run([exe, "--repeat", str(max(3, a.repeat))], capture_output=True, text=True, check=True).stdout
    rows = [json.loads(line) for line in out.splitlines() if line.startswith("{")]
    for row in rows:
        print(f"journal alone, {row['kind']}: serving thread +{row['serving_us']:.2f} us, writer {row['writer_us']:.2f} us, "
              f"{row['bytes']:.0f} bytes per exchange", flush=True)
    return rows


def db_stats(db):
    con = sqlite3.connect(db)
    n = con.execute("SELECT count(*) FROM http").fetchone()[0]
    sent = con.execute("SELECT coalesce(sum(length(req_body) + length(resp_body)), 0) FROM http").fetchone()[0]
    # The bodies as stored (schema 3: a body that repeats is stored once).
    if con.execute("SELECT 1 FROM sqlite_master WHERE name = 'bodies'").fetchone():
        bodies = con.execute("SELECT coalesce(sum(length(req_body)), 0) + coalesce(sum(length(resp_body)), 0) "
                             "FROM http_exchanges").fetchone()[0] + \
            con.execute("SELECT coalesce(sum(length(data)), 0) FROM bodies").fetchone()[0]
    else:
        bodies = sent
    # The raw bytes stored as such (schema 4: those of an exchange that went
    # in one read and one write are rebuilt from its row, not stored; the
    # `chunks` view would rebuild every one of them to count it).
    raw_table = "chunk_rows" if con.execute("SELECT 1 FROM sqlite_master WHERE name = 'chunk_rows'").fetchone() \
        else "chunks"
    raw, raw_rows = con.execute(f"SELECT coalesce(sum(length(data)), 0), count(*) FROM {raw_table}").fetchone()
    rebuilt = con.execute("SELECT count(req_chunk_id) + count(resp_chunk_id) FROM http_exchanges").fetchone()[0] \
        if raw_table == "chunk_rows" else 0
    con.close()
    size = sum(os.path.getsize(db + ext) for ext in ("", "-wal") if os.path.exists(db + ext))
    return {"exchanges": n, "bytes": size, "http_bodies": bodies, "http_bodies_sent": sent, "raw_chunks": raw,
            "raw_chunk_rows": raw_rows, "rebuilt_chunks": rebuilt}


def startup(peers, a):
    out = {}

    def time_wirelab(lab, services):
        t0 = time.monotonic()
        s = peers.wirelab(True, lab)
        info = s.info["services"]
        for name, svc in info.items():
            if svc["kind"] == "http":
                wait_http(svc["url"] + "/cars/1")
            else:
                wait_tcp(svc["port"])
        t = time.monotonic() - t0
        s.stop()
        return t

    for label, fn in (("wirelab, 1 service", lambda: time_wirelab(peers.lab, 1)),
                      ("wirelab, 4 services", lambda: time_wirelab(peers.four, 4)),
                      ("json-server", lambda: timed_start(peers.json_server)),
                      ("mountebank", lambda: timed_start(peers.mountebank))):
        out[label] = statistics.median(fn() for _ in range(max(5, a.repeat)))
        print(f"start-up {label:22} {out[label] * 1000:.1f} ms", flush=True)
    return out


def timed_start(start):
    t0 = time.monotonic()
    s = start()
    t = time.monotonic() - t0
    s.stop()
    return t


def memory(peers, a):
    out = []
    for start in (lambda: peers.wirelab(True), peers.json_server, peers.mountebank):
        s = start()
        try:
            time.sleep(0.5)
            idle = rss_mb(s.pid)
            wrk(s.base + "/cars/1", 50, 10)
            loaded = rss_mb(s.pid)
            out.append({"server": s.name, "idle_mb": idle, "after_10s_mb": loaded})
            print(f"memory {s.name:22} idle {idle:.1f} MB, after 10 s of load {loaded:.1f} MB", flush=True)
        finally:
            s.stop()
    return out


def check_cost(a, tmp, runs=61):
    """`wirelab check rest-cars solution.py` against the same script run
    alone against a running `wirelab up`, in pairs (which goes first
    alternates): the extra time is the median of the pairs' differences,
    which drifts less with the machine's load than a difference of medians.
    61 pairs (~15 s): the median of 21 moved from 8 to 18 ms between two
    runs of the same binary, of 61 by 13 and 13."""
    lab = os.path.join(ROOT, "labs", "rest-cars")
    solution = os.path.join(lab, "solution.py")
    env = dict(os.environ, WIRELAB_PYTHON=PYTHON, NO_COLOR="1")
    checks, alone = [], []
    # The memory test's journal (hundreds of MB) written back while the
    # checks run made each check's last fdatasync wait behind it.
    os.sync()

    def check(i):
        t0 = time.monotonic()
        r = subprocess.run([a.wirelab, "check", lab, solution, "--ephemeral", "--run-dir", os.path.join(tmp, f"chk{i}")],
                           capture_output=True, env=env)
        checks.append(time.monotonic() - t0)
        assert r.returncode == 0, r.stdout

    def by_itself(i):
        up = subprocess.Popen([a.wirelab, "up", lab, "--ephemeral", "--format", "json", "--run-dir",
                               os.path.join(tmp, f"alone{i}")], stdout=subprocess.PIPE, text=True)
        info = json.loads(up.stdout.readline())
        t0 = time.monotonic()
        subprocess.run([PYTHON, solution], env=dict(env, **info["env"]), capture_output=True, check=True)
        alone.append(time.monotonic() - t0)
        up.terminate()
        up.wait()

    for i in range(max(runs, a.repeat)):
        for run in ((check, by_itself) if i % 2 == 0 else (by_itself, check)):
            run(i)
    out = {"wirelab_check_s": statistics.median(checks), "python_alone_s": statistics.median(alone),
           "extra_s": statistics.median(c - p for c, p in zip(checks, alone)), "pairs": len(checks)}
    print(f"wirelab check {out['wirelab_check_s'] * 1000:.0f} ms, python alone {out['python_alone_s'] * 1000:.0f} ms, "
          f"extra (median of {out['pairs']} pairs) {out['extra_s'] * 1000:.0f} ms")
    return out


def check_extra_ms(c):
    """What `wirelab check` adds (results before the pairs: the medians' difference)."""
    return 1000 * c.get("extra_s", c["wirelab_check_s"] - c["python_alone_s"])


def journal_scale(a, tmp, rest_results, n=100_000):
    """The rest-cars checks over a journal of `n` exchanges: a real run of
    the solution, its exchanges copied until there are n (each copy on a
    connection of its own, as a client that never reuses one)."""
    lab = os.path.join(ROOT, "labs", "rest-cars")
    run = os.path.join(tmp, "big")
    subprocess.run([a.wirelab, "check", lab, os.path.join(lab, "solution.py"), "--ephemeral", "--run-dir", run],
                   capture_output=True, env=dict(os.environ, WIRELAB_PYTHON=PYTHON), check=True)
    db = os.path.join(run, "journal.db")
    con = sqlite3.connect(db)
    base = con.execute("SELECT count(*) FROM http").fetchone()[0]
    # Copied as the journal stores them (schema 2: the rows keep their header
    # lists' ids, as the rows of a real run share them).
    table = "http_exchanges" if con.execute("SELECT 1 FROM sqlite_master WHERE name = 'http_exchanges'").fetchone() \
        else "http"
    cols = [c[1] for c in con.execute(f"PRAGMA table_info({table})") if c[1] != "id"]
    ccols = [c[1] for c in con.execute("PRAGMA table_info(connections)") if c[1] != "id"]
    with con:
        while con.execute("SELECT count(*) FROM http").fetchone()[0] < n:
            have = con.execute("SELECT count(*) FROM http").fetchone()[0]
            take = min(have, n - have)
            off = con.execute("SELECT max(id) FROM connections").fetchone()[0]
            con.execute(f"INSERT INTO connections(id, {', '.join(ccols)}) SELECT id + ?, {', '.join(ccols)} "
                        f"FROM connections WHERE id <= (SELECT max(id) FROM connections) LIMIT ?", (off, take))
            con.execute(f"INSERT INTO {table}({', '.join(cols)}) SELECT {', '.join(c if c != 'connection_id' else 'connection_id + ' + str(off) for c in cols)} "
                        f"FROM {table} ORDER BY id LIMIT ?", (take,))
    total = con.execute("SELECT count(*) FROM http").fetchone()[0]
    con.close()
    times = []
    for _ in range(a.repeat):
        t0 = time.monotonic()
        r = subprocess.run([a.wirelab, "report", run, "--format", "json"], capture_output=True, text=True)
        times.append(time.monotonic() - t0)
    verdicts = json.loads(r.stdout)["counts"]
    out = {"exchanges": total, "from_real": base, "report_s": statistics.median(times), "counts": verdicts}
    if rest_results:
        out["recorded"] = next(r["journal"] for r in rest_results if "journal" in r)
    print(f"checks over {total} exchanges: {out['report_s']:.2f} s", flush=True)
    return out


def render(r, a):
    L = [f"# Benchmark results", "",
         f"Machine: {r['machine']['cores']} cores, {r['machine']['model']}, Linux {r['machine']['kernel']}; "
         f"{r['machine']['date']}. Each number is the median of {r['repeat']} runs; wrk runs {r['seconds']} s with one "
         "thread. Absolute numbers drift on a shared machine: read the ratios, measured side by side in one run.", "",
         "Command: `make bench` (bench/peers.py, then bench/fault_layer.py, bench/classroom.py and "
         "bench/databases.py, whose sections are at the end).", ""]
    if "rest" in r:
        rows = [x for x in r["rest"] if "server" in x]

        def get(server, req, c):
            return next((x for x in rows if x["server"] == server and x["request"] == req and x["connections"] == c), None)
        L += ["## REST: requests per second", "",
              "| request | conns | " + " | ".join(s for s in dict.fromkeys(x["server"] for x in rows)) + " |",
              "|---|---|" + "---|" * len(dict.fromkeys(x["server"] for x in rows))]
        servers = list(dict.fromkeys(x["server"] for x in rows))
        for req in ("GET /cars/1", "GET /cars", "POST /cars"):
            for c in (1, 50):
                cells = []
                for s in servers:
                    x = get(s, req, c)
                    cells.append("—" if not x else f"{x['rps']:,.0f} (p50 {x['p50_ms']:.2f} / p99 {x['p99_ms']:.2f} ms, "
                                 f"CPU {x['cpu_pct']:.0f}%{', ' + str(int(x['errors'])) + ' non-2xx' if x['errors'] else ''})")
                L.append(f"| {req} | {c} | " + " | ".join(cells) + " |")
        L += ["", "### Ratios (wirelab with its journal ÷ the other)", "",
              "| request | conns | ÷ json-server | ÷ mountebank | ÷ bare Beast | journal's cost |", "|---|---|---|---|---|---|"]
        for req in ("GET /cars/1", "GET /cars", "POST /cars"):
            for c in (1, 50):
                w, off = get("wirelab", req, c), get("wirelab (no journal)", req, c)
                js, mb, bb = get("json-server", req, c), get("mountebank", req, c), get("bare Beast", req, c)
                ratio = lambda o: f"{w['rps'] / o['rps']:.1f}×" if w and o else "—"
                cost = f"{100 * (1 - w['rps'] / off['rps']):.0f}%" if w and off else "—"
                L.append(f"| {req} | {c} | {ratio(js)} | {ratio(mb)} | {ratio(bb)} | {cost} |")
        j = next((x["journal"] for x in r["rest"] if "journal" in x), None)
        if j and j["exchanges"]:
            rebuilt = j.get("rebuilt_chunks", 0)
            L += ["", f"Journal of the wirelab run above: {j['exchanges']:,} exchanges, {j['bytes'] / j['exchanges']:.0f} "
                  f"bytes per exchange on disk; of these {j['raw_chunks'] / j['exchanges']:.0f} are raw bytes of the "
                  f"connection stored as such (request and response, headers included"
                  + (f"; of the {rebuilt + j['raw_chunk_rows']:,} reads and writes it holds, the first MiB of each "
                     f"connection and direction, {rebuilt:,} ({100 * rebuilt / (rebuilt + j['raw_chunk_rows']):.1f}%) are "
                     "rebuilt from their exchange's row and not stored again" if rebuilt else "")
                  + f") and {j['http_bodies'] / j['exchanges']:.0f} the "
                  f"bodies again in the http table (of {j.get('http_bodies_sent', j['http_bodies']) / j['exchanges']:.0f} "
                  f"sent: a body that repeats is stored once); the rest, "
                  f"{(j['bytes'] - j['raw_chunks'] - j['http_bodies']) / j['exchanges']:.0f} bytes, is the rows and indexes."]
    if "journal_cost" in r:
        L += ["", "### The journal's cost, measured in pairs", "",
              "wirelab with and without its journal and the bare Beast server all running, loaded in turn at 50 "
              "connections; each round's cost is 1 − with ÷ without, and the cost is the median of the rounds (the "
              "columns above compare runs minutes apart).", "",
              "| request | cost | with ÷ bare Beast | rounds (with / without / bare Beast, req/s) |", "|---|---|---|---|"]
        for c in r["journal_cost"]:
            beast = f"{c['of_beast']:.2f}×" if "of_beast" in c else "—"
            L.append(f"| {c['request']} | {100 * c['cost']:.0f}% | {beast} | " +
                     ", ".join(f"{p['with']:,.0f} / {p['without']:,.0f}" + (f" / {p['beast']:,.0f}" if "beast" in p else "")
                               for p in c["rounds"]) + " |")
    if r.get("journal_micro"):
        L += ["", "### The journal alone (bench/floor/journal_micro)", "",
              "What recording one exchange costs, without sockets: the journal fed what the http service feeds it for "
              "wrk's GET /cars/1 and POST /cars at 50 connections (the same bytes read and written, the same rows), "
              "committed every 1,000 exchanges. The serving thread's part is its CPU time with the traffic journal on "
              "less the same loop with it off; the writer's is the rest of the process's. Medians of "
              f"{max(3, r['repeat'])} runs of 200,000 exchanges.", "",
              "| exchange | serving thread µs | writer thread µs | bytes on disk |", "|---|---|---|---|"]
        L += [f"| {m['kind'].upper()} | {m['serving_us']:.2f} | {m['writer_us']:.2f} | {m['bytes']:.0f} |"
              for m in r["journal_micro"]]
    if "startup" in r:
        s = r["startup"]
        L += ["", "## Start-up: from the process start until every service answers", "",
              "| server | ms |", "|---|---|"] + [f"| {k} | {v * 1000:.1f} |" for k, v in s.items()]
        L += ["", f"wirelab with 4 services starts {s['json-server'] / s['wirelab, 4 services']:.0f}× faster than "
              f"json-server and {s['mountebank'] / s['wirelab, 4 services']:.0f}× faster than mountebank (with its imposter)."]
    if "memory" in r:
        L += ["", "## Memory (RSS)", "", "| server | idle MB | after 10 s of GET /cars/1 at 50 connections MB |", "|---|---|---|"]
        L += [f"| {m['server']} | {m['idle_mb']:.1f} | {m['after_10s_mb']:.1f} |" for m in r["memory"]]
    if "check" in r:
        c = r["check"]
        L += ["", "## What a learner waits for", "",
              f"`wirelab check rest-cars solution.py`: {c['wirelab_check_s'] * 1000:.0f} ms; the same script alone against a "
              f"running `wirelab up`: {c['python_alone_s'] * 1000:.0f} ms; wirelab adds "
              f"{check_extra_ms(c):.0f} ms (start, journal, checks, report; the median of {c.get('pairs', 5)} runs' differences, "
              f"each check run beside a run of the script alone)."]
    if "journal" in r:
        j = r["journal"]
        L += ["", "## Checks over a large journal", "",
              f"The 13 rest-cars checks over {j['exchanges']:,} HTTP exchanges (a real run's {j['from_real']} copied): "
              f"`wirelab report` takes {j['report_s']:.2f} s."]
    L += ["", "## Targets (issue 9)", "", targets(r), ""]
    notes = os.path.join(HERE, "profile-notes.md")
    if os.path.exists(notes):
        L += [open(notes, encoding="utf-8").read()]
    return "\n".join(L)


def targets(r):
    lines = []

    def row(what, ok, detail):
        lines.append(f"- {'met' if ok else '**missed**'}: {what} — {detail}")
    rows = [x for x in r.get("rest", []) if "server" in x]
    get = lambda s, q, c: next((x for x in rows if x["server"] == s and x["request"] == q and x["connections"] == c), None)
    w, js, bb, off = get("wirelab", "GET /cars/1", 50), get("json-server", "GET /cars/1", 50), get("bare Beast", "GET /cars/1", 50), \
        get("wirelab (no journal)", "GET /cars/1", 50)
    if w and js:
        row("GET /cars/1 with the journal ≥ 10× json-server", w["rps"] >= 10 * js["rps"], f"{w['rps'] / js['rps']:.1f}×")
    paired_get = next((c for c in r.get("journal_cost", []) if c["request"] == "GET /cars/1" and "of_beast" in c), None)
    if paired_get:
        row("GET /cars/1 with the journal ≥ 0.5× the bare Beast server", paired_get["of_beast"] >= 0.5,
            f"{paired_get['of_beast']:.2f}× at 50 connections, measured in the same rounds")
    elif w and bb:
        row("GET /cars/1 with the journal ≥ 0.5× the bare Beast server", w["rps"] >= 0.5 * bb["rps"], f"{w['rps'] / bb['rps']:.2f}×")
    wp, jp = get("wirelab", "POST /cars", 50), get("json-server", "POST /cars", 50)
    if wp and jp:
        row("POST ≥ 20× json-server", wp["rps"] >= 20 * jp["rps"], f"{wp['rps'] / jp['rps']:.1f}×")
    paired = {c["request"]: c["cost"] for c in r.get("journal_cost", [])}
    if paired:
        worst = max(paired, key=paired.get)
        row("the journal costs ≤ 15% of throughput", paired[worst] <= 0.15,
            ", ".join(f"{k} {100 * v:.0f}%" for k, v in paired.items()) + " at 50 connections, measured in pairs")
    elif w and off:
        row("the journal costs ≤ 15% of throughput", w["rps"] >= 0.85 * off["rps"], f"{100 * (1 - w['rps'] / off['rps']):.0f}%")
    if "startup" in r:
        t = r["startup"]["wirelab, 4 services"] * 1000
        row("a 4-service lab ready ≤ 10 ms", t <= 10, f"{t:.1f} ms (process start included)")
    if "memory" in r:
        m = next(x for x in r["memory"] if x["server"] == "wirelab")
        row("RSS ≤ 15 MB idle and flat under load", m["idle_mb"] <= 15 and m["after_10s_mb"] <= m["idle_mb"] * 1.5 + 2,
            f"{m['idle_mb']:.1f} MB idle, {m['after_10s_mb']:.1f} MB after load")
    if "check" in r:
        c = r["check"]
        extra = check_extra_ms(c)
        row("`wirelab check` ≤ python's own run + 20 ms", extra <= 20, f"+{extra:.0f} ms")
    if "journal" in r:
        j = r["journal"]
        row("100k-exchange journal: checks ≤ 1 s", j["report_s"] <= 1, f"{j['report_s']:.2f} s")
    rec = next((x["journal"] for x in r.get("rest", []) if "journal" in x), None)
    if rec and rec["exchanges"]:
        over = (rec["bytes"] - rec["raw_chunks"] - rec["http_bodies"]) / rec["exchanges"]
        row("≤ 300 bytes per exchange plus bodies", over <= 300,
            f"{over:.0f} bytes of rows per exchange besides the raw bytes and bodies")
    return "\n".join(lines)


if __name__ == "__main__":
    main()
