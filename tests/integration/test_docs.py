"""The docs' examples are real: every ```json lab block is a lab that lints,
every ```json check block is a check that lints, and the check reference
covers every check kind."""
import os
import re
import tempfile
import unittest

from wltest import SOURCE, main, run_wirelab

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

    def test_every_check_kind_is_documented(self):
        registry = open(os.path.join(SOURCE, "checks", "registry.cpp"), encoding="utf-8").read()
        kinds = re.findall(r'\{"([a-z_]+)",\s*"', registry)
        self.assertGreaterEqual(len(kinds), 5)
        doc = open(os.path.join(DOCS, "checks.md"), encoding="utf-8").read()
        for k in kinds:
            self.assertRegex(doc, r"(?m)^## " + re.escape(k) + "$", f"docs/checks.md has no section for {k}")


if __name__ == "__main__":
    main()
