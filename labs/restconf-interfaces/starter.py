"""restconf-interfaces: your script.

Read the routers from $WIRELAB_NET_INVENTORY (name, username, password and
the RESTCONF root URL in column "restconf"), the changes from
$WIRELAB_PLAN_PATH and the loopbacks from $WIRELAB_LOOPBACKS_PATH, then
change the routers over RESTCONF and save their configurations.
"""
import csv
import json
import os
from urllib.parse import quote

import requests

YANG = "application/yang-data+json"


def main():
    with open(os.environ["WIRELAB_NET_INVENTORY"], newline="") as f:
        routers = {row["name"]: row for row in csv.DictReader(f)}
    for name, row in routers.items():
        r = requests.get(row["restconf"] + "/data/ietf-interfaces:interfaces",
                         auth=(row["username"], row["password"]), headers={"Accept": YANG}, timeout=5)
        print(name, r.status_code)
        print(json.dumps(r.json(), indent=2)[:400])
    # TODO: for each row of changes.csv, set the interface's description and enabled flag
    # TODO: for each row of loopbacks.csv, create the loopback with its address (safe to run twice)
    # TODO: save each router's configuration


if __name__ == "__main__":
    main()
