"""The http service answers the course's requests the way json-server 0.17.4
does, response by response: status, JSON body, and the headers a client can
see (Content-Type, X-Total-Count, Link, Location, ETag, CORS, caching).

The transcript (jsonserver/expected.json) was recorded from the real
json-server with `jsonserver/conformance.py record`; see jsonserver/README.md.
"""
import copy
import json
import os
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "jsonserver"))

import conformance  # noqa: E402
from wltest import Up, query, main  # noqa: E402

FIXTURE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "jsonserver", "lab")


class JsonServerConformance(unittest.TestCase):
    def test_every_response_matches_the_transcript(self):
        with open(conformance.EXPECTED, encoding="utf-8") as f:
            expected = json.load(f)["responses"]
        with Up(FIXTURE) as up:
            actual = conformance.replay(up.url())
            problems = conformance.diff(expected, actual)
            journal = up.journal
            up.stop()
            self.assertEqual([], problems, "\n".join(problems))
            # Every exchange of the replay is in the journal, in order.
            rows = query(journal, "SELECT method, target, status FROM http ORDER BY id")
        reqs = conformance.load_requests()
        self.assertEqual([(r["method"], r["target"]) for r in reqs], [(m, t) for m, t, _ in rows])
        self.assertEqual([e["response"]["status"] for e in expected], [s for _, _, s in rows])

    def test_the_comparison_notices_a_difference(self):
        with open(conformance.EXPECTED, encoding="utf-8") as f:
            expected = json.load(f)["responses"]
        changed = copy.deepcopy(expected)
        changed[0]["response"]["body_json"][0]["production_year"] = 1973
        changed[1]["response"]["status"] = 201
        changed[2]["response"]["headers"]["content-type"] = "text/plain"
        problems = conformance.diff(expected, changed)
        self.assertEqual(3, len(problems), problems)
        self.assertIn("'list all cars': body_json", problems[0])
        self.assertIn("'one car': status 201, json-server answers 200", problems[1])
        self.assertIn("'missing car': header content-type", problems[2])


if __name__ == "__main__":
    main()
