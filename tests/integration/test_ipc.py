"""The ipc service kind beyond stream sockets: unix datagram sockets (the
udp protocols, the sender's pid from the kernel, an unbound client that
cannot be answered), a fifo pair with a line dialogue, a shared file and a
POSIX shared-memory segment seeded before each case and read back after it.
Real Python programs, real kernel objects; nothing is left behind."""
import json
import os
import socket
import tempfile
import textwrap
import time
import unittest

from wltest import CheckedProgram, SOURCE, Up, main, query, run_wirelab

FIXTURE = os.path.join(SOURCE, "tests", "integration", "ipc_fixtures")

PROGRAM = """
    import json, os, socket, struct, sys
    from multiprocessing import shared_memory
    env = os.environ
    case = env["WIRELAB_CASE"]
    out = {"pid": os.getpid(), "env": {k: v for k, v in env.items() if k.startswith("WIRELAB_")}}

    # A bound datagram socket gets its answer; an unbound one cannot.
    me = os.path.join(env["WIRELAB_RUN_DIR"], f"me-{os.getpid()}.sock")
    s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    s.bind(me)
    s.settimeout(2)
    s.sendto(b"PING 7", env["WIRELAB_DG_PATH"])
    out["pong"] = s.recv(100).decode()
    s.sendto(json.dumps({"op": "add", "a": 5}).encode(), env["WIRELAB_JDG_PATH"])
    out["json"] = json.loads(s.recv(100))
    u = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    u.settimeout(0.3)
    u.sendto(b"PING 8", env["WIRELAB_DG_PATH"])
    try:
        out["unbound"] = u.recv(100).decode()
    except (socket.timeout, OSError) as e:
        out["unbound"] = type(e).__name__
    os.unlink(me)

    # The fifo pair: the banner, a dialogue, and in the first case a line
    # left unread and a half line never finished.
    with open(env["WIRELAB_CTL_IN"], "w") as w, open(env["WIRELAB_CTL_OUT"]) as r:
        out["banner"] = r.readline().strip()
        w.write("HELLO " + case + "\\n"); w.flush()
        out["hi"] = r.readline().strip()
        if case == "first":
            w.write("LEFT UNREAD\\nhalf a li"); w.flush()

    # The shared file, seeded again before each case; the log, never.
    p = env["WIRELAB_COUNTER_PATH"]
    n = int(open(p).read())
    with open(p, "w") as f:
        f.write(f"{n + 1}\\n")
    with open(env["WIRELAB_LOG_PATH"], "a") as f:
        f.write(case + "\\n")

    # The shared-memory segment by the name Python's SharedMemory takes.
    m = shared_memory.SharedMemory(name=env["WIRELAB_SEG_SHM"])
    v = struct.unpack_from("<i", m.buf, 0)[0]
    struct.pack_into("<i", m.buf, 0, v + 1)
    out["seg_was"] = v
    m.close()
    print(json.dumps(out))
"""


class Ipc(CheckedProgram):
    LAB = FIXTURE
    PROGRAM = PROGRAM

    def test_every_check_passes(self):
        failed = [(c["id"], c.get("message"), c.get("evidence")) for c in self.report["checks"]
                  if c["status"] != "passed"]
        self.assertEqual(failed, [], self.r.stderr)
        self.assertEqual(self.r.returncode, 0)

    def test_a_datagram_names_its_sender(self):
        self.assertEqual(self.out["first"]["pong"], "PONG 7")
        self.assertEqual(self.out["first"]["json"], {"sum": 5})
        rows = query(self.journal, "SELECT m.pid, m.peer, c.name FROM messages m JOIN cases c ON c.id = m.case_id "
                                   "WHERE m.service = 'dg' AND m.dir = 'in' AND CAST(m.data AS TEXT) = 'PING 7'")
        self.assertEqual(len(rows), 2)
        for pid, peer, case in rows:
            self.assertEqual(pid, self.out[case]["pid"], "the pid the kernel gave is the program's")
            self.assertTrue(peer.endswith(f"me-{pid}.sock"), peer)

    def test_an_unbound_datagram_socket_cannot_be_answered(self):
        self.assertIn(self.out["first"]["unbound"], ("timeout", "TimeoutError"))
        rows = query(self.journal, "SELECT peer, error FROM messages WHERE service = 'dg' AND dir = 'out' "
                                   "AND CAST(data AS TEXT) = 'PONG 8'")
        self.assertEqual(len(rows), 2)
        self.assertEqual(rows[0][0], "(unbound)")
        self.assertIn("bind it to a path", rows[0][1])
        ev = query(self.journal, "SELECT detail FROM events WHERE kind = 'no-reply-address'")
        self.assertEqual(len(ev), 1)

    def test_the_fifo_dialogue_starts_clean_in_every_case(self):
        for case in ("first", "second"):
            self.assertEqual(self.out[case]["banner"], "READY")
            self.assertEqual(self.out[case]["hi"], "HI " + case)
        got = query(self.journal, "SELECT c.name, m.dir, CAST(m.data AS TEXT) FROM messages m JOIN cases c ON c.id = m.case_id "
                                  "WHERE m.service = 'ctl' ORDER BY m.id")
        self.assertEqual(got, [("first", "out", "READY"), ("first", "in", "HELLO first"), ("first", "out", "HI first"),
                               ("first", "in", "LEFT UNREAD"), ("first", "out", "ERR"),
                               ("second", "out", "READY"), ("second", "in", "HELLO second"),
                               ("second", "out", "HI second")])
        partial = query(self.journal, "SELECT c.name, json_extract(e.detail, '$.bytes') FROM events e "
                                      "JOIN cases c ON c.id = e.case_id WHERE e.kind = 'partial-message'")
        self.assertEqual(partial, [("first", 9)])

    def test_environment_names_each_object(self):
        env = self.out["first"]["env"]
        self.assertEqual(env["WIRELAB_CTL_IN"], os.path.join(os.path.abspath(self.run_dir), "ctl.in"))
        self.assertEqual(env["WIRELAB_CTL_OUT"], os.path.join(os.path.abspath(self.run_dir), "ctl.out"))
        self.assertEqual(env["WIRELAB_COUNTER_URL"], "file:" + env["WIRELAB_COUNTER_PATH"])
        self.assertRegex(env["WIRELAB_SEG_SHM"], r"^wirelab-\d+-seg$")
        self.assertEqual(env["WIRELAB_SEG_PATH"], "/dev/shm/" + env["WIRELAB_SEG_SHM"])
        self.assertEqual(env["WIRELAB_DG_URL"], "unix:" + env["WIRELAB_DG_PATH"])

    def test_the_segment_is_seeded_each_case_and_removed_at_the_end(self):
        self.assertEqual(self.out["first"]["seg_was"], 1)
        self.assertEqual(self.out["second"]["seg_was"], 1)
        self.assertFalse(os.path.exists(self.out["first"]["env"]["WIRELAB_SEG_PATH"]))
        # Python's resource tracker unlinks a segment it attached to: the
        # journal says so, and the bytes were read all the same.
        ev = query(self.journal, "SELECT count(*) FROM events WHERE kind = 'shm-unlinked'")[0][0]
        self.assertEqual(ev, 2)

    def test_nothing_is_left_behind(self):
        left = sorted(os.listdir(self.run_dir))
        self.assertNotIn("ctl.in", left)
        self.assertNotIn("dg.sock", left)
        self.assertIn("counter.txt", left, "a shared file stays, for the learner to look at")
        self.assertEqual([f for f in os.listdir("/dev/shm") if f.startswith("wirelab-") and
                          f.endswith("-seg") and not os.path.exists(f"/proc/{f.split('-')[1]}")], [])


class IpcUp(unittest.TestCase):
    def test_up_serves_a_datagram_socket_and_a_fifo(self):
        with Up(FIXTURE) as up:
            env = up.info["env"]
            me = os.path.join(up.info["run_dir"], "test-client.sock")
            with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as s:
                s.bind(me)
                s.settimeout(3)
                s.sendto(b"PING 1\n", env["WIRELAB_DG_PATH"])
                self.assertEqual(s.recv(100), b"PONG 1", "a datagram answer has no line ending")
                s.sendto(b"\xff\x00junk", env["WIRELAB_JDG_PATH"])
                self.assertEqual(json.loads(s.recv(200)), {"error": "the datagram is not valid UTF-8"})
            with open(env["WIRELAB_CTL_IN"], "w") as w, open(env["WIRELAB_CTL_OUT"]) as r:
                w.write("\x00\x01 junk line\n")
                w.flush()
                self.assertEqual(r.readline(), "ERR\n", "junk gets the otherwise answer")
            self.assertEqual(up.stop(), 0)


class ShowSaysWhere(unittest.TestCase):
    def test_show_names_each_object_and_its_variables(self):
        r = run_wirelab("show", FIXTURE)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn("dg (ipc): unix datagram socket dg.sock in the run directory  → WIRELAB_DG_PATH", r.stdout)
        self.assertIn("fifos ctl.in (you write) and ctl.out (you read) in the run directory  → WIRELAB_CTL_IN, "
                      "WIRELAB_CTL_OUT", r.stdout)
        self.assertIn("seg (ipc): shared-memory segment seg  → WIRELAB_SEG_SHM", r.stdout)
        self.assertIn("counter (ipc): file counter.txt in the run directory  → WIRELAB_COUNTER_PATH", r.stdout)


class BadIpcSpecs(unittest.TestCase):
    def lint(self, service):
        with tempfile.TemporaryDirectory(prefix="wirelab-ipc-") as d:
            with open(os.path.join(d, "lab.json"), "w") as f:
                json.dump({"id": "bad", "title": "t", "services": {"x": service},
                           "checks": [{"id": "exit-ok", "title": "t", "kind": "exit"}]}, f, indent=2)
            return run_wirelab("lint", d)

    def assertRefused(self, service, *words):
        r = self.lint(service)
        self.assertEqual(r.returncode, 2, r.stdout)
        for w in words:
            self.assertIn(w, r.stderr)

    def test_one_thing_at_a_time(self):
        self.assertRefused({"kind": "ipc", "file": "a.txt", "shm": "a"}, "/services/x", "one of")
        self.assertRefused({"kind": "ipc"}, "a unix \"socket\", a \"fifo\"")

    def test_names_are_file_names(self):
        self.assertRefused({"kind": "ipc", "file": "../escape.txt"}, "/services/x/file", "no '/'")
        self.assertRefused({"kind": "ipc", "file": "journal.db"}, "/services/x/file")
        self.assertRefused({"kind": "ipc", "shm": "a/b"}, "/services/x/shm", "64 letters")

    def test_socket_type_and_fifo_protocol(self):
        self.assertRefused({"kind": "ipc", "socket": "s.sock", "type": "seqpacket", "protocol": "echo"},
                           "/services/x/type", "\"datagram\"")
        self.assertRefused({"kind": "ipc", "fifo": "f", "protocol": "length-prefixed"},
                           "/services/x/protocol", "need a socket")

    def test_content_must_fit(self):
        self.assertRefused({"kind": "ipc", "shm": "s", "size": 2, "content": "hello"}, "/services/x/size")
        self.assertRefused({"kind": "ipc", "file": "f", "content": [1, 300]}, "/services/x/content", "0-255")

    def test_a_udp_service_with_a_socket_is_pointed_to_ipc(self):
        self.assertRefused({"kind": "udp", "socket": "s.sock", "protocol": "echo"}, "\"kind\": \"ipc\"")


if __name__ == "__main__":
    main()
