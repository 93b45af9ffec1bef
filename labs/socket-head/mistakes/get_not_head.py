# Mistake: I sent GET instead of HEAD: the status line is the same, but the server sends the whole page for nothing.
# fails: sends-head, request-line
"""A wrong solution for the socket-head lab: see the two comment lines above."""
import socket
import sys

TIMEOUT = 2  # seconds


def read_status_line(sock):
    """Reads until the first CRLF (or the end of the stream): one recv()
    returns whatever has arrived, which may be a single byte."""
    data = b""
    while b"\r\n" not in data:
        chunk = sock.recv(4096)
        if not chunk:
            break
        data += chunk
    return data.split(b"\r\n", 1)[0].decode("latin-1")


def main(argv):
    if len(argv) < 2:
        print("usage: checker.py host [port]", file=sys.stderr)
        return 1
    host = argv[1]
    port = 80
    if len(argv) > 2:
        try:
            port = int(argv[2])
        except ValueError:
            port = 0
        if not 1 <= port <= 65535:
            print(f"invalid port: {argv[2]!r} (expected 1-65535)", file=sys.stderr)
            return 2
    request = (f"GET / HTTP/1.1\r\nHost: {host}\r\n"
               "Connection: close\r\n\r\n").encode("ascii")
    try:
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
            sock.settimeout(TIMEOUT)
            sock.connect((host, port))
            sock.sendall(request)
            print(read_status_line(sock))
    except socket.timeout:
        print(f"{host}:{port} did not answer within {TIMEOUT} s", file=sys.stderr)
        return 3
    except OSError as e:
        print(f"cannot check {host}:{port}: {e}", file=sys.stderr)
        return 4
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
