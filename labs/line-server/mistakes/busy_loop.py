# Mistake: When recv() returned b'' I went round the loop again; after a client half-closes, that loop spins for ever at 100 % CPU and never closes the connection.
# fails: half-close, no-busy-loop
"""A wrong solution for the line-server lab: see the two comment lines above."""
import os
import socket
import threading
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


def serve(conn):
    with conn:
        try:
            buffer = b""
            while True:
                data = conn.recv(65536)
                if not data:
                    continue  # nothing yet: try again (but b'' means the client is done)
                buffer += data
                while b"\n" in buffer:
                    raw, buffer = buffer.split(b"\n", 1)
                    line = raw.decode("utf-8", "replace").rstrip("\r")
                    conn.sendall((answer(line) + "\n").encode("utf-8"))
                    if line == "QUIT":
                        return
        except (ConnectionResetError, BrokenPipeError):
            pass  # the client vanished: this connection is over, the server is not


def main():
    server = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    # Closed connections linger in TIME_WAIT; without this a restart fails
    # with "Address already in use".
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
