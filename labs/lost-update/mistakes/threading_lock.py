# Mistake: I used a threading.Lock: each worker process gets its own copy of it, so it excludes nobody.
# fails: final-value, prints-final
"""A wrong solution for the lost-update lab: see the two comment lines above."""
import multiprocessing
import os
import threading

import requests

BASE = os.environ.get("WIRELAB_COUNTER_URL", "http://localhost:3000")
URL = BASE + "/counters/1"
WORKERS = 4
INCREMENTS = 10


LOCK = threading.Lock()


def worker(lock):
    with requests.Session() as http:
        for _ in range(INCREMENTS):
            # A multiprocessing.Lock is shared by every process it is
            # passed to; a threading.Lock would be copied, one per process.
            with LOCK:
                counter = http.get(URL, timeout=5).json()
                counter["value"] += 1
                http.put(URL, json=counter, timeout=5).raise_for_status()


def main():
    lock = multiprocessing.Lock()
    workers = [multiprocessing.Process(target=worker, args=(lock,)) for _ in range(WORKERS)]
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    final = requests.get(URL, timeout=5).json()
    print(f"{final['name']} = {final['value']}")


if __name__ == "__main__":
    main()
