"""config-backup: archive the running config of every switch of the inventory.

Read the task with `wirelab show config-backup`. The inventory (name, host,
port, username, password, enable) is at $WIRELAB_NET_INVENTORY; the
archive API is at $WIRELAB_ARCHIVE_URL.
"""
import csv
import os

ARCHIVE = os.environ.get("WIRELAB_ARCHIVE_URL", "http://localhost:3000")


def backup(dev):
    # TODO: log in, enable, show running-config (every page), exit, then
    # POST {"device": name, "config": text} to ARCHIVE + "/backups"
    raise NotImplementedError(dev["name"])


def main():
    with open(os.environ["WIRELAB_NET_INVENTORY"], newline="") as f:
        inventory = list(csv.DictReader(f))
    for dev in inventory:
        backup(dev)


if __name__ == "__main__":
    main()
