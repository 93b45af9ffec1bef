# Mistake: I printed the token to see that the login worked.
# fails: no-secrets-printed
"""A wrong solution for the token-auth lab: see the two comment lines above."""
import hashlib
import hmac
import json
import os
import sys
import time

import requests

BASE = os.environ["WIRELAB_API_URL"]


class Api:
    def __init__(self):
        self.http = requests.Session()
        self.access = self.refresh_token = None

    def _take(self, answer):
        tokens = answer.json()
        self.access, self.refresh_token = tokens["access_token"], tokens["refresh_token"]

    def login(self):
        r = self.http.post(os.environ["WIRELAB_API_LOGIN_URL"], timeout=5,
                           json={"username": os.environ["WIRELAB_API_USERNAME"],
                                 "password": os.environ["WIRELAB_API_PASSWORD"]})
        r.raise_for_status()
        self._take(r)
        print("logged in, token", self.access, file=sys.stderr)

    def refresh(self):
        r = self.http.post(os.environ["WIRELAB_API_REFRESH_URL"], json={"refresh_token": self.refresh_token}, timeout=5)
        if r.status_code == 401:  # the refresh token is gone too: only then log in again
            self.login()
            return
        r.raise_for_status()
        self._take(r)
        print("token refreshed", file=sys.stderr)

    def request(self, method, path, headers=None, **kwargs):
        for attempt in (1, 2):
            sent = {"Authorization": f"Bearer {self.access}", **(headers or {})}
            r = self.http.request(method, BASE + path, headers=sent, timeout=5, **kwargs)
            if r.status_code != 401 or attempt == 2:
                break
            self.refresh()  # then retry once with the new token
        r.raise_for_status()
        return r


def main():
    api = Api()
    api.login()
    orders, page = [], 1
    while True:
        batch = api.request("GET", "/orders", params={"_page": page, "_limit": 5}).json()
        orders += batch
        if len(batch) < 5:
            break
        page += 1
    total = sum(o["amount_cents"] for o in orders)
    print(f"orders: {len(orders)} total: {total / 100:.2f}")

    body = json.dumps({"orders": len(orders), "total_cents": total}).encode()
    stamp = str(int(time.time()))
    signature = hmac.new(os.environ["WIRELAB_API_HMAC_SECRET"].encode(),
                         b"POST\n/reports\n" + stamp.encode() + b"\n" + body, hashlib.sha256).hexdigest()
    api.request("POST", "/reports", data=body, headers={"Content-Type": "application/json",
                                                         "X-Timestamp": stamp, "X-Signature": signature})


if __name__ == "__main__":
    main()
