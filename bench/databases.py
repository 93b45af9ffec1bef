#!/usr/bin/env python3
"""Benchmark: wirelab's database services beside the real servers.

wirelab's `sql` service (PostgreSQL's protocol in front of SQLite) beside
PostgreSQL 15, and its `nosql` service (RESP) beside redis-server 7, both
from Debian, loaded in turn by the servers' own load tools: pgbench (custom
scripts, simple, extended and prepared protocol, 1 and 10 clients) and
redis-benchmark (50 clients, one command per round trip and pipelines of
16), and by psycopg2, the driver a learner uses. The real servers run as a
throwaway test database does (PostgreSQL with fsync, synchronous_commit and
full_page_writes off; Redis with no snapshots and no append-only file);
wirelab journals every statement and command, and every byte, as it does
under `wirelab check`. All servers are up at once and each workload's runs
are interleaved (wirelab, the real server, wirelab, ...); each number is the
median of --repeat runs, and the ratios are what to read.

Also: that wirelab's journal holds a row for every statement pgbench ran
and every command redis-benchmark sent, and the services' RSS after load.

Usage: bench/databases.py [--wirelab build-release/app/wirelab] [--seconds 3]
       [--repeat 3] [--append bench/RESULTS.md]
"""
import argparse
import glob
import json
import os
import re
import shutil
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
LAB = os.path.join(HERE, "labs", "db-load")
PYTHON = "/usr/bin/python3" if os.path.exists("/usr/bin/python3") else sys.executable
TICK = os.sysconf("SC_CLK_TCK")

sys.path.insert(0, HERE)
from peers import free_port, wait_tcp  # noqa: E402

# pgbench scripts: (name, script, protocol, clients)
SELECT = "\\set id random(1, 1000)\nSELECT id, name, balance FROM accounts WHERE id = :id;\n"
UPDATE = "\\set id random(1, 1000)\nUPDATE accounts SET balance = balance + 1 WHERE id = :id;\n"
INSERT = "\\set id random(1, 1000)\nINSERT INTO history (account, amount) VALUES (:id, 1);\n"
TRANSFER = ("\\set a random(1, 1000)\n\\set b random(1, 1000)\nBEGIN;\n"
            "UPDATE accounts SET balance = balance - 1 WHERE id = :a;\n"
            "UPDATE accounts SET balance = balance + 1 WHERE id = :b;\n"
            "INSERT INTO history (account, amount) VALUES (:a, -1);\nCOMMIT;\n")
PGBENCH = [
    ("SELECT by key", SELECT, "simple", 1),
    ("SELECT by key", SELECT, "simple", 10),
    ("SELECT by key", SELECT, "extended", 10),
    ("SELECT by key", SELECT, "prepared", 10),
    ("UPDATE by key", UPDATE, "extended", 10),
    ("INSERT", INSERT, "extended", 10),
    # one client: wirelab's SQLite takes one write transaction at a time and
    # answers a second one 55P03 instead of waiting (docs/databases.md)
    ("transfer (BEGIN, 2 UPDATE, INSERT, COMMIT)", TRANSFER, "simple", 1),
]
STATEMENTS = {SELECT: 1, UPDATE: 1, INSERT: 1, TRANSFER: 5}
REDIS_TESTS = "set,get,incr,lpush,lpop,hset"

PSYCOPG2 = r"""
import sys, time, psycopg2
conn = psycopg2.connect(sys.argv[1])
cur = conn.cursor()
n = int(sys.argv[2])
t0 = time.perf_counter()
for i in range(n):
    cur.execute("SELECT id, name, balance FROM accounts WHERE id = %s", (i % 1000 + 1,))
    cur.fetchone()
t1 = time.perf_counter()
for i in range(n):
    cur.execute("INSERT INTO history (account, amount) VALUES (%s, %s)", (i % 1000 + 1, 2))
    conn.commit()
t2 = time.perf_counter()
conn.close()
print(n / (t1 - t0), n / (t2 - t1))
"""


def tree(pid):
    """pid and its descendants (PostgreSQL serves each client from a process of its own)."""
    out, todo = [], [pid]
    while todo:
        p = todo.pop()
        out.append(p)
        try:
            for t in os.listdir(f"/proc/{p}/task"):
                todo += [int(c) for c in open(f"/proc/{p}/task/{t}/children").read().split()]
        except OSError:
            pass
    return out


def cpu_ticks(pid):
    """CPU of a process, its threads and its children, the exited ones included
    (a PostgreSQL backend's CPU moves to the postmaster's cutime when it ends)."""
    total = 0
    for p in tree(pid):
        try:
            f = open(f"/proc/{p}/stat").read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += int(f[11]) + int(f[12]) + int(f[13]) + int(f[14])
    return total


def pss_mb(pid):
    """Proportional set size of the process tree: shared memory counted once."""
    kb = 0
    for p in tree(pid):
        try:
            m = re.search(r"^Pss:\s+(\d+) kB", open(f"/proc/{p}/smaps_rollup").read(), re.M)
            kb += int(m.group(1))
        except (OSError, AttributeError):
            pass
    return kb / 1024


class Server:
    def __init__(self, name, proc, pg_port, redis_port):
        self.name, self.proc, self.pg_port, self.redis_port = name, proc, pg_port, redis_port
        self.extra = []

    def stop(self):
        for p in [self.proc] + self.extra:
            if p.poll() is None:
                p.terminate()
                try:
                    p.wait(20)
                except subprocess.TimeoutExpired:
                    p.kill()
                    p.wait()


def start_wirelab(a, tmp):
    run = os.path.join(tmp, "run")
    p = subprocess.Popen([a.wirelab, "up", LAB, "--ephemeral", "--format", "json", "--run-dir", run],
                         stdout=subprocess.PIPE, text=True)
    info = json.loads(p.stdout.readline())
    s = Server("wirelab", p, info["services"]["db"]["port"], info["services"]["cache"]["port"])
    s.user, s.journal = info["env"]["WIRELAB_DB_USER"], os.path.join(run, "journal.db")
    s.pid = p.pid
    return s


def pg_bin(name):
    found = sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"))
    if not found:
        raise RuntimeError(f"{name} not found under /usr/lib/postgresql: bench/setup installs postgresql")
    return found[-1]


def start_real(tmp):
    """PostgreSQL (a fresh cluster in tmp) and redis-server, as a throwaway test setup runs them."""
    # postgres refuses to run as root: the cluster belongs to the postgres user then
    as_user = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []
    data = os.path.join(tmp, "pgdata")
    os.makedirs(data)
    os.chmod(tmp, 0o755)
    if as_user:
        shutil.chown(data, "postgres", "postgres")
    subprocess.run(as_user + [pg_bin("initdb"), "-D", data, "-U", "learner", "--auth=trust", "-E", "UTF8",
                              "--no-sync"], check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    port = free_port()
    pg = subprocess.Popen(as_user + [pg_bin("postgres"), "-D", data, "-p", str(port), "-k", data,
                                     "-c", "listen_addresses=127.0.0.1", "-c", "fsync=off",
                                     "-c", "synchronous_commit=off", "-c", "full_page_writes=off",
                                     "-c", "max_connections=50"],
                          stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    wait_tcp(port)
    psql = ["psql", "-q", "-X", "-v", "ON_ERROR_STOP=1", "-h", "127.0.0.1", "-p", str(port), "-U", "learner"]
    for _ in range(100):  # accepting connections comes a moment after listening
        if subprocess.run(psql + ["-d", "postgres", "-c", "select 1"], capture_output=True).returncode == 0:
            break
        time.sleep(0.05)
    subprocess.run(psql + ["-d", "postgres", "-c", "CREATE DATABASE wirelab"], check=True)
    schema = json.load(open(os.path.join(LAB, "lab.json")))["services"]["db"]["schema"]
    subprocess.run(psql + ["-d", "wirelab"], input=";\n".join(schema) + ";\n", text=True, check=True)
    rport = free_port()
    redis = subprocess.Popen(["redis-server", "--port", str(rport), "--bind", "127.0.0.1", "--save", "",
                              "--appendonly", "no", "--dir", tmp],
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    wait_tcp(rport)
    version = re.search(r"\) (\d[\d.]*)", subprocess.run([pg_bin("postgres"), "--version"], capture_output=True,
                                                      text=True).stdout).group(1)
    rversion = re.search(r"v=(\S+)", subprocess.run(["redis-server", "--version"], capture_output=True,
                                                    text=True).stdout).group(1)
    s = Server(f"PostgreSQL {version} / Redis {rversion}", pg, port, rport)
    s.extra, s.user, s.pid, s.redis_pid = [redis], "learner", pg.pid, redis.pid
    s.pg_name, s.redis_name = f"PostgreSQL {version}", f"Redis {rversion}"
    return s


def pgbench(s, script_file, protocol, clients, seconds):
    cmd = ["pgbench", "-n", "-h", "127.0.0.1", "-p", str(s.pg_port), "-U", s.user, "-M", protocol,
           "-c", str(clients), "-j", "1", "-T", str(seconds), "-f", script_file, "wirelab"]
    t0, c0 = time.monotonic(), cpu_ticks(s.pid)
    r = subprocess.run(cmd, capture_output=True, text=True, timeout=seconds * 10 + 30)
    cpu = 100 * (cpu_ticks(s.pid) - c0) / TICK / (time.monotonic() - t0)
    out = r.stdout + r.stderr
    tps = re.search(r"tps = ([\d.]+) \(without initial connection time\)", out)
    if r.returncode != 0 or not tps:
        first = next((line for line in out.splitlines() if "error" in line.lower()), out.strip()[-300:])
        return {"error": first}
    done = int(re.search(r"number of transactions actually processed: (\d+)", out).group(1))
    return {"tps": float(tps.group(1)), "latency_ms": float(re.search(r"latency average = ([\d.]+) ms", out).group(1)),
            "cpu_pct": cpu, "transactions": done}


def redis_benchmark(port, pipeline, requests):
    cmd = ["redis-benchmark", "-h", "127.0.0.1", "-p", str(port), "-t", REDIS_TESTS, "-n", str(requests),
           "-c", "50", "-P", str(pipeline), "--csv"]
    out = subprocess.run(cmd, capture_output=True, text=True, timeout=600).stdout
    rows = {}
    for line in out.splitlines():
        cells = [c.strip('"') for c in line.split('","')]
        if len(cells) >= 5 and cells[0] != "test":
            rows[cells[0]] = {"rps": float(cells[1]), "p50_ms": float(cells[4])}
    return rows


def psycopg2_loop(s, n):
    dsn = f"host=127.0.0.1 port={s.pg_port} dbname=wirelab user={s.user}"
    out = subprocess.run([PYTHON, "-c", PSYCOPG2, dsn, str(n)], capture_output=True, text=True, check=True).stdout
    sel, ins = map(float, out.split())
    return {"select_per_s": sel, "insert_commit_per_s": ins}


def median(runs, key):
    vals = [r[key] for r in runs if key in r]
    return statistics.median(vals) if vals else None


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--wirelab", default=os.path.join(ROOT, "build-release", "app", "wirelab"))
    ap.add_argument("--seconds", type=int, default=3)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--requests", type=int, default=50000, help="redis-benchmark -n without pipelining")
    ap.add_argument("--append", default=None, help="append the section to this Markdown file")
    a = ap.parse_args()
    a.wirelab = os.path.abspath(a.wirelab)
    r = {"seconds": a.seconds, "repeat": a.repeat, "pgbench": [], "redis": [], "psycopg2": {},
         "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())}

    with tempfile.TemporaryDirectory(prefix="wirelab-db-") as tmp:
        wl = start_wirelab(a, tmp)
        real = None
        try:
            real = start_real(tmp)
            r["real"] = {"pg": real.pg_name, "redis": real.redis_name}
            r["rss_idle_mb"] = pss_mb(wl.pid)
            servers = [wl, real]
            sent = 0  # statements pgbench ran against wirelab
            for i, (name, script, protocol, clients) in enumerate(PGBENCH):
                path = os.path.join(tmp, f"script{i}.sql")
                open(path, "w").write(script)
                runs = {s.name: [] for s in servers}
                for _ in range(a.repeat):
                    for s in servers:
                        one = pgbench(s, path, protocol, clients, a.seconds)
                        runs[s.name].append(one)
                        if s is wl and "transactions" in one:
                            sent += one["transactions"] * STATEMENTS[script]
                row = {"workload": name, "protocol": protocol, "clients": clients}
                for s, key in ((wl, "wirelab"), (real, "real")):
                    errors = [x["error"] for x in runs[s.name] if "error" in x]
                    row[key] = {"tps": median(runs[s.name], "tps"), "latency_ms": median(runs[s.name], "latency_ms"),
                                "cpu_pct": median(runs[s.name], "cpu_pct"), "error": errors[0] if errors else None}
                print(json.dumps(row), flush=True)
                r["pgbench"].append(row)

            runs = {s.name: [] for s in servers}
            for _ in range(a.repeat):
                for s in servers:
                    runs[s.name].append(psycopg2_loop(s, 2000))
            for s, key in ((wl, "wirelab"), (real, "real")):
                r["psycopg2"][key] = {k: median(runs[s.name], k) for k in ("select_per_s", "insert_commit_per_s")}
            # psycopg2 opens each transaction with a BEGIN of its own: the
            # SELECTs run in one, then BEGIN (but the first), INSERT, COMMIT
            sent += a.repeat * 2000 * 4
            print(json.dumps(r["psycopg2"]), flush=True)

            commands = 0
            for pipeline, requests in ((1, a.requests), (16, a.requests * 4)):
                runs = {s.name: [] for s in servers}
                for _ in range(a.repeat):
                    for s in servers:
                        runs[s.name].append(redis_benchmark(s.redis_port, pipeline, requests))
                    commands += requests * len(REDIS_TESTS.split(","))
                for test in runs[wl.name][0]:
                    row = {"command": test, "pipeline": pipeline}
                    for s, key in ((wl, "wirelab"), (real, "real")):
                        row[key] = {"rps": median([x[test] for x in runs[s.name] if test in x], "rps"),
                                    "p50_ms": median([x[test] for x in runs[s.name] if test in x], "p50_ms")}
                    print(json.dumps(row), flush=True)
                    r["redis"].append(row)

            r["rss_after_mb"] = pss_mb(wl.pid)
            r["real_pg_mb"], r["real_redis_mb"] = pss_mb(real.pid), pss_mb(real.redis_pid)
        finally:
            wl.stop()
            if real:
                real.stop()
        j = sqlite3.connect(wl.journal)
        r["journal_sql_rows"] = j.execute("select count(*) from sql").fetchone()[0]
        r["journal_command_rows"] = j.execute("select count(*) from commands").fetchone()[0]
        r["journal_mb"] = os.path.getsize(wl.journal) / 1e6
        r["pg_statements_sent"], r["redis_commands_sent"] = sent, commands

    text = render(r)
    print(text)
    if a.append:
        with open(a.append, "a") as f:
            f.write(text)
        with open(os.path.splitext(a.append)[0] + "-databases.json", "w") as f:
            json.dump(r, f, indent=1)
    return 0


def fmt(x, spec=",.0f"):
    return "—" if x is None else format(x, spec)


def cell(side, key, unit=""):
    if side.get("error"):
        return "fails: " + side["error"].replace("|", "/")[:90]
    return f"{fmt(side[key])}{unit}"


def ratio(a, b):
    return "—" if not a or not b else f"{a / b:.2f}×"


def render(r):
    pg, redis = r["real"]["pg"], r["real"]["redis"]
    lines = [
        "",
        "## Database services: wirelab beside PostgreSQL and Redis",
        "",
        f"`bench/databases.py` (release build, {r.get('date', 'date not recorded')}): wirelab's `sql` service beside {pg} and its `nosql` service beside "
        f"{redis}, all up at once, runs interleaved; medians of {r['repeat']}. The real servers run as a throwaway test "
        "database does (PostgreSQL: fsync, synchronous_commit and full_page_writes off; Redis: no snapshots, no "
        "append-only file); wirelab journals every statement, command and byte.",
        "",
        f"### pgbench ({r['seconds']} s per run, one pgbench thread)",
        "",
        f"| workload | protocol | clients | wirelab tps | {pg} tps | wirelab ÷ {pg} | CPU wirelab / {pg} |",
        "|---|---|---|---|---|---|---|",
    ]
    for row in r["pgbench"]:
        w, p = row["wirelab"], row["real"]
        lines.append(f"| {row['workload']} | {row['protocol']} | {row['clients']} | {cell(w, 'tps')} | "
                     f"{cell(p, 'tps')} | {ratio(w['tps'], p['tps'])} | "
                     f"{fmt(w['cpu_pct'])}% / {fmt(p['cpu_pct'])}% |")
    ps = r["psycopg2"]
    lines += [
        "",
        "### psycopg2, one connection (2,000 statements, what a learner's script does)",
        "",
        f"| loop | wirelab per s | {pg} per s | wirelab ÷ {pg} |",
        "|---|---|---|---|",
        f"| `cur.execute(SELECT … WHERE id = %s)` + `fetchone()` | {fmt(ps['wirelab']['select_per_s'])} | "
        f"{fmt(ps['real']['select_per_s'])} | {ratio(ps['wirelab']['select_per_s'], ps['real']['select_per_s'])} |",
        f"| `INSERT … VALUES (%s, %s)` + `commit()` | {fmt(ps['wirelab']['insert_commit_per_s'])} | "
        f"{fmt(ps['real']['insert_commit_per_s'])} | "
        f"{ratio(ps['wirelab']['insert_commit_per_s'], ps['real']['insert_commit_per_s'])} |",
        "",
        "### redis-benchmark (50 clients)",
        "",
        f"| command | pipeline | wirelab ops/s | {redis} ops/s | wirelab ÷ {redis} | p50 ms wirelab / {redis} |",
        "|---|---|---|---|---|---|",
    ]
    for row in r["redis"]:
        w, p = row["wirelab"], row["real"]
        lines.append(f"| {row['command']} | {row['pipeline']} | {fmt(w['rps'])} | {fmt(p['rps'])} | "
                     f"{ratio(w['rps'], p['rps'])} | {fmt(w['p50_ms'], '.3f')} / {fmt(p['p50_ms'], '.3f')} |")
    lines += [
        "",
        f"wirelab's journal after all of it: {r['journal_sql_rows']:,} `sql` rows for the {r['pg_statements_sent']:,} "
        f"statements pgbench and psycopg2 ran, {r['journal_command_rows']:,} `commands` rows for the "
        f"{r['redis_commands_sent']:,} commands redis-benchmark counted (it also sends a few of its own), "
        f"{r['journal_mb']:.0f} MB on disk. Memory (PSS) after the load: wirelab {r['rss_after_mb']:.1f} MB "
        f"({r['rss_idle_mb']:.1f} MB idle), {pg}'s processes {r['real_pg_mb']:.1f} MB, {redis} "
        f"{r['real_redis_mb']:.1f} MB. wirelab's is the peak of what it held: the 200,000 elements LPUSH put "
        "in one list are kept by the C++ allocator once LPOP has taken them (`malloc_trim` then gives back all but "
        "~11 MB), where Redis packs them in a few MB.",
        "",
    ]
    return "\n".join(lines)


if __name__ == "__main__":
    sys.exit(main())
