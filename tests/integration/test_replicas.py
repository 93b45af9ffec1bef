"""Services served by several replica processes: each replica a `wirelab`
child on its own endpoint, killed, paused or restarted by a case after so
many requests or at a time, every connection attributed to the learner's
process and journaled in the Session's one journal; a replica that dies on
its own is reported and the others keep serving; nothing survives the run."""
import json
import os
import signal
import subprocess
import tempfile
import textwrap
import time
import unittest

from wltest import CheckedProgram, BIN, SOURCE, Up, live_processes, main, query, run_wirelab

FIXTURE = os.path.join(SOURCE, "tests", "integration", "replica_fixtures")


def replica_pids(run_dir):
    """Live `wirelab up --replica` processes of this run."""
    where = os.path.abspath(run_dir).encode()
    return live_processes(lambda argv, env: b"--replica" in argv and any(a.startswith(where) for a in argv))


# Each case: POST one item per replica-1 request until it fails, and so on;
# print what happened to each attempt as JSON lines.
CLIENT = """
    import json, multiprocessing, os, sys, urllib.request, urllib.error, socket
    case = os.environ["WIRELAB_CASE"]
    urls = os.environ["WIRELAB_KV_URLS"].split(",")
    def post(url, body, timeout=1.0):
        req = urllib.request.Request(url + "/items", data=json.dumps(body).encode(),
                                     headers={"Content-Type": "application/json"}, method="POST")
        try:
            with urllib.request.urlopen(req, timeout=timeout) as r:
                return r.status
        except (urllib.error.URLError, ConnectionError, socket.timeout, TimeoutError) as e:
            return type(getattr(e, "reason", e)).__name__
    def fetch(i):
        with urllib.request.urlopen(urls[i % 3] + "/items/1", timeout=5) as r:
            r.read()
        return os.getpid()
    out = {"case": case, "urls": urls, "env": {k: v for k, v in os.environ.items() if k.startswith("WIRELAB_")}}
    if case == "kill-after-2":
        out["r1"] = [post(urls[0], {"name": f"n{i}"}) for i in range(4)]
    elif case == "pause-after-1":
        out["r2"] = [post(urls[1], {"name": "a"}), post(urls[1], {"name": "b"}, timeout=0.5)]
        out["r1"] = post(urls[0], {"name": "c"})
    else:
        import time
        time.sleep(0.3)
        # The restarted replica takes a moment to listen again (longer on a
        # loaded machine or in the asan build): wait for it, up to 10 s.
        host, port = urls[2].split("//")[1].split(":")
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                socket.create_connection((host, int(port)), timeout=1).close()
                break
            except OSError:
                time.sleep(0.05)
        out["r3"] = post(urls[2], {"name": "after restart"})
        if __name__ == "__main__":
            with multiprocessing.Pool(3) as pool:
                out["workers"] = sorted(set(pool.map(fetch, range(6), chunksize=2)))
    print(json.dumps(out))
"""


class Replicas(CheckedProgram):
    LAB = FIXTURE
    PROGRAM = CLIENT

    def test_the_run_passes_and_leaves_no_replica_behind(self):
        self.assertEqual(self.r.returncode, 0, self.r.stdout + self.r.stderr)
        self.assertEqual(replica_pids(self.run_dir), [])

    def test_each_replica_has_its_own_address_in_the_environment(self):
        env = self.out["kill-after-2"]["env"]
        urls = env["WIRELAB_KV_URLS"].split(",")
        self.assertEqual(len(set(urls)), 3)
        for i, u in enumerate(urls, 1):
            self.assertEqual(env[f"WIRELAB_KV_{i}_URL"], u)
            self.assertEqual(u, f"http://127.0.0.1:{env[f'WIRELAB_KV_{i}_PORT']}")
        self.assertEqual(env["WIRELAB_KV_URL"], urls[0])
        # A unix-socket service's replicas each have a socket of their own.
        paths = [env["WIRELAB_HUB_1_PATH"], env["WIRELAB_HUB_2_PATH"]]
        self.assertNotEqual(paths[0], paths[1])
        self.assertEqual(env["WIRELAB_HUB_URLS"], ",".join("unix:" + p for p in paths))

    def test_a_replica_killed_after_two_requests_refuses_the_third(self):
        self.assertEqual(self.out["kill-after-2"]["r1"][:2], [201, 201])
        # The third may reach the dying replica's backlog first: reset, or refused.
        self.assertIn(self.out["kill-after-2"]["r1"][2], ("ConnectionResetError", "ConnectionRefusedError"))
        self.assertEqual(self.out["kill-after-2"]["r1"][3], "ConnectionRefusedError")
        ev = query(self.journal, "SELECT detail FROM events e JOIN cases c ON c.id = e.case_id "
                                 "WHERE e.kind = 'replica' AND c.name = 'kill-after-2' AND detail LIKE '%kill%'")
        self.assertEqual(len(ev), 1)
        d = json.loads(ev[0][0])
        self.assertEqual((d["replica"], d["action"], d["after_requests"]), (1, "kill", 2))

    def test_a_paused_replica_accepts_and_never_answers(self):
        o = self.out["pause-after-1"]
        self.assertEqual(o["r2"][0], 201)
        self.assertIn(o["r2"][1], ("timeout", "TimeoutError"))
        self.assertEqual(o["r1"], 201, "the other replicas still answer")
        # The request it never read is not in the journal.
        n = query(self.journal, "SELECT count(*) FROM http h JOIN cases c ON c.id = h.case_id "
                                "JOIN connections k ON k.id = h.connection_id "
                                "WHERE c.name = 'pause-after-1' AND k.replica = 2")[0][0]
        self.assertEqual(n, 1)

    def test_every_case_starts_afresh(self):
        # Replica 1 stored two items in the first case; in the second its
        # new item gets id 2 again: it restarted from the lab's data.
        ids = query(self.journal, "SELECT c.name, json_extract(CAST(h.resp_body AS TEXT), '$.id') FROM http h "
                                  "JOIN cases c ON c.id = h.case_id JOIN connections k ON k.id = h.connection_id "
                                  "WHERE h.method = 'POST' AND h.status = 201 AND k.replica = 1 ORDER BY h.id")
        self.assertEqual(ids, [("kill-after-2", 2), ("kill-after-2", 3), ("pause-after-1", 2)])

    def test_a_restarted_replica_comes_back_at_the_same_address(self):
        self.assertEqual(self.out["restart-at"]["r3"], 201)
        self.assertEqual(self.out["restart-at"]["urls"], self.out["kill-after-2"]["urls"])
        starts = query(self.journal, "SELECT count(*) FROM events WHERE kind = 'replica' "
                                     "AND json_extract(detail, '$.replica') = 3 "
                                     "AND json_extract(detail, '$.action') IN ('start', 'restart')")[0][0]
        self.assertGreaterEqual(starts, 4, "started, then restarted for cases 2 and 3 and by the action")

    def test_connections_are_attributed_to_the_worker_that_made_them(self):
        workers = set(self.out["restart-at"]["workers"])
        rows = query(self.journal, "SELECT k.pid, k.replica FROM http h JOIN cases c ON c.id = h.case_id "
                                   "JOIN connections k ON k.id = h.connection_id "
                                   "WHERE c.name = 'restart-at' AND h.method = 'GET'")
        self.assertEqual(len(rows), 6)
        self.assertEqual({p for p, _ in rows}, workers)
        self.assertEqual({r for _, r in rows}, {1, 2, 3})

    def test_one_journal_with_every_replicas_connections(self):
        reps = {r for (r,) in query(self.journal, "SELECT DISTINCT replica FROM connections WHERE service = 'kv'")}
        self.assertEqual(reps, {1, 2, 3})
        # No replica's own start and signal events leak into the Session's.
        n = query(self.journal, "SELECT count(*) FROM events WHERE kind IN ('signal', 'service-start')")[0][0]
        self.assertEqual(n, 2, "one service-start per service of the Session")
        ok = query(self.journal, "PRAGMA integrity_check")[0][0]
        self.assertEqual(ok, "ok")


class ReplicaCrash(unittest.TestCase):
    def test_a_replica_that_dies_on_its_own_is_reported_and_the_rest_serve(self):
        with Up(FIXTURE) as up:
            pids = replica_pids(up.info["run_dir"])
            self.assertEqual(len(pids), 5, "three kv and two hub replicas")
            urls = up.info["env"]["WIRELAB_KV_URLS"].split(",")
            os.kill(pids[0], signal.SIGKILL)
            time.sleep(0.3)
            import urllib.request
            alive = 0
            for u in urls:
                try:
                    with urllib.request.urlopen(u + "/items/1", timeout=2) as r:
                        alive += r.status == 200
                except OSError:
                    pass
            self.assertGreaterEqual(alive, 2)
            self.assertEqual(up.stop(), 0)
            err = up.proc.stderr.read()
            crashed = query(up.journal, "SELECT detail FROM events WHERE kind = 'replica-crashed'")
        self.assertRegex(err, r"replica \d of service \"(kv|hub)\" killed by signal 9 \(Killed\) on its own")
        self.assertEqual(len(crashed), 1)

    def test_killing_wirelab_takes_its_replicas_with_it(self):
        with tempfile.TemporaryDirectory(prefix="wirelab-replicas-") as tmp:
            run_dir = os.path.join(tmp, "run")
            p = subprocess.Popen([BIN, "up", FIXTURE, "--ephemeral", "--format", "json", "--run-dir", run_dir],
                                 stdout=subprocess.PIPE, stderr=subprocess.PIPE, cwd=SOURCE)
            p.stdout.readline()
            self.assertEqual(len(replica_pids(run_dir)), 5)
            p.kill()
            p.wait()
            deadline = time.monotonic() + 5
            while replica_pids(run_dir) and time.monotonic() < deadline:
                time.sleep(0.05)
            self.assertEqual(replica_pids(run_dir), [])
            p.stdout.close()
            p.stderr.close()


class BadReplicaLabs(unittest.TestCase):
    def lint(self, lab):
        with tempfile.TemporaryDirectory(prefix="wirelab-replicas-") as d:
            with open(os.path.join(d, "lab.json"), "w") as f:
                json.dump(lab, f, indent=2)
            return run_wirelab("lint", d)

    def lab(self, replicas=3, actions=None):
        return {"id": "bad", "title": "t",
                "services": {"kv": {"kind": "http", "data": {"items": []}, "replicas": replicas},
                             "plain": {"kind": "http", "data": {"items": []}}},
                "cases": [{"name": "c", "replicas": actions or []}]}

    def test_replicas_out_of_range(self):
        r = self.lint(self.lab(replicas=0))
        self.assertEqual(r.returncode, 2)
        self.assertIn("/services/kv/replicas", r.stderr)
        self.assertIn("from 1 to 16", r.stderr)

    def test_an_action_on_a_service_without_replicas(self):
        r = self.lint(self.lab(actions=[{"service": "plain", "replica": 1, "at_ms": 5, "action": "kill"}]))
        self.assertEqual(r.returncode, 2)
        self.assertIn("no replicated service named \"plain\"", r.stderr)

    def test_an_action_needs_one_moment(self):
        r = self.lint(self.lab(actions=[{"service": "kv", "replica": 1, "action": "kill"}]))
        self.assertEqual(r.returncode, 2)
        self.assertIn("\"after_requests\"", r.stderr)
        r = self.lint(self.lab(actions=[{"service": "kv", "replica": 4, "after_requests": 2, "action": "kill"}]))
        self.assertEqual(r.returncode, 2)
        self.assertIn("/cases/0/replicas/0/replica", r.stderr)

    def test_an_unknown_action(self):
        r = self.lint(self.lab(actions=[{"service": "kv", "replica": 1, "after_requests": 2, "action": "explode"}]))
        self.assertEqual(r.returncode, 2)
        self.assertIn("unknown action \"explode\"", r.stderr)


if __name__ == "__main__":
    main()
