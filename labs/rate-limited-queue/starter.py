"""rate-limited-queue: thirty jobs through an API that serves five at a time.

The API is at WIRELAB_JOBS_URL. GET /jobs/<id> (ids 1 to 30) returns
{"id": ..., "numbers": [...]}; POST /results with {"job": id, "total": sum}
stores a result. Every request takes 0.1 s, and above five requests in
flight the API answers 429 Too Many Requests.

Feed the job ids through a queue.Queue to consumer threads; each job
exactly once; stop the consumers with sentinels; print 'processed 30 jobs'.
"""
import os
import queue
import threading

import requests

BASE = os.environ.get("WIRELAB_JOBS_URL", "http://localhost:3000")


def consumer(jobs):
    # TODO: take job ids until a sentinel; GET the job, POST its result
    ...


if __name__ == "__main__":
    # TODO: start the consumers, put the 30 ids and one sentinel per consumer, join
    ...
