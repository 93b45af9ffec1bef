"""Two GETs per case, on two connections; exits with the code its argument gives."""
import os
import sys
import urllib.request

for _ in range(2):
    with urllib.request.urlopen(os.environ["WIRELAB_API_URL"] + "/cars/1", timeout=5) as r:
        r.read()
sys.exit(int(sys.argv[1]))
