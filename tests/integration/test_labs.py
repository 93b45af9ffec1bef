"""Every lab is tested like code: its solution passes every check, and each
file in mistakes/ fails exactly the checks its header names (`# fails: a, b`),
no more and no fewer. A lab whose checks cannot tell a mistake from the
solution is a broken lab."""
import glob
import json
import os
import re
import tempfile
import unittest
from concurrent.futures import ThreadPoolExecutor

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


def check(lab, script):
    with tempfile.TemporaryDirectory(prefix="wirelab-lab-") as tmp:
        r = run_wirelab("check", lab, script, "--ephemeral", "--format", "json",
                        "--run-dir", os.path.join(tmp, "run"), cwd=tmp)
        try:
            report = json.loads(r.stdout)
        except json.JSONDecodeError:
            raise AssertionError(f"no JSON report (exit {r.returncode}); stderr:\n{r.stderr}")
        return r.returncode, report


class LabsAreTested(unittest.TestCase):
    def test_there_are_labs(self):
        self.assertTrue(lab_dirs(), "no labs found under " + LABS)

    def test_every_lab(self):
        # Every run of every lab at once, a few at a time: most of a run is
        # waiting (timeouts, slow servers), so this keeps the suite short.
        runs = {}
        with ThreadPoolExecutor(max_workers=3) as pool:
            for lab in lab_dirs():
                for script in ["solution.py", "starter.py"] + sorted(
                        os.path.relpath(m, lab) for m in glob.glob(os.path.join(lab, "mistakes", "*.py"))):
                    path = os.path.join(lab, script)
                    if os.path.exists(path):
                        runs[(lab, script)] = pool.submit(check, lab, path)
        for lab in lab_dirs():
            name = os.path.basename(lab)
            with self.subTest(lab=name, part="lint"):
                r = run_wirelab("lint", lab)
                self.assertEqual(r.returncode, 0, r.stderr)
            for required in ("README.md", "starter.py", "solution.py"):
                with self.subTest(lab=name, part=required):
                    self.assertTrue(os.path.exists(os.path.join(lab, required)), f"{name} has no {required}")
            with self.subTest(lab=name, part="solution"):
                code, report = runs[(lab, "solution.py")].result()
                failed = [c["id"] + ": " + c.get("message", "") for c in report["checks"] if c["status"] != "passed"]
                self.assertEqual(failed, [], f"the solution of {name} does not pass")
                self.assertEqual(code, 0)
            mistakes = sorted(glob.glob(os.path.join(lab, "mistakes", "*.py")))
            with self.subTest(lab=name, part="has mistakes"):
                self.assertGreaterEqual(len(mistakes), 3, f"{name} needs at least three mistakes/*.py")
            for m in mistakes:
                with self.subTest(lab=name, mistake=os.path.basename(m)):
                    want = declared_failures(m)
                    code, report = runs[(lab, os.path.relpath(m, lab))].result()
                    ids = {c["id"] for c in report["checks"]}
                    unknown = [w for w in want if w not in ids]
                    self.assertEqual(unknown, [], f"{m} names checks the lab does not have")
                    got = sorted(c["id"] for c in report["checks"] if c["status"] == "failed")
                    self.assertEqual(got, want, f"{m} must fail exactly {want}")
                    self.assertEqual(code, 1)
                    errors = [c["id"] for c in report["checks"] if c["status"] == "error"]
                    self.assertEqual(errors, [])
            with self.subTest(lab=name, part="starter"):
                code, report = runs[(lab, "starter.py")].result()
                self.assertEqual(code, 1, f"the starter of {name} must not pass")


if __name__ == "__main__":
    main()
