"""The fault layer over real sockets: each profile does to a real client what
it says, journals what it did, and a seeded run replays byte for byte.

Timing assertions here are lower bounds only (a delay that was configured
must have happened); nothing asserts that something was fast."""
import json
import os
import socket
import tempfile
import time
import unittest

import requests

from wltest import SOURCE, ServedLab, main, query, run_wirelab

FIXTURES = os.path.join(SOURCE, "tests", "integration", "fault_fixtures")
GET_CARS = b"GET /cars HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n"


def exchange(port, data, timeout=5):
    """Sends `data`, reads to EOF; returns (bytes, number of recv calls that
    returned data, seconds to the first byte, seconds to EOF)."""
    t0 = time.monotonic()
    first = None
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as s:
        s.sendall(data)
        out, reads = b"", 0
        while True:
            b = s.recv(65536)
            if not b:
                break
            first = first or time.monotonic() - t0
            out += b
            reads += 1
    return out, reads, first, time.monotonic() - t0


def body(response):
    return response.split(b"\r\n\r\n", 1)[1]


class FaultProfiles(ServedLab):
    LAB = os.path.join(FIXTURES, "services")

    def port(self, name):
        return self.up.port(name)

    def out_chunks(self, service):
        self.up_flush()
        return query(self.up.journal,
                     "SELECT c.id, length(k.data) FROM chunks k JOIN connections c ON c.id = k.connection_id "
                     "WHERE c.service = ? AND k.dir = 'out' ORDER BY k.id", service)

    def up_flush(self):
        time.sleep(0.1)  # the journal commits every 20 ms

    def fault_events(self, service):
        self.up_flush()
        return [json.loads(d) for (d,) in query(
            self.up.journal, "SELECT detail FROM events WHERE kind = 'fault' AND service = ? ORDER BY id", service)]

    def test_plain_service_answers_in_one_piece(self):
        out, _, _, _ = exchange(self.port("plain"), GET_CARS)
        self.assertEqual(json.loads(body(out)), [{"id": 1, "brand": "Citroën"}])
        self.assertEqual(self.fault_events("plain"), [])

    def test_drip_sends_a_few_bytes_at_a_time(self):
        out, reads, _, _ = exchange(self.port("drip"), GET_CARS)
        self.assertEqual(json.loads(body(out)), [{"id": 1}])
        self.assertGreater(reads, 20, "a client should see the answer arrive in many small reads")
        sizes = [n for _, n in self.out_chunks("drip")]
        self.assertTrue(sizes and max(sizes) <= 3, sizes)
        self.assertEqual(self.fault_events("drip")[0]["fault"], "drip")

    def test_slice_cuts_writes_but_keeps_every_byte(self):
        out, _, _, _ = exchange(self.port("slice"), GET_CARS)
        self.assertEqual(json.loads(body(out)), [{"id": 1}])
        sizes = [n for _, n in self.out_chunks("slice")]
        self.assertTrue(max(sizes) <= 7 and min(sizes) >= 1, sizes)
        self.assertGreater(len(set(sizes)), 1, "slice boundaries are random, not fixed")

    def test_latency_delays_the_answer(self):
        _, _, first, _ = exchange(self.port("latency"), GET_CARS)
        self.assertGreaterEqual(first, 0.29)

    def test_tarpit_accepts_and_never_answers(self):
        with socket.create_connection(("127.0.0.1", self.port("tarpit")), timeout=0.5) as s:
            s.sendall(GET_CARS)
            with self.assertRaises(socket.timeout):
                s.recv(100)
        self.up_flush()
        rows = query(self.up.journal, "SELECT bytes_in, bytes_out FROM connections WHERE service = 'tarpit'")
        self.assertEqual(rows[-1], (len(GET_CARS), 0))
        self.assertEqual(self.fault_events("tarpit")[-1]["fault"], "tarpit")

    def test_refuse_closes_the_port(self):
        with self.assertRaises(ConnectionRefusedError):
            socket.create_connection(("127.0.0.1", self.port("refuse")), timeout=2)

    def test_reset_after_bytes(self):
        with socket.create_connection(("127.0.0.1", self.port("reset")), timeout=5) as s:
            s.sendall(GET_CARS)
            got = b""
            with self.assertRaises(ConnectionResetError):
                while True:
                    b = s.recv(100)
                    if not b:
                        break
                    got += b
        self.assertEqual(got, b"HTTP/1.1 200")
        self.up_flush()
        rows = query(self.up.journal, "SELECT closed_by, close_kind, bytes_out FROM connections WHERE service = 'reset'")
        self.assertEqual(rows[-1], ("server", "reset", 12))

    def test_status_faults_by_sequence(self):
        url = self.up.url("status") + "/cars"
        got = [requests.get(url, timeout=5) for _ in range(5)]
        self.assertEqual([r.status_code for r in got], [200, 503, 200, 200, 429])
        self.assertEqual(got[4].headers.get("Retry-After"), "3")
        self.assertEqual(got[1].json(), {"error": "Service Unavailable"})
        events = [e for e in self.fault_events("status") if e["fault"] == "status"]
        self.assertEqual([(e["request"], e["status"]) for e in events], [(2, 503), (5, 429)])
        self.up_flush()
        statuses = [s for (s,) in query(self.up.journal, "SELECT status FROM http WHERE service = 'status' ORDER BY id")]
        self.assertEqual(statuses, [200, 503, 200, 200, 429])

    def test_strict_rejects_what_a_strict_server_does(self):
        port = self.port("strict")
        self.assertTrue(exchange(port, GET_CARS)[0].startswith(b"HTTP/1.1 200 OK\r\n"))
        no_host = exchange(port, b"GET /cars HTTP/1.1\r\nConnection: close\r\n\r\n")[0]
        self.assertTrue(no_host.startswith(b"HTTP/1.1 400 Bad Request\r\n"), no_host)
        self.assertTrue(exchange(port, b"GET /cars HTTP/1.0\r\n\r\n")[0].startswith(b"HTTP/1.0 200 OK"))
        self.up_flush()
        errors = [e for (e,) in query(self.up.journal,
                                      "SELECT error FROM http WHERE service = 'strict' AND status = 400")]
        self.assertTrue(any("Host header" in e for e in errors), errors)

    def test_slow_close_waits_before_the_fin(self):
        out, _, first, total = exchange(self.port("slowclose"), GET_CARS)
        self.assertTrue(out.startswith(b"HTTP/1.1 200 OK"))
        self.assertGreaterEqual(total - first, 0.35)

    def test_bandwidth_paces_the_answer(self):
        out, _, _, total = exchange(self.port("bandwidth"), b"GET /big HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n")
        self.assertEqual(len(json.loads(body(out))["text"]), 10000)
        self.assertGreaterEqual(total, 0.45)  # > 10 KB at 20 KB/s
        sizes = [n for _, n in self.out_chunks("bandwidth")]
        self.assertLessEqual(max(sizes), 400)


class Replay(unittest.TestCase):
    """The same seed gives the same faults byte for byte; another seed others."""

    def run_once(self, seed):
        lab = os.path.join(FIXTURES, "replay")
        with tempfile.TemporaryDirectory(prefix="wirelab-replay-") as tmp:
            run = os.path.join(tmp, "run")
            r = run_wirelab("check", lab, os.path.join(lab, "client.py"), "--ephemeral", "--seed", str(seed),
                            "--run-dir", run)
            self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
            db = os.path.join(run, "journal.db")
            # Connection ids, chunk sizes per direction, statuses and fault
            # events: everything but times and ports.
            chunks = query(db, "SELECT connection_id, dir, offset, length(data) FROM chunks ORDER BY id")
            http = query(db, "SELECT connection_id, status, resp_body FROM http ORDER BY id")
            events = [(k, json.loads(d)) for k, d in
                      query(db, "SELECT kind, detail FROM events WHERE kind LIKE 'fault%' ORDER BY id")]
            seed_meta = query(db, "SELECT value FROM meta WHERE key = 'seed'")[0][0]
            return chunks, http, events, seed_meta

    def test_same_seed_same_faults(self):
        a = self.run_once(7)
        b = self.run_once(7)
        self.assertEqual(a[3], "7")
        self.assertEqual(a[0], b[0], "chunk boundaries differ between two runs with the same seed")
        self.assertEqual(a[1], b[1], "statuses differ between two runs with the same seed")
        self.assertEqual(a[2], b[2])
        self.assertIn(503, [s for _, s, _ in a[1]], "the flaky case should have hit some 503s")
        c = self.run_once(8)
        self.assertNotEqual(a[0], c[0], "another seed should cut the writes elsewhere")


if __name__ == "__main__":
    main()
