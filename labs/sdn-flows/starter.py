"""sdn-flows: your script.

$WIRELAB_CTL_URL is the SDN controller's REST API: GET /topology,
POST /switches/{id}/flows, GET /trace?src=h1&dst=h3, GET /reachability.
"""
import json
import os

import requests

CTL = os.environ["WIRELAB_CTL_URL"]


def main():
    topo = requests.get(f"{CTL}/topology", timeout=5).json()
    print(json.dumps(topo, indent=2))
    # TODO: block h2 -> h3 on s1; a path h1 <-> h3 both ways, each installed from its far end back


if __name__ == "__main__":
    main()
