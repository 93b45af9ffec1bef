# Mistake: I only ever talk to the first replica: when it dies or hangs, my script fails with it.
# fails: exit-ok, every-write-landed
"""A wrong solution for the failover lab: see the two comment lines above."""
import os

import requests

URLS = os.environ.get("WIRELAB_KV_URLS", "http://localhost:3000").split(",")

READINGS = [
    {"id": i, "sensor": f"t{(i - 1) % 3 + 1}", "value": round(19.5 + 0.4 * i, 1)}
    for i in range(1, 13)
]

if __name__ == "__main__":
    for reading in READINGS:
        r = requests.post(URLS[0] + "/readings", json=reading, timeout=1.0)
        r.raise_for_status()
    print(f"stored {len(READINGS)} readings")
