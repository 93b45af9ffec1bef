"""The docs' examples are real: every ```json lab block is a lab that lints,
every ```json scenario block a scenario that loads, every ```json check
block is a check that lints, and the check reference
covers every check kind."""
import os
import re
import subprocess
import tempfile
import unittest

from wltest import BIN, PYTHON, SOURCE, main, run_wirelab

DOCS = os.path.join(SOURCE, "docs")


def blocks(info):
    for name in sorted(os.listdir(DOCS)):
        if name.endswith(".md"):
            text = open(os.path.join(DOCS, name), encoding="utf-8").read()
            for m in re.finditer(r"^```" + re.escape(info) + r"\n(.*?)^```", text, re.M | re.S):
                yield name, m.group(1)


class Docs(unittest.TestCase):
    def lint(self, lab_json):
        with tempfile.TemporaryDirectory(prefix="wirelab-doc-") as d:
            with open(os.path.join(d, "lab.json"), "w") as f:
                f.write(lab_json)
            return run_wirelab("lint", d)

    def test_lab_examples_lint(self):
        found = list(blocks("json lab"))
        self.assertTrue(found)
        for name, text in found:
            with self.subTest(doc=name):
                r = self.lint(text)
                self.assertEqual(r.returncode, 0, r.stderr)

    def test_scenario_examples_load(self):
        found = list(blocks("json scenario"))
        self.assertTrue(found)
        for name, text in found:
            with self.subTest(doc=name), tempfile.TemporaryDirectory(prefix="wirelab-doc-") as d:
                path = os.path.join(d, "scenario.json")
                with open(path, "w") as f:
                    f.write(text)
                r = run_wirelab("classroom", path, "--check")
                self.assertEqual(r.returncode, 0, r.stderr)
                self.assertRegex(r.stdout, r"^rest-morning: ok \(2 lab\(s\), 1 class fault\(s\), 3 event\(s\)\)")

    def test_check_examples_lint(self):
        found = list(blocks("json check"))
        self.assertGreaterEqual(len(found), 5)
        for name, text in found:
            with self.subTest(doc=name, check=text[:60]):
                lab = ('{"id": "doc", "title": "t", "services": {"api": {"kind": "http", "data": {"cars": []}}}, '
                       '"server": {}, "clients": {"basic": {"kind": "socket", "steps": [{"send": "x"}]}}, '
                       '"checks": [%s]}' % text)
                r = self.lint(lab)
                self.assertEqual(r.returncode, 0, r.stderr)

    def test_authoring_walkthrough_runs(self):
        # docs/authoring.md's ```sh test blocks, in order, in one shell, in
        # an empty folder, with wirelab on the PATH: each block must succeed.
        text = open(os.path.join(DOCS, "authoring.md"), encoding="utf-8").read()
        steps = re.findall(r"^```sh test\n(.*?)^```", text, re.M | re.S)
        self.assertGreaterEqual(len(steps), 5)
        with tempfile.TemporaryDirectory(prefix="wirelab-authoring-") as tmp:
            env = dict(os.environ, PATH=os.path.dirname(os.path.abspath(BIN)) + ":" + os.environ["PATH"],
                       WIRELAB_PYTHON=PYTHON, NO_COLOR="1")
            outputs = []
            for i, step in enumerate(steps):
                r = subprocess.run(["bash", "-euo", "pipefail", "-c", step], cwd=tmp, env=env,
                                   capture_output=True, text=True, timeout=300)
                outputs.append(r.stdout)
                self.assertEqual(r.returncode, 0, f"step {i + 1} of docs/authoring.md failed:\n{step}\n"
                                                  f"{r.stdout}\n{r.stderr}")
        self.assertIn("✓ price-check: ok", outputs[0])
        self.assertNotEqual(outputs[1].split("grace")[0].split("ada")[1], outputs[1].split("grace")[1],
                            "two learners should get different values")
        self.assertRegex(outputs[2], r"(?m)^2$")  # two failures in the JUnit file
        first, second = outputs[4].split("score", 1)[0], outputs[4].split("score", 1)[1]
        self.assertIn("✗ item-stored", first)  # the recorded run, graded with the mistyped check
        self.assertIn('name is "doohickey", not "doohicky"', first)
        self.assertIn("✓ item-stored", second)  # and with the fixed one
        self.assertIn("✓ price-check: ok", outputs[4])

    def test_every_check_kind_is_documented(self):
        registry = open(os.path.join(SOURCE, "checks", "registry.cpp"), encoding="utf-8").read()
        kinds = re.findall(r'\{"([a-z_]+)",\s*"', registry)
        self.assertGreaterEqual(len(kinds), 5)
        doc = open(os.path.join(DOCS, "checks.md"), encoding="utf-8").read()
        for k in kinds:
            self.assertRegex(doc, r"(?m)^## " + re.escape(k) + "$", f"docs/checks.md has no section for {k}")


if __name__ == "__main__":
    main()
