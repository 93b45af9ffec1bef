"""A learner's program that floods the http service "api" with requests:
python3 flood.py PIDFILE SECONDS. Writes its pid first, stops after SECONDS
or once the service has been unreachable for a while."""
import os
import socket
import sys
import time

with open(sys.argv[1], "w") as f:
    f.write(str(os.getpid()))
port = int(os.environ["WIRELAB_API_PORT"])
until = time.monotonic() + float(sys.argv[2])
done = failed = 0
while time.monotonic() < until and failed < 50:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=2) as s:
            s.settimeout(2)
            s.sendall(b"GET /cars HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
            while s.recv(65536):
                pass
        done += 1
        failed = 0
    except OSError:
        failed += 1
        time.sleep(0.02)
print("requests:", done)
