# Mistake: I read, worked and wrote back with no lock: two workers that read the same number both write the same next number.
# fails: final-value, prints-final
"""A wrong solution for the shared-counter lab: see the two comment lines above."""
import fcntl
import multiprocessing
import os
import time

PATH = os.environ.get("WIRELAB_COUNTER_PATH", "counter.txt")
WORKERS = 4
INCREMENTS = 25


def work():
    """The work of one increment, between the read and the write."""
    time.sleep(0.002)


def increment():
    with open(PATH, "r+") as f:
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
