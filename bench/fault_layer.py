#!/usr/bin/env python3
"""Benchmark: what the fault layer costs.

Three copies of the rest-cars REST service in one `wirelab up` (release
build): `clean` (no fault profile: the layer passes every operation
straight through), `bookkeeping` (a profile that makes the layer plan every
write without changing anything) and `latency` (1 ms before each answer, to
show what a real fault costs). wrk drives GET /cars/1 and GET /cars at 1 and
50 connections; the table gives requests/s, p50 and p99 and the ratio to
`clean`. Run with `make bench`; never part of `make test`.

Usage: bench/fault_layer.py [--wirelab build-release/app/wirelab] [--seconds 5] [--out FILE]
"""
import argparse
import json
import os
import re
import signal
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))


def wrk(url, connections, seconds):
    out = subprocess.run(["wrk", "-t1", f"-c{connections}", f"-d{seconds}s", "--latency", url],
                         capture_output=True, text=True, check=True).stdout
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))

    def pct(p):
        m = re.search(rf"^\s+{p}%\s+([\d.]+)(us|ms|s)\s*$", out, re.M)
        value, unit = float(m.group(1)), m.group(2)
        return value * {"us": 0.001, "ms": 1, "s": 1000}[unit]
    return {"rps": rps, "p50_ms": pct(50), "p99_ms": pct(99)}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--wirelab", default=os.path.join(HERE, "..", "build-release", "app", "wirelab"))
    ap.add_argument("--seconds", type=int, default=5)
    ap.add_argument("--out", default=None)
    a = ap.parse_args()

    with tempfile.TemporaryDirectory(prefix="wirelab-bench-") as tmp:
        up = subprocess.Popen([a.wirelab, "up", os.path.join(HERE, "labs", "fault-cost"), "--ephemeral",
                               "--format", "json", "--run-dir", os.path.join(tmp, "run")],
                              stdout=subprocess.PIPE, text=True)
        try:
            services = json.loads(up.stdout.readline())["services"]
            rows = []
            for path in ("/cars/1", "/cars"):
                for conns in (1, 50):
                    base = None
                    for name in ("clean", "bookkeeping", "latency"):
                        r = wrk(services[name]["url"] + path, conns, a.seconds)
                        base = base or r["rps"]
                        rows.append({"path": path, "connections": conns, "service": name, **r,
                                     "ratio": r["rps"] / base})
        finally:
            up.send_signal(signal.SIGINT)
            up.wait(timeout=30)

    lines = ["| GET | connections | service | requests/s | p50 ms | p99 ms | vs clean |",
             "|---|---|---|---|---|---|---|"]
    for r in rows:
        lines.append(f"| {r['path']} | {r['connections']} | {r['service']} | {r['rps']:.0f} | "
                     f"{r['p50_ms']:.3f} | {r['p99_ms']:.3f} | {r['ratio']:.2f} |")
    table = "\n".join(lines)
    print(table)
    if a.out:
        with open(a.out, "w") as f:
            json.dump(rows, f, indent=2)
    return 0


if __name__ == "__main__":
    sys.exit(main())
