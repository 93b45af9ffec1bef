"""Server labs: wirelab waits for the learner's server to listen, runs the
simulated clients over real connections, stops the server with SIGINT, then
SIGTERM, then SIGKILL. A server that never listens, crashes, hangs or ignores
signals gives a clear report and never a hung wirelab."""
import json
import os
import shutil
import tempfile
import unittest

from wltest import SOURCE, main, query, run_wirelab

LAB = os.path.join(SOURCE, "tests", "integration", "server_fixtures")


def check(test, script, lab=LAB):
    tmp = tempfile.mkdtemp(prefix="wirelab-server-")
    test.addCleanup(shutil.rmtree, tmp, True)
    run = os.path.join(tmp, "run")
    r = run_wirelab("check", lab, os.path.join(lab, script), "--ephemeral", "--format", "json",
                    "--run-dir", run, timeout=60)
    report = json.loads(r.stdout)
    return r.returncode, {c["id"]: c for c in report["checks"]}, os.path.join(run, "journal.db")


class ServerMode(unittest.TestCase):
    def test_good_server_passes_and_is_journaled(self):
        code, checks, db = check(self, "good.py")
        self.assertEqual([k for k, c in checks.items() if c["status"] != "passed"], [])
        self.assertEqual(code, 0)
        roles = query(db, "SELECT role, count(*) FROM connections GROUP BY role")
        self.assertEqual(dict(roles), {"client": 6})
        steps = query(db, "SELECT client, count(*), min(ok) FROM steps GROUP BY client ORDER BY client")
        self.assertEqual(len([s for s in steps if s[0].startswith("pair#")]), 5)
        self.assertTrue(all(ok == 1 for _, _, ok in steps))
        env = query(db, "SELECT value FROM meta WHERE key = 'listen'")[0][0]
        self.assertRegex(env, r"^127\.0\.0\.1:\d+$")

    def test_never_listens(self):
        code, checks, _ = check(self, "never_listens.py")
        self.assertEqual(code, 1)
        self.assertIn("never started listening on 127.0.0.1:", checks["listens"]["message"])
        self.assertIn("never ran", checks["hello"]["message"])

    def test_crash_at_start(self):
        code, checks, _ = check(self, "crashes.py")
        self.assertEqual(code, 1)
        self.assertIn("exited with status 1 before listening", checks["listens"]["message"])
        self.assertIn("cannot read the configuration", checks["listens"]["observed"])
        self.assertIn("exited by itself", checks["stops"]["message"])

    def test_ignores_signals_until_sigkill(self):
        code, checks, db = check(self, "stubborn.py")
        self.assertEqual(checks["hello"]["status"], "passed")
        self.assertIn("SIGINT, then SIGTERM, then SIGKILL", checks["stops"]["message"])
        signals = [json.loads(d)["signal"] for (d,) in query(
            db, "SELECT detail FROM events WHERE kind = 'server' AND detail LIKE '%stopping%' ORDER BY id")]
        self.assertEqual(signals, ["SIGINT", "SIGTERM", "SIGKILL"])

    def test_silent_server(self):
        code, checks, _ = check(self, "silent.py")
        self.assertEqual(checks["listens"]["status"], "passed")
        self.assertEqual(checks["hello"]["status"], "failed")
        self.assertIn("nothing more within the time allowed", checks["hello"]["observed"])
        self.assertEqual(checks["stops"]["status"], "passed")


    def test_http_client_is_journaled_like_a_service(self):
        lab = os.path.join(SOURCE, "labs", "rest-server")
        code, checks, db = check(self, "solution.py", lab)
        self.assertEqual(code, 0, checks)
        exchanges = query(db, "SELECT service, method, status, connection_id FROM http ORDER BY id")
        self.assertEqual(exchanges[1][:3], ("create", "POST", 201))
        self.assertTrue(all(c is not None for *_, c in exchanges))
        roles = {r for (r,) in query(db, "SELECT DISTINCT role FROM connections")}
        self.assertEqual(roles, {"client"})
        sent = query(db, "SELECT data FROM chunks WHERE dir = 'out' AND connection_id = ?", exchanges[1][3])
        self.assertTrue(b"".join(d for (d,) in sent).startswith(b"POST /cars HTTP/1.1\r\n"))


if __name__ == "__main__":
    main()
