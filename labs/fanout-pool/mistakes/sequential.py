# Mistake: I fetched the configs one after another in a loop; the output is right but it takes 10 s and only one process works.
# fails: many-processes, at-once, fast
"""A wrong solution for the fanout-pool lab: see the two comment lines above."""
import multiprocessing
import os

import requests

BASE = os.environ.get("WIRELAB_FLEET_URL", "http://localhost:3000")
WORKERS = 8


def fetch_config(device_id):
    """Runs in a worker process: one device's config."""
    reply = requests.get(f"{BASE}/configs/{device_id}", timeout=5)
    reply.raise_for_status()
    config = reply.json()
    return f"{config['hostname']} {config['version']} {config['serial']}"


def main():
    devices = requests.get(BASE + "/devices", timeout=5).json()
    ids = [device["id"] for device in devices]
    # "spawn" starts each worker as a fresh interpreter, as on Windows and
    # macOS: the same code then works everywhere.
    lines = [fetch_config(device_id) for device_id in ids]
    for line in sorted(lines):
        print(line)


if __name__ == "__main__":
    main()
