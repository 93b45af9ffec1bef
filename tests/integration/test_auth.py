"""The http service's authentication with curl on real sockets: 401s with
their WWW-Authenticate challenges, login, bearer tokens expiring, refresh
tokens working once, an HMAC-signed POST, and what the journal keeps (never
a password or a whole token)."""
import hashlib
import hmac
import json
import os
import shutil
import sqlite3
import subprocess
import tempfile
import time
import unittest

from wltest import LABS, Up

LAB = os.path.join(LABS, "token-auth")
# The lab's tokens live one second and each of its answers takes 300 ms:
# the four requests between the refresh and the signed POST alone are
# 1.2 s. The test's copy of the lab gives them longer.
TTL = 4


def lab_copy(tmp):
    lab = os.path.join(tmp, "token-auth")
    shutil.copytree(LAB, lab)
    spec = json.load(open(os.path.join(lab, "lab.json")))
    spec["services"]["api"]["auth"]["token_ttl"] = TTL
    json.dump(spec, open(os.path.join(lab, "lab.json"), "w"))
    return lab


def curl(*args):
    r = subprocess.run(["curl", "-s", "-D", "-", *args], capture_output=True, text=True, timeout=20)
    head, _, body = r.stdout.partition("\n\n")  # (text mode turned CRLF into LF)
    status = int(head.split()[1])
    headers = {}
    for line in head.split("\n")[1:]:
        k, _, v = line.partition(": ")
        headers[k.lower()] = v
    return status, headers, body


class Auth(unittest.TestCase):
    def test_tokens_refresh_and_signatures_with_curl(self):
        tmp = tempfile.TemporaryDirectory(prefix="wirelab-auth-")
        self.addCleanup(tmp.cleanup)
        with Up(lab_copy(tmp.name)) as up:
            env = up.info["env"]
            base = env["WIRELAB_API_URL"]
            status, headers, body = curl(base + "/orders/1")
            self.assertEqual(status, 401)
            self.assertEqual(headers.get("www-authenticate"), 'Bearer realm="api"', headers)
            status, _, body = curl("-H", "Content-Type: application/json", "-d",
                                   json.dumps({"username": env["WIRELAB_API_USERNAME"], "password": "wrong"}),
                                   env["WIRELAB_API_LOGIN_URL"])
            self.assertEqual((status, json.loads(body)["error"]), (401, "invalid_grant"))
            status, headers, body = curl("-H", "Content-Type: application/json", "-d",
                                         json.dumps({"username": env["WIRELAB_API_USERNAME"],
                                                     "password": env["WIRELAB_API_PASSWORD"]}),
                                         env["WIRELAB_API_LOGIN_URL"])
            self.assertEqual(status, 200, body)
            self.assertEqual(headers["cache-control"], "no-store")
            tokens = json.loads(body)
            issued = time.monotonic()
            auth = "Authorization: Bearer " + tokens["access_token"]
            status, _, body = curl("-H", auth, base + "/orders/1")
            self.assertEqual(status, 200)
            self.assertEqual(json.loads(body)["id"], 1)
            time.sleep(max(0.0, TTL + 0.2 - (time.monotonic() - issued)))
            status, headers, body = curl("-H", auth, base + "/orders/1")
            self.assertEqual(status, 401)
            self.assertIn('error_description="the access token expired"', headers["www-authenticate"])
            refresh = json.dumps({"refresh_token": tokens["refresh_token"]})
            status, _, body = curl("-H", "Content-Type: application/json", "-d", refresh, env["WIRELAB_API_REFRESH_URL"])
            self.assertEqual(status, 200)
            fresh = json.loads(body)
            status, _, body = curl("-H", "Content-Type: application/json", "-d", refresh, env["WIRELAB_API_REFRESH_URL"])
            self.assertEqual(status, 401)
            self.assertIn("used already", json.loads(body)["error_description"])
            # a signed POST: right, then with the body changed after signing
            report = json.dumps({"orders": 1, "total_cents": 5})
            stamp = str(int(time.time()))
            sig = hmac.new(env["WIRELAB_API_HMAC_SECRET"].encode(), f"POST\n/reports\n{stamp}\n{report}".encode(),
                           hashlib.sha256).hexdigest()
            signed = ["-H", "Authorization: Bearer " + fresh["access_token"], "-H", "Content-Type: application/json",
                      "-H", "X-Timestamp: " + stamp, "-H", "X-Signature: " + sig]
            status, _, body = curl(*signed, "-d", report.replace("5", "6"), base + "/reports")
            self.assertEqual(status, 401)
            self.assertEqual(json.loads(body)["error"], "invalid_signature")
            status, _, body = curl(*signed, "-d", report, base + "/reports")
            self.assertEqual(status, 201, body)
            up.stop()
            db = sqlite3.connect(up.journal)
            events = db.execute("SELECT kind, json_extract(detail, '$.reason'), detail FROM events "
                                "WHERE kind LIKE 'auth-%' ORDER BY id").fetchall()
            self.assertEqual([(k, r) for k, r, _ in events],
                             [("auth-rejected", "missing"), ("auth-rejected", "login-failed"), ("auth-login", None),
                              ("auth-rejected", "expired"), ("auth-refresh", None), ("auth-rejected", "refresh-reused"),
                              ("auth-rejected", "bad-signature")])
            for _, _, detail in events:
                self.assertNotIn(env["WIRELAB_API_PASSWORD"], detail)
                self.assertNotIn(tokens["access_token"], detail)
                self.assertNotIn(tokens["refresh_token"], detail)


if __name__ == "__main__":
    unittest.main()
