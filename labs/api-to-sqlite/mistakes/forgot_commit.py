# Mistake: I wrote every car and closed the connection without committing: the file never got them.
# fails: all-cars
"""A wrong solution for the api-to-sqlite lab: see the two comment lines above."""
import os
import sqlite3
import sys

import requests

API = os.environ.get("WIRELAB_API_URL", "http://localhost:3000")
DB = os.environ.get("WIRELAB_DB_PATH", "cars.db")

UPSERT = (
    "INSERT INTO cars (id, brand, model, production_year) VALUES (?, ?, ?, ?) "
    "ON CONFLICT(id) DO UPDATE SET brand = excluded.brand, model = excluded.model, "
    "production_year = excluded.production_year"
)


def pages(http):
    n = 1
    while True:
        r = http.get(API + "/cars", params={"_page": n, "_limit": 2}, timeout=5)
        r.raise_for_status()
        cars = r.json()
        if not cars:
            return
        yield cars
        n += 1


def main():
    conn = sqlite3.connect(DB)
    try:
        # `with conn` commits when the block ends normally and rolls back
        # when it ends with an exception: all pages or none.
        with requests.Session() as http:
            for cars in pages(http):
                conn.executemany(
                    UPSERT, [(c["id"], c["brand"], c["model"], c["production_year"]) for c in cars]
                )
    except requests.RequestException as e:
        print(f"sync failed, nothing written: {e}", file=sys.stderr)
        sys.exit(1)
    finally:
        conn.close()
    print("cars.db is up to date")


if __name__ == "__main__":
    main()
