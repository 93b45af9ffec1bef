"""line-server: a TCP server for UPPER, TIME and QUIT.

Run it against the lab with:  wirelab check line-server starter.py
"""
import os
import socket
import time

HOST = os.environ.get("WIRELAB_LISTEN_HOST", "127.0.0.1")
PORT = int(os.environ.get("WIRELAB_LISTEN_PORT", "5000"))


def answer(line):
    if line.startswith("UPPER "):
        return line[6:].upper()
    if line == "TIME":
        return time.strftime("%H:%M:%S")
    if line == "QUIT":
        return "BYE"
    return "ERR unknown command"


server = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
# TODO: let the server start again at once on the same port.
server.bind((HOST, PORT))
server.listen()
while True:  # TODO: stop cleanly on Ctrl-C
    conn, addr = server.accept()
    # TODO: one recv() is not one line; serve clients without dying when one vanishes.
    while True:
        data = conn.recv(1024)
        if not data:
            break
        line = data.decode().strip()
        conn.sendall((answer(line) + "\n").encode())
        if line == "QUIT":
            break
    conn.close()
