"""A trainer's check: as many GETs in the journal as the first argument."""
import json
import os
import sqlite3
import sys

want = int(sys.argv[1])
db = sqlite3.connect(f"file:{os.environ['WIRELAB_JOURNAL']}?mode=ro", uri=True)
(got,) = db.execute("SELECT count(*) FROM http WHERE method = 'GET'").fetchone()
states = json.loads(os.environ["WIRELAB_STATES"])
print("some chatter before the answer")
print(json.dumps({"passed": got == want, "message": f"{got} GET(s), not {want}" if got != want else f"{got} GETs",
                  "expected": f"{want} GETs", "evidence": {"gets": got, "api_state": os.path.exists(states["api"])}}))
