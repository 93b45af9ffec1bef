"""The learner's processes: the process tree in the journal, attribution of
connections to the process that made them, the sandbox's limits (each hit
reported in words, the machine left clean), and the http service's
synchronisation features (If-Match, a slow service, a cap on requests in
flight). Real programs, real sockets; no timing is asserted except lower
bounds that a configured delay implies."""
import concurrent.futures
import json
import os
import re
import tempfile
import textwrap
import time
import unittest

import requests

from wltest import SOURCE, Up, live_processes, main, query, run_wirelab

FIXTURES = os.path.join(SOURCE, "tests", "integration", "process_fixtures")
SANDBOX = os.path.join(FIXTURES, "sandbox")


def stray_processes(run_dir):
    """Processes still alive that carry the run's marker in their environment."""
    marker = ("WIRELAB_RUN_DIR=" + os.path.abspath(run_dir)).encode()
    return live_processes(lambda argv, env: marker in env)


def leftover_cgroups():
    """wirelab's cgroups (wirelab-<its pid>-<case>) whose wirelab has exited."""
    left = []
    own = {}
    with open("/proc/self/cgroup") as f:
        for line in f:
            _, controllers, path = line.rstrip("\n").split(":", 2)
            own[controllers] = path
    # Where wirelab makes them: under its own group (the test's, inherited).
    roots = ["/sys/fs/cgroup/pids" + own.get("pids", "/").rstrip("/"),
             "/sys/fs/cgroup" + own.get("", "/").rstrip("/"),
             "/sys/fs/cgroup/unified" + own.get("", "/").rstrip("/")]
    for root in roots:
        try:
            names = os.listdir(root)
        except OSError:
            continue
        for n in names:
            m = re.match(r"^wirelab-(\d+)-\d+$", n)
            if m and not os.path.exists(f"/proc/{m.group(1)}"):
                left.append(os.path.join(root, n))
    return left


class Sandboxed(unittest.TestCase):
    """Runs a program under the sandbox fixture lab in its own run dir."""

    def run_program(self, source, *extra, env=None, lab=SANDBOX, timeout=90):
        self.tmp = tempfile.TemporaryDirectory(prefix="wirelab-proc-")
        self.addCleanup(self.tmp.cleanup)
        script = os.path.join(self.tmp.name, "prog.py")
        with open(script, "w") as f:
            f.write(textwrap.dedent(source))
        self.run_dir = os.path.join(self.tmp.name, "run")
        t0 = time.monotonic()
        r = run_wirelab("check", lab, script, "--ephemeral", "--run-dir", self.run_dir, "--format", "json",
                        *extra, env=env, timeout=timeout)
        self.elapsed = time.monotonic() - t0
        self.assertIn(r.returncode, (0, 1), r.stderr)
        self.report = json.loads(r.stdout)
        self.journal = os.path.join(self.run_dir, "journal.db")
        # Whatever the program started is gone once wirelab returns, and so
        # are the cgroups it ran in.
        self.assertEqual(stray_processes(self.run_dir), [], "processes of the run survived it")
        self.assertEqual(leftover_cgroups(), [], "cgroups of finished runs are left behind")
        return self.report

    def check(self, check_id):
        return next(c for c in self.report["checks"] if c["id"] == check_id)

    def case(self):
        return self.report["cases"][0]


POOL_CLIENT = """
    import json, multiprocessing, os, urllib.request
    URL = os.environ["WIRELAB_API_URL"] + "/items/1"
    def fetch(i):
        with urllib.request.urlopen(URL) as r:
            r.read()
        return os.getpid()
    if __name__ == "__main__":
        with multiprocessing.Pool(3) as pool:
            pids = pool.map(fetch, range(6), chunksize=2)
        print(json.dumps({"root": os.getpid(), "workers": sorted(set(pids))}))
"""

THREAD_CLIENT = """
    import json, os, threading, urllib.request
    URL = os.environ["WIRELAB_API_URL"] + "/items/1"
    def fetch():
        with urllib.request.urlopen(URL) as r:
            r.read()
    threads = [threading.Thread(target=fetch) for _ in range(4)]
    for t in threads: t.start()
    for t in threads: t.join()
    print(json.dumps({"root": os.getpid()}))
"""


class Attribution(Sandboxed):
    def test_each_connection_names_the_worker_process_that_made_it(self):
        report = self.run_program(POOL_CLIENT)
        rows = query(self.journal, "SELECT pid FROM connections WHERE service = 'api' ORDER BY id")
        self.assertEqual(len(rows), 6)
        pids = {p for (p,) in rows}
        self.assertNotIn(None, pids, "every connection is attributed")
        out = query(self.journal, "SELECT stdout FROM cases")[0][0]
        printed = json.loads(out)
        self.assertEqual(pids, set(printed["workers"]), "the pids the workers printed")
        self.assertNotIn(printed["root"], pids)
        # The tree: the root and three workers whose parent it is.
        procs = query(self.journal, "SELECT pid, ppid, is_root, cmdline FROM processes")
        roots = [p for p in procs if p[2] == 1]
        self.assertEqual(len(roots), 1)
        self.assertEqual(roots[0][0], printed["root"])
        self.assertIn("prog.py", roots[0][3])
        children = {p[0] for p in procs if p[1] == printed["root"]}
        self.assertTrue(set(printed["workers"]) <= children, (printed, procs))
        for cid in ("exit-ok", "workers", "pids", "clean", "overlap"):
            self.assertEqual(self.check(cid)["status"], "passed", self.check(cid))

    def test_threads_share_one_pid_and_fail_the_process_checks(self):
        self.run_program(THREAD_CLIENT)
        out = query(self.journal, "SELECT stdout FROM cases")[0][0]
        root = json.loads(out)["root"]
        pids = {p for (p,) in query(self.journal, "SELECT pid FROM connections WHERE service = 'api'")}
        self.assertEqual(pids, {root})
        workers = self.check("workers")
        self.assertEqual(workers["status"], "failed")
        self.assertIn("never started a child process", workers["message"])
        self.assertIn("threads instead", workers["message"])
        self.assertEqual(self.check("pids")["status"], "failed")
        self.assertIn("at most 1 of your processes", self.check("pids")["message"])
        threads = query(self.journal, "SELECT threads_max FROM processes WHERE is_root = 1")[0][0]
        self.assertGreaterEqual(threads, 2)

    def test_one_request_after_another_fails_the_timing_check(self):
        self.run_program("""
            import os, urllib.request
            for _ in range(4):
                urllib.request.urlopen(os.environ["WIRELAB_API_URL"] + "/items/1").read()
        """)
        overlap = self.check("overlap")
        self.assertEqual(overlap["status"], "failed")
        self.assertIn("one after another", overlap["message"])
        # Four answers that each waited 400 ms: at least 1.6 s.
        self.assertGreaterEqual(overlap["evidence"]["serial_us"], 1600000)


class Limits(Sandboxed):
    def assert_limit(self, kind, words):
        case = self.case()
        self.assertEqual(case.get("limit", {}).get("kind"), kind, case)
        self.assertIn(words, case["limit"]["detail"])
        exit_check = self.check("exit-ok")
        self.assertEqual(exit_check["status"], "failed")
        self.assertIn(words, exit_check["message"])
        self.assertEqual(query(self.journal, "SELECT limit_hit FROM cases")[0][0], kind)

    # A tree of 2**9 - 1 processes, each sleeping: far over the cap of 16,
    # and bounded, so a broken sandbox cannot take the machine down.
    TREE = """
        import os, time
        for depth in range(8):
            for _ in range(2):
                try:
                    if os.fork() == 0:
                        break
                except OSError:
                    pass
            else:
                break
        time.sleep(30)
    """

    def test_too_many_processes_stops_the_tree_with_a_cgroup(self):
        self.run_program(self.TREE)
        self.assert_limit("processes", "the lab allows 16")

    def test_too_many_processes_stops_the_tree_with_the_watchdog(self):
        self.run_program(self.TREE, env={"WIRELAB_NO_CGROUP": "1"})
        self.assert_limit("processes", "processes at once; the lab allows 16")
        self.assertGreater(self.case()["processes_peak"], 16)

    def test_a_flood_of_output_is_stopped(self):
        self.run_program("""
            import sys
            line = "x" * 65535 + "\\n"
            while True:
                sys.stdout.write(line)
        """)
        self.assert_limit("output", "more than 4 MB of output")
        self.assertGreater(self.case()["stdout_bytes"], 4 << 20)

    def test_a_busy_loop_hits_the_cpu_limit(self):
        self.run_program("while True:\n    pass\n")
        self.assert_limit("cpu", "s of CPU time")

    def test_a_big_file_hits_the_file_size_limit(self):
        self.run_program("""
            import os
            with open(os.path.join(os.environ["WIRELAB_RUN_DIR"], "big.bin"), "wb") as f:
                f.write(b"x" * (2 << 20))
        """)
        self.assert_limit("file_size", "larger than 1 MB")

    def test_too_many_open_files(self):
        self.run_program("""
            import socket
            socks = [socket.socket() for _ in range(200)]
        """)
        self.assert_limit("open_files", "the lab allows 64")

    @unittest.skipIf("ASAN_OPTIONS" in os.environ,
                     "the asan build sets no address-space limit (docs/development.md)")
    def test_too_much_memory(self):
        self.run_program("block = bytearray(900 * 1024 * 1024)\n")
        self.assert_limit("memory", "512 MB")

    def test_a_child_that_escapes_with_setsid_is_found_and_killed(self):
        self.run_program("""
            import os, time
            if os.fork() == 0:
                os.setsid()
                if os.fork() == 0:
                    time.sleep(60)
                os._exit(0)
            time.sleep(0.3)
            print("parent done")
        """)
        left = query(self.journal, "SELECT pid, orphaned FROM processes WHERE left_running = 1")
        self.assertEqual(len(left), 1, query(self.journal, "SELECT * FROM processes"))
        self.assertEqual(left[0][1], 1, "its parent exited first: it was orphaned")
        clean = self.check("clean")
        self.assertEqual(clean["status"], "failed")
        self.assertIn("still running when the program exited", clean.get("observed", ""))

    def test_a_program_that_ignores_sigterm_is_killed_at_the_timeout(self):
        report = self.run_program("""
            import signal, time
            signal.signal(signal.SIGTERM, signal.SIG_IGN)
            print("started", flush=True)
            while True:
                time.sleep(1)
        """, "--timeout", "1")
        self.assertTrue(self.case()["timed_out"])
        self.assertIn("did not finish within", self.check("exit-ok")["message"])
        self.assertIn("started", self.check("exit-ok")["observed"])

    def test_a_program_that_closes_stdout_is_fine(self):
        self.run_program("""
            import os, sys
            print("bye", flush=True)
            os.close(1)
            sys.stderr.write("still here\\n")
        """)
        self.assertEqual(self.case()["exit_code"], 0)
        self.assertEqual(self.check("exit-ok")["status"], "passed")


class UnixSockets(Sandboxed):
    def test_the_kernel_names_the_connecting_process(self):
        lab = os.path.join(SOURCE, "labs", "unix-socket")
        self.run_program("""
            import os, socket
            path = os.environ["WIRELAB_HUB_PATH"]
            assert path.endswith("hub.sock") and "WIRELAB_HUB_PORT" not in os.environ
            s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            s.connect(path)
            f = s.makefile("rb")
            f.readline()
            s.sendall(b"BYE\\n")
            f.readline()
            print(os.getpid())
        """, lab=lab)
        rows = query(self.journal, "SELECT c.transport, c.pid, k.stdout FROM connections c JOIN cases k ON k.id = c.case_id")
        self.assertEqual(len(rows), 2)  # one per case
        for transport, pid, out in rows:
            self.assertEqual(transport, "unix")
            self.assertEqual(pid, int(out))
        self.assertEqual(self.check("says-bye")["status"], "passed")

    def test_a_socket_name_with_a_slash_is_refused(self):
        tmp = tempfile.TemporaryDirectory(prefix="wirelab-ipc-")
        self.addCleanup(tmp.cleanup)
        with open(os.path.join(tmp.name, "lab.json"), "w") as f:
            json.dump({"id": "bad-ipc", "title": "bad", "services": {"hub": {"kind": "ipc", "socket": "/tmp/x.sock",
                       "protocol": "echo"}}, "checks": [{"id": "x", "title": "x", "kind": "exit"}]}, f)
        r = run_wirelab("check", tmp.name, "--", "true")
        self.assertEqual(r.returncode, 2, r.stderr)
        self.assertIn("/services/hub/socket", r.stderr)
        self.assertIn("file name", r.stderr)


class BadLimits(unittest.TestCase):
    def test_a_misspelt_limit_is_named_with_a_suggestion(self):
        r = run_wirelab("check", os.path.join(FIXTURES, "badlimits"), "--", "true")
        self.assertEqual(r.returncode, 2, r.stderr)
        self.assertIn("/limits/procs", r.stderr)
        self.assertIn("processes", r.stderr)


class Synchronisation(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.up = Up(os.path.join(FIXTURES, "sync"))
        cls.up.__enter__()
        cls.url = cls.up.url("api") + "/counters/1"

    @classmethod
    def tearDownClass(cls):
        cls.up.__exit__(None, None, None)

    def test_if_match_required_stale_and_current(self):
        r = requests.put(self.url, json={"id": 1, "value": 1}, timeout=5)
        self.assertEqual(r.status_code, 428)
        self.assertIn("If-Match", r.json()["error"])
        got = requests.get(self.url, timeout=5)
        etag = got.headers["ETag"]
        r = requests.put(self.url, json={"id": 1, "value": 5}, headers={"If-Match": '"stale"'}, timeout=5)
        self.assertEqual(r.status_code, 412)
        self.assertEqual(r.headers["ETag"], etag)
        r = requests.put(self.url, json={"id": 1, "value": 5}, headers={"If-Match": etag}, timeout=5)
        self.assertEqual(r.status_code, 200)
        self.assertEqual(requests.get(self.url, timeout=5).json()["value"], 5)
        # The old ETag no longer matches: the resource changed.
        r = requests.put(self.url, json={"id": 1, "value": 6}, headers={"If-Match": etag}, timeout=5)
        self.assertEqual(r.status_code, 412)

    def test_requests_over_the_cap_get_429_with_retry_after(self):
        t0 = time.monotonic()
        with concurrent.futures.ThreadPoolExecutor(5) as pool:
            answers = list(pool.map(lambda _: requests.get(self.url, timeout=5), range(5)))
        codes = sorted(a.status_code for a in answers)
        self.assertEqual(codes.count(200), 2, codes)
        self.assertEqual(codes.count(429), 3, codes)
        busy = [a for a in answers if a.status_code == 429][0]
        self.assertEqual(busy.headers["Retry-After"], "3")
        # The two served ones waited the configured 300 ms.
        self.assertGreaterEqual(time.monotonic() - t0, 0.3)
        time.sleep(0.1)
        events = query(self.up.journal, "SELECT detail FROM events WHERE kind = 'busy'")
        self.assertGreaterEqual(len(events), 3)
        self.assertEqual(json.loads(events[0][0])["max_in_flight"], 2)


if __name__ == "__main__":
    main()
