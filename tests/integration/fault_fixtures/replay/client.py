"""Ten requests on fresh connections, whatever the server does."""
import os
import socket

host, port = os.environ["WIRELAB_API_HOST"], int(os.environ["WIRELAB_API_PORT"])
for i in range(10):
    with socket.create_connection((host, port), timeout=5) as s:
        s.sendall(f"GET /cars/{i % 2 + 1} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n".encode())
        data = b""
        while chunk := s.recv(65536):
            data += chunk
        print(data.split(b"\r\n", 1)[0].decode())
