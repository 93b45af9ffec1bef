"""http-raw-reader: one HTTP response read by hand from a kept-open connection.

Usage: python3 reader.py HOST PORT PATH
Run it against the lab with:  wirelab check http-raw-reader starter.py
"""
import json
import socket
import sys

host, port, path = sys.argv[1], int(sys.argv[2]), sys.argv[3]
with socket.create_connection((host, port), timeout=5) as sock:
    sock.sendall(f"GET {path} HTTP/1.1\r\nHost: {host}\r\n\r\n".encode())
    # TODO: the server does not close the connection: this loop never ends.
    data = b""
    while True:
        chunk = sock.recv(4096)
        if not chunk:
            break
        data += chunk
head, body = data.split(b"\r\n\r\n", 1)
print(len(json.loads(body)))
