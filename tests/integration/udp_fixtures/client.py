"""Starts the lossy stream, takes what comes for half a second, says done."""
import json
import os
import socket

addr = (os.environ["WIRELAB_LOSSY_HOST"], int(os.environ["WIRELAB_LOSSY_PORT"]))
with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
    s.settimeout(0.5)
    s.sendto(b'{"op": "start"}', addr)
    got = []
    try:
        while True:
            got.append(json.loads(s.recvfrom(65536)[0])["seq"])
    except socket.timeout:
        pass
    s.sendto(b'{"op": "done"}', addr)
    print(got)
