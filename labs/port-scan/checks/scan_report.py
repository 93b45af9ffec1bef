"""A check for the port-scan lab: compares the JSON the scanner printed
with the hosts' real ports (the service's state). Argument: what to compare
(open, banners, filtered). Prints the verdict as a JSON object."""
import json
import os
import sqlite3
import sys

what = sys.argv[1]
journal = sqlite3.connect(f"file:{os.environ['WIRELAB_JOURNAL']}?mode=ro", uri=True)
state = sqlite3.connect(f"file:{json.loads(os.environ['WIRELAB_STATES'])['targets']}?mode=ro", uri=True)
truth = {}
for host, port, kind, banner in state.execute("SELECT host, port, state, banner FROM ports ORDER BY host, port"):
    truth.setdefault(host, {"open": {}, "filtered": []})
    if kind == "open":
        truth[host]["open"][str(port)] = banner
    elif kind == "filtered":
        truth[host]["filtered"].append(port)

row = journal.execute("SELECT CAST(stdout AS TEXT) FROM cases ORDER BY id DESC LIMIT 1").fetchone()
out = (row[0] or "") if row else ""
report = None
for line in reversed(out.splitlines()):
    try:
        report = json.loads(line)
        break
    except ValueError:
        continue
if report is None:
    try:
        report = json.loads(out)
    except ValueError:
        pass


def verdict(ok, message="", expected="", observed=""):
    print(json.dumps({"passed": ok, "message": message, "expected": expected, "observed": observed}))
    sys.exit(0)


if not isinstance(report, dict):
    verdict(False, "the scanner printed no JSON object", "one JSON object: host → {open, filtered}", out[-300:] or "(nothing)")

problems, expected, observed = [], {}, {}
for host, real in truth.items():
    got = report.get(host)
    if not isinstance(got, dict):
        problems.append(f"{host}: not in the report")
        continue
    if what == "open":
        want = sorted(int(p) for p in real["open"])
        have = sorted(int(p) for p in (got.get("open") or {}))
        if want != have:
            missed = sorted(set(want) - set(have))
            extra = sorted(set(have) - set(want))
            problems.append(f"{host}: " + ", ".join(filter(None, [f"missed {missed}" if missed else "",
                                                                   f"not open: {extra}" if extra else ""])))
        expected[host], observed[host] = want, have
    elif what == "banners":
        opened = got.get("open") or {}
        for port, banner in real["open"].items():
            seen = opened.get(port, opened.get(int(port)) if isinstance(opened, dict) else None)
            if (seen or "").strip() != banner.strip():
                problems.append(f"{host}:{port} banner {seen!r}, the service sends {banner!r}")
    elif what == "filtered":
        want = sorted(real["filtered"])
        have = sorted(int(p) for p in (got.get("filtered") or []))
        if want != have:
            problems.append(f"{host}: filtered {have}, really {want}")
        expected[host], observed[host] = want, have

if problems:
    verdict(False, "; ".join(problems[:6]), json.dumps(expected) if expected else "", json.dumps(observed) if observed else "")
verdict(True)
