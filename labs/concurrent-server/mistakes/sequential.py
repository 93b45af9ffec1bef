# Mistake: I served one connection after the other in the accept loop; fifty clients queue up and the last waits seconds.
# fails: fast
"""A wrong solution for the concurrent-server lab: see the two comment lines above."""
import os
import socket
import threading
import time

HOST = os.environ.get("WIRELAB_LISTEN_HOST", "127.0.0.1")
PORT = int(os.environ.get("WIRELAB_LISTEN_PORT", "5000"))
IDLE = 2  # seconds of silence before a connection is closed


def work(n):
    time.sleep(0.05)  # stands for 50 ms of real work
    return f"DONE {n}"


def serve(conn):
    with conn:
        conn.settimeout(IDLE)
        try:
            for raw in conn.makefile("rb"):
                if not raw.endswith(b"\n"):
                    break
                parts = raw.decode("utf-8", "replace").split()
                reply = work(parts[1]) if len(parts) == 2 and parts[0] == "WORK" else "ERR expected WORK n"
                conn.sendall((reply + "\n").encode("utf-8"))
        except (TimeoutError, socket.timeout, ConnectionResetError, BrokenPipeError):
            pass  # silent for too long, or gone: close this connection only


def main():
    server = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    server.bind((HOST, PORT))
    server.listen(128)
    try:
        while True:
            conn, _ = server.accept()
            serve(conn)  # one client at a time
    except KeyboardInterrupt:
        pass
    finally:
        server.close()


if __name__ == "__main__":
    main()
