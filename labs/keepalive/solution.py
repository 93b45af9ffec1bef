"""keepalive: fetch 50 cars over one connection, then one connection each.

Usage: python3 fetch.py session|close
"""
import os
import sys

import requests

BASE = os.environ.get("WIRELAB_API_URL", "http://localhost:3000")


def fetch_all(get):
    return sum(get(f"{BASE}/cars/{car_id}").json()["production_year"] for car_id in range(1, 51))


def main(mode):
    if mode == "session":
        # One Session, one pooled connection, reused by every request.
        with requests.Session() as session:
            return fetch_all(lambda url: session.get(url, timeout=5))
    if mode == "close":
        # The server answers and closes; each request opens its own connection.
        return fetch_all(lambda url: requests.get(url, headers={"Connection": "close"}, timeout=5))
    raise SystemExit(f"usage: fetch.py session|close (not {mode!r})")


if __name__ == "__main__":
    print(main(sys.argv[1] if len(sys.argv) > 1 else ""))
