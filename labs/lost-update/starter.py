"""lost-update: four processes, forty increments, one counter.

The counter API is at WIRELAB_COUNTER_URL. GET /counters/1 returns
{"id": 1, "name": "visits", "value": N}; PUT /counters/1 with the whole
object stores it. Start four worker processes that each add 1 to the value
ten times, join them, then print 'visits = <final value>' (it must be 40).
"""
import multiprocessing
import os

import requests

URL = os.environ.get("WIRELAB_COUNTER_URL", "http://localhost:3000") + "/counters/1"


def worker():
    # TODO: ten times: read the counter, add 1, write it back
    ...


if __name__ == "__main__":
    # TODO: start 4 processes, join them, print the final value
    ...
