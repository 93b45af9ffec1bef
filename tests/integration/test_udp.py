"""The udp service kind over real sockets: echo, text and JSON dialogues,
telemetry with NAK retransmission, and the datagram fault layer (drop,
duplicate, reorder, truncate, drop_in) — seeded, so a run replays exactly."""
import json
import os
import socket
import tempfile
import time
import unittest

from wltest import SOURCE, ServedLab, main, query, run_wirelab

LAB = os.path.join(SOURCE, "tests", "integration", "udp_fixtures")


class UdpService(ServedLab):
    LAB = LAB

    def setUp(self):
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.settimeout(2)

    def tearDown(self):
        self.sock.close()

    def ask(self, service, data):
        self.sock.sendto(data, ("127.0.0.1", self.up.port(service)))
        return self.sock.recvfrom(65536)[0]

    def rows(self, service):
        return self.journal_rows("SELECT dir, data, json, error, fault FROM messages WHERE service = ? ORDER BY id",
                     service)

    def test_url(self):
        self.assertTrue(self.up.url("echo").startswith("udp://127.0.0.1:"))

    def test_echo_and_junk(self):
        self.assertEqual(self.ask("echo", b"\x00\xffhello"), b"\x00\xffhello")
        self.assertEqual(self.ask("echo", b"again"), b"again")

    def test_lines(self):
        self.assertEqual(self.ask("lines", b"TIME\n"), b"12:00")
        self.assertEqual(self.ask("lines", b"ECHO hi there"), b"hi there")
        self.assertEqual(self.ask("lines", b"DANCE"), b"ERR unknown command")

    def test_json_and_junk(self):
        self.assertEqual(json.loads(self.ask("json", b'{"op": "add", "value": 3}')), {"ok": True, "got": 3})
        self.assertIn("not valid JSON", json.loads(self.ask("json", b"{nope"))["error"])
        self.assertIn("UTF-8", json.loads(self.ask("json", b"\xff\xfe"))["error"])
        errors = [e for _, _, _, e, _ in self.rows("json") if e]
        self.assertEqual(len(errors), 2, errors)

    def test_truncate(self):
        self.assertEqual(self.ask("short", b"0123456789"), b"01234")
        self.assertEqual(self.rows("short")[-1][4], "truncated")

    def test_drop_in(self):
        self.sock.settimeout(0.3)
        with self.assertRaises(socket.timeout):
            self.ask("deaf", b"anyone?")
        self.assertEqual(self.rows("deaf")[-1][0::4], ("in", "dropped"))

    def collect(self, service, quiet=0.3):
        addr = ("127.0.0.1", self.up.port(service))
        self.sock.settimeout(quiet)
        self.sock.sendto(b'{"op": "start"}', addr)
        pieces, total, naks, arrivals = {}, None, 0, 0
        while total is None or len(pieces) < total:
            try:
                m = json.loads(self.sock.recvfrom(65536)[0])
            except socket.timeout:
                missing = [i for i in range(total or 0) if i not in pieces]
                self.sock.sendto(json.dumps({"op": "nak", "seq": missing}).encode(), addr)
                naks += 1
                self.assertLess(naks, 50, "the stream never completed")
                continue
            arrivals += 1
            pieces[m["seq"]] = m["data"]
            total = m["total"]
        self.sock.sendto(b'{"op": "done"}', addr)
        self.assertEqual(json.loads(self.sock.recvfrom(65536)[0]), {"op": "bye"})
        return "".join(pieces[i] for i in range(total)), naks, arrivals

    def test_telemetry_clean(self):
        text, naks, arrivals = self.collect("probe")
        self.assertEqual(text, "abcdefghijklmnopqrstuvwxyzÄÖÜ0123456789")
        self.assertEqual(naks, 0)

    def test_telemetry_lossy_needs_naks(self):
        text, naks, _ = self.collect("lossy")
        self.assertEqual(text, "abcdefghijklmnopqrstuvwxyz0123456789")
        self.assertGreater(naks, 0)
        faults = {f for *_, f in self.rows("lossy") if f}
        self.assertTrue({"dropped", "duplicate", "reordered"} <= faults, faults)

    def test_bad_nak(self):
        self.assertIn("error", json.loads(self.ask("probe", b'{"op": "nak", "seq": ["x"]}')))
        self.assertIn("error", json.loads(self.ask("probe", b'{"op": "dance"}')))


class DatagramReplay(unittest.TestCase):
    def run_once(self, seed):
        with tempfile.TemporaryDirectory(prefix="wirelab-udp-") as tmp:
            run = os.path.join(tmp, "run")
            r = run_wirelab("check", LAB, os.path.join(LAB, "client.py"), "--ephemeral", "--seed", str(seed),
                            "--run-dir", run)
            self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
            return query(os.path.join(run, "journal.db"),
                         "SELECT dir, seq, data, fault FROM messages WHERE service = 'lossy' ORDER BY id")

    def test_same_seed_same_datagrams(self):
        a, b = self.run_once(11), self.run_once(11)
        self.assertEqual(a, b)
        self.assertIn("dropped", [f for *_, f in a])
        self.assertNotEqual(a, self.run_once(12))


if __name__ == "__main__":
    main()
