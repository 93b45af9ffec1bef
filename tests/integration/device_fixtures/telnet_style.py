"""vlan-push written the way telnetlib scripts are: read_until(prompt),
write(line), `terminal length 0` so that nothing is paged. Uses the
standard library's telnetlib where it still exists (Python < 3.13), else a
small stand-in with the same read_until/write/close."""
import csv
import os
import re
import socket
import sys
import warnings

try:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        from telnetlib import Telnet
except ImportError:  # Python 3.13 removed telnetlib
    class Telnet:
        def __init__(self, host, port, timeout):
            self.sock = socket.create_connection((host, port), timeout=timeout)
            self.buf = b""

        def read_until(self, expected, timeout=None):
            while expected not in self.buf:
                chunk = self.sock.recv(4096)
                if not chunk:
                    break
                self.buf += chunk
            i = self.buf.find(expected)
            end = i + len(expected) if i >= 0 else len(self.buf)
            out, self.buf = self.buf[:end], self.buf[end:]
            return out

        def read_all(self):
            out = self.buf
            while True:
                chunk = self.sock.recv(4096)
                if not chunk:
                    return out
                out += chunk

        def write(self, data):
            self.sock.sendall(data)

        def close(self):
            self.sock.close()


def main():
    with open(os.environ["WIRELAB_PLAN_PATH"], newline="") as f:
        wanted = {int(r["id"]): r["name"] for r in csv.DictReader(f)}
    with open(os.environ["WIRELAB_NET_INVENTORY"], newline="") as f:
        inventory = list(csv.DictReader(f))
    for dev in inventory:
        tn = Telnet(dev["host"], int(dev["port"]), 5)
        tn.read_until(b"Username: ", 5)
        tn.write(dev["username"].encode() + b"\r\n")
        tn.read_until(b"Password: ", 5)
        tn.write(dev["password"].encode() + b"\r\n")
        name = dev["name"].encode()
        tn.read_until(name + b">", 5)
        tn.write(b"enable\r\n")
        tn.read_until(b"Password: ", 5)
        tn.write(dev["enable"].encode() + b"\r\n")
        tn.read_until(name + b"#", 5)
        tn.write(b"terminal length 0\r\n")
        tn.read_until(name + b"#", 5)
        tn.write(b"show vlan brief\r\n")
        text = tn.read_until(name + b"#", 5).decode()
        have = {int(m.group(1)): m.group(2) for m in re.finditer(r"(?m)^(\d+)\s+(\S+)\s+active", text)}
        todo = {v: n for v, n in wanted.items() if have.get(v) != n}
        if todo:
            tn.write(b"configure terminal\r\n")
            tn.read_until(b"(config)#", 5)
            for v, n in sorted(todo.items()):
                tn.write(f"vlan {v}\r\n".encode())
                tn.read_until(b"(config-vlan)#", 5)
                tn.write(f"name {n}\r\n".encode())
                tn.read_until(b"(config-vlan)#", 5)
            tn.write(b"end\r\n")
            tn.read_until(name + b"#", 5)
            tn.write(b"write memory\r\n")
            if b"[OK]" not in tn.read_until(name + b"#", 5):
                raise RuntimeError("write memory failed on " + dev["name"])
        print(f"{dev['name']}: {len(todo)} vlan(s) added")
        tn.write(b"exit\r\n")
        tn.read_all()
        tn.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
