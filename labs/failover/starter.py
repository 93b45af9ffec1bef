"""failover: store twelve readings on a store of three replicas, each once.

WIRELAB_KV_URLS lists the replicas (comma-separated). POST /readings with a
reading as JSON stores it (201). A replica may die (ConnectionError) or hang
(no answer: use a timeout) during the run: retry the same reading on the
next replica.
"""
import os

import requests

URLS = os.environ.get("WIRELAB_KV_URLS", "http://localhost:3000").split(",")

READINGS = [
    {"id": i, "sensor": f"t{(i - 1) % 3 + 1}", "value": round(19.5 + 0.4 * i, 1)}
    for i in range(1, 13)
]


def store(reading):
    # TODO: POST the reading to a replica, with a timeout; on
    # requests.RequestException try the next replica
    ...


if __name__ == "__main__":
    for reading in READINGS:
        store(reading)
