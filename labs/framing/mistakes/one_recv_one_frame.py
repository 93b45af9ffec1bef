# Mistake: I took each recv() to be one whole frame; the server's three answer frames arrive together (or in pieces), so json.loads fails.
# fails: exit-ok, prints-cars, prints-cars-split
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
    data = sock.recv(65536)
    return json.loads(data[4:].decode("utf-8"))


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
