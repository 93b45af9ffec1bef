"""Database services real drivers talk to: the nosql (RESP) service with
redis-cli and redis-py (RESP2 and RESP3, pipelines, errors in Redis's words,
junk on the port), every command journaled and the data in the state; the
sqlite service with Python's sqlite3 (seeded per case, read back after
each, a transaction never committed and a program killed inside one seen
in the journal)."""
import json
import os
import socket
import subprocess
import tempfile
import textwrap
import time
import unittest

import redis

from wltest import CheckedProgram, SOURCE, ServedLab, main, query, run_wirelab

FIXTURE = os.path.join(SOURCE, "tests", "integration", "db_fixtures")


class NosqlWithRealClients(ServedLab):
    LAB = FIXTURE

    def cli(self, *args, resp3=False):
        cmd = ["redis-cli", "-p", str(self.up.port("cache"))] + (["-3"] if resp3 else []) + list(args)
        return subprocess.run(cmd, capture_output=True, text=True, timeout=10).stdout

    def test_redis_cli_reads_the_seeded_data(self):
        self.assertEqual(self.cli("PING"), "PONG\n")
        self.assertEqual(self.cli("GET", "greeting"), "hello\n")
        ttl = int(self.cli("TTL", "greeting"))
        self.assertTrue(0 < ttl <= 60, ttl)
        self.assertEqual(self.cli("HGETALL", "profile"), "name\nAda\n")
        self.assertEqual(self.cli("LRANGE", "queue", "0", "-1"), "a\nb\n")
        self.assertEqual(self.cli("HGETALL", "profile", resp3=True).split(), ["name", "Ada"])

    def test_redis_py_types_pipelines_and_errors(self):
        r = redis.Redis(port=self.up.port("cache"), decode_responses=True, client_name="tester")
        self.assertTrue(r.ping())
        self.assertEqual(r.client_getname(), "tester")
        self.assertTrue(r.set("visit:1", "x", ex=30))
        self.assertEqual(r.get("visit:1"), "x")
        self.assertEqual(r.incr("hits"), 1)
        self.assertEqual(r.incrby("hits", 9), 10)
        self.assertEqual(r.hgetall("profile"), {"name": "Ada"})
        self.assertEqual(r.sadd("tags", "a", "b", "a"), 2)
        self.assertEqual(r.smembers("tags"), {"a", "b"})
        p = r.pipeline()  # MULTI/EXEC
        p.set("t", 1).incr("t").get("t")
        self.assertEqual(p.execute(), [True, 2, "2"])
        with self.assertRaisesRegex(redis.ResponseError, "WRONGTYPE"):
            r.get("profile")
        with self.assertRaisesRegex(redis.ResponseError, "unknown command 'FROB'"):
            r.execute_command("FROB", "x")
        self.assertEqual(r.scan(0, match="visit:*", count=100), (0, ["visit:1"]))
        rows = self.journal_rows("SELECT name, args, reply FROM commands WHERE args = '[\"hits\",\"9\"]'")
        self.assertEqual(rows, [("INCRBY", '["hits","9"]', "(integer) 10")])
        time.sleep(0.1)
        state = query(os.path.join(self.up.info["run_dir"], "state", "cache.db"),
                      "SELECT type, value, ttl_ms FROM keys WHERE key = 'visit:1'")
        self.assertEqual(state[0][0:2], ("string", '"x"'))
        self.assertTrue(0 < state[0][2] <= 30000)

    def test_the_state_holds_each_value_as_json(self):
        r = redis.Redis(port=self.up.port("cache"))
        odd = 'quote " backslash \\ newline \n é'
        r.rpush("state:list", "a", odd, "")
        r.hset("state:hash", mapping={"b": "2", "a": odd})
        r.sadd("state:set", "y", "x")
        r.set("state:str", odd)
        r.set("state:bytes", b"\xff\x00ok")
        want = {"state:list": ("list", ["a", odd, ""]), "state:hash": ("hash", {"a": odd, "b": "2"}),
                "state:set": ("set", ["x", "y"]), "state:str": ("string", odd),
                "state:bytes": ("string", "\ufffd\x00ok")}
        db = os.path.join(self.up.info["run_dir"], "state", "cache.db")
        deadline = time.monotonic() + 10
        while True:  # written within a few ticks
            rows = {k: (t, v) for k, t, v in query(db, "SELECT key, type, value FROM keys WHERE key LIKE 'state:%'")}
            if len(rows) == len(want) or time.monotonic() > deadline:
                break
            time.sleep(0.05)
        self.assertEqual({k: (t, json.loads(v)) for k, (t, v) in rows.items()}, want)
        # as compact as Python's own dump (no spaces), UTF-8 as it is
        self.assertEqual(rows["state:list"][1], json.dumps(["a", odd, ""], separators=(",", ":"), ensure_ascii=False))
        r.delete("state:list", "state:hash", "state:set", "state:str", "state:bytes")

    def test_junk_gets_an_error_and_a_closed_connection(self):
        # A broken frame cannot be read further: an error, then the close.
        for junk in (b"*2\r\n$3\r\nGET\r\n$99999999999\r\n", b"*x\r\n"):
            with socket.create_connection(("127.0.0.1", self.up.port("cache")), timeout=5) as s:
                s.sendall(junk)
                data = b""
                while True:
                    b = s.recv(4096)
                    if not b:
                        break
                    data += b
            self.assertTrue(data.startswith(b"-ERR Protocol error"), data)
        # Binary junk on a line is an unknown command, as Redis answers it;
        # the connection goes on.
        with socket.create_connection(("127.0.0.1", self.up.port("cache")), timeout=5) as s:
            s.sendall(b"\x00\xff\x16\x03\x01 hello\r\nPING\r\n")
            data = b""
            while b"PONG" not in data:
                data += s.recv(4096)
            self.assertTrue(data.startswith(b"-ERR unknown command"), data)
        self.assertEqual(self.cli("PING"), "PONG\n", "the service survives")


PROGRAM = """
    import os, socket, sqlite3, time, redis
    mode = os.environ["MODE"]
    r = redis.Redis.from_url(os.environ["WIRELAB_CACHE_URL"])
    r.set("visit:" + mode, "1", ex=60)
    conn = sqlite3.connect(os.environ["WIRELAB_DB_PATH"])
    if mode == "commit":
        conn.execute("INSERT INTO notes (body) VALUES ('written')")
        conn.commit()
    elif mode == "uncommitted":
        conn.execute("INSERT INTO notes (body) VALUES ('lost')")
        time.sleep(0.2)          # long enough to be seen writing
        conn.close()             # no commit: rolled back
    elif mode == "hang":
        conn.execute("INSERT INTO notes (body) VALUES ('lost too')")
        time.sleep(60)           # killed at the timeout, inside the transaction
    print(sorted(b for (b,) in sqlite3.connect(os.environ["WIRELAB_DB_PATH"]).execute("SELECT body FROM notes")))
"""


class SqliteFile(CheckedProgram):
    LAB = FIXTURE
    PROGRAM = PROGRAM

    def test_the_state_after_each_case(self):
        got = {c["id"]: (c["status"], c.get("message")) for c in self.report["checks"]}
        for cid in ("after-commit", "after-extra", "after-uncommitted", "after-killed", "sets"):
            self.assertEqual(got[cid][0], "passed", (cid, got[cid], self.r.stderr))

    def test_a_transaction_never_committed_is_an_event(self):
        rows = query(self.journal, "SELECT c.name, json_extract(e.detail, '$.why') FROM events e "
                                   "JOIN cases c ON c.id = e.case_id WHERE e.kind = 'sqlite-uncommitted'")
        self.assertEqual([n for n, _ in rows], ["uncommitted"])
        self.assertIn("never committed", rows[0][1])

    def test_a_program_killed_inside_a_transaction_leaves_a_hot_journal(self):
        rows = query(self.journal, "SELECT c.name FROM events e JOIN cases c ON c.id = e.case_id "
                                   "WHERE e.kind = 'sqlite-hot-journal'")
        self.assertEqual(rows, [("killed",)])

    def test_a_bad_schema_is_the_labs_error_with_a_place(self):
        with tempfile.TemporaryDirectory(prefix="wirelab-db-") as d:
            with open(os.path.join(d, "lab.json"), "w") as f:
                json.dump({"id": "bad", "title": "t",
                           "services": {"db": {"kind": "sqlite", "file": "x.db", "schema": "CREAT TABLE t (a)"}},
                           "checks": [{"id": "exit-ok", "title": "t", "kind": "exit"}]}, f, indent=2)
            r = run_wirelab("lint", d)
        self.assertEqual(r.returncode, 2)
        self.assertIn("/services/db/schema", r.stderr)
        self.assertIn("the schema does not run", r.stderr)
        self.assertIn("syntax error", r.stderr)


if __name__ == "__main__":
    main()
