# Mistake: I took the output up to the first --More-- as the whole config and pressed q, so every backup stops after its first page.
# fails: configs-match
"""A wrong solution for the config-backup lab: see the two comment lines above."""
import csv
import os
import re
import socket
import sys
from concurrent.futures import ThreadPoolExecutor

import requests

ARCHIVE = os.environ.get("WIRELAB_ARCHIVE_URL", "http://localhost:3000")

PROMPT = re.compile(rb"[\w.-]+(\([\w-]+\))?[>#] ?$")
MORE = b" --More-- "


class Switch:
    def __init__(self, host, port, timeout=5):
        self.sock = socket.create_connection((host, port), timeout=timeout)
        self.buf = b""

    def read_until(self, *endings):
        """Everything up to one of `endings` (bytes or a compiled pattern at the end)."""
        while True:
            for e in endings:
                if isinstance(e, bytes) and self.buf.endswith(e):
                    out, self.buf = self.buf, b""
                    return out
                if not isinstance(e, bytes) and e.search(self.buf):
                    out, self.buf = self.buf, b""
                    return out
            chunk = self.sock.recv(4096)
            if not chunk:
                raise ConnectionError("the switch closed the connection")
            self.buf += chunk

    def command(self, line):
        """Sends one command; returns its whole output, every --More-- page of it."""
        self.sock.sendall(line.encode() + b"\r\n")
        out = b""
        while True:
            part = self.read_until(MORE, PROMPT)
            if part.endswith(MORE):
                out += part[: -len(MORE)]
                self.sock.sendall(b"q")
                self.read_until(PROMPT)
                return out.decode()
            out += PROMPT.sub(b"", part)
            text = out.decode().replace("\r          \r", "")
            if "% " in text:
                raise RuntimeError(f"{line!r} was refused: {text.strip()}")
            return text

    def login(self, user, password, enable):
        self.read_until(b"Username: ")
        self.sock.sendall(user.encode() + b"\r\n")
        self.read_until(b"Password: ")
        self.sock.sendall(password.encode() + b"\r\n")
        self.read_until(PROMPT)
        self.sock.sendall(b"enable\r\n")
        self.read_until(b"Password: ")
        self.sock.sendall(enable.encode() + b"\r\n")
        self.read_until(PROMPT)

    def logout(self):
        self.sock.sendall(b"exit\r\n")
        while self.sock.recv(4096):  # until the switch hangs up
            pass
        self.sock.close()


def backup(dev):
    sw = Switch(dev["host"], int(dev["port"]), timeout=10)
    try:
        sw.login(dev["username"], dev["password"], dev["enable"])
        text = sw.command("show running-config")
        sw.logout()
    except Exception:
        sw.sock.close()
        raise
    config = text[text.index("!"):] if "!" in text else text
    requests.post(ARCHIVE + "/backups", json={"device": dev["name"], "config": config}, timeout=10).raise_for_status()
    return dev["name"], config.count("\n")


def main():
    with open(os.environ["WIRELAB_NET_INVENTORY"], newline="") as f:
        inventory = list(csv.DictReader(f))
    with ThreadPoolExecutor(max_workers=10) as pool:
        for name, n in pool.map(backup, inventory):
            print(f"{name}: {n} lines")
    print(f"backed up {len(inventory)} switches")
    return 0


if __name__ == "__main__":
    sys.exit(main())
