"""docs/lab.schema.json, the JSON Schema editors check lab.json against, is
a valid draft 2020-12 schema; every lab, fixture lab, documented example and
the `wirelab new` template validates; its kinds are the registries' kinds;
and typical mistakes are rejected at the right place."""
import copy
import glob
import json
import os
import re
import unittest

import jsonschema

from wltest import BIN, SOURCE, main, run_wirelab

SCHEMA_PATH = os.path.join(SOURCE, "docs", "lab.schema.json")
DOCS = os.path.join(SOURCE, "docs")


def read(path):
    with open(path, encoding="utf-8") as f:
        return f.read()


def load_schema():
    return json.loads(read(SCHEMA_PATH))


def blocks(info):
    """(doc name, text) of every ```INFO block in docs/*.md, as test_docs.py finds them."""
    for name in sorted(os.listdir(DOCS)):
        if name.endswith(".md"):
            text = read(os.path.join(DOCS, name))
            for m in re.finditer(r"^```" + re.escape(info) + r"\n(.*?)^```", text, re.M | re.S):
                yield name, m.group(1)


def registry_kinds(path):
    text = read(os.path.join(SOURCE, path))
    return re.findall(r'\{"([a-z_]+)",\s*"', text)


def where(error):
    return "/" + "/".join(str(p) for p in error.absolute_path)


def describe(errors):
    return "\n".join(f"  {where(e)}: {e.message}" for e in errors) or "  (no errors)"


# A small lab with something of every part the broken labs below change.
GOOD = {
    "id": "broken-lab",
    "title": "A lab to break",
    "params": {"n": {"int": [1, 5]}},
    "services": {"api": {"kind": "http", "data": {"items": []}}},
    "checks": [
        {"id": "exit-ok", "title": "Exits 0", "kind": "exit", "code": 0},
        {"id": "gets", "title": "Reads the items", "kind": "http", "service": "api",
         "request": {"method": "GET", "path": "/items"}, "points": 2},
    ],
}


class Schema(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.schema = load_schema()
        cls.validator = jsonschema.Draft202012Validator(cls.schema)

    def errors(self, lab):
        return sorted(self.validator.iter_errors(lab), key=lambda e: (list(map(str, e.absolute_path)), e.message))

    def assert_valid(self, lab):
        errors = self.errors(lab)
        if errors:
            self.fail("the schema rejects it:\n" + describe(errors))

    # --- the schema itself -------------------------------------------------------------

    def test_schema_is_valid_draft_2020_12(self):
        self.assertEqual(self.schema["$schema"], "https://json-schema.org/draft/2020-12/schema")
        jsonschema.Draft202012Validator.check_schema(self.schema)

    def test_kinds_are_the_registries(self):
        defs = self.schema["$defs"]
        for what, path, enum in [
            ("check", "checks/registry.cpp", defs["check"]["properties"]["kind"]["enum"]),
            ("service", "services/registry.cpp", defs["service"]["properties"]["kind"]["enum"]),
            ("client", "clients/registry.cpp", defs["client"]["properties"]["kind"]["enum"]),
        ]:
            with self.subTest(kinds=what):
                kinds = registry_kinds(path)
                self.assertGreaterEqual(len(kinds), 2)
                self.assertEqual(sorted(enum), sorted(kinds), f"the schema's {what} kinds are not {path}'s")

    def test_every_kind_has_a_body(self):
        # each kind of the enum has its if/then branch listing its keys
        defs = self.schema["$defs"]
        for what in ("check", "service", "client"):
            branches = [b["if"]["properties"]["kind"]["const"] for b in defs[what]["allOf"]
                        if "kind" in b.get("if", {}).get("properties", {})]
            with self.subTest(kinds=what):
                self.assertEqual(sorted(branches), sorted(defs[what]["properties"]["kind"]["enum"]))

    # --- what validates ----------------------------------------------------------------

    def test_every_lab_validates(self):
        found = sorted(glob.glob(os.path.join(SOURCE, "labs", "*", "lab.json")))
        self.assertGreaterEqual(len(found), 5)
        for path in found:
            with self.subTest(lab=os.path.basename(os.path.dirname(path))):
                self.assert_valid(json.loads(read(path)))

    @unittest.skipUnless(os.path.exists(BIN), "needs the wirelab binary (WIRELAB_BIN) to lint the fixtures")
    def test_fixture_labs_that_lint_validate(self):
        found = sorted(glob.glob(os.path.join(SOURCE, "tests", "integration", "**", "lab.json"), recursive=True) +
                       glob.glob(os.path.join(SOURCE, "bench", "labs", "*", "lab.json")))
        linted = 0
        for path in found:
            lab_dir = os.path.dirname(path)
            with self.subTest(lab=os.path.relpath(lab_dir, SOURCE)):
                if run_wirelab("lint", lab_dir).returncode != 0:
                    continue  # a fixture that is broken on purpose
                linted += 1
                self.assert_valid(json.loads(read(path)))
        self.assertGreaterEqual(linted, 5)

    def test_doc_lab_examples_validate(self):
        found = list(blocks("json lab"))
        self.assertGreaterEqual(len(found), 5)
        for name, text in found:
            lab = json.loads(text)
            with self.subTest(doc=name, lab=lab.get("id")):
                self.assert_valid(lab)

    def test_doc_check_examples_validate(self):
        found = list(blocks("json check"))
        self.assertGreaterEqual(len(found), 5)
        for name, text in found:
            check = json.loads(text)
            with self.subTest(doc=name, check=check.get("id")):
                self.assert_valid({
                    "id": "doc", "title": "t", "services": {"api": {"kind": "http", "data": {"cars": []}}},
                    "server": {}, "clients": {"basic": {"kind": "socket", "steps": [{"send": "x"}]}},
                    "checks": [check]})

    def test_new_lab_template_validates(self):
        # the lab.json `wirelab new` writes, from its source
        source = read(os.path.join(SOURCE, "app", "authoring.cpp"))
        m = re.search(r'const char\* lab_json = R"\((.*?)\)";', source, re.S)
        self.assertIsNotNone(m, "app/authoring.cpp has no lab_json template")
        lab = json.loads(m.group(1).replace("@ID@", "new-lab"))
        self.assertEqual(lab["$schema"], "../../docs/lab.schema.json")
        self.assert_valid(lab)

    # --- what is rejected, and where ----------------------------------------------------

    def broken(self, change):
        lab = copy.deepcopy(GOOD)
        change(lab)
        return lab

    def assert_rejected_at(self, lab, path, validator=None, words=None):
        """Some error is at `path` (a JSON pointer), of `validator`, naming `words`."""
        errors = self.errors(lab)
        hits = [e for e in errors if where(e) == path and (validator is None or e.validator == validator)
                and (words is None or words in e.message)]
        self.assertTrue(hits, f"expected an error at {path}" + (f" ({validator})" if validator else "") +
                        (f" naming {words!r}" if words else "") + "; the errors were:\n" + describe(errors))

    def test_the_good_lab_is_good(self):
        self.assert_valid(GOOD)

    def test_missing_title(self):
        self.assert_rejected_at(self.broken(lambda lab: lab.pop("title")), "/", "required", "'title'")

    def test_unknown_top_level_key(self):
        def typo(lab):
            lab["titel"] = lab.pop("title")
        lab = self.broken(typo)
        self.assert_rejected_at(lab, "/", "additionalProperties", "'titel'")
        self.assert_rejected_at(lab, "/", "required", "'title'")

    def test_unknown_check_kind(self):
        self.assert_rejected_at(self.broken(lambda lab: lab["checks"][1].update(kind="htp")),
                                "/checks/1/kind", "enum", "'htp'")

    def test_check_without_id(self):
        self.assert_rejected_at(self.broken(lambda lab: lab["checks"][0].pop("id")), "/checks/0", "required", "'id'")

    def test_bad_visibility(self):
        self.assert_rejected_at(self.broken(lambda lab: lab["checks"][0].update(visibility="secret")),
                                "/checks/0/visibility", "enum", "'secret'")

    def test_bad_level(self):
        self.assert_rejected_at(self.broken(lambda lab: lab["checks"][0].update(level="fatal")),
                                "/checks/0/level", "enum", "'fatal'")

    def test_unknown_service_kind(self):
        self.assert_rejected_at(self.broken(lambda lab: lab["services"]["api"].update(kind="ftp")),
                                "/services/api/kind", "enum", "'ftp'")

    def test_param_int_not_a_range(self):
        self.assert_rejected_at(self.broken(lambda lab: lab["params"].update(n={"int": "five"})),
                                "/params/n/int", "type", "'five'")

    def test_points_as_a_string(self):
        self.assert_rejected_at(self.broken(lambda lab: lab["checks"][1].update(points="2")),
                                "/checks/1/points", "type", "'2'")

    def test_key_of_another_check_kind(self):
        # "service" is an http check's key, not an exit check's
        self.assert_rejected_at(self.broken(lambda lab: lab["checks"][0].update(service="api")),
                                "/checks/0", "unevaluatedProperties", "'service'")

    def test_unknown_service_key(self):
        self.assert_rejected_at(self.broken(lambda lab: lab["services"]["api"].update(protocol="lines")),
                                "/services/api", "unevaluatedProperties", "'protocol'")

    def test_warning_with_points(self):
        self.assert_rejected_at(self.broken(lambda lab: lab["checks"][1].update(level="warning")),
                                "/checks/1/points", words="False schema")

    def test_server_without_clients(self):
        self.assert_rejected_at(self.broken(lambda lab: lab.update(server={})), "/", "dependentRequired", "'clients'")



class ScenarioSchema(unittest.TestCase):
    """docs/scenario.schema.json: the shipped scenarios, the fixtures and the
    documented example validate; typical mistakes do not (the schema shares
    docs/lab.schema.json's fault profile)."""

    @classmethod
    def setUpClass(cls):
        path = os.path.join(DOCS, "scenario.schema.json")
        cls.schema = json.loads(read(path))
        jsonschema.Draft202012Validator.check_schema(cls.schema)
        resolver = jsonschema.RefResolver(base_uri="file://" + DOCS + "/", referrer=cls.schema)
        cls.validator = jsonschema.Draft202012Validator(cls.schema, resolver=resolver)

    def test_scenarios_validate(self):
        found = sorted(glob.glob(os.path.join(SOURCE, "scenarios", "*.json")))
        self.assertGreaterEqual(len(found), 2)
        found.append(os.path.join(SOURCE, "tests", "integration", "classroom_fixtures", "test-day.json"))
        for path in found:
            with self.subTest(path=path):
                errors = list(self.validator.iter_errors(json.loads(read(path))))
                self.assertEqual(errors, [], describe(errors))

    def test_doc_example_validates(self):
        found = list(blocks("json scenario"))
        self.assertGreaterEqual(len(found), 1)
        for name, text in found:
            errors = list(self.validator.iter_errors(json.loads(text)))
            self.assertEqual(errors, [], f"{name}:\n" + describe(errors))

    def test_mistakes_are_rejected_where_they_are(self):
        good = json.loads(read(os.path.join(SOURCE, "tests", "integration", "classroom_fixtures", "test-day.json")))
        for change, at in [
            (lambda s: s["schedule"][0].update(action="opne"), "/schedule/0/action"),
            (lambda s: s["schedule"][0].update(at="25:00"), "/schedule/0/at"),
            (lambda s: s["schedule"][1].pop("fault"), "/schedule/1"),
            (lambda s: s["faults"]["api-503"]["profile"].update(latncy=5), "/faults/api-503/profile"),
            (lambda s: s["labs"][0].update(opne=True), "/labs/0"),
            (lambda s: s.pop("labs"), "/"),
        ]:
            s = copy.deepcopy(good)
            change(s)
            errors = list(self.validator.iter_errors(s))
            self.assertTrue(errors, f"accepted a scenario broken at {at}")
            self.assertIn(at, [where(e) for e in errors], describe(errors))

if __name__ == "__main__":
    main()
