# Mistake: I sent "enabled" as the string from the CSV instead of a JSON boolean.
# fails: descriptions-set, disabled, no-errors
"""A wrong solution for the restconf-interfaces lab: see the two comment lines above."""
import csv
import ipaddress
import json
import os
import sys
from urllib.parse import quote

import requests

YANG = "application/yang-data+json"


def interface_url(base, name):
    # A key is one path segment: the '/' of GigabitEthernet0/1 is sent as %2F.
    return f"{base}/data/ietf-interfaces:interfaces/interface={quote(name, safe='')}"


def router_sessions():
    routers = {}
    with open(os.environ["WIRELAB_NET_INVENTORY"], newline="") as f:
        for row in csv.DictReader(f):
            s = requests.Session()
            s.auth = (row["username"], row["password"])
            s.headers.update({"Content-Type": YANG, "Accept": YANG})
            routers[row["name"]] = (s, row["restconf"])
    return routers


def send(session, method, url, body=None):
    r = session.request(method, url, data=None if body is None else json.dumps(body), timeout=5)
    if r.status_code >= 400:
        print(f"warning: {method} {url}: {r.status_code}", file=sys.stderr)
    return r


def main():
    routers = router_sessions()
    with open(os.environ["WIRELAB_PLAN_PATH"], newline="") as f:
        for row in csv.DictReader(f):
            session, base = routers[row["device"]]
            # PATCH merges: the address and everything else stay as they are.
            change = {"description": row["description"], "enabled": row["enabled"]}
            send(session, "PATCH", interface_url(base, row["interface"]), {"ietf-interfaces:interface": change})
            print(f"{row['device']} {row['interface']}: {change}")
    with open(os.environ["WIRELAB_LOOPBACKS_PATH"], newline="") as f:
        for row in csv.DictReader(f):
            session, base = routers[row["device"]]
            net = ipaddress.ip_interface(row["address"])
            # PUT creates the loopback, or replaces it with the same: safe to run again.
            loopback = {
                "name": row["interface"],
                "type": "iana-if-type:softwareLoopback",
                "enabled": True,
                "ietf-ip:ipv4": {"address": [{"ip": str(net.ip), "prefix-length": net.network.prefixlen}]},
            }
            send(session, "PUT", interface_url(base, row["interface"]), {"ietf-interfaces:interface": loopback})
            print(f"{row['device']} {row['interface']}: {row['address']}")
    for name, (session, base) in routers.items():
        send(session, "POST", f"{base}/operations/cisco-ia:save-config")
        print(f"{name}: saved")
        session.close()


if __name__ == "__main__":
    main()
