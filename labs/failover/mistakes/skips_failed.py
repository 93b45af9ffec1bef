# Mistake: when a write fails I switch to the next replica, but for the next reading: the reading that failed is never stored.
# fails: every-write-landed
"""A wrong solution for the failover lab: see the two comment lines above."""
import os
import sys

import requests

URLS = os.environ.get("WIRELAB_KV_URLS", "http://localhost:3000").split(",")

READINGS = [
    {"id": i, "sensor": f"t{(i - 1) % 3 + 1}", "value": round(19.5 + 0.4 * i, 1)}
    for i in range(1, 13)
]

if __name__ == "__main__":
    current = 0
    for reading in READINGS:
        try:
            r = requests.post(URLS[current] + "/readings", json=reading, timeout=1.0)
            r.raise_for_status()
        except requests.RequestException as e:
            print(f"replica {current + 1} failed ({type(e).__name__}); using the next", file=sys.stderr)
            current = (current + 1) % len(URLS)
    print(f"stored {len(READINGS)} readings")
