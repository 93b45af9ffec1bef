"""keepalive: fetch 50 cars over one connection, then one connection each.

Usage: python3 fetch.py session|close
Run it against the lab with:  wirelab check keepalive starter.py
"""
import os
import sys

import requests

BASE = os.environ.get("WIRELAB_API_URL", "http://localhost:3000")
mode = sys.argv[1]

total = 0
for car_id in range(1, 51):
    # TODO: session mode: reuse one requests.Session();
    # TODO: close mode: send Connection: close with each request.
    car = requests.get(f"{BASE}/cars/{car_id}", timeout=5).json()
    total += car["production_year"]
print(total)
