"""The sdn service with curl on a real socket: topology, rules refused with
their reasons, a black hole opened and closed, traces, junk bytes on the
port, and what the journal and the state keep."""
import json
import os
import socket
import sqlite3
import subprocess
import unittest

from wltest import LABS, Up

LAB = os.path.join(LABS, "sdn-flows")


def curl(*args):
    r = subprocess.run(["curl", "-s", "-w", "\n%{http_code}", *args], capture_output=True, text=True, timeout=20)
    body, _, code = r.stdout.rpartition("\n")
    return int(code), json.loads(body) if body.strip() else None


def post(url, flow, *extra):
    return curl("-H", "Content-Type: application/json", "-d", json.dumps(flow), *extra, url)


class Sdn(unittest.TestCase):
    def test_rules_traces_and_black_holes_with_curl(self):
        with Up(LAB) as up:
            base = up.info["env"]["WIRELAB_CTL_URL"]
            code, topo = curl(base + "/topology")
            self.assertEqual(code, 200)
            self.assertEqual(sorted(h["id"] for h in topo["hosts"]), ["h1", "h2", "h3"])
            self.assertIn({"a": "s1:3", "b": "s2:1"}, topo["links"])
            code, err = post(base + "/switches/s1/flows", {"match": {"ipv4_dst": "10.0.0.3"},
                                                            "actions": [{"type": "OUTPUT", "port": 9}]})
            self.assertEqual(code, 400)
            self.assertIn("s1 has ports 1 to 4", err["error"])
            code, err = post(base + "/switches/s9/flows", {"actions": []})
            self.assertEqual(code, 404)
            code, _ = curl("-d", "{}", base + "/switches/s1/flows")  # form content type
            self.assertEqual(code, 415)
            code, rule = post(base + "/switches/s1/flows", {"priority": 100, "match": {"ipv4_dst": "10.0.0.3"},
                                                             "actions": [{"type": "OUTPUT", "port": 3}]})
            self.assertEqual(code, 201)
            code, t = curl(base + "/trace?src=h1&dst=h3")
            self.assertEqual((t["status"], t["where"]), ("no-route", "s2"))
            code, _ = curl("-X", "DELETE", f"{base}/switches/s1/flows/{rule['id']}")
            self.assertEqual(code, 204)
            code, _ = curl("-X", "DELETE", f"{base}/switches/s1/flows/{rule['id']}")
            self.assertEqual(code, 404)
            for sw, port in (("s3", 1), ("s2", 2), ("s1", 3)):
                self.assertEqual(post(f"{base}/switches/{sw}/flows", {"match": {"ipv4_dst": "10.0.0.3"},
                                                                       "actions": [{"type": "OUTPUT", "port": port}]})[0], 201)
            code, t = curl(base + "/trace?src=h2&dst=h3")
            self.assertEqual((t["status"], t["path"]), ("reachable", ["s1", "s2", "s3"]))
            # junk on the port: a 400 and the controller keeps serving
            with socket.create_connection(("127.0.0.1", int(base.rsplit(":", 1)[1])), timeout=5) as j:
                j.sendall(os.urandom(3000) + b"\r\n\r\n")
                self.assertTrue(j.recv(100).startswith(b"HTTP/1.1 400"))
            self.assertEqual(curl(base + "/reachability")[0], 200)
            up.stop()
            db = sqlite3.connect(up.journal)
            holes = db.execute("SELECT json_extract(detail, '$.src'), json_extract(detail, '$.at') FROM events "
                               "WHERE kind = 'black-hole'").fetchall()
            self.assertIn(("h1", "s2"), holes)
            self.assertIn(("h2", "s2"), holes)
            kinds = [k for (k,) in db.execute("SELECT kind FROM events WHERE kind LIKE 'flow-%' ORDER BY id")]
            self.assertEqual(kinds, ["flow-added", "flow-removed", "flow-added", "flow-added", "flow-added"])
            st = sqlite3.connect(os.path.join(up.info["run_dir"], "state", "ctl.db"))
            self.assertEqual(st.execute("SELECT count(*) FROM flows").fetchone()[0], 3)
            self.assertEqual(st.execute("SELECT status FROM reachability WHERE src = 'h1' AND dst = 'h3'").fetchone()[0],
                             "reachable")


if __name__ == "__main__":
    unittest.main()
