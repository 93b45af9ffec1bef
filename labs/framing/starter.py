"""framing: ask the store for the Citroëns over length-prefixed JSON frames.

Run it against the lab with:  wirelab check framing starter.py
"""
import json
import os
import socket
import struct

HOST = os.environ.get("WIRELAB_STORE_HOST", "127.0.0.1")
PORT = int(os.environ.get("WIRELAB_STORE_PORT", "5000"))


def send_frame(sock, message):
    # TODO: the length must count bytes, and big-endian ('>I').
    text = json.dumps(message, ensure_ascii=False)
    sock.sendall(struct.pack(">I", len(text)) + text.encode())


def recv_frame(sock):
    # TODO: recv(n) may return fewer than n bytes.
    (length,) = struct.unpack(">I", sock.recv(4))
    return json.loads(sock.recv(length))


with socket.create_connection((HOST, PORT)) as sock:
    send_frame(sock, {"op": "find", "brand": "Citroën"})
    header = recv_frame(sock)
    for _ in range(header["results"]):
        car = recv_frame(sock)
        print(car["production_year"], car["brand"], car["model"])
