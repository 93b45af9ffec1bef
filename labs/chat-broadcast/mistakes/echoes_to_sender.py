# Mistake: I sent every line to all clients, the sender included, so it hears its own words back.
# fails: delivers, not-to-sender, survives-vanished
"""A wrong solution for the chat-broadcast lab: see the two comment lines above."""
import os
import socket
import threading

HOST = os.environ.get("WIRELAB_LISTEN_HOST", "127.0.0.1")
PORT = int(os.environ.get("WIRELAB_LISTEN_PORT", "5000"))

clients = {}  # socket -> name
lock = threading.Lock()  # guards clients, and keeps each broadcast whole


def broadcast(sender, text):
    data = (text + "\n").encode("utf-8")
    with lock:
        for other in list(clients):
            try:
                other.sendall(data)
            except OSError:  # BrokenPipeError, ConnectionResetError: gone
                clients.pop(other, None)


def serve(conn):
    try:
        reader = conn.makefile("rb")
        first = reader.readline().decode("utf-8", "replace").strip()
        name = first[5:] if first.startswith("NAME ") else "anonymous"
        with lock:
            clients[conn] = name
        for raw in reader:
            if not raw.endswith(b"\n"):
                break  # the client vanished in the middle of a line
            broadcast(conn, f"{name}: {raw.decode('utf-8', 'replace').rstrip(chr(13) + chr(10))}")
    except OSError:
        pass
    finally:
        with lock:
            clients.pop(conn, None)
        conn.close()


def main():
    server = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    server.bind((HOST, PORT))
    server.listen()
    try:
        while True:
            conn, _ = server.accept()
            threading.Thread(target=serve, args=(conn,), daemon=True).start()
    except KeyboardInterrupt:
        pass
    finally:
        server.close()


if __name__ == "__main__":
    main()
