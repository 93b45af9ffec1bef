"""redis-cache: cache-aside in front of a slow REST API.

Look up products 1, 2, 1, 3, 2, 1 and print each name. Read Redis first
(key product:<id>); on a miss GET WIRELAB_API_URL/products/<id> and store
the JSON text in Redis with a 60 s TTL.
"""
import json
import os

import redis
import requests

API = os.environ.get("WIRELAB_API_URL", "http://localhost:3000")
CACHE = os.environ.get("WIRELAB_CACHE_URL", "redis://localhost:6379")
LOOKUPS = [1, 2, 1, 3, 2, 1]

# TODO
