"""Shared helpers for wirelab's integration tests (stdlib only).

Every test runs the real `wirelab` binary (WIRELAB_BIN) with real sockets on
127.0.0.1 and real processes; nothing here fakes a server or a client.
"""
import json
import os
import signal
import socket
import sqlite3
import subprocess
import sys
import tempfile
import textwrap
import time
import unittest

BIN = os.environ.get("WIRELAB_BIN", "build/app/wirelab")
PYTHON = os.environ.get("WIRELAB_PYTHON", sys.executable)
SOURCE = os.environ.get("WIRELAB_SOURCE_DIR", os.path.abspath(os.path.join(os.path.dirname(__file__), "..", "..")))
LABS = os.path.join(SOURCE, "labs")


def run_wirelab(*args, timeout=120, cwd=None, env=None, input=None):
    """Runs wirelab to completion; returns CompletedProcess (text)."""
    e = dict(os.environ)
    e.setdefault("WIRELAB_PYTHON", PYTHON)
    e["NO_COLOR"] = "1"
    if env:
        e.update(env)
    return subprocess.run([BIN, *args], capture_output=True, text=True, timeout=timeout,
                          cwd=cwd or SOURCE, env=e, input=input)


class Up:
    """`wirelab up LAB --ephemeral --format json` as a context manager.

    Reads the first JSON line (endpoints, run_dir); stops with SIGTERM on exit.
    """

    def __init__(self, lab, *extra, run_dir=None):
        self.tmp = None
        if run_dir is None:
            self.tmp = tempfile.TemporaryDirectory(prefix="wirelab-test-")
            run_dir = os.path.join(self.tmp.name, "run")
        self.args = [BIN, "up", lab, "--ephemeral", "--format", "json", "--run-dir", run_dir, *extra]
        self.proc = None
        self.info = None

    def __enter__(self):
        self.proc = subprocess.Popen(self.args, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                     text=True, cwd=SOURCE)
        line = self.proc.stdout.readline()
        if not line:
            err = self.proc.stderr.read()
            raise AssertionError(f"wirelab up printed nothing; stderr: {err}")
        self.info = json.loads(line)
        return self

    def url(self, service="api"):
        return self.info["services"][service]["url"]

    def port(self, service="api"):
        return self.info["services"][service]["port"]

    @property
    def journal(self):
        return os.path.join(self.info["run_dir"], "journal.db")

    def stop(self, sig=signal.SIGTERM, timeout=10):
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(sig)
            try:
                self.proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
                raise AssertionError("wirelab up did not stop within %ss of %s" % (timeout, sig))
        return self.proc.returncode

    def __exit__(self, *exc):
        self.stop()
        if self.proc:
            self.proc.stdout.close()
            self.proc.stderr.close()
        if self.tmp:
            self.tmp.cleanup()


class ServedLab(unittest.TestCase):
    """A test class whose tests share one `wirelab up LAB` (set LAB on the
    subclass); `self.up` is the running Up, `self.messages(service)` the
    service's journaled messages."""

    LAB = None

    @classmethod
    def setUpClass(cls):
        cls.up = Up(cls.LAB)
        cls.up.__enter__()

    @classmethod
    def tearDownClass(cls):
        cls.up.__exit__(None, None, None)

    def journal_rows(self, sql, *params):
        time.sleep(0.1)  # the journal commits every 20 ms
        return query(self.up.journal, sql, *params)


class CheckedProgram(unittest.TestCase):
    """A test class whose tests share one `wirelab check LAB prog.py` of
    PROGRAM (set LAB and PROGRAM on the subclass): `self.r` is the finished
    process, `self.report` its JSON report, `self.journal` and
    `self.run_dir` the run's, `self.out` each case's stdout parsed as JSON
    (where it is JSON)."""

    LAB = None
    PROGRAM = None

    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.TemporaryDirectory(prefix="wirelab-test-")
        script = os.path.join(cls.tmp.name, "prog.py")
        with open(script, "w") as f:
            f.write(textwrap.dedent(cls.PROGRAM))
        cls.run_dir = os.path.join(cls.tmp.name, "run")
        cls.r = run_wirelab("check", cls.LAB, script, "--ephemeral", "--run-dir", cls.run_dir, "--format", "json")
        cls.report = json.loads(cls.r.stdout)
        cls.journal = os.path.join(cls.run_dir, "journal.db")
        cls.out = {}
        for name, stdout in query(cls.journal, "SELECT name, stdout FROM cases"):
            try:
                cls.out[name] = json.loads(stdout)
            except (TypeError, ValueError):
                cls.out[name] = stdout

    @classmethod
    def tearDownClass(cls):
        cls.tmp.cleanup()


def query(db_path, sql, *params):
    """Rows of a read-only SQL query on a journal or state file."""
    con = sqlite3.connect(f"file:{db_path}?mode=ro", uri=True)
    try:
        return con.execute(sql, params).fetchall()
    finally:
        con.close()


def raw_http(port, data, read_until_close=True, timeout=5):
    """Sends raw bytes to 127.0.0.1:port; returns everything read back."""
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as s:
        s.sendall(data)
        chunks = []
        try:
            while True:
                b = s.recv(65536)
                if not b:
                    break
                chunks.append(b)
                if not read_until_close:
                    break
        except socket.timeout:
            pass
        return b"".join(chunks)


def live_processes(keep):
    """Pids of live (not zombie) processes for which keep(argv, environ)
    is true; argv and environ are lists of bytes."""
    found = []
    for pid in os.listdir("/proc"):
        if not pid.isdigit():
            continue
        try:
            with open(f"/proc/{pid}/cmdline", "rb") as f:
                argv = f.read().split(b"\0")
            with open(f"/proc/{pid}/environ", "rb") as f:
                env = f.read().split(b"\0")
            with open(f"/proc/{pid}/stat") as f:
                state = f.read().rsplit(")", 1)[1].split()[0]
        except OSError:
            continue
        if state not in ("Z", "X") and keep(argv, env):
            found.append(int(pid))
    return found


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def main():
    unittest.main(verbosity=2)
