# Mistake: I fetched the whole list in one GET /cars: the task (and a big API) wants pages of two, and a failure is never seen halfway.
# fails: exit-fails, unchanged-on-failure, pages-of-two
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
        r = http.get(API + "/cars", timeout=5)
        r.raise_for_status()
        yield r.json()
        return


def main():
    conn = sqlite3.connect(DB)
    try:
        # `with conn` commits when the block ends normally and rolls back
        # when it ends with an exception: all pages or none.
        with conn, requests.Session() as http:
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
