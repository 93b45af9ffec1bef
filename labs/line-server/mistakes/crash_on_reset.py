# Mistake: I served clients in the main thread and did not catch ConnectionResetError: the first client that resets its connection takes the whole server down.
# fails: survives-reset, stops
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
            reader = conn.makefile("rb")
            for raw in reader:  # one complete line at a time; ends at EOF (b'')
                if not raw.endswith(b"\n"):
                    break  # the stream ended in the middle of a line
                line = raw.decode("utf-8", "replace").rstrip("\r\n")
                conn.sendall((answer(line) + "\n").encode("utf-8"))
                if line == "QUIT":
                    break
        finally:
            pass


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
            serve(conn)  # one client at a time, in the main thread
    except KeyboardInterrupt:
        pass
    finally:
        server.close()


if __name__ == "__main__":
    main()
