"""The classroom with real processes: `wirelab classroom` serving, learners
submitting with `wirelab check --classroom`, the outbox while the classroom
is down, a restart that loses nothing, hosted services driven by the real
requests library, live updates over SSE, and every refusal a learner's
token must meet (issue 10's classroom rows)."""
import gzip
import json
import os
import shutil
import signal
import socket
import sqlite3
import subprocess
import tempfile
import threading
import time
import unittest
import urllib.error
import urllib.request

from wltest import BIN, LABS, PYTHON, SOURCE, run_wirelab

FIXTURES = os.path.join(os.path.dirname(__file__), "classroom_fixtures")
SCENARIO = os.path.join(FIXTURES, "test-day.json")
ROSTER = "name,email\nAda Lovelace,ada@example.org\nAlan Turing,alan@example.org\n\"Hopper, Grace\",grace@example.org\n"


class Classroom:
    """`wirelab classroom SCENARIO --format json` on a free port."""

    def __init__(self, state, roster=None, scenario=SCENARIO, port=0, extra=()):
        self.state, self.roster, self.scenario, self.port, self.extra = state, roster, scenario, port, extra
        self.proc = None

    def __enter__(self):
        args = [BIN, "classroom", self.scenario, "--state", self.state, "--port", str(self.port), "--format", "json",
                *self.extra]
        if self.roster:
            args += ["--roster", self.roster]
        self.proc = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=SOURCE)
        line = self.proc.stdout.readline()
        if not line:
            raise AssertionError("wirelab classroom printed nothing: " + self.proc.stderr.read())
        self.info = json.loads(line)
        self.url = self.info["url"]
        self.trainer = self.info["trainer_token"]
        self.tokens = {l["name"]: l["token"] for l in self.info["learners"]}
        return self

    def __exit__(self, *exc):
        self.stop()

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
                raise AssertionError("the classroom did not stop within 15 s of SIGTERM")
        if self.proc:
            self.proc.stdout.close()
            self.proc.stderr.close()
        return self.proc.returncode

    def call(self, method, path, token=None, body=None, raw=None, headers=None):
        """(status, parsed JSON or text)."""
        data = raw if raw is not None else (json.dumps(body).encode() if body is not None else None)
        req = urllib.request.Request(self.url + path, data=data, method=method)
        if token:
            req.add_header("Authorization", "Bearer " + token)
        for k, v in (headers or {}).items():
            req.add_header(k, v)
        try:
            with urllib.request.urlopen(req, timeout=30) as r:
                status, text, ctype = r.status, r.read().decode(), r.headers.get("Content-Type", "")
        except urllib.error.HTTPError as e:
            status, text, ctype = e.code, e.read().decode(), e.headers.get("Content-Type", "")
        return status, json.loads(text) if ctype.startswith("application/json") else text


class ClassroomTest(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.mkdtemp(prefix="wirelab-classroom-")
        self.state = os.path.join(self.tmp, "state")
        self.home = os.path.join(self.tmp, "home")
        self.roster = os.path.join(self.tmp, "class.csv")
        with open(self.roster, "w") as f:
            f.write(ROSTER)

    def tearDown(self):
        shutil.rmtree(self.tmp, ignore_errors=True)

    def check(self, room_url, token, lab, script, *extra):
        return run_wirelab("check", lab, script, "--ephemeral", "--classroom", room_url, "--token", token, *extra,
                           cwd=self.tmp, env={"WIRELAB_HOME": self.home})

    def test_learners_submit_and_the_grid_fills_in(self):
        with Classroom(self.state, self.roster) as room:
            self.assertEqual(len(room.tokens), 3)
            good = self.check(room.url, room.tokens["Ada Lovelace"], "socket-head",
                              os.path.join(LABS, "socket-head/solution.py"))
            self.assertEqual(good.returncode, 0, good.stderr)
            self.assertRegex(good.stderr, r"classroom: submitted; the classroom graded it 11(\.0)?/11(\.0)? \(run #1\)")
            bad = self.check(room.url, room.tokens["Alan Turing"], "socket-head",
                             os.path.join(LABS, "socket-head/mistakes/no_timeout.py"))
            self.assertEqual(bad.returncode, 1, bad.stderr)
            self.assertIn("classroom: submitted", bad.stderr)

            status, grid = room.call("GET", "/api/grid", room.trainer)
            self.assertEqual(status, 200)
            rows = {l["name"]: l for l in grid["learners"]}
            ada = rows["Ada Lovelace"]["labs"]["socket-head"]
            self.assertTrue(ada["passed"])
            self.assertEqual(ada["score"], 11)
            self.assertEqual(set(ada["checks"].values()), {"passed"})
            alan = rows["Alan Turing"]["labs"]["socket-head"]
            self.assertFalse(alan["passed"])
            self.assertEqual(alan["checks"]["timeout"], "failed")
            self.assertEqual(rows["Hopper, Grace"]["labs"], {})
            self.assertEqual(grid["most_failed"]["check"], "timeout")
            self.assertEqual(grid["most_failed"]["learners"], 1)
            self.assertTrue(grid["most_failed"]["evidence"])
            # the "+0m" event fired at start; the "+600m" one did not
            fired = {e["id"]: e.get("fired_at") for e in grid["schedule"]}
            self.assertIsNotNone(fired["open-keepalive"])
            self.assertIsNone(fired["much-later"])
            self.assertTrue({l["id"]: l["open"] for l in grid["labs"]}["keepalive"])

            # the server graded the journal itself, and kept the report and traffic
            status, html = room.call("GET", "/api/submissions/1/report.html", room.tokens["Ada Lovelace"])
            self.assertEqual(status, 200)
            self.assertIn('id="score"', html)
            # a report shows what the learner's program printed: no script may run in it
            with urllib.request.urlopen(room.url + "/api/submissions/1/report.html?token=" + room.trainer) as r:
                csp = r.headers["Content-Security-Policy"]
            self.assertIn("script-src 'none'", csp)
            self.assertIn("default-src 'none'", csp)
            status, csv = room.call("GET", "/api/export.csv", room.trainer)
            lines = csv.strip().split("\n")
            self.assertTrue(lines[0].startswith("name,email,lab,score,max_score,passed,submissions,submitted_at,"))
            self.assertEqual(len(lines), 1 + 3 * 4)
            self.assertTrue(any(l.startswith("Ada Lovelace,ada@example.org,socket-head,11,11,true,1,") for l in lines))
            self.assertTrue(any(l.startswith('"Hopper, Grace",grace@example.org,socket-head,0,11,false,0,') for l in lines))
            status, gs = room.call("GET", "/api/export/gradescope.json", room.trainer)
            self.assertEqual({(r["email"], r["lab"]) for r in gs},
                             {("ada@example.org", "socket-head"), ("alan@example.org", "socket-head")})
            self.assertEqual(next(r for r in gs if r["email"] == "ada@example.org")["results"]["score"], 11)

    def test_tokens_are_checked_and_learners_see_only_their_own(self):
        with Classroom(self.state, self.roster) as room:
            ada, alan = room.tokens["Ada Lovelace"], room.tokens["Alan Turing"]
            r = self.check(room.url, ada, "socket-head", os.path.join(LABS, "socket-head/solution.py"))
            self.assertIn("(run #1)", r.stderr)
            # no token, a made-up one, a trainer-looking one
            for token in (None, "wl-1-00000000000000000000000000000000", "wlt-guess", ada[:-1] + "x"):
                status, body = room.call("GET", "/api/me", token)
                self.assertEqual(status, 401, token)
                self.assertEqual(body["error"], "no valid token")
            # a learner on trainer endpoints
            for method, path, body in (("GET", "/api/grid", None), ("GET", "/api/learners", None),
                                       ("GET", "/api/export.csv", None), ("POST", "/api/actions", {"event": "flaky"})):
                status, answer = room.call(method, path, alan, body)
                self.assertEqual(status, 403, path)
                self.assertEqual(answer["error"], "this needs the trainer's token")
            # another learner's run: not found (the same answer as a run that does not exist)
            self.assertEqual(room.call("GET", "/api/submissions/1", alan)[0], 404)
            self.assertEqual(room.call("GET", "/api/submissions/1/report.html", alan)[0], 404)
            self.assertEqual(room.call("GET", "/api/submissions/99", alan)[0], 404)
            self.assertEqual(room.call("GET", "/api/submissions/1", ada)[0], 200)
            # the trainer reads everyone's
            self.assertEqual(room.call("GET", "/api/submissions/1", room.trainer)[0], 200)
            # the learner's own page shows only their runs
            status, me = room.call("GET", "/api/me", alan)
            self.assertEqual(me["name"], "Alan Turing")
            self.assertEqual([run for lab in me["labs"] for run in lab["runs"]], [])

    def test_submissions_are_validated(self):
        with Classroom(self.state, self.roster) as room:
            ada, alan = room.tokens["Ada Lovelace"], room.tokens["Alan Turing"]
            path = "/api/labs/socket-head/submissions"
            # not gzip; gzip but not a bundle; a bundle escaping its folder; no journal
            status, body = room.call("POST", path, ada, raw=b"hello")
            self.assertEqual((status, body["error"]), (400, "the run bundle is not valid gzip (corrupt)"))
            status, body = room.call("POST", path, ada, raw=gzip.compress(b"PK\x03\x04 a zip"))
            self.assertEqual(status, 400)
            self.assertIn("not a wirelab run bundle", body["error"])
            evil = gzip.compress(b"wirelab-run 1\nF ../../etc/x\n3\nabcE\n")
            status, body = room.call("POST", path, ada, raw=evil)
            self.assertEqual((status, body["error"]), (400, "the run bundle names a file outside its folder: ../../etc/x"))
            status, body = room.call("POST", path, ada, raw=gzip.compress(b"wirelab-run 1\nF notes.txt\n2\nhiE\n"))
            self.assertEqual((status, body["error"]), (400, "the run bundle has no journal.db"))
            fake = gzip.compress(b"wirelab-run 1\nF journal.db\n5\nhelloE\n")
            status, body = room.call("POST", path, ada, raw=fake)
            self.assertEqual(status, 400)
            self.assertIn("its journal cannot be read", body["error"])
            # a zip bomb: 80 MiB of zeros in a few KiB
            bomb = gzip.compress(b"wirelab-run 1\nF journal.db\n83886080\n" + bytes(80 << 20))
            self.assertLess(len(bomb), 200_000)
            status, body = room.call("POST", path, ada, raw=bomb)
            self.assertEqual(status, 400)
            self.assertIn("more than 64 MiB", body["error"])
            # over the upload limit: refused from the header, the body never read
            status, body = room.call("POST", path, ada, raw=b"x" * (17 << 20))
            self.assertEqual(status, 413)
            # a lab that is not in the classroom; a closed lab
            self.assertEqual(room.call("POST", "/api/labs/pg-crud/submissions", ada, raw=b"x")[0], 404)
            self.assertEqual(room.call("POST", "/api/labs/sqlite-todo/submissions", ada, raw=b"x")[0], 403)
            # Ada's real run submitted with Alan's token: the seed is Ada's, not his
            run_dir = os.path.join(self.tmp, "ada-run")
            r = self.check(room.url, ada, "socket-head", os.path.join(LABS, "socket-head/solution.py"),
                           "--run-dir", run_dir)
            self.assertIn("(run #1)", r.stderr)
            s = run_wirelab("submit", run_dir, "--classroom", room.url, "--token", alan, cwd=self.tmp,
                            env={"WIRELAB_HOME": self.home})
            self.assertEqual(s.returncode, 1)
            self.assertRegex(s.stderr, r"classroom: not submitted: this run used seed \d+; yours for this lab is \d+")
            # a run made without --classroom (the lab's default seed) is refused the same way
            plain = os.path.join(self.tmp, "plain-run")
            run_wirelab("check", "socket-head", os.path.join(LABS, "socket-head/solution.py"), "--ephemeral",
                        "--run-dir", plain, cwd=self.tmp)
            s = run_wirelab("submit", plain, "--classroom", room.url, "--token", ada, cwd=self.tmp,
                            env={"WIRELAB_HOME": self.home})
            self.assertIn("this run used seed", s.stderr)
            # nothing of this reached the grid, and the server still serves
            status, grid = room.call("GET", "/api/grid", room.trainer)
            self.assertEqual(status, 200)
            self.assertEqual(sum(l["labs"].get("socket-head", {}).get("submissions", 0) for l in grid["learners"]), 1)
            self.assertEqual(os.listdir(os.path.join(self.state, "submissions")), ["1"])

    def test_an_unreachable_classroom_keeps_runs_and_a_restart_loses_nothing(self):
        with Classroom(self.state, self.roster) as room:
            url, ada = room.url, room.tokens["Ada Lovelace"]
            self.check(url, ada, "socket-head", os.path.join(LABS, "socket-head/solution.py"))
            port = int(url.rsplit(":", 1)[1])
        # the classroom is down: the run happens, is graded here, and kept
        r = self.check(url, ada, "socket-head", os.path.join(LABS, "socket-head/mistakes/no_timeout.py"))
        self.assertEqual(r.returncode, 1)
        self.assertIn("classroom: cannot reach " + url, r.stderr)
        self.assertIn("running with your values but without the class's current faults", r.stderr)
        self.assertRegex(r.stderr, r"the run is kept in .*/outbox/.*\.run and sent with your next check or `wirelab submit`")
        outbox = os.path.join(self.home, "outbox")
        self.assertEqual(len([f for f in os.listdir(outbox) if f.endswith(".run")]), 1)
        self.assertEqual(oct(os.stat(outbox).st_mode & 0o777), "0o700")
        # back on the same port, the same state: tokens and runs are still there
        with Classroom(self.state, self.roster, port=port) as room:
            self.assertEqual(room.tokens["Ada Lovelace"], ada)
            s = run_wirelab("submit", cwd=self.tmp, env={"WIRELAB_HOME": self.home})
            self.assertEqual(s.returncode, 0, s.stderr)
            self.assertEqual(s.stdout.strip(), "socket-head: sent")
            self.assertEqual([f for f in os.listdir(outbox)], [])
            status, me = room.call("GET", "/api/me", ada)
            runs = next(l for l in me["labs"] if l["id"] == "socket-head")["runs"]
            self.assertEqual([r["score"] for r in runs], [10, 11])  # newest first: the kept run, then the first
            # the +0m event fired once, on the first start only
            db = sqlite3.connect(os.path.join(self.state, "classroom.db"))
            n = db.execute("SELECT count(*) FROM actions WHERE event = 'open-keepalive'").fetchone()[0]
            self.assertEqual(n, 1)

    def test_trainer_actions_reach_local_runs(self):
        with Classroom(self.state, self.roster) as room:
            ada = room.tokens["Ada Lovelace"]
            # closed lab: graded locally, not submitted
            r = self.check(room.url, ada, "sqlite-todo", os.path.join(LABS, "sqlite-todo/solution.py"))
            self.assertIn("classroom: sqlite-todo is closed in this classroom; the run is graded here but not submitted",
                          r.stderr)
            self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
            status, ev = room.call("POST", "/api/actions", room.trainer, {"action": "open", "lab": "sqlite-todo"})
            self.assertEqual((status, ev["action"]["action"]), (200, "open"))
            r = self.check(room.url, ada, "sqlite-todo", os.path.join(LABS, "sqlite-todo/solution.py"))
            self.assertIn("classroom: submitted", r.stderr)
            # the trainer switches the REST API's class-wide fault on: Ada's local run meets it
            status, _ = room.call("POST", "/api/actions", room.trainer, {"event": "flaky"})
            self.assertEqual(status, 200)
            status, cfg = room.call("GET", "/api/labs/rest-cars", ada)
            self.assertEqual(cfg["faults"]["api"]["name"], "api-503")
            run_dir = os.path.join(self.tmp, "flaky-run")
            r = self.check(room.url, ada, "rest-cars", os.path.join(LABS, "rest-cars/solution.py"), "--run-dir", run_dir)
            self.assertIn("classroom: ⚡ api: one answer in three is a 503 (switched on by the trainer)", r.stderr)
            db = sqlite3.connect(os.path.join(run_dir, "journal.db"))
            statuses = [s for (s,) in db.execute("SELECT status FROM http ORDER BY id")]
            self.assertEqual(statuses.count(503), len(statuses) // 3, statuses)
            # and off again
            room.call("POST", "/api/actions", room.trainer, {"event": "calm"})
            status, cfg = room.call("GET", "/api/labs/rest-cars", ada)
            self.assertEqual(cfg["faults"], {})
            # unknown things the trainer might send
            self.assertEqual(room.call("POST", "/api/actions", room.trainer, {"event": "nope"})[0], 404)
            status, body = room.call("POST", "/api/actions", room.trainer, {"action": "explode"})
            self.assertEqual(status, 400)
            self.assertIn("unknown action", body["error"])
            self.assertEqual(room.call("POST", "/api/actions", room.trainer, raw=b"{not json")[0], 400)

    def test_join_code(self):
        with Classroom(self.state) as room:
            code = room.info["join_code"]
            status, body = room.call("POST", "/api/join", body={"code": "WRONG1", "name": "Eve"})
            self.assertEqual((status, body["error"]), (403, "the join code is wrong"))
            status, joined = room.call("POST", "/api/join", body={"code": code.lower(), "name": "Lin", "email": "lin@example.org"})
            self.assertEqual(status, 201)
            self.assertEqual(room.call("GET", "/api/me", joined["token"])[1]["name"], "Lin")
            status, body = room.call("POST", "/api/join", body={"code": code, "name": "Lin again", "email": "LIN@example.org"})
            self.assertEqual(status, 409)
            r = self.check(room.url, joined["token"], "socket-head", os.path.join(LABS, "socket-head/solution.py"))
            self.assertIn("classroom: submitted", r.stderr)
            # a name chosen to be a spreadsheet formula stays text in the export
            status, evil = room.call("POST", "/api/join", body={"code": code, "name": '=HYPERLINK("http://x","y")'})
            self.assertEqual(status, 201)
            csv = room.call("GET", "/api/export.csv", room.trainer)[1]
            self.assertIn('"\'=HYPERLINK(""http://x"",""y"")",,socket-head,', csv)
            self.assertNotIn('\n"=HYPERLINK', csv)
            with open(os.path.join(self.state, "tokens.csv")) as f:
                self.assertIn("Lin,lin@example.org," + joined["token"], f.read())
            self.assertEqual(oct(os.stat(os.path.join(self.state, "tokens.csv")).st_mode & 0o777), "0o600")

    def test_live_updates_reach_the_trainer_and_only_the_learner_concerned(self):
        with Classroom(self.state, self.roster) as room:
            ada, alan = room.tokens["Ada Lovelace"], room.tokens["Alan Turing"]
            host, port = room.url[len("http://"):].rsplit(":", 1)

            def stream(token, into, stop):
                s = socket.create_connection((host, int(port)), timeout=20)
                s.sendall(f"GET /api/events?token={token} HTTP/1.1\r\nHost: x\r\n\r\n".encode())
                buf = b""
                while not stop.is_set():
                    try:
                        chunk = s.recv(4096)
                    except socket.timeout:
                        break
                    if not chunk:
                        break
                    buf += chunk
                    into[:] = [buf.decode()]
                s.close()

            got = {"trainer": [""], "alan": [""]}
            stop = threading.Event()
            threads = [threading.Thread(target=stream, args=(room.trainer, got["trainer"], stop)),
                       threading.Thread(target=stream, args=(alan, got["alan"], stop))]
            for t in threads:
                t.start()
            time.sleep(0.5)
            self.check(room.url, ada, "socket-head", os.path.join(LABS, "socket-head/solution.py"))
            room.call("POST", "/api/actions", room.trainer, {"action": "open", "lab": "sqlite-todo"})
            deadline = time.time() + 10
            while time.time() < deadline and "event: action" not in got["alan"][0]:
                time.sleep(0.1)
            stop.set()
            room.stop()
            for t in threads:
                t.join(timeout=20)
            self.assertTrue(got["trainer"][0].startswith("HTTP/1.1 200 OK\r\nContent-Type: text/event-stream"))
            self.assertIn("event: submission\ndata: {", got["trainer"][0])
            self.assertIn('"learner":1', got["trainer"][0])
            # Alan hears that a lab opened, not that Ada submitted
            self.assertIn("event: action", got["alan"][0])
            self.assertNotIn("event: submission", got["alan"][0])

    def test_hosted_services_for_a_learner_with_only_python(self):
        with Classroom(self.state, self.roster) as room:
            ada, alan = room.tokens["Ada Lovelace"], room.tokens["Alan Turing"]
            status, hosted = room.call("POST", "/api/labs/rest-cars/hosted", ada)
            self.assertEqual(status, 200, hosted)
            api = hosted["services"]["api"]
            self.assertEqual(hosted["env"]["WIRELAB_API_URL"], api["url"])
            # idempotent; and each learner gets their own services
            self.assertEqual(room.call("POST", "/api/labs/rest-cars/hosted", ada)[1]["services"], hosted["services"])
            other = room.call("POST", "/api/labs/rest-cars/hosted", alan)[1]
            self.assertNotEqual(other["services"]["api"]["port"], api["port"])
            # Ada runs the solution herself, with plain python3 and requests
            env = dict(os.environ, **hosted["env"])
            p = subprocess.run([PYTHON, os.path.join(LABS, "rest-cars/solution.py")], env=env, capture_output=True,
                               text=True, timeout=60)
            self.assertEqual(p.returncode, 0, p.stderr)
            status, graded = room.call("POST", "/api/labs/rest-cars/hosted/check", ada)
            self.assertEqual(status, 201, graded)
            ids = {c["id"]: c["status"] for c in graded["checks"]}
            # what needs her program (exit status, output) is not graded here; the traffic is
            self.assertNotIn("exit-ok", ids)
            self.assertNotIn("prints-sorted", ids)
            self.assertEqual(ids["post-json"], "passed")
            self.assertEqual(ids["car-7-stored"], "passed")
            self.assertTrue(graded["passed"], graded)
            status, sub = room.call("GET", "/api/submissions/%d" % graded["id"], ada)
            self.assertEqual(sub["mode"], "hosted")
            # Alan checks without having sent anything: his own (empty) traffic, not Ada's
            status, his = room.call("POST", "/api/labs/rest-cars/hosted/check", alan)
            self.assertEqual(status, 201)
            self.assertEqual({c["id"]: c["status"] for c in his["checks"]}["post-json"], "failed")
            # a reset: fresh state on the same port
            status, after = room.call("POST", "/api/labs/rest-cars/hosted/reset", ada)
            self.assertEqual(after["services"]["api"]["port"], api["port"])
            status, graded = room.call("POST", "/api/labs/rest-cars/hosted/check", ada)
            self.assertEqual({c["id"]: c["status"] for c in graded["checks"]}["post-json"], "failed")
            # the trainer switches a class-wide fault on: every hosted API of the lab restarts with it, same ports
            self.assertEqual(room.call("POST", "/api/actions", room.trainer, {"event": "flaky"})[0], 200)
            for token, port in ((ada, api["port"]), (alan, other["services"]["api"]["port"])):
                status, st = room.call("GET", "/api/labs/rest-cars/hosted", token)
                self.assertTrue(st["running"])
                self.assertEqual(st["services"]["api"]["port"], port)
                codes = []
                for _ in range(6):
                    try:
                        with urllib.request.urlopen("http://127.0.0.1:%d/cars" % port, timeout=10) as r:
                            codes.append(r.status)
                    except urllib.error.HTTPError as e:
                        codes.append(e.code)
                self.assertEqual(codes, [200, 200, 503, 200, 200, 503])
            self.assertEqual(room.call("GET", "/api/labs/rest-cars/hosted", ada)[1]["generation"], 3)
            # the trainer's token does not own hosted services; labs that cannot be hosted say so
            self.assertEqual(room.call("POST", "/api/labs/rest-cars/hosted", room.trainer)[0], 403)
            status, body = room.call("POST", "/api/labs/sqlite-todo/hosted", ada)
            self.assertEqual(status, 409)
            self.assertIn("cannot be hosted", body["error"])
            hosted_dirs = os.listdir(os.path.join(self.state, "hosted"))
            self.assertEqual(sorted(hosted_dirs), ["learner-1", "learner-2"])
            self.assertEqual(room.call("POST", "/api/actions", room.trainer, {"event": "calm"})[0], 200)
            # `wirelab check --hosted`: the program runs here against Alan's own services, started afresh
            # each time (the second run meets no car 7 left by the first), and the classroom grades the traffic
            for attempt in (1, 2):
                r = self.check(room.url, alan, "rest-cars", os.path.join(LABS, "rest-cars/solution.py"), "--hosted")
                self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
                self.assertIn("classroom: hosted api at http://127.0.0.1:", r.stderr)
                self.assertRegex(r.stdout, r"the classroom graded the traffic of your run: 11(\.0)?/11(\.0)? \(run #\d+\)")
                self.assertIn("1957 Mercedes Benz 300SL", r.stdout)  # the program's own output, as it printed it
            r = self.check(room.url, alan, "rest-cars", os.path.join(LABS, "rest-cars/mistakes/no_content_type.py"), "--hosted")
            self.assertEqual(r.returncode, 1)
            self.assertIn("✗ Adds car 7 with a JSON body and Content-Type: application/json", r.stdout)
            self.assertIn("hint: Use requests.post(url, json=car)", r.stdout)
            r = run_wirelab("check", "rest-cars", os.path.join(LABS, "rest-cars/solution.py"), "--hosted", cwd=self.tmp)
            self.assertEqual(r.returncode, 2)
            self.assertIn("--hosted needs the classroom", r.stderr)
        # the classroom stopped its learners' services with it
        with self.assertRaises(OSError):
            socket.create_connection(("127.0.0.1", api["port"]), timeout=2).close()

    def test_a_class_on_a_network(self):
        with Classroom(self.state, self.roster, extra=("--listen", "0.0.0.0")) as room:
            ada = room.tokens["Ada Lovelace"]
            self.assertEqual(room.call("GET", "/api/health")[0], 200)
            # hosted services listen everywhere too, and are given at the address the learner used
            status, hosted = room.call("POST", "/api/labs/rest-cars/hosted", ada)
            api = hosted["services"]["api"]
            self.assertEqual(api["host"], "127.0.0.1")
            self.assertEqual(hosted["env"]["WIRELAB_API_URL"], "http://127.0.0.1:%d" % api["port"])
            self.assertEqual(hosted["env"]["WIRELAB_API_HOST"], "127.0.0.1")
            r = subprocess.run(["ss", "-ltnH", "sport = :%d" % api["port"]], capture_output=True, text=True)
            self.assertIn("0.0.0.0:%d" % api["port"], r.stdout)

    def test_bad_scenarios_and_rosters_say_where(self):
        cases = {
            "broken-fault.json": ('/faults/db-slow/service: lab "rest-cars" has no service "db"', "its services: api"),
            "broken-action.json": ('/schedule/0/action: unknown action "opne"', 'did you mean "open"?'),
            "broken-lab.json": ('/labs/0/lab: no lab "rest-car"', 'did you mean "rest-cars"?'),
        }
        for name, (problem, fix) in cases.items():
            r = run_wirelab("classroom", os.path.join(FIXTURES, name), "--check")
            self.assertEqual(r.returncode, 2, name)
            self.assertIn(name + ":", r.stderr)
            self.assertIn(problem, r.stderr)
            self.assertIn(fix, r.stderr)
            self.assertNotIn("internal error", r.stderr)
        bad = os.path.join(self.tmp, "bad.csv")
        with open(bad, "w") as f:
            f.write("name,email\nAda,ada@example.org\nBob,not-an-address\n")
        r = run_wirelab("classroom", SCENARIO, "--state", self.state, "--roster", bad, "--port", "0")
        self.assertEqual(r.returncode, 2)
        self.assertIn(bad + ":3", r.stderr)
        self.assertIn('"not-an-address" is not an e-mail address', r.stderr)
        # the shipped scenarios load
        for f in sorted(os.listdir(os.path.join(SOURCE, "scenarios"))):
            if f.endswith(".json"):
                r = run_wirelab("classroom", f[:-5], "--check")
                self.assertEqual(r.returncode, 0, r.stderr)
                self.assertRegex(r.stdout, r"^%s: ok \(\d+ lab\(s\)" % f[:-5])

    def test_port_in_use_is_named(self):
        s = socket.socket()
        s.bind(("127.0.0.1", 0))
        s.listen()
        port = s.getsockname()[1]
        try:
            r = run_wirelab("classroom", SCENARIO, "--state", self.state, "--port", str(port))
            self.assertEqual(r.returncode, 2)
            self.assertIn("the classroom cannot listen on 127.0.0.1:%d" % port, r.stderr)
            self.assertIn("choose one with --port", r.stderr)
        finally:
            s.close()


if __name__ == "__main__":
    unittest.main()
