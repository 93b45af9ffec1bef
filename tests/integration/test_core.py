"""The walking skeleton end to end: the CLI, the Session's life cycle, the
journal's durability, the Runner's limits and the HTTP service's connection
handling, each over real sockets and real processes."""
import json
import os
import signal
import socket
import sqlite3
import struct
import subprocess
import tempfile
import textwrap
import time
import unittest

import requests

from wltest import BIN, SOURCE, Up, free_port, main, query, raw_http, run_wirelab

FIXTURES = os.path.join(os.path.dirname(os.path.abspath(__file__)), "core_fixtures")


def read_response(sock, head_only=False):
    """One HTTP/1.1 response with a Content-Length (no body for HEAD), as read."""
    data = b""
    while b"\r\n\r\n" not in data:
        more = sock.recv(65536)
        if not more:
            raise AssertionError("the connection closed in a response's head: %r" % data)
        data += more
    head, _, body = data.partition(b"\r\n\r\n")
    length = 0
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            length = int(value)
    if head_only:
        length = 0
    while len(body) < length:
        more = sock.recv(65536)
        if not more:
            raise AssertionError("the connection closed in a response's body")
        body += more
    assert len(body) == length, "more than one response came back"
    return head + b"\r\n\r\n" + body


def write(path, text):
    with open(path, "w", encoding="utf-8") as f:
        f.write(textwrap.dedent(text))
    return path


class Cli(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.TemporaryDirectory(prefix="wirelab-core-")
        self.dir = self.tmp.name

    def tearDown(self):
        self.tmp.cleanup()

    def check(self, lab, *args):
        return run_wirelab("check", lab, *args, "--ephemeral", "--run-dir", os.path.join(self.dir, "run"))

    def test_up_serves_and_sigterm_finishes_the_journal(self):
        with Up("rest-cars") as up:
            r = requests.get(up.url() + "/cars/3", timeout=5)
            self.assertEqual(r.json()["model"], "Rapide")
            self.assertEqual(up.stop(), 0)
            self.assertEqual(query(up.journal, "select value from meta where key='status'"), [("finished",)])
            self.assertEqual(query(up.journal, "select method, path, status from http"), [("GET", "/cars/3", 200)])

    def test_sigkill_leaves_a_journal_that_opens(self):
        with Up("rest-cars") as up:
            for i in range(5):
                requests.get(up.url() + "/cars/%d" % (i + 1), headers={"Connection": "close"}, timeout=5)
            time.sleep(0.3)  # several 20 ms ticks
            up.stop(signal.SIGKILL)
            con = sqlite3.connect(up.journal)
            try:
                self.assertEqual(con.execute("pragma integrity_check").fetchone(), ("ok",))
                self.assertEqual(con.execute("select count(*) from http").fetchone(), (5,))
                self.assertEqual(con.execute("select value from meta where key='status'").fetchone(), ("running",))
            finally:
                con.close()

    def test_port_in_use_names_port_and_service_and_suggests_ephemeral(self):
        blocker = socket.socket()
        blocker.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            blocker.bind(("127.0.0.1", 3000))
        except OSError:
            self.skipTest("port 3000 is held by another program on this machine")
        blocker.listen()
        try:
            r = run_wirelab("check", "rest-cars", "labs/rest-cars/solution.py",
                            "--run-dir", os.path.join(self.dir, "run"))
        finally:
            blocker.close()
        self.assertEqual(r.returncode, 2, r.stderr)
        self.assertIn("port 3000", r.stderr)
        self.assertIn('service "api"', r.stderr)
        self.assertIn("--ephemeral", r.stderr)
        self.assertNotIn("internal error", r.stderr)

    def test_timeout_kills_the_group_and_shows_partial_output(self):
        pidfile = os.path.join(self.dir, "child.pid")
        script = write(os.path.join(self.dir, "hang.py"), f"""
            import subprocess, time
            child = subprocess.Popen(["sleep", "1000"])
            open({pidfile!r}, "w").write(str(child.pid))
            print("before the hang", flush=True)
            time.sleep(1000)
            """)
        t0 = time.monotonic()
        r = run_wirelab("check", "rest-cars", script, "--ephemeral", "--timeout", "1", "--format", "json",
                        "--run-dir", os.path.join(self.dir, "run"))
        self.assertLess(time.monotonic() - t0, 15)
        self.assertEqual(r.returncode, 1, r.stderr)
        report = json.loads(r.stdout)
        exit_ok = next(c for c in report["checks"] if c["id"] == "exit-ok")
        self.assertEqual(exit_ok["status"], "failed")
        self.assertIn("did not finish within", exit_ok["message"])
        self.assertIn("before the hang", exit_ok["observed"])
        self.assertTrue(report["cases"][0]["timed_out"])
        with open(pidfile) as f:
            child = int(f.read())
        time.sleep(0.2)
        alive = False
        if os.path.exists(f"/proc/{child}"):
            with open(f"/proc/{child}/stat") as f:
                alive = f.read().split()[2] != "Z"
        self.assertFalse(alive, "the learner's child process survived the timeout")

    def test_sigterm_ignored_is_killed_after_the_grace(self):
        script = write(os.path.join(self.dir, "stubborn.py"), """
            import signal, time
            signal.signal(signal.SIGTERM, signal.SIG_IGN)
            print("ignoring SIGTERM", flush=True)
            time.sleep(1000)
            """)
        t0 = time.monotonic()
        r = self.check("rest-cars", script, "--timeout", "1", "--format", "json")
        self.assertLess(time.monotonic() - t0, 15)
        report = json.loads(r.stdout)
        self.assertTrue(report["cases"][0]["timed_out"])
        self.assertEqual(report["cases"][0]["signal"], signal.SIGKILL)

    def test_traceback_is_shown(self):
        script = write(os.path.join(self.dir, "boom.py"), """
            cars = {}
            print(cars["id"])
            """)
        r = self.check("rest-cars", script, "--format", "json")
        report = json.loads(r.stdout)
        exit_ok = next(c for c in report["checks"] if c["id"] == "exit-ok")
        self.assertIn("exited with status 1", exit_ok["message"])
        self.assertIn("KeyError: 'id'", exit_ok["observed"])

    def test_cases_get_stdin_args_env_in_order(self):
        script = write(os.path.join(self.dir, "echo.py"), """
            import os, sys
            print(sys.stdin.read().strip(), sys.argv[1:], os.environ.get("EXTRA"), os.environ["WIRELAB_CASE"])
            """)
        lab = os.path.join(FIXTURES, "sleeper")
        r = self.check(lab, script, "--format", "json")
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        rows = query(os.path.join(self.dir, "run", "journal.db"), "select name, stdout from cases order by id")
        self.assertEqual(rows[0], ("first", b"hello from stdin ['one'] x1 first\n"))
        self.assertEqual(rows[1], ("second", b" ['two'] None second\n"))

    def test_any_command_after_dashdash_with_real_curl(self):
        r = run_wirelab("check", "rest-cars", "--ephemeral", "--run-dir", os.path.join(self.dir, "run"),
                        "--format", "json", "--",
                        "sh", "-c", 'curl -s -H "Connection: close" "$WIRELAB_API_URL/cars?_sort=production_year&_order=desc"')
        report = json.loads(r.stdout)
        status = {c["id"]: c["status"] for c in report["checks"]}
        self.assertEqual(status["server-sorts"], "passed")
        self.assertEqual(status["closes-connections"], "passed")
        self.assertEqual(status["post-json"], "failed")
        self.assertIn("curl", report["cases"][0]["command"])

    def test_broken_labs_are_exit_2_with_file_line_pointer(self):
        cases = {
            "bad-json": ('{\n  "id": "x",\n  "title": "t"\n  "checks": []\n}', "lab.json:4"),
            "unknown-kind": ('{"id": "x", "title": "t", "services": {"api": {"kind": "htp"}},\n'
                             ' "checks": [{"id": "a", "title": "t", "kind": "exit"}]}', 'did you mean "http"'),
            "bad-port": ('{"id": "x", "title": "t",\n "services": {"api": {"kind": "http", "port": 70000}},\n'
                         ' "checks": [{"id": "a", "title": "t", "kind": "exit"}]}', "lab.json:2: /services/api/port"),
            "missing-data": ('{"id": "x", "title": "t", "services": {"api": {"kind": "http", "data": "nope.json"}},\n'
                             ' "checks": [{"id": "a", "title": "t", "kind": "exit"}]}', "nope.json"),
            "cycle": ('{"id": "x", "title": "t", "checks": [\n'
                      ' {"id": "a", "title": "t", "kind": "exit", "depends_on": "b"},\n'
                      ' {"id": "b", "title": "t", "kind": "exit", "depends_on": "a"}]}', "cycle"),
        }
        script = write(os.path.join(self.dir, "ok.py"), "print('hi')\n")
        for name, (text, expect) in cases.items():
            with self.subTest(name):
                lab = os.path.join(self.dir, name)
                os.makedirs(lab)
                write(os.path.join(lab, "lab.json"), text)
                r = self.check(lab, script)
                self.assertEqual(r.returncode, 2, r.stdout + r.stderr)
                self.assertIn(expect, r.stderr)
                self.assertNotIn("internal error", r.stderr)
                self.assertNotIn("Traceback", r.stderr)

    def test_unknown_lab_and_missing_script(self):
        r = run_wirelab("check", "rest-crs", "x.py")
        self.assertEqual(r.returncode, 2)
        self.assertIn('did you mean "rest-cars"', r.stderr)
        r = run_wirelab("check", "rest-cars", "does_not_exist.py", "--ephemeral")
        self.assertEqual(r.returncode, 2)
        self.assertIn("no such file: does_not_exist.py", r.stderr)

    def test_output_flood_is_counted_and_capped(self):
        script = write(os.path.join(self.dir, "flood.py"), """
            import sys
            block = "x" * 65536 + "\\n"
            for _ in range(400):
                sys.stdout.write(block)
            """)
        r = self.check("rest-cars", script, "--format", "json")
        self.assertIn(r.returncode, (0, 1), r.stderr)
        rows = query(os.path.join(self.dir, "run", "journal.db"),
                     "select stdout_bytes, length(stdout), stdout_truncated, exit_code from cases")
        self.assertEqual(rows, [(400 * 65537, 1 << 20, 1, 0)])


class HttpConnections(unittest.TestCase):
    def test_connection_close_is_answered_and_closed_by_the_server(self):
        with Up("rest-cars") as up:
            data = raw_http(up.port(), b"GET /cars/2 HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
            self.assertTrue(data.startswith(b"HTTP/1.1 200 OK\r\n"))
            self.assertIn(b"\r\nConnection: close\r\n", data)
            self.assertTrue(data.endswith(b"}"))
            up.stop()
            self.assertEqual(query(up.journal, "select closed_by, close_kind from connections"), [("server", "fin")])

    def test_keep_alive_and_client_close_and_reset(self):
        with Up("rest-cars") as up:
            with socket.create_connection(("127.0.0.1", up.port())) as s:
                s.sendall(b"GET /cars/1 HTTP/1.1\r\nHost: x\r\n\r\nGET /cars/2 HTTP/1.1\r\nHost: x\r\n\r\n")
                got = b""
                while got.count(b"HTTP/1.1 200 OK") < 2 or not got.endswith(b"}"):
                    got += s.recv(65536)
            self.assertIn(b"Keep-Alive: timeout=5", got)
            self.assertLess(got.index(b"Mustang"), got.index(b"Camaro"))  # pipelined, in order
            r = socket.create_connection(("127.0.0.1", up.port()))
            r.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            r.sendall(b"GET /cars/1 HTTP/1.1\r\nHost: x\r\n\r\n")
            time.sleep(0.2)
            r.close()  # RST
            time.sleep(0.2)
            up.stop()
            rows = query(up.journal, "select closed_by, close_kind from connections order by id")
            self.assertEqual(rows, [("client", "fin"), ("client", "reset")])
            self.assertEqual(query(up.journal, "select count(*) from http where connection_id = 1"), [(2,)])

    def test_raw_chunks_are_exactly_the_bytes(self):
        with Up("rest-cars") as up:
            request = b"POST /cars HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 14\r\nConnection: close\r\n\r\n{\"brand\": \"A\"}"
            answer = raw_http(up.port(), request)
            up.stop()
            got_in = b"".join(r[0] for r in query(up.journal, "select data from chunks where dir='in' order by offset"))
            got_out = b"".join(r[0] for r in query(up.journal, "select data from chunks where dir='out' order by offset"))
            self.assertEqual(got_in, request)
            self.assertEqual(got_out, answer)

    def test_chunks_rebuilt_from_exchanges_are_the_bytes_that_crossed(self):
        # One request at a time on a kept-alive connection: each read is a
        # request and each write a response, so the journal keeps them in
        # their exchange's row and the `chunks` view rebuilds them.
        requests_sent = [
            b"GET /cars/1 HTTP/1.1\r\nHost: x\r\nUser-Agent: t\r\n\r\n",
            b"POST /cars HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 14\r\n\r\n"
            b'{"brand": "A"}',
            b"POST /cars HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 14\r\n\r\n"
            b'{"brand": "B"}',
            b"HEAD /cars/2 HTTP/1.1\r\nHost: x\r\n\r\n",
            b"GET /cars HTTP/1.1\r\nHost: x\r\n\r\n",
            b"GET /cars?brand=%C3%A9 HTTP/1.1\r\nHost: x\r\n\r\n",
            b"DELETE /nothing/9 HTTP/1.1\r\nHost: x\r\n\r\n",
        ]
        with Up("rest-cars") as up:
            answers = b""
            with socket.create_connection(("127.0.0.1", up.port()), timeout=5) as s:
                for req in requests_sent:
                    s.sendall(req)
                    answers += read_response(s, head_only=req.startswith(b"HEAD"))
            # The same through requests (one connection, kept alive).
            with requests.Session() as session:
                for _ in range(3):
                    self.assertEqual(session.get(up.url() + "/cars/3", timeout=5).status_code, 200)
            up.stop()
            got_in = b"".join(r[0] for r in query(up.journal, "select data from chunks where connection_id = 1 "
                                                              "and dir = 'in' order by offset"))
            got_out = b"".join(r[0] for r in query(up.journal, "select data from chunks where connection_id = 1 "
                                                               "and dir = 'out' order by offset"))
            self.assertEqual(got_in, b"".join(requests_sent))
            self.assertEqual(got_out, answers)
            # None of them stored a second time as bytes of their own.
            self.assertEqual(query(up.journal, "select count(*) from chunk_rows"), [(0,)])
            self.assertEqual(query(up.journal, "select count(*), count(req_chunk_id), count(resp_chunk_id) "
                                               "from http_exchanges"), [(10, 10, 10)])
            # requests' connection: its bytes read back as requests for /cars/3.
            sent = b"".join(r[0] for r in query(up.journal, "select data from chunks where connection_id = 2 "
                                                            "and dir = 'in' order by offset"))
            self.assertEqual(sent.count(b"GET /cars/3 HTTP/1.1\r\n"), 3)
            self.assertEqual(query(up.journal, "select count(*) from chunks where typeof(data) != 'blob'"), [(0,)])

    def test_malformed_request_gets_400_and_is_journaled(self):
        with Up("rest-cars") as up:
            data = raw_http(up.port(), b"THIS IS NOT HTTP\r\n\r\n")
            self.assertTrue(data.startswith(b"HTTP/1.1 400 Bad Request"), data)
            big = raw_http(up.port(), b"GET /cars HTTP/1.1\r\nHost: x\r\nX-Big: " + b"a" * 20000 + b"\r\n\r\n")
            self.assertTrue(big.startswith(b"HTTP/1.1 431"), big[:80])
            ok = requests.get(up.url() + "/cars/1", timeout=5)  # still serving
            self.assertEqual(ok.status_code, 200)
            up.stop()
            rows = query(up.journal, "select status, error is not null from http order by id")
            self.assertEqual(rows, [(400, 1), (431, 1), (200, 0)])


if __name__ == "__main__":
    main()
