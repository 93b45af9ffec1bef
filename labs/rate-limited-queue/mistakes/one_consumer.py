# Mistake: I used a single consumer: nothing is lost and the API is never overloaded, but the jobs run one after another.
# fails: in-parallel
"""A wrong solution for the rate-limited-queue lab: see the two comment lines above."""
import os
import queue
import threading

import requests

BASE = os.environ.get("WIRELAB_JOBS_URL", "http://localhost:3000")
CONSUMERS = 1
JOBS = 30


def consumer(jobs, done):
    with requests.Session() as http:
        while True:
            job_id = jobs.get()
            if job_id is None:  # the sentinel: no more work
                return
            job = http.get(f"{BASE}/jobs/{job_id}", timeout=5).json()
            result = {"job": job_id, "total": sum(job["numbers"])}
            http.post(BASE + "/results", json=result, timeout=5).raise_for_status()
            with done["lock"]:
                done["count"] += 1


def main():
    jobs = queue.Queue()
    done = {"count": 0, "lock": threading.Lock()}
    workers = [threading.Thread(target=consumer, args=(jobs, done)) for _ in range(CONSUMERS)]
    for w in workers:
        w.start()
    for job_id in range(1, JOBS + 1):  # the producer
        jobs.put(job_id)
    for _ in workers:
        jobs.put(None)
    for w in workers:
        w.join()
    print(f"processed {done['count']} jobs")


if __name__ == "__main__":
    main()
