"""failover: a reference solution.

Each reading goes to the replica that worked last; when a request fails
(refused, reset or timed out) the same reading goes to the next replica.
"""
import os
import sys

import requests

URLS = os.environ.get("WIRELAB_KV_URLS", "http://localhost:3000").split(",")
TIMEOUT = 1.0  # seconds: a replica that says nothing for this long is given up

READINGS = [
    {"id": i, "sensor": f"t{(i - 1) % 3 + 1}", "value": round(19.5 + 0.4 * i, 1)}
    for i in range(1, 13)
]

current = 0  # the replica that answered last


def store(reading):
    global current
    for attempt in range(len(URLS)):
        i = (current + attempt) % len(URLS)
        try:
            r = requests.post(URLS[i] + "/readings", json=reading, timeout=TIMEOUT)
        except requests.RequestException as e:
            print(f"replica {i + 1} failed ({type(e).__name__}); trying the next", file=sys.stderr)
            continue
        r.raise_for_status()
        current = i
        return
    sys.exit(f"no replica could store reading {reading['id']}")


if __name__ == "__main__":
    for reading in READINGS:
        store(reading)
    print(f"stored {len(READINGS)} readings")
