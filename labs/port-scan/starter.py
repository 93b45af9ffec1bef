"""port-scan: your script.

Scan every port from $WIRELAB_TARGETS_FIRST_PORT to $WIRELAB_TARGETS_LAST_PORT
on each host of $WIRELAB_TARGETS_HOSTS (comma-separated) and print one JSON
object: {"HOST": {"open": {"PORT": "BANNER", ...}, "filtered": [PORT, ...]}, ...}.
"""
import json
import os
import socket

HOSTS = os.environ["WIRELAB_TARGETS_HOSTS"].split(",")
FIRST = int(os.environ["WIRELAB_TARGETS_FIRST_PORT"])
LAST = int(os.environ["WIRELAB_TARGETS_LAST_PORT"])


def main():
    host = HOSTS[0]
    s = socket.socket()
    rc = s.connect_ex((host, FIRST))
    print("connect_ex", host, FIRST, "→", rc)
    s.close()
    # TODO: every host, every port; open (with its banner), closed, filtered; politely
    print(json.dumps({}))


if __name__ == "__main__":
    main()
