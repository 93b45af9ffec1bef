"""The device service with real sockets: the vlan-push lab driven by two
scripts of different styles (plain sockets answering --More--, and
telnetlib's read_until with paging off), what the journal and the state
keep, the session limit, and bad input on the CLI port (issue 10's rows for
the device CLI): random junk, a 10 MB line, a reset mid-command."""
import csv
import json
import os
import random
import socket
import sqlite3
import struct
import subprocess
import tempfile
import time
import unittest

from wltest import LABS, SOURCE, Up, run_wirelab

HERE = os.path.dirname(os.path.abspath(__file__))
LAB = os.path.join(LABS, "vlan-push")


def inventory(up):
    with open(up.info["env"]["WIRELAB_NET_INVENTORY"], newline="") as f:
        return {r["name"]: r for r in csv.DictReader(f)}


OPEN = []  # every socket a test opened, closed after it


class Cli:
    def __init__(self, port, timeout=5):
        self.s = socket.create_connection(("127.0.0.1", port), timeout=timeout)
        OPEN.append(self.s)
        self.buf = b""

    def until(self, marker):
        while marker not in self.buf:
            chunk = self.s.recv(65536)
            if not chunk:
                raise ConnectionError("closed; got %r" % self.buf[-200:])
            self.buf += chunk
        i = self.buf.index(marker) + len(marker)
        out, self.buf = self.buf[:i], self.buf[i:]
        return out.decode(errors="replace")

    def send(self, line):
        self.s.sendall(line.encode() + b"\r\n")

    def login(self, name="sw1"):
        self.until(b"Username: ")
        self.send("admin")
        self.until(b"Password: ")
        self.send("admin")
        self.until(name.encode() + b">")


class DeviceLab(unittest.TestCase):
    def tearDown(self):
        while OPEN:
            OPEN.pop().close()

    def check(self, script, *extra):
        tmp = tempfile.mkdtemp(prefix="wirelab-device-")
        run = os.path.join(tmp, "run")
        r = run_wirelab("check", LAB, script, "--ephemeral", "--run-dir", run, "--format", "json", *extra)
        return r, json.loads(r.stdout), run

    def test_plain_sockets_and_telnetlib_style_both_pass(self):
        for script in (os.path.join(LAB, "solution.py"), os.path.join(HERE, "device_fixtures", "telnet_style.py")):
            with self.subTest(script=os.path.basename(script)):
                r, report, run = self.check(script)
                self.assertEqual(r.returncode, 0, r.stdout[-3000:] + r.stderr)
                self.assertTrue(report["passed"])
                db = sqlite3.connect(os.path.join(run, "journal.db"))
                # every command is journaled with the device, the mode and the config lines it changed
                rows = db.execute("SELECT CAST(m.data AS TEXT), json_extract(m.json, '$.device'), json_extract(m.json, '$.mode'), "
                                  "json_extract(m.json, '$.diff') FROM messages m JOIN cases c ON c.id = m.case_id "
                                  "WHERE c.name = 'first' AND m.protocol = 'cli'").fetchall()
                self.assertIn(("name users", "sw1", "config-vlan", '["+  name users"]'), rows)
                self.assertIn(("name voice", "sw4", "config-vlan", '["+  name voice","-  name phones"]'), rows)
                self.assertFalse([r for r in rows if r[0] == "admin"], "the password is never journaled")
                # the same commands in the commands table, first keyword in full
                names = [n for (n,) in db.execute("SELECT c.name FROM commands c JOIN cases k ON k.id = c.case_id "
                                                  "WHERE k.name = 'first' AND c.service = 'net'")]
                self.assertEqual(names.count("WRITE"), 5)
                self.assertEqual(names.count("LOGIN"), 5)
                self.assertIn("CONFIGURE", names)
                # sw3 had vlan 10 users already: not configured again
                self.assertNotIn(("vlan 10", "sw3"), [(r[0], r[1]) for r in rows])
                # the state: running and startup configs as tables
                st = sqlite3.connect(os.path.join(run, "state", "net.db"))
                self.assertEqual(st.execute("SELECT count(*) FROM devices WHERE saved = 1").fetchone()[0], 5)
                self.assertEqual(st.execute("SELECT name FROM vlans WHERE device = 'sw4' AND config = 'startup' AND id = 20")
                                 .fetchone()[0], "voice")

    def test_mistakes_fail_what_they_say(self):
        r, report, run = self.check(os.path.join(LAB, "mistakes", "no_enable.py"))
        self.assertEqual(r.returncode, 1)
        checks = {c["id"]: c for c in report["checks"]}
        self.assertEqual(checks["no-rejected-commands"]["status"], "failed")
        self.assertIn("configure terminal", checks["no-rejected-commands"]["observed"])
        self.assertIn("% Invalid input detected at '^' marker.", checks["no-rejected-commands"]["observed"])

    def test_the_session_limit(self):
        with Up(LAB) as up:
            port = int(inventory(up)["sw2"]["port"])
            a, b = Cli(port), Cli(port)
            a.login("sw2")
            b.login("sw2")
            c = socket.create_connection(("127.0.0.1", port), timeout=5)
            OPEN.append(c)
            got = b""
            while True:
                chunk = c.recv(4096)
                if not chunk:
                    break
                got += chunk
            self.assertEqual(got, b"% Sorry, all 2 sessions of sw2 are in use\r\n")
            a.send("exit")
            a.s.settimeout(5)
            self.assertEqual(a.s.recv(100), b"")  # the switch hung up
            time.sleep(0.2)
            d = Cli(port)
            d.login("sw2")  # a session is free again
            d.send("show version")
            self.assertIn("sw2 uptime is", d.until(b"sw2>"))
            d.send("exit")
            up.stop()
            db = sqlite3.connect(up.journal)
            refused = db.execute("SELECT json_extract(detail, '$.device'), json_extract(detail, '$.max') FROM events "
                                 "WHERE kind = 'session-refused'").fetchall()
            self.assertEqual(refused, [("sw2", 2)])

    def test_bad_input_on_the_cli_port(self):
        with Up(LAB) as up:
            port = int(inventory(up)["sw1"]["port"])
            # random binary junk at the login prompt and after it
            rnd = random.Random(7)
            junk = bytes(rnd.randrange(256) for _ in range(20000))
            j = Cli(port)
            j.until(b"Username: ")
            j.s.sendall(junk)
            j.s.close()
            # a 10 MB line: cut at 4 KB, the device answers and keeps serving
            big = Cli(port, timeout=20)
            big.login()
            big.s.sendall(b"show " + b"x" * (10 << 20) + b"\r\n")
            answer = big.until(b"sw1>")
            self.assertIn("% Invalid input detected at '^' marker.", answer)
            big.send("show vlan brief")
            self.assertIn("1    default", big.until(b"sw1>"))
            big.send("exit")
            self.assertEqual(big.s.recv(100), b"")
            # a reset in the middle of a command
            r = Cli(port)
            r.login()
            r.s.sendall(b"enable\r\nenable\r\nconfigure terminal\r\nvla")
            r.s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            r.s.close()
            time.sleep(0.3)  # the switch notices the reset and frees the session
            # the device still serves, with its config untouched
            ok = Cli(port)
            ok.login()
            ok.send("enable")
            ok.until(b"Password: ")
            ok.send("enable")
            ok.until(b"sw1#")
            ok.send("show running-config")
            text = ok.until(b"sw1#")
            self.assertIn("hostname sw1", text)
            self.assertNotIn("vlan ", text.split("hostname sw1", 1)[1].split("interface", 1)[0])
            up.stop()
            db = sqlite3.connect(up.journal)
            kinds = [k for (k,) in db.execute("SELECT kind FROM events WHERE service = 'net'")]
            self.assertNotIn("state-error", kinds)
            closes = db.execute("SELECT count(*) FROM connections WHERE service = 'net'").fetchone()[0]
            self.assertGreaterEqual(closes, 4)

    def test_echo_like_a_telnet_session(self):
        with Up(os.path.join(HERE, "device_fixtures", "echo")) as up:
            port = int(inventory(up)["r1"]["port"])
            c = Cli(port)
            c.until(b"Username: ")
            c.send("admin")
            self.assertEqual(c.until(b"Password: "), "admin\r\nPassword: ")
            c.send("s3cret")
            self.assertEqual(c.until(b"r1>"), "\r\n\r\nr1>")  # the password is not echoed
            c.send("show clock")
            self.assertEqual(c.until(b"r1>"), "show clock\r\n*12:00:00.000 UTC Tue Dec 1 2026\r\nr1>")
            c.send("exit")

    def test_restconf_with_curl_and_the_cli_share_one_config(self):
        lab = os.path.join(LABS, "restconf-interfaces")
        with Up(lab) as up:
            inv = inventory(up)
            api = inv["r1"]["restconf"]
            self.assertEqual(api, up.info["env"]["WIRELAB_NET_R1_RESTCONF_URL"])
            g1 = api + "/data/ietf-interfaces:interfaces/interface=GigabitEthernet0%2F1"

            def curl(*args):
                r = subprocess.run(["curl", "-s", "-u", "admin:admin", "-w", "\n%{http_code}", *args],
                                   capture_output=True, text=True, timeout=20)
                body, _, code = r.stdout.rpartition("\n")
                return int(code), body

            code, body = curl(g1)
            self.assertEqual(code, 200)
            self.assertEqual(json.loads(body)["ietf-interfaces:interface"]["description"], "old uplink")
            code, body = curl("-X", "PATCH", "-H", "Content-Type: application/yang-data+json", "-d",
                              '{"ietf-interfaces:interface": {"description": "from curl"}}', g1)
            self.assertEqual(code, 204, body)
            code, body = curl("-X", "PATCH", "-H", "Content-Type: application/json", "-d", "{}", g1)
            self.assertEqual(code, 415)
            self.assertIn("application/yang-data+json", json.loads(body)["ietf-restconf:errors"]["error"][0]["error-message"])
            code, _ = curl("--path-as-is", api + "/data/ietf-interfaces:interfaces/interface=GigabitEthernet0/1")
            self.assertEqual(code, 404)
            # the CLI sees what RESTCONF changed, and RESTCONF what the CLI changes
            c = Cli(int(inv["r1"]["port"]))
            c.login("r1")
            c.send("enable")
            c.until(b"Password: ")
            c.send("enable")
            c.until(b"r1#")
            c.send("terminal length 0")
            c.until(b"r1#")
            c.send("show running-config")
            self.assertIn(" description from curl", c.until(b"r1#"))
            c.send("configure terminal")
            c.until(b"r1(config)#")
            c.send("interface Gi0/2")
            c.until(b"r1(config-if)#")
            c.send("description from the cli")
            c.until(b"r1(config-if)#")
            code, body = curl(api + "/data/ietf-interfaces:interfaces/interface=GigabitEthernet0%2F2/description")
            self.assertEqual(json.loads(body), {"ietf-interfaces:description": "from the cli"})
            # junk on the API port: a 400, and the API keeps serving
            j = socket.create_connection(("127.0.0.1", int(inv["r1"]["restconf"].split(":")[2].split("/")[0])), timeout=5)
            OPEN.append(j)
            j.sendall(bytes(random.Random(3).randrange(256) for _ in range(5000)) + b"\r\n\r\n")
            self.assertTrue(j.recv(100).startswith(b"HTTP/1.1 400"))
            code, _ = curl(g1)
            self.assertEqual(code, 200)
            up.stop()
            db = sqlite3.connect(up.journal)
            changes = db.execute("SELECT json_extract(detail, '$.device'), json_extract(detail, '$.diff') FROM events "
                                 "WHERE kind = 'config-change'").fetchall()
            self.assertEqual(changes, [("r1", '["+  description from curl","-  description old uplink"]')])
            statuses = [s for (s,) in db.execute("SELECT status FROM http WHERE service = 'net' ORDER BY id")]
            self.assertEqual(statuses, [200, 204, 415, 404, 200, 400, 200])

    def test_show_names_the_devices(self):
        r = run_wirelab("show", LAB)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn("net (device): 5 devices (sw1, sw2, sw3, sw4, sw5), each on its own port", r.stdout)
        self.assertIn("WIRELAB_NET_INVENTORY", r.stdout)


if __name__ == "__main__":
    unittest.main()
