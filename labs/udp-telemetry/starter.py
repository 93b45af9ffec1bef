"""udp-telemetry: reassemble the probe's log from numbered UDP datagrams.

Run it against the lab with:  wirelab check udp-telemetry starter.py
"""
import json
import os
import socket

PROBE = (os.environ.get("WIRELAB_PROBE_HOST", "127.0.0.1"), int(os.environ.get("WIRELAB_PROBE_PORT", "9999")))

sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
sock.sendto(json.dumps({"op": "start"}).encode(), PROBE)
received = []
total = None
# TODO: datagrams get lost: without a timeout this loop can wait for ever.
while total is None or len(received) < total:
    data, _ = sock.recvfrom(65536)
    piece = json.loads(data)
    total = piece["total"]
    received.append(piece["data"])  # TODO: they may arrive out of order, or twice
# TODO: ask again ({"op": "nak", "seq": [...]}) for what is missing; say done.
print("".join(received), end="")
