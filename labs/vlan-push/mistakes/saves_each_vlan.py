# Mistake: I saved the configuration after every VLAN (do write memory in the loop) instead of once per switch at the end.
# fails: saves-once
"""A wrong solution for the vlan-push lab: see the two comment lines above."""
import csv
import os
import re
import socket
import sys

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
                self.sock.sendall(b" ")
                continue
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


def vlans_of(show_vlan_brief):
    """{id: name} from `show vlan brief`."""
    found = {}
    for line in show_vlan_brief.splitlines():
        m = re.match(r"^(\d+)\s+(\S+)\s+active", line)
        if m:
            found[int(m.group(1))] = m.group(2)
    return found


def main():
    with open(os.environ["WIRELAB_PLAN_PATH"], newline="") as f:
        wanted = {int(row["id"]): row["name"] for row in csv.DictReader(f)}
    with open(os.environ["WIRELAB_NET_INVENTORY"], newline="") as f:
        inventory = list(csv.DictReader(f))
    for dev in inventory:
        sw = Switch(dev["host"], int(dev["port"]))
        sw.login(dev["username"], dev["password"], dev["enable"])
        have = vlans_of(sw.command("show vlan brief"))
        todo = {vid: name for vid, name in wanted.items() if have.get(vid) != name}
        if todo:
            sw.command("configure terminal")
            for vid, name in sorted(todo.items()):
                sw.command(f"vlan {vid}")
                sw.command(f"name {name}")
                sw.command("do write memory")
            sw.command("end")
        print(f"{dev['name']}: {len(todo)} vlan(s) added")
        sw.logout()
    return 0


if __name__ == "__main__":
    sys.exit(main())
