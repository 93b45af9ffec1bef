"""api-to-sqlite: copy the API's cars into cars.db, all or nothing.

GET WIRELAB_API_URL/cars?_page=N&_limit=2 for N = 1, 2, ... until a page is
empty; upsert each car into the cars table of the SQLite file at
WIRELAB_DB_PATH with ? parameters; commit once at the end. If a request
fails, roll back, report it on stderr and exit with status 1.
"""
import os
import sqlite3
import sys

import requests

API = os.environ.get("WIRELAB_API_URL", "http://localhost:3000")
DB = os.environ.get("WIRELAB_DB_PATH", "cars.db")

# TODO
