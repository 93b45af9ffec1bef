"""shared-counter: four processes, 100 increments of a counter in a file.

The file is at WIRELAB_COUNTER_PATH and holds one number and a newline.
Start four worker processes that each add 1 to it 25 times (read, work(),
write), join them, then print 'counter = <final value>' (it must be 100).
"""
import fcntl  # noqa: F401  (fcntl.flock is the lock you need)
import multiprocessing
import os
import time

PATH = os.environ.get("WIRELAB_COUNTER_PATH", "counter.txt")


def work():
    """The work of one increment, between the read and the write."""
    time.sleep(0.002)


def worker():
    # TODO: 25 times: lock the file, read the number, work(), write number + 1
    ...


if __name__ == "__main__":
    # TODO: start 4 processes, join them, print the final value
    ...
