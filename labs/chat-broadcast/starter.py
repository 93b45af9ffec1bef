"""chat-broadcast: a threaded chat server.

Run it against the lab with:  wirelab check chat-broadcast starter.py
"""
import os
import socket
import threading

HOST = os.environ.get("WIRELAB_LISTEN_HOST", "127.0.0.1")
PORT = int(os.environ.get("WIRELAB_LISTEN_PORT", "5000"))

clients = []


def serve(conn):
    clients.append(conn)
    name = conn.recv(1024).decode().strip()[5:]  # TODO: one recv() is not one line
    while True:
        data = conn.recv(1024)
        if not data:
            break
        for other in clients:  # TODO: not to the sender; drop clients that have gone
            other.sendall(f"{name}: {data.decode().strip()}\n".encode())


server = socket.socket()
server.bind((HOST, PORT))
server.listen()
while True:  # TODO: stop cleanly on Ctrl-C
    conn, _ = server.accept()
    threading.Thread(target=serve, args=(conn,), daemon=True).start()
