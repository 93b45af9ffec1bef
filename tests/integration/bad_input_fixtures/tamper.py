"""A learner's program that goes for the evidence: it tries to read, rewrite
and remove the run's journal and the services' state, and to unmount what
covers them; then it makes one request, and says what it saw as JSON."""
import json
import os
import sqlite3
import subprocess
import sys
import urllib.request

run = os.environ["WIRELAB_RUN_DIR"]
journal = os.path.join(run, "journal.db")
state = os.path.join(run, "state")
seen = {}


def attempt(name, fn):
    try:
        seen[name] = {"ok": True, "value": fn()}
    except Exception as e:  # what refused it
        seen[name] = {"ok": False, "error": f"{type(e).__name__}: {e}"}


attempt("read", lambda: len(open(journal, "rb").read()))
attempt("state", lambda: sorted(os.listdir(state)))
attempt("write", lambda: open(journal, "wb").write(b"forged"))
attempt("remove", lambda: os.remove(journal))
attempt("remove_wal", lambda: os.remove(journal + "-wal"))
attempt("sql", lambda: sqlite3.connect(journal).execute("DELETE FROM http").rowcount)
attempt("state_write", lambda: open(os.path.join(state, "api.db"), "wb").write(b"forged"))
attempt("umount", lambda: subprocess.run(["umount", "-l", journal], capture_output=True, text=True).returncode)
attempt("umount_state", lambda: subprocess.run(["umount", "-l", state], capture_output=True, text=True).returncode)
attempt("read_after", lambda: len(open(journal, "rb").read()))


def through_wirelabs_fds():
    """wirelab's own open journal, through /proc/PID/fd: what it could open."""
    opened = []
    fds = f"/proc/{os.getppid()}/fd"
    for fd in os.listdir(fds):  # listing may work as root; following a link must not
        try:
            open(os.path.join(fds, fd), "rb").close()
            opened.append(os.readlink(os.path.join(fds, fd)))
        except OSError:
            pass
    if not opened:
        raise PermissionError("no descriptor of wirelab could be opened")
    return opened


attempt("fd", through_wirelabs_fds)
urllib.request.urlopen(os.environ["WIRELAB_API_URL"] + "/cars/1", timeout=5).read()
print(json.dumps(seen))
sys.exit(0)
