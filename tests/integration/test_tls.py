"""TLS on stream services with real clients (Python's ssl, curl, openssl
s_client): the run's CA in WIRELAB_CA_FILE, the certificate's names and
dates, the broken variants refused by a verifying client, plaintext
recorded under TLS, a client that speaks plain HTTP to a TLS port, a stalled
handshake, and bad "tls" settings in lab.json."""
import json
import os
import socket
import sqlite3
import ssl
import subprocess
import tempfile
import time
import unittest

from wltest import Up, run_wirelab

HERE = os.path.dirname(os.path.abspath(__file__))
LAB = os.path.join(HERE, "tls_fixtures")


class Tls(unittest.TestCase):
    def test_clients_verify_against_the_runs_ca(self):
        with Up(LAB) as up:
            env = up.info["env"]
            ca = env["WIRELAB_CA_FILE"]
            self.assertTrue(os.path.isfile(ca))
            self.assertEqual(os.path.dirname(ca), up.info["run_dir"])
            self.assertTrue(env["WIRELAB_API_URL"].startswith("https://127.0.0.1:"))
            self.assertTrue(env["WIRELAB_ECHO_URL"].startswith("tls://127.0.0.1:"))
            # Python's ssl, verifying, by name and by address
            ctx = ssl.create_default_context(cafile=ca)
            for name in ("localhost", "127.0.0.1"):
                with socket.create_connection(("127.0.0.1", int(env["WIRELAB_ECHO_PORT"])), timeout=5) as raw:
                    with ctx.wrap_socket(raw, server_hostname=name) as t:
                        self.assertEqual(t.version(), "TLSv1.3")
                        t.sendall(b"over tls\n")
                        self.assertEqual(t.recv(100), b"over tls\n")
                        peer = t.getpeercert()
                        self.assertIn(("DNS", "localhost"), peer["subjectAltName"])
            # without the CA the certificate is refused
            with socket.create_connection(("127.0.0.1", int(env["WIRELAB_ECHO_PORT"])), timeout=5) as raw:
                with self.assertRaises(ssl.SSLCertVerificationError):
                    ssl.create_default_context().wrap_socket(raw, server_hostname="localhost")
            # curl: https with the CA, and the expired variant refused
            r = subprocess.run(["curl", "-s", "--cacert", ca, env["WIRELAB_API_URL"] + "/items/1"],
                               capture_output=True, text=True, timeout=20)
            self.assertEqual(json.loads(r.stdout), {"id": 1})
            r = subprocess.run(["curl", "-s", "-S", "--cacert", ca, env["WIRELAB_OLD_URL"] + "/items"],
                               capture_output=True, text=True, timeout=20)
            self.assertEqual(r.returncode, 60)
            self.assertIn("expired", r.stderr)
            # openssl s_client sees the chain: the leaf signed by the run's CA
            r = subprocess.run(["openssl", "s_client", "-connect", "127.0.0.1:" + env["WIRELAB_API_PORT"],
                                "-CAfile", ca, "-verify_return_error", "-brief"],
                               input="", capture_output=True, text=True, timeout=20)
            self.assertIn("Verification: OK", r.stderr)
            # plain HTTP to the TLS port: the handshake fails, the service keeps serving
            with socket.create_connection(("127.0.0.1", int(env["WIRELAB_API_PORT"])), timeout=5) as plain:
                plain.sendall(b"GET /items HTTP/1.1\r\nHost: x\r\n\r\n")
                plain.settimeout(5)
                try:
                    got = plain.recv(100)
                except ConnectionResetError:
                    got = b""
                self.assertFalse(got.startswith(b"HTTP/1.1 200"))
            # a client that connects and never starts the handshake does not hold anything up
            stalled = socket.create_connection(("127.0.0.1", int(env["WIRELAB_API_PORT"])), timeout=5)
            r = subprocess.run(["curl", "-s", "--cacert", ca, env["WIRELAB_API_URL"] + "/items/1"],
                               capture_output=True, text=True, timeout=20)
            self.assertEqual(json.loads(r.stdout), {"id": 1})
            stalled.close()
            up.stop()
            db = sqlite3.connect(up.journal)
            events = db.execute("SELECT service, kind, json_extract(detail, '$.reason') FROM events "
                                "WHERE kind LIKE 'tls-%' ORDER BY id").fetchall()
            self.assertIn(("old", "tls-handshake-failed", "sslv3 alert certificate expired"), events)
            self.assertTrue(any(s == "api" and k == "tls-handshake-failed" for s, k, _ in events))  # the plain request
            # what the connection recorded is the plaintext
            chunks = b"".join(bytes(d) for (d,) in db.execute(
                "SELECT c.data FROM chunks c JOIN connections n ON n.id = c.connection_id WHERE n.service = 'echo'"))
            self.assertIn(b"over tls\n", chunks)
            paths = [p for (p,) in db.execute("SELECT path FROM http WHERE service = 'api'")]
            self.assertEqual(paths, ["/items/1", "/items/1"])

    def test_show_says_https_and_where_the_ca_is(self):
        r = run_wirelab("show", LAB)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn("api (http): https://127.0.0.1:<any free port> (TLS; the run's CA is in WIRELAB_CA_FILE)", r.stdout)
        self.assertIn("echo (tcp): tls://127.0.0.1", r.stdout)
        self.assertNotIn("expired", r.stdout)  # which certificate is broken is the lab's to tell

    def test_bad_tls_settings_name_the_key(self):
        tmp = tempfile.mkdtemp(prefix="wirelab-tls-")
        for value, words in (('"sometimes"', '"tls" is true'), ("3", '"tls" is true')):
            with open(os.path.join(tmp, "lab.json"), "w") as f:
                f.write('{"id": "t", "title": "t", "services": {"a": {"kind": "tcp", "protocol": "echo", "tls": %s}},'
                        ' "checks": [{"id": "ok", "title": "ok", "kind": "exit", "code": 0}]}' % value)
            r = run_wirelab("validate", tmp)
            self.assertEqual(r.returncode, 1, r.stdout + r.stderr)  # validate: the lab has a problem
            self.assertIn("/services/a/tls", r.stdout + r.stderr)
            self.assertIn(words, r.stdout + r.stderr)
        with open(os.path.join(tmp, "lab.json"), "w") as f:
            f.write('{"id": "t", "title": "t", "services": {"db": {"kind": "sql", "tls": true}},'
                    ' "checks": [{"id": "ok", "title": "ok", "kind": "exit", "code": 0}]}')
        r = run_wirelab("validate", tmp)
        self.assertEqual(r.returncode, 1)
        self.assertIn("sslmode", r.stdout + r.stderr)


if __name__ == "__main__":
    unittest.main()
