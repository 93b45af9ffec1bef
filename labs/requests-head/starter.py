"""requests-head: is the server up? The socket-head checker with requests.

Usage: python3 checker.py HOST [PORT]
Run it against the lab with:  wirelab check requests-head starter.py
"""
import sys

import requests

# TODO: exit 1 with a usage line when there is no HOST argument.
host = sys.argv[1]
# TODO: exit 2 unless PORT is a whole number from 1 to 65535.
port = int(sys.argv[2]) if len(sys.argv) > 2 else 80

# TODO: HEAD, not GET; a timeout; exit 3 on a timeout, 4 on other failures.
response = requests.get(f"http://{host}:{port}/")
print(response.status_code)
