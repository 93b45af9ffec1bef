"""socket-head: is the server up? Sends HEAD / over a raw TCP socket.

Usage: python3 checker.py HOST [PORT]
Run it against the lab with:  wirelab check socket-head starter.py
"""
import socket
import sys

# TODO: exit 1 with a usage line when there is no HOST argument.
host = sys.argv[1]
# TODO: PORT is optional (default 80); exit 2 unless it is 1..65535.
port = int(sys.argv[2]) if len(sys.argv) > 2 else 80

sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
# TODO: do not wait for ever (2 seconds at most; exit 3 on a timeout).
sock.connect((host, port))  # TODO: exit 4 if this fails
sock.sendall(b"HEAD / HTTP/1.1\r\nHost: " + host.encode() + b"\r\nConnection: close\r\n\r\n")
reply = sock.recv(4096)  # TODO: one recv() may return only part of the line
sock.close()
print(reply.decode().split("\r\n")[0])
