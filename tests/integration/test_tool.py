"""The `tool` service: a real `devctl` process started the way a learner's
program starts it (from PATH, with subprocess), its argv journaled exactly,
output larger than a pipe holds, failures, a hang that only a kill ends,
junk on the tool's socket, and the tool run outside a lab."""
import os
import socket
import subprocess
import unittest

from wltest import BIN, LABS, ServedLab, main, query

LAB = os.path.join(LABS, "subprocess-devctl")


class Devctl(ServedLab):
    LAB = LAB

    def env(self):
        e = dict(os.environ)
        e.update(self.up.info["env"])
        return e

    def devctl(self, *args, **kw):
        return subprocess.run(["devctl", *args], capture_output=True, env=self.env(), timeout=20, **kw)

    def last_invocation(self):
        for _ in range(50):
            rows = self.journal_rows(
                "SELECT argv, pid, ppid, parent_cmdline, outcome, exit_code, hang, stdout_bytes, stderr_bytes, "
                "stdout_written, stderr_written FROM invocations ORDER BY id DESC LIMIT 1")
            if rows and rows[0][4] != "running":
                return rows[0]
        self.fail("the last run of devctl never ended in the journal")

    def test_environment_puts_devctl_first_on_path(self):
        env = self.up.info["env"]
        self.assertTrue(env["PATH"].startswith(os.path.join(self.up.info["run_dir"], "bin") + ":"))
        self.assertTrue(os.path.exists(env["WIRELAB_TOOL_DEVCTL"]))

    def test_list_and_argv_journaled_exactly(self):
        r = self.devctl("list")
        self.assertEqual(r.returncode, 0, r.stderr)
        names = r.stdout.decode().splitlines()
        self.assertIn("r4; touch pwned", names)
        r = self.devctl("show", "r4; touch pwned")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn(b"serial-number FTX2201A4D\n", r.stdout)
        argv, pid, ppid, parent, outcome, code, hang, *_ = self.last_invocation()
        self.assertEqual(argv, '["show","r4; touch pwned"]')
        self.assertEqual(outcome, "exited")
        self.assertEqual(code, 0)
        self.assertEqual(ppid, os.getpid())  # started by this test, directly
        self.assertNotIn("/bin/sh", parent)

    def test_output_larger_than_a_pipe_on_both_streams(self):
        r = self.devctl("show", "r1")
        self.assertEqual(r.returncode, 0)
        self.assertGreater(len(r.stdout), 64 * 1024)
        self.assertGreater(len(r.stderr), 64 * 1024)
        *_, out_bytes, err_bytes, out_written, err_written = self.last_invocation()
        self.assertEqual((out_written, err_written), (out_bytes, err_bytes))
        self.assertEqual(out_bytes, len(r.stdout))

    def test_a_reader_that_waits_first_blocks_the_tool(self):
        p = subprocess.Popen(["devctl", "show", "r2"], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                             env=self.env())
        with self.assertRaises(subprocess.TimeoutExpired):
            p.wait(timeout=1.5)
        p.kill()
        p.communicate()
        *_, outcome, code, hang, out_bytes, err_bytes, out_written, err_written = self.last_invocation()
        self.assertEqual(outcome, "killed")
        self.assertLess(out_written, out_bytes)
        self.assertLessEqual(out_written, 64 * 1024)

    def test_failures_and_usage_errors(self):
        r = self.devctl("show", "r3")
        self.assertEqual(r.returncode, 3)
        self.assertIn(b"connection refused", r.stderr)
        r = self.devctl("show", "r4")
        self.assertEqual(r.returncode, 4)
        self.assertIn(b"no device named 'r4'", r.stderr)
        r = self.devctl("frobnicate")
        self.assertEqual(r.returncode, 2)
        self.assertIn(b"unknown command", r.stderr)

    def test_a_hung_run_ends_only_when_killed(self):
        with self.assertRaises(subprocess.TimeoutExpired):
            subprocess.run(["devctl", "show", "fw-edge"], capture_output=True, env=self.env(), timeout=1)
        argv, pid, ppid, parent, outcome, code, hang, *_ = self.last_invocation()
        self.assertEqual(argv, '["show","fw-edge"]')
        self.assertEqual(outcome, "killed")
        self.assertEqual(hang, 1)

    def test_through_a_shell_the_parent_is_the_shell(self):
        r = subprocess.run("devctl show 'sw-core' > /dev/null 2>&1", shell=True, env=self.env(), timeout=20)
        self.assertEqual(r.returncode, 0)
        argv, pid, ppid, parent, *_ = self.last_invocation()
        self.assertIn('"-c"', parent)

    def test_junk_on_the_socket_is_journaled_and_the_tool_still_works(self):
        path = self.up.info["env"]["WIRELAB_TOOL_DEVCTL"]
        with socket.socket(socket.AF_UNIX) as s:
            s.connect(path)
            s.sendall(b"\x00\xff junk that is not json\n")
            s.settimeout(5)
            self.assertIn(b"error", s.recv(4096))
        with socket.socket(socket.AF_UNIX) as s:  # closes without a line
            s.connect(path)
            s.sendall(b"half a request")
        r = self.devctl("--version")
        self.assertEqual(r.stdout, b"devctl 2.4.1\n")
        self.assertTrue(self.journal_rows("SELECT count(*) FROM events WHERE kind = 'tool-junk'")[0][0] >= 2)


class OutsideALab(unittest.TestCase):
    def test_the_tool_says_where_it_belongs(self):
        env = {k: v for k, v in os.environ.items() if not k.startswith("WIRELAB_TOOL_")}
        r = subprocess.run([BIN, "tool", "devctl", "list"], capture_output=True, text=True, env=env, timeout=20)
        self.assertEqual(r.returncode, 127)
        self.assertIn("runs only inside", r.stderr)
        self.assertIn("wirelab check", r.stderr)

    def test_a_stopped_lab_is_reported(self):
        env = dict(os.environ, WIRELAB_TOOL_DEVCTL="/nonexistent/devctl.tool.sock")
        r = subprocess.run([BIN, "tool", "devctl", "list"], capture_output=True, text=True, env=env, timeout=20)
        self.assertEqual(r.returncode, 127)
        self.assertIn("cannot reach the lab", r.stderr)


if __name__ == "__main__":
    main()
