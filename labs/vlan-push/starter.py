"""vlan-push: put the VLANs of vlans.csv on every switch of the inventory.

Read the task with `wirelab show vlan-push`. The inventory (name, host,
port, username, password, enable) is the CSV file at $WIRELAB_NET_INVENTORY;
the VLANs (id, name) are at $WIRELAB_PLAN_PATH.
"""
import csv
import os
import socket


def main():
    with open(os.environ["WIRELAB_NET_INVENTORY"], newline="") as f:
        inventory = list(csv.DictReader(f))
    for dev in inventory:
        with socket.create_connection((dev["host"], int(dev["port"])), timeout=5) as sock:
            print(sock.recv(4096).decode())  # the login prompt: go on from here
            # TODO: log in, enable, read `show vlan brief`, configure what is missing, save, exit


if __name__ == "__main__":
    main()
