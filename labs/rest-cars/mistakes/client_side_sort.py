# Mistake: I fetched /cars without _sort/_order and sorted the list in Python; the output is right, but the server did not do the sorting.
# fails: server-sorts
"""A wrong solution for the rest-cars lab: see the two comment lines above.

List the cars (sorted by the server), add car 7, replace car 6 and
delete car 1, closing the connection after every request.
"""
import os

import requests

BASE = os.environ.get("WIRELAB_API_URL", "http://localhost:3000")
CARS = BASE + "/cars"

# Ask the server to close the TCP connection once it has answered.
# Without this header HTTP/1.1 keeps the connection open ("keep-alive")
# so that the next request can reuse it; here every request opens its
# own connection and leaves nothing behind.
HEADERS = {"Connection": "close"}

# Never wait forever: if the server does not answer within 5 seconds,
# requests raises requests.exceptions.Timeout instead of hanging.
TIMEOUT = 5

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


def print_cars_newest_first():
    reply = requests.get(CARS, headers=HEADERS, timeout=TIMEOUT)
    reply.raise_for_status()  # an HTTP error (4xx, 5xx) becomes an exception
    # Sort here, newest first.
    cars = sorted(reply.json(), key=lambda car: car["production_year"], reverse=True)
    for car in cars:
        print(car["production_year"], car["brand"], car["model"])


def add_car(car):
    # json= serializes the dict AND sends "Content-Type: application/json".
    # With data=json.dumps(car) the body would be the same text, but
    # without that header the server does not know it is JSON and ignores it.
    reply = requests.post(CARS, json=car, headers=HEADERS, timeout=TIMEOUT)
    reply.raise_for_status()  # json-server answers 201 Created


def replace_car(car):
    # PUT goes to the resource itself (/cars/6), not to the collection,
    # and carries the complete new representation: fields you leave out
    # are gone afterwards (PATCH is the method for partial updates).
    url = f"{CARS}/{car['id']}"
    reply = requests.put(url, json=car, headers=HEADERS, timeout=TIMEOUT)
    reply.raise_for_status()


def delete_car(car_id):
    reply = requests.delete(f"{CARS}/{car_id}", headers=HEADERS, timeout=TIMEOUT)
    reply.raise_for_status()


def main():
    print_cars_newest_first()
    add_car(NEW_CAR)
    replace_car(CAR_6)
    delete_car(1)


if __name__ == "__main__":
    main()
