# Mistake: to be safe I write every reading to every replica that answers: a reading is then stored two or three times.
# fails: exactly-once
"""A wrong solution for the failover lab: see the two comment lines above."""
import os
import sys

import requests

URLS = os.environ.get("WIRELAB_KV_URLS", "http://localhost:3000").split(",")

READINGS = [
    {"id": i, "sensor": f"t{(i - 1) % 3 + 1}", "value": round(19.5 + 0.4 * i, 1)}
    for i in range(1, 13)
]

dead = set()

if __name__ == "__main__":
    for reading in READINGS:
        stored = 0
        for i, url in enumerate(URLS):
            if i in dead:
                continue
            try:
                requests.post(url + "/readings", json=reading, timeout=1.0).raise_for_status()
                stored += 1
            except requests.RequestException:
                dead.add(i)
        if not stored:
            sys.exit(f"no replica could store reading {reading['id']}")
    print(f"stored {len(READINGS)} readings")
