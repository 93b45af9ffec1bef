"""rest-cars: list, add, replace and delete cars through a REST API.

Run it against the lab with:  wirelab check rest-cars starter.py
"""
import os

import requests

BASE = os.environ.get("WIRELAB_API_URL", "http://localhost:3000")

NEW_CAR = {
    "id": 7,
    "brand": "Volvo",
    "model": "P1800",
    "production_year": 1961,
    "convertible": False,
}

CAR_6 = {
    "id": 6,
    "brand": "Mercedes Benz",
    "model": "300SL Roadster",
    "production_year": 1961,
    "convertible": True,
}

# TODO (step 5): every request must carry the header "Connection: close".
# TODO: give every request a timeout, so the script never hangs.


def main():
    # TODO (step 1): ask the server for all cars sorted by production_year,
    #                newest first, and print one line per car:
    #                {production_year} {brand} {model}
    # TODO (step 2): add NEW_CAR to the collection; send it as JSON.
    # TODO (step 3): replace car 6 with CAR_6 (the whole object).
    # TODO (step 4): delete car 1.
    # TODO (step 6): check the status of every response.
    pass


if __name__ == "__main__":
    main()
