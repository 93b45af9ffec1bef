# Mistake: I used a pool of threads; it is fast, but every request comes from the same process and the lab asks for processes.
# fails: many-processes, at-once
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
    from concurrent.futures import ThreadPoolExecutor
    with ThreadPoolExecutor(WORKERS) as pool:
        lines = list(pool.map(fetch_config, ids))
    for line in sorted(lines):
        print(line)


if __name__ == "__main__":
    main()
