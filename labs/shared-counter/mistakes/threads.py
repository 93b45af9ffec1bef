# Mistake: I used four threads with a lock: the counter is right, but the lab asks for four processes, and threads share one.
# fails: four-processes
"""A wrong solution for the shared-counter lab: see the two comment lines above."""
import fcntl
import threading
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
        fcntl.flock(f, fcntl.LOCK_EX)  # released when the file closes
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
    workers = [threading.Thread(target=worker) for _ in range(WORKERS)]
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    with open(PATH) as f:
        print(f"counter = {int(f.read())}")
