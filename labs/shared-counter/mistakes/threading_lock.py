# Mistake: I held a threading.Lock around the increment: each process gets its own copy of it, so it keeps no other process out.
# fails: final-value, prints-final
"""A wrong solution for the shared-counter lab: see the two comment lines above."""
import multiprocessing
import threading
import os
import time

PATH = os.environ.get("WIRELAB_COUNTER_PATH", "counter.txt")
LOCK = threading.Lock()
WORKERS = 4
INCREMENTS = 25


def work():
    """The work of one increment, between the read and the write."""
    time.sleep(0.002)


def increment():
    with LOCK, open(PATH, "r+") as f:
        n = int(f.read())
        work()
        f.seek(0)
        f.truncate()
        f.write(f"{n + 1}\n")
        f.flush()


def worker():
    for _ in range(INCREMENTS):
        increment()


if __name__ == "__main__":
    workers = [multiprocessing.Process(target=worker) for _ in range(WORKERS)]
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    with open(PATH) as f:
        print(f"counter = {int(f.read())}")
