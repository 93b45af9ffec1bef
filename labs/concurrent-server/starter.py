"""concurrent-server: WORK n → DONE n, for many clients at once.

Run it against the lab with:  wirelab check concurrent-server starter.py
"""
import os
import socket
import time

HOST = os.environ.get("WIRELAB_LISTEN_HOST", "127.0.0.1")
PORT = int(os.environ.get("WIRELAB_LISTEN_PORT", "5000"))

server = socket.socket()
server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
server.bind((HOST, PORT))
server.listen()
while True:
    conn, _ = server.accept()
    # TODO: one client at a time: the others wait. Use a thread per client.
    # TODO: a client that never finishes its line blocks this for ever.
    with conn:
        for raw in conn.makefile("rb"):
            n = raw.decode().split()[1]
            time.sleep(0.05)  # the work
            conn.sendall(f"DONE {n}\n".encode())
