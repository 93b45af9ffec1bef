# Mistake: I probed every port of every host at once with a pool of threads, to be fast.
# fails: not-blocked, banners
"""A wrong solution for the port-scan lab: see the two comment lines above."""
import errno
import json
import os
import socket
import threading
import time

HOSTS = os.environ["WIRELAB_TARGETS_HOSTS"].split(",")
FIRST = int(os.environ["WIRELAB_TARGETS_FIRST_PORT"])
LAST = int(os.environ["WIRELAB_TARGETS_LAST_PORT"])


def probe(host, port):
    """('open', banner), ('closed', None) or ('filtered', None)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.settimeout(0.5)
        rc = s.connect_ex((host, port))
        if rc == errno.ECONNREFUSED:
            return "closed", None
        if rc != 0:  # EAGAIN / ETIMEDOUT: nothing answered
            return "filtered", None
        try:
            banner = s.recv(1024).decode(errors="replace").strip()
        except socket.timeout:
            banner = ""  # a service that waits for the client to speak
        return "open", banner


def scan(host, results):
    found = {"open": {}, "filtered": []}
    for port in range(FIRST, LAST + 1):
        state, banner = probe(host, port)
        if state == "open":
            found["open"][str(port)] = banner
        elif state == "filtered":
            found["filtered"].append(port)
        time.sleep(0.05)  # one probe at a time, paced: no host takes it for a flood
    results[host] = found


def safe_probe(host, port):
    try:
        return host, port, probe(host, port)
    except OSError:
        return host, port, ("closed", None)


def main():
    from concurrent.futures import ThreadPoolExecutor
    results = {h: {"open": {}, "filtered": []} for h in HOSTS}
    with ThreadPoolExecutor(max_workers=64) as pool:
        jobs = [pool.submit(safe_probe, h, p) for h in HOSTS for p in range(FIRST, LAST + 1)]
        for job in jobs:
            host, port, (state, banner) = job.result()
            if state == "open":
                results[host]["open"][str(port)] = banner
            elif state == "filtered":
                results[host]["filtered"].append(port)
    print(json.dumps(results))


if __name__ == "__main__":
    main()
