# Mistake: I stored every product in Redis but never read it back: the cache fills up and every lookup still goes to the API.
# fails: api-once-each, warm-from-cache, reads-cache
"""A wrong solution for the redis-cache lab: see the two comment lines above."""
import json
import os

import redis
import requests

API = os.environ.get("WIRELAB_API_URL", "http://localhost:3000")
CACHE = os.environ.get("WIRELAB_CACHE_URL", "redis://localhost:6379")
LOOKUPS = [1, 2, 1, 3, 2, 1]
TTL = 60  # seconds a cached product is trusted


def product(cache, http, pid):
    key = f"product:{pid}"
    r = http.get(f"{API}/products/{pid}", timeout=5)
    r.raise_for_status()
    cache.set(key, r.text, ex=TTL)
    return r.json()


def main():
    cache = redis.Redis.from_url(CACHE, decode_responses=True)
    with requests.Session() as http:
        for pid in LOOKUPS:
            print(product(cache, http, pid)["name"])


if __name__ == "__main__":
    main()
