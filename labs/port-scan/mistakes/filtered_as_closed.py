# Mistake: I took every port that did not connect for closed.
# fails: filtered
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
        if rc != 0:
            return "closed", None
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


def main():
    results = {}
    threads = [threading.Thread(target=scan, args=(h, results)) for h in HOSTS]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    print(json.dumps({h: results[h] for h in HOSTS}))


if __name__ == "__main__":
    main()
