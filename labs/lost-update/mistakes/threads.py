# Mistake: I used four threads and a threading.Lock; the count is right, but the lab asks for worker processes.
# fails: four-processes
"""A wrong solution for the lost-update lab: see the two comment lines above."""
import multiprocessing
import os

import requests

BASE = os.environ.get("WIRELAB_COUNTER_URL", "http://localhost:3000")
URL = BASE + "/counters/1"
WORKERS = 4
INCREMENTS = 10


def worker(lock):
    with requests.Session() as http:
        for _ in range(INCREMENTS):
            # A multiprocessing.Lock is shared by every process it is
            # passed to; a threading.Lock would be copied, one per process.
            with lock:
                counter = http.get(URL, timeout=5).json()
                counter["value"] += 1
                http.put(URL, json=counter, timeout=5).raise_for_status()


def main():
    import threading
    lock = threading.Lock()
    workers = [threading.Thread(target=worker, args=(lock,)) for _ in range(WORKERS)]
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    final = requests.get(URL, timeout=5).json()
    print(f"{final['name']} = {final['value']}")


if __name__ == "__main__":
    main()
