"""Reports a learner or a grading system reads, from real runs: text, JSON,
JUnit (parsed by Python's xml), Gradescope and PrairieLearn results.json;
`wirelab report` grading a recorded run again (after a lab's check is
fixed, and after wirelab was killed mid-run); `wirelab journal` and its HAR
export (parsed by Python's json); the check model's levels, partial credit
and the journal and python kinds; params drawn from --seed / --learner,
and the same seed giving the same journal apart from times."""
import datetime
import glob
import json
import os
import re
import shutil
import signal
import subprocess
import tempfile
import time
import unittest
import xml.etree.ElementTree as ET

from wltest import BIN, LABS, PYTHON, SOURCE, main, query, run_wirelab

FIXTURES = os.path.join(SOURCE, "tests", "integration", "report_fixtures")
MISTAKE = os.path.join(LABS, "rest-cars", "mistakes", "no_content_type.py")


class Formats(unittest.TestCase):
    """Every format of one run of a rest-cars mistake."""

    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.TemporaryDirectory(prefix="wirelab-formats-")
        cls.run_dir = os.path.join(cls.tmp.name, "run")
        r = run_wirelab("check", "rest-cars", MISTAKE, "--ephemeral", "--run-dir", cls.run_dir, "--format", "json")
        assert r.returncode == 1, r.stdout + r.stderr
        cls.json = json.loads(r.stdout)

    @classmethod
    def tearDownClass(cls):
        cls.tmp.cleanup()

    def report(self, fmt):
        r = run_wirelab("report", self.run_dir, "--format", fmt)
        self.assertEqual(r.returncode, 1, r.stderr)
        return r.stdout

    def test_json_report_names_the_failure(self):
        failed = {c["id"]: c for c in self.json["checks"] if c["status"] == "failed"}
        self.assertIn("post-json", failed)
        self.assertIn("Content-Type", failed["post-json"]["message"])
        self.assertIn("json=car", failed["post-json"]["hint"])
        self.assertEqual(self.json["status"], "finished")
        self.assertEqual({c["level"] for c in self.json["checks"]}, {"required"})

    def test_junit_parses_and_counts(self):
        root = ET.fromstring(self.report("junit"))
        self.assertEqual(root.tag, "testsuites")
        suite = root.find("testsuite")
        self.assertEqual(suite.get("name"), "rest-cars")
        cases = suite.findall("testcase")
        self.assertEqual(len(cases), len(self.json["checks"]))
        failures = [c for c in cases if c.find("failure") is not None]
        self.assertEqual(int(suite.get("failures")), len(failures))
        self.assertEqual(len(failures), self.json["counts"]["failed"])
        post = next(c for c in cases if c.get("name").startswith("post-json:"))
        self.assertIn("hint: Use requests.post(url, json=car)", post.find("failure").text)
        props = {p.get("name"): p.get("value") for p in suite.find("properties")}
        self.assertEqual(float(props["score"]), self.json["score"])

    def test_gradescope_results(self):
        g = json.loads(self.report("gradescope"))
        self.assertEqual(g["score"], self.json["score"])
        self.assertEqual(sum(t["score"] for t in g["tests"]), g["score"])
        self.assertEqual(sum(t["max_score"] for t in g["tests"]), self.json["max_score"])
        self.assertEqual({t["visibility"] for t in g["tests"]}, {"visible"})
        post = next(t for t in g["tests"] if t["name"].startswith("post-json"))
        self.assertEqual(post["status"], "failed")
        self.assertIn("expected: POST /cars", post["output"])

    def test_prairielearn_results(self):
        p = json.loads(self.report("prairielearn"))
        self.assertTrue(p["gradable"])
        self.assertAlmostEqual(p["score"], self.json["score"] / self.json["max_score"])
        self.assertEqual(len(p["tests"]), len(self.json["checks"]))
        self.assertTrue(all(0 <= t["points"] <= t["max_points"] for t in p["tests"]))

    def test_html_is_self_contained(self):
        html = self.report("html")
        self.assertTrue(html.startswith("<!DOCTYPE html>"))
        self.assertIn('<svg class="timeline" id="timeline-main"', html)
        self.assertIn('data-status="failed"', html)
        self.assertNotRegex(html, r'<(script|link|img)[^>]+(src|href)=', "the page must load nothing")

    def test_out_writes_a_file(self):
        out = os.path.join(self.tmp.name, "results.json")
        r = run_wirelab("report", self.run_dir, "--format", "gradescope", "--out", out)
        self.assertEqual(r.returncode, 1)
        self.assertEqual(r.stdout, "")
        self.assertEqual(json.load(open(out))["score"], self.json["score"])

    def test_journal_text(self):
        r = run_wirelab("journal", self.run_dir)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn("case main:", r.stdout)
        self.assertRegex(r.stdout, r"GET /cars\?_sort=production_year&_order=desc HTTP/1\.1")
        self.assertRegex(r.stdout, r"POST /cars HTTP/1\.1")
        self.assertRegex(r.stdout, r"< 201 Created")
        self.assertRegex(r.stdout, r"connection api #\d+ closed by (client|server)")
        r = run_wirelab("journal", self.run_dir, "--case", "nope")
        self.assertIn('no case named "nope"', r.stdout)

    def test_har_export(self):
        har_path = os.path.join(self.tmp.name, "run.har")
        r = run_wirelab("journal", self.run_dir, "--har", har_path)
        self.assertEqual(r.returncode, 0, r.stderr)
        log = json.load(open(har_path))["log"]
        self.assertEqual(log["version"], "1.2")
        rows = query(os.path.join(self.run_dir, "journal.db"), "SELECT method, status FROM http ORDER BY id")
        self.assertEqual([(e["request"]["method"], e["response"]["status"]) for e in log["entries"]], rows)
        for e in log["entries"]:
            self.assertRegex(e["request"]["url"], r"^http://127\.0\.0\.1:\d+/")
            datetime.datetime.fromisoformat(e["startedDateTime"].replace("Z", "+00:00"))
            for key in ("headers", "cookies", "headersSize", "bodySize"):
                self.assertIn(key, e["request"])
            self.assertIn("content", e["response"])
        post = next(e for e in log["entries"] if e["request"]["method"] == "POST")
        self.assertIn("postData", post["request"], json.dumps(log["entries"], indent=1)[:3000])
        self.assertEqual(json.loads(post["request"]["postData"]["text"])["id"], 7)


class ReportAgain(unittest.TestCase):
    def test_a_fixed_check_is_applied_to_a_recorded_run(self):
        with tempfile.TemporaryDirectory(prefix="wirelab-regrade-") as tmp:
            lab = os.path.join(tmp, "rest-cars")
            shutil.copytree(os.path.join(LABS, "rest-cars"), lab)
            run = os.path.join(tmp, "run")
            r = run_wirelab("check", lab, os.path.join(lab, "solution.py"), "--ephemeral", "--run-dir", run)
            self.assertEqual(r.returncode, 0, r.stdout)
            self.assertEqual(run_wirelab("report", run).returncode, 0)
            # The trainer changes a check: the recorded run now fails it.
            doc = json.load(open(os.path.join(lab, "lab.json")))
            for c in doc["checks"]:
                if c["id"] == "prints-sorted":
                    c["in_order"] = list(reversed(c["in_order"]))
            json.dump(doc, open(os.path.join(lab, "lab.json"), "w"), indent=2)
            r = run_wirelab("report", run, "--format", "json")
            self.assertEqual(r.returncode, 1, r.stderr)
            rep = json.loads(r.stdout)
            self.assertEqual([c["id"] for c in rep["checks"] if c["status"] != "passed"], ["prints-sorted"])
            self.assertEqual(len(query(os.path.join(run, "journal.db"), "SELECT id FROM cases")), 1,
                             "report must run nothing")

    def test_not_a_journal(self):
        with tempfile.TemporaryDirectory() as tmp:
            r = run_wirelab("report", tmp)
            self.assertEqual(r.returncode, 2)
            self.assertIn("no journal at", r.stderr)
            open(os.path.join(tmp, "journal.db"), "w").write("junk")
            r = run_wirelab("report", tmp)
            self.assertEqual(r.returncode, 2)
            self.assertIn("is not a wirelab journal", r.stderr)

    def test_report_after_sigkill_says_interrupted(self):
        with tempfile.TemporaryDirectory(prefix="wirelab-killed-") as tmp:
            run = os.path.join(tmp, "run")
            prog = os.path.join(tmp, "slow.py")
            with open(prog, "w") as f:
                f.write("import os, time, urllib.request\n"
                        "urllib.request.urlopen(os.environ['WIRELAB_API_URL'] + '/cars', timeout=5).read()\n"
                        "print('listed', flush=True)\n"
                        "time.sleep(60)\n")
            env = dict(os.environ, WIRELAB_PYTHON=PYTHON, NO_COLOR="1")
            p = subprocess.Popen([BIN, "check", "rest-cars", prog, "--ephemeral", "--run-dir", run],
                                 stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env, cwd=tmp)
            journal = os.path.join(run, "journal.db")
            deadline = time.monotonic() + 30
            while time.monotonic() < deadline:
                try:
                    if query(journal, "SELECT count(*) FROM http")[0][0] >= 1:
                        break
                except Exception:
                    pass
                time.sleep(0.1)
            p.kill()
            p.wait(10)
            (prog_pid,) = query(journal, "SELECT pid FROM cases")[0]
            alive = lambda: os.path.exists(f"/proc/{prog_pid}") and "zombie" not in open(f"/proc/{prog_pid}/status").read()
            groups = [g for g in glob.glob(f"/sys/fs/cgroup/*/wirelab-{p.pid}-*") + glob.glob(f"/sys/fs/cgroup/wirelab-{p.pid}-*")]
            if groups:
                # The next wirelab that starts a program finds the orphaned
                # group, kills what runs in it and removes it.
                self.assertEqual(run_wirelab("check", "rest-cars", "--ephemeral", "--run-dir",
                                             os.path.join(tmp, "next"), "--", "true").returncode, 1)
                self.assertEqual([g for g in groups if os.path.exists(g)], [])
                deadline = time.monotonic() + 5
                while alive() and time.monotonic() < deadline:
                    time.sleep(0.05)
                self.assertFalse(alive(), "the orphaned program was not killed")
            elif alive():
                os.killpg(prog_pid, signal.SIGKILL)
            r = run_wirelab("report", run)
            self.assertEqual(r.returncode, 1, r.stdout + r.stderr)
            self.assertIn("the run was interrupted", r.stdout)
            self.assertRegex(r.stdout, r"✓ lists-cars")
            rep = json.loads(run_wirelab("report", run, "--format", "json").stdout)
            self.assertEqual(rep["status"], "killed")
            self.assertTrue(rep["interrupted"])
            r = run_wirelab("journal", run)
            self.assertIn("interrupted", r.stdout)


class CheckModel(unittest.TestCase):
    """Partial credit, a warning, journal and python checks (report_fixtures/model)."""

    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.TemporaryDirectory(prefix="wirelab-model-")
        lab = os.path.join(FIXTURES, "model")
        r = run_wirelab("check", lab, os.path.join(lab, "prog.py"), "--ephemeral", "--format", "json",
                        "--run-dir", os.path.join(cls.tmp.name, "run"))
        cls.code = r.returncode
        cls.rep = json.loads(r.stdout)
        cls.by = {c["id"]: c for c in cls.rep["checks"]}

    @classmethod
    def tearDownClass(cls):
        cls.tmp.cleanup()

    def test_partial_credit(self):
        p = self.by["exit-partial"]
        self.assertEqual(p["status"], "failed")
        self.assertEqual(p["points"], 3)  # 3 of 4 cases exit 0
        self.assertIn("3 of 4 cases passed", p["message"])
        self.assertEqual(self.by["exit-all"]["points"], 0)

    def test_warning_is_advice(self):
        w = self.by["few-connections"]
        self.assertEqual(w["status"], "failed")
        self.assertEqual(w["level"], "warning")
        self.assertEqual(w["max_points"], 0)
        self.assertIn("Session", w["hint"])
        self.assertEqual(self.rep["counts"]["warnings"], 1)
        self.assertEqual(self.rep["counts"]["failed"], 4)  # the warning is not among them

    def test_journal_kind(self):
        self.assertEqual(self.by["two-gets"]["status"], "passed")
        bad = self.by["three-gets"]
        self.assertEqual(bad["status"], "failed")
        self.assertEqual(bad["message"], "gets is 8, not 3")

    def test_python_kind(self):
        self.assertEqual(self.by["script-yes"]["status"], "passed")
        no = self.by["script-no"]
        self.assertEqual(no["status"], "failed")
        self.assertEqual(no["message"], "8 GET(s), not 5")
        self.assertEqual(no["evidence"], {"gets": 8, "api_state": True})
        self.assertEqual(self.rep["score"], 3 + 1 + 1)
        self.assertEqual(self.code, 1)

    def lab_with(self, tmp, checks, files=None):
        lab = os.path.join(tmp, "lab")
        os.makedirs(os.path.join(lab, "checks"))
        for name, text in (files or {}).items():
            open(os.path.join(lab, name), "w").write(text)
        json.dump({"id": "py", "title": "t", "checks": checks}, open(os.path.join(lab, "lab.json"), "w"))
        return lab

    def test_a_broken_python_check_is_an_error_not_a_failure(self):
        with tempfile.TemporaryDirectory() as tmp:
            lab = self.lab_with(tmp, [
                {"id": "hangs", "title": "t", "kind": "python", "script": "checks/hang.py", "timeout": 1},
                {"id": "mute", "title": "t", "kind": "python", "script": "checks/mute.py"},
                {"id": "crashes", "title": "t", "kind": "python", "script": "checks/crash.py"},
            ], {"checks/hang.py": "import time\ntime.sleep(60)\n",
                "checks/mute.py": "print('no answer')\n",
                "checks/crash.py": "raise SystemExit('broken check')\n"})
            r = run_wirelab("check", lab, "--format", "json", "--", "true")
            self.assertEqual(r.returncode, 2, r.stdout + r.stderr)
            by = {c["id"]: c for c in json.loads(r.stdout)["checks"]}
            self.assertEqual({c["status"] for c in by.values()}, {"error"})
            self.assertIn("did not answer within 1 s", by["hangs"]["message"])
            self.assertIn('no JSON object with "passed"', by["mute"]["message"])
            self.assertIn("broken check", by["crashes"]["message"])
            r = run_wirelab("lint", self.lab_with(os.path.join(tmp, "x"), [
                {"id": "gone", "title": "t", "kind": "python", "script": "checks/none.py"}]))
            self.assertEqual(r.returncode, 2)
            self.assertIn("/checks/0/script: no file checks/none.py", r.stderr)

    def test_level_and_points_are_validated(self):
        with tempfile.TemporaryDirectory() as tmp:
            r = run_wirelab("lint", self.lab_with(tmp, [
                {"id": "w", "title": "t", "kind": "exit", "level": "warning", "points": 2}]))
            self.assertEqual(r.returncode, 2)
            self.assertIn("/checks/0/points: a warning is worth no points", r.stderr)
            r = run_wirelab("lint", self.lab_with(os.path.join(tmp, "b"), [
                {"id": "w", "title": "t", "kind": "journal", "query": "DELETE FROM http", "count": 0}]))
            self.assertEqual(r.returncode, 2)
            self.assertIn("a journal query must be a SELECT", r.stderr)


class Variants(unittest.TestCase):
    """Params drawn from the seed (report_fixtures/variant)."""

    LAB = os.path.join(FIXTURES, "variant")

    def values(self, *how):
        r = run_wirelab("show", self.LAB, *how)
        self.assertEqual(r.returncode, 0, r.stderr)
        block = r.stdout.split("your values", 1)[1].split("\n\n", 1)[0]
        return dict(re.findall(r"^  (\w+) = (.*)$", block, re.M))

    def test_a_learner_always_gets_the_same_values_and_others_get_others(self):
        alice = self.values("--learner", "alice")
        self.assertEqual(alice, self.values("--learner", "alice"))
        self.assertEqual(set(alice), {"brand", "cars", "code", "pair", "price"})
        self.assertTrue(100 <= int(alice["price"]) <= 999)
        self.assertRegex(alice["code"], r"^ord-[A-HJKMNPQRS]{8}$")
        others = [self.values("--learner", n) for n in ("bob", "carol", "dave", "erin")]
        self.assertTrue(all(o["code"] != alice["code"] for o in others))
        self.assertEqual(self.values("--seed", "42"), self.values("--seed", "42"))
        self.assertNotEqual(self.values("--seed", "42")["code"], self.values("--seed", "43")["code"])

    def run_check(self, tmp, name, *how):
        run = os.path.join(tmp, name)
        r = run_wirelab("check", self.LAB, os.path.join(self.LAB, "client.py"), "--ephemeral", "--run-dir", run,
                        "--format", "json", *how)
        return r, run

    def test_the_data_and_the_checks_use_the_learners_values(self):
        alice = self.values("--learner", "alice")
        with tempfile.TemporaryDirectory() as tmp:
            r, run = self.run_check(tmp, "a", "--learner", "alice")
            self.assertEqual(r.returncode, 0, r.stdout)
            out = query(os.path.join(run, "journal.db"), "SELECT stdout FROM cases")[0][0].decode()
            # data/db.json's "{brand}" and "{price}" (a number: the whole string was the param)
            self.assertIn(f"car 1: {alice['brand']} at {alice['price']} (int)", out)
            self.assertIn("first pick: " + json.loads(alice["pair"])[0], out)
            self.assertEqual(query(os.path.join(run, "journal.db"), "SELECT value FROM meta WHERE key = 'learner'"),
                             [("alice",)])
            # Bob's program, run with Alice's arguments, fails Bob's checks.
            lab = os.path.join(tmp, "copied")
            shutil.copytree(self.LAB, lab)
            doc = json.load(open(os.path.join(lab, "lab.json")))
            doc["cases"][0]["args"] = [alice["code"], alice["price"], json.loads(alice["pair"])[0],
                                       str(json.loads(alice["cars"])[1]["id"])]
            json.dump(doc, open(os.path.join(lab, "lab.json"), "w"))
            r = run_wirelab("check", lab, os.path.join(lab, "client.py"), "--ephemeral", "--format", "json",
                            "--run-dir", os.path.join(tmp, "b"), "--learner", "bob")
            failed = {c["id"] for c in json.loads(r.stdout)["checks"] if c["status"] == "failed"}
            self.assertIn("posts-order", failed)

    def test_same_seed_same_journal_apart_from_times(self):
        def snapshot(run):
            db = os.path.join(run, "journal.db")
            port = re.compile(r"127\.0\.0\.1:\d+")
            date = re.compile(r"\b\w{3}, \d\d \w{3} \d{4} \d\d:\d\d:\d\d GMT\b")

            def norm(v):
                if isinstance(v, bytes):
                    v = v.decode("utf-8", "replace")
                if isinstance(v, str):
                    v = date.sub("<date>", port.sub("<addr>", v))
                return v

            out = {}
            for table in ("http", "events", "connections", "messages", "cases"):
                cols = [c[1] for c in query(db, f"PRAGMA table_info({table})")]
                keep = [c for c in cols if not c.endswith("_us") and c not in
                        ("pid", "ppid", "peer", "local", "command", "detail", "cpu_user_us", "cpu_sys_us")]
                out[table] = [tuple(norm(v) for v in row)
                              for row in query(db, f"SELECT {', '.join(keep)} FROM {table} ORDER BY id")]
            out["faults"] = [json.loads(d) for (d,) in query(db, "SELECT detail FROM events WHERE kind LIKE 'fault%'")]
            out["meta"] = query(db, "SELECT key, value FROM meta WHERE key IN ('seed', 'params', 'lab')")
            return out

        with tempfile.TemporaryDirectory() as tmp:
            a = snapshot(self.run_check(tmp, "a", "--seed", "7")[1])
            b = snapshot(self.run_check(tmp, "b", "--seed", "7")[1])
            self.assertEqual(a, b)
            self.assertTrue(any(row[0] == 503 or 503 in row for row in a["http"]), "the seed should hit a 503")
            c = snapshot(self.run_check(tmp, "c", "--seed", "8")[1])
            self.assertNotEqual(a["meta"], c["meta"])

    def test_an_unknown_placeholder_is_named(self):
        with tempfile.TemporaryDirectory() as tmp:
            lab = os.path.join(tmp, "lab")
            shutil.copytree(self.LAB, lab)
            with open(os.path.join(lab, "lab.json")) as f:
                text = f.read()
            text = text.replace('"contains": "car 1: {brand}"',
                                                                     '"contains": "car 1: {brnad}"')
            open(os.path.join(lab, "lab.json"), "w").write(text)
            r = run_wirelab("lint", lab)
            self.assertEqual(r.returncode, 2)
            self.assertRegex(r.stderr, r"lab\.json:\d+: /checks/2/contains: \{brnad\} is not a param of this lab")
            self.assertIn("did you mean {brand}?", r.stderr)
            self.assertNotIn("terminate", r.stderr)


if __name__ == "__main__":
    main()
