import time
print("starting up...", flush=True)
time.sleep(30)
