# Mistake: I broadcast each recv() chunk as one message; three lines that arrive together become 'alice: a1' and two lines without a sender, and half a line goes out too.
# fails: delivers, delivers-to-all, not-to-sender, survives-vanished
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
            if other is sender:
                continue
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
        while True:
            chunk = conn.recv(4096)
            if not chunk:
                break
            broadcast(conn, f"{name}: {chunk.decode('utf-8', 'replace').rstrip()}")
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
