"""sdn-flows: a path h1 <-> h3 across s1-s2-s3, h2 blocked at the edge, no black hole."""
import os
import sys

import requests

CTL = os.environ["WIRELAB_CTL_URL"]


def add_flow(switch, priority, match, actions):
    r = requests.post(f"{CTL}/switches/{switch}/flows", timeout=5,
                      json={"priority": priority, "match": match, "actions": actions})
    if r.status_code != 201:
        sys.exit(f"{switch}: {r.status_code} {r.text}")
    return r.json()["id"]


def main():
    topo = requests.get(f"{CTL}/topology", timeout=5).json()
    hosts = {h["id"]: h for h in topo["hosts"]}
    h1, h2, h3 = (hosts[n]["ip"] for n in ("h1", "h2", "h3"))

    # The firewall first, at the edge: h2 -> h3 is dropped on s1, above the forwarding rules.
    add_flow("s1", 200, {"ipv4_src": h2, "ipv4_dst": h3}, [])

    # Each path from its far end back, so no switch forwards what the next does not know yet.
    to_h3 = [("s3", 1), ("s2", 2), ("s1", 3)]  # (switch, the port towards h3), egress first
    for switch, port in to_h3:
        add_flow(switch, 100, {"ipv4_dst": h3}, [{"type": "OUTPUT", "port": port}])
    to_h1 = [("s1", 1), ("s2", 1), ("s3", 3)]  # towards h1, egress first
    for switch, port in to_h1:
        add_flow(switch, 100, {"ipv4_dst": h1}, [{"type": "OUTPUT", "port": port}])

    for src, dst in (("h1", "h3"), ("h3", "h1"), ("h2", "h3")):
        t = requests.get(f"{CTL}/trace", params={"src": src, "dst": dst}, timeout=5).json()
        print(f"{src} -> {dst}: {t['status']} via {' '.join(t['path'])}")


if __name__ == "__main__":
    main()
