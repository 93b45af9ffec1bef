"""configs-match: each switch's archived config (the archive service's
state) is its running config (the net service's state), from the first "!"
line to "end", line endings and trailing spaces aside."""
import json
import os
import sqlite3


def ro(path):
    return sqlite3.connect(f"file:{path}?mode=ro", uri=True)


def lines(text):
    out = [l.rstrip() for l in text.replace("\r\n", "\n").replace("\r", "\n").split("\n")]
    if "!" in out:
        out = out[out.index("!"):]
    while out and not out[-1]:
        out.pop()
    return out


states = json.loads(os.environ["WIRELAB_STATES"])
running = {name: text for name, text in ro(states["net"]).execute("SELECT name, running FROM devices")}
archived = {}
try:
    for (doc,) in ro(states["archive"]).execute("SELECT doc FROM backups"):
        d = json.loads(doc)
        if isinstance(d, dict) and isinstance(d.get("device"), str) and isinstance(d.get("config"), str):
            archived[d["device"]] = d["config"]
except sqlite3.Error:
    pass  # nothing was archived: no backups table yet

good, wrong = [], []
for name in sorted(running):
    want, got = lines(running[name]), lines(archived.get(name, ""))
    if got == want:
        good.append(name)
    elif name not in archived:
        wrong.append(f"{name}: not archived")
    else:
        missing = [l for l in want if l not in got]
        extra = [l for l in got if l not in want]
        why = f"{len(got)} lines, {len(want)} expected"
        if missing:
            why += f"; missing {missing[0]!r}" + (f" and {len(missing) - 1} more" if len(missing) > 1 else "")
        if extra:
            why += f"; not in the config: {extra[0]!r}"
        wrong.append(f"{name}: {why}")
answer = {"passed": not wrong, "fraction": len(good) / len(running)}
if wrong:
    answer.update(message=f"{len(wrong)} of {len(running)} archived configs are not the switch's running config",
                  expected="each switch's running config, '!' to 'end'", observed="\n".join(wrong[:8]))
print(json.dumps(answer))
