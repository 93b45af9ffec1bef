# Mistake: I fail over when a replica refuses the connection, but I set no timeout: a replica that hangs keeps my script waiting for ever.
# fails: exit-ok, every-write-landed
"""A wrong solution for the failover lab: see the two comment lines above."""
import os
import sys

import requests

URLS = os.environ.get("WIRELAB_KV_URLS", "http://localhost:3000").split(",")

READINGS = [
    {"id": i, "sensor": f"t{(i - 1) % 3 + 1}", "value": round(19.5 + 0.4 * i, 1)}
    for i in range(1, 13)
]

current = 0


def store(reading):
    global current
    for attempt in range(len(URLS)):
        i = (current + attempt) % len(URLS)
        try:
            r = requests.post(URLS[i] + "/readings", json=reading)  # no timeout=
        except requests.RequestException as e:
            print(f"replica {i + 1} failed ({type(e).__name__})", file=sys.stderr)
            continue
        r.raise_for_status()
        current = i
        return
    sys.exit(f"no replica could store reading {reading['id']}")


if __name__ == "__main__":
    for reading in READINGS:
        store(reading)
    print(f"stored {len(READINGS)} readings")
