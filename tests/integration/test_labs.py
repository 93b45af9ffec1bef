"""Every lab is tested like code: its solution passes every check, and each
file in mistakes/ fails exactly the checks its header names (`# fails: a, b`),
no more and no fewer. A lab whose checks cannot tell a mistake from the
solution is a broken lab.

The runs are `wirelab validate --all` (three at a time); this test reads
each mistake's header itself and compares it with what validate's runs
failed, so the validator is checked too. `wirelab validate` and
`wirelab new` are tested on labs broken on purpose."""
import glob
import json
import os
import re
import shutil
import tempfile
import unittest

from wltest import LABS, main, run_wirelab


def lab_dirs():
    return sorted(d for d in glob.glob(os.path.join(LABS, "*")) if os.path.exists(os.path.join(d, "lab.json")))


def declared_failures(path):
    with open(path, encoding="utf-8") as f:
        head = f.read(2000)
    m = re.search(r"^#\s*fails:\s*(.+)$", head, re.M)
    if not m:
        raise AssertionError(f"{path}: no '# fails: check-id, ...' line in its header")
    return sorted(x.strip() for x in m.group(1).split(",") if x.strip())


class LabsAreTested(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        r = run_wirelab("validate", "--all", "--format", "json", "--jobs", "3", timeout=1800)
        cls.code = r.returncode
        cls.result = json.loads(r.stdout)
        cls.labs = {os.path.realpath(l["path"]): l for l in cls.result["labs"]}

    def test_there_are_labs(self):
        self.assertTrue(lab_dirs(), "no labs found under " + LABS)

    def test_validate_passes_on_every_lab(self):
        problems = {l["id"]: l["problems"] for l in self.result["labs"] if l["problems"]}
        self.assertEqual(problems, {})
        self.assertTrue(self.result["ok"])
        self.assertEqual(self.code, 0)

    def test_every_lab(self):
        for lab in lab_dirs():
            name = os.path.basename(lab)
            v = self.labs.get(os.path.realpath(lab))
            with self.subTest(lab=name, part="validated"):
                self.assertIsNotNone(v, f"validate --all did not cover {lab}")
            if v is None:
                continue
            runs = {r["script"]: r for r in v["runs"]}
            for required in ("README.md", "starter.py", "solution.py"):
                with self.subTest(lab=name, part=required):
                    self.assertTrue(os.path.exists(os.path.join(lab, required)), f"{name} has no {required}")
            with self.subTest(lab=name, part="solution"):
                report = runs["solution.py"]["report"]
                failed = [c["id"] + ": " + c.get("message", "") for c in report["checks"]
                          if c["status"] != "passed" and c.get("level") != "warning"]
                self.assertEqual(failed, [], f"the solution of {name} does not pass")
                self.assertEqual(report["exit_code"], 0)
            mistakes = sorted(glob.glob(os.path.join(lab, "mistakes", "*.py")))
            with self.subTest(lab=name, part="has mistakes"):
                self.assertGreaterEqual(len(mistakes), 3, f"{name} needs at least three mistakes/*.py")
            for m in mistakes:
                rel = "mistakes/" + os.path.basename(m)
                with self.subTest(lab=name, mistake=os.path.basename(m)):
                    want = declared_failures(m)
                    report = runs[rel]["report"]
                    ids = {c["id"] for c in report["checks"]}
                    self.assertEqual([w for w in want if w not in ids], [], f"{m} names checks the lab does not have")
                    got = sorted(c["id"] for c in report["checks"] if c["status"] == "failed")
                    self.assertEqual(got, want, f"{m} must fail exactly {want}")
                    self.assertEqual(report["exit_code"], 1)
                    self.assertEqual([c["id"] for c in report["checks"] if c["status"] == "error"], [])
            with self.subTest(lab=name, part="starter"):
                self.assertEqual(runs["starter.py"]["report"]["exit_code"], 1, f"the starter of {name} must not pass")


class Authoring(unittest.TestCase):
    def test_new_scaffolds_a_lab_that_validates(self):
        with tempfile.TemporaryDirectory(prefix="wirelab-new-") as tmp:
            r = run_wirelab("new", "stock-check", cwd=tmp)
            self.assertEqual(r.returncode, 0, r.stderr)
            self.assertIn("created stock-check/", r.stdout)
            for f in ("lab.json", "README.md", "starter.py", "solution.py", "data/items.json"):
                self.assertTrue(os.path.exists(os.path.join(tmp, "stock-check", f)), f)
            self.assertEqual(len(glob.glob(os.path.join(tmp, "stock-check", "mistakes", "*.py"))), 3)
            r = run_wirelab("validate", "stock-check", cwd=tmp)
            self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
            self.assertIn("✓ stock-check: ok", r.stdout)
            r = run_wirelab("new", "stock-check", cwd=tmp)
            self.assertEqual(r.returncode, 2)
            self.assertIn("already exists", r.stderr)
            r = run_wirelab("new", "Bad Id", cwd=tmp)
            self.assertEqual(r.returncode, 2)
            self.assertIn("is not a lab id", r.stderr)

    def test_validate_names_each_fault_of_a_broken_lab(self):
        with tempfile.TemporaryDirectory(prefix="wirelab-broken-") as tmp:
            self.assertEqual(run_wirelab("new", "shaky", cwd=tmp).returncode, 0)
            lab = os.path.join(tmp, "shaky")
            # a mistake that passes, one that names an unknown check, one without a header,
            # and a starter that already passes
            shutil.copy(os.path.join(lab, "solution.py"), os.path.join(lab, "mistakes", "passes.py"))
            with open(os.path.join(lab, "mistakes", "passes.py"), "r+") as f:
                body = f.read()
                f.seek(0)
                f.write("# Mistake: none really.\n# fails: posts-json\n" + body)
            with open(os.path.join(lab, "mistakes", "no_content_type.py")) as f:
                text = f.read().replace("# fails: posts-json, item-stored", "# fails: posts-json, item-stord")
            open(os.path.join(lab, "mistakes", "no_content_type.py"), "w").write(text)
            with open(os.path.join(lab, "mistakes", "copied_output.py")) as f:
                text = f.read().replace("# fails: prints-stock\n", "")
            open(os.path.join(lab, "mistakes", "copied_output.py"), "w").write(text)
            shutil.copy(os.path.join(lab, "solution.py"), os.path.join(lab, "starter.py"))
            r = run_wirelab("validate", lab, "--format", "json")
            self.assertEqual(r.returncode, 1, r.stdout + r.stderr)
            problems = json.loads(r.stdout)["labs"][0]["problems"]
            text = "\n".join(problems)
            self.assertIn('names "item-stord", which is not a check of shaky', text)
            self.assertRegex(text, r"copied_output\.py:1: no \"# fails: check-id, …\" line")
            self.assertRegex(text, r"passes\.py: must fail exactly posts-json; it failed \(none\) — the checks "
                                   r"cannot tell it from the solution on posts-json")
            self.assertIn("starter.py: the starter passes every check", text)
            # and a lab.json that does not load: one message with file, line and pointer
            doc = open(os.path.join(lab, "lab.json")).read().replace('"kind": "exit"', '"kind": "exot"')
            open(os.path.join(lab, "lab.json"), "w").write(doc)
            r = run_wirelab("validate", lab)
            self.assertEqual(r.returncode, 1)
            self.assertRegex(r.stdout, r"lab\.json:\d+: /checks/0/kind: unknown check kind \"exot\"")
            self.assertIn('did you mean "exit"?', r.stdout)


if __name__ == "__main__":
    main()
