# Mistake: I trusted recv(4) and recv(length) to return that many bytes; they return what has arrived, which on a slow network is less.
# fails: exit-ok, prints-cars-split
"""A wrong solution for the framing lab: see the two comment lines above."""
import json
import os
import socket
import struct

HOST = os.environ.get("WIRELAB_STORE_HOST", "127.0.0.1")
PORT = int(os.environ.get("WIRELAB_STORE_PORT", "5000"))


def send_frame(sock, message):
    """A frame: the UTF-8 bytes of the JSON, preceded by their number as a
    4-byte big-endian unsigned integer."""
    data = json.dumps(message, ensure_ascii=False).encode("utf-8")
    sock.sendall(struct.pack(">I", len(data)) + data)


def recv_exactly(sock, n):
    """recv() returns what has arrived, which may be less than asked for."""
    buf = b""
    while len(buf) < n:
        chunk = sock.recv(n - len(buf))
        if not chunk:
            raise ConnectionError(f"the server closed the connection after {len(buf)} of {n} bytes")
        buf += chunk
    return buf


def recv_frame(sock):
    (length,) = struct.unpack(">I", sock.recv(4))
    return json.loads(sock.recv(length).decode("utf-8"))


def main():
    with socket.create_connection((HOST, PORT), timeout=5) as sock:
        send_frame(sock, {"op": "find", "brand": "Citroën"})
        header = recv_frame(sock)
        if "error" in header:
            raise SystemExit(f"the store answered: {header['error']}")
        for _ in range(header["results"]):
            car = recv_frame(sock)
            print(car["production_year"], car["brand"], car["model"])


if __name__ == "__main__":
    main()
