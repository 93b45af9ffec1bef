# Mistake: I read Content-Length bytes and never looked at Transfer-Encoding; a chunked response has no Content-Length, so I read an empty body.
# fails: exit-ok, chunked
"""A wrong solution for the http-raw-reader lab: see the two comment lines above."""
import json
import socket
import sys


class Reader:
    """Buffered reads from a socket: whatever recv() returns is kept, so
    nothing that arrived early is lost."""

    def __init__(self, sock):
        self.sock = sock
        self.buf = b""

    def _fill(self):
        chunk = self.sock.recv(65536)
        if not chunk:
            raise ConnectionError("the server closed the connection in the middle of the response")
        self.buf += chunk

    def line(self):
        while b"\r\n" not in self.buf:
            self._fill()
        line, self.buf = self.buf.split(b"\r\n", 1)
        return line

    def exactly(self, n):
        while len(self.buf) < n:
            self._fill()
        data, self.buf = self.buf[:n], self.buf[n:]
        return data


def read_response(sock):
    r = Reader(sock)
    status = r.line().decode("latin-1")
    headers = {}
    while True:
        line = r.line()
        if not line:
            break
        name, _, value = line.decode("latin-1").partition(":")
        headers[name.strip().lower()] = value.strip()
    if False:
        body = b""
        while True:
            size = int(r.line().split(b";")[0], 16)
            if size == 0:
                while r.line():  # optional trailers, then the blank line
                    pass
                break
            body += r.exactly(size)
            r.exactly(2)  # the CRLF after each chunk
    else:
        body = r.exactly(int(headers.get("content-length", "0")))
    return status, headers, body


def main(host, port, path):
    with socket.create_connection((host, int(port)), timeout=5) as sock:
        sock.sendall(f"GET {path} HTTP/1.1\r\nHost: {host}\r\n\r\n".encode("ascii"))
        status, headers, body = read_response(sock)
    cars = json.loads(body.decode("utf-8"))
    print(len(cars))


if __name__ == "__main__":
    main(*sys.argv[1:4])
