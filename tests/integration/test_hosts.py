"""The hosts service with real sockets: open ports with and without a
banner, closed ports refused by the kernel, filtered ports that never
answer, the flood detector's tarpit, junk bytes on an open port, and the
state that checks compare a scan with."""
import errno
import os
import socket
import sqlite3
import time
import unittest

from wltest import LABS, Up

LAB = os.path.join(LABS, "port-scan")


def probe(host, port, timeout=0.5):
    with socket.socket() as s:
        s.settimeout(timeout)
        rc = s.connect_ex((host, port))
        if rc != 0:
            return rc, None
        try:
            return 0, s.recv(200)
        except socket.timeout:
            return 0, None


class Hosts(unittest.TestCase):
    def test_open_closed_filtered_and_the_tarpit(self):
        with Up(LAB) as up:
            env = up.info["env"]
            first, last = int(env["WIRELAB_TARGETS_FIRST_PORT"]), int(env["WIRELAB_TARGETS_LAST_PORT"])
            self.assertEqual(last - first, 19)
            self.assertEqual(env["WIRELAB_TARGETS_HOSTS"], "127.0.0.11,127.0.0.12,127.0.0.13")
            h = "127.0.0.11"
            self.assertEqual(probe(h, first + 2), (0, b"SSH-2.0-OpenSSH_9.2p1 Debian-2+deb12u3\r\n"))
            time.sleep(0.05)
            self.assertEqual(probe(h, first + 1), (errno.ECONNREFUSED, None))
            t = time.monotonic()
            rc, _ = probe(h, first + 15, timeout=0.3)
            self.assertEqual(rc, errno.EAGAIN)  # filtered: no answer at all
            self.assertGreaterEqual(time.monotonic() - t, 0.29)
            self.assertEqual(probe(h, first + 10), (0, None))  # open and silent
            # the same port numbers on another host are other ports
            self.assertEqual(probe("127.0.0.12", first + 2), (errno.ECONNREFUSED, None))
            # junk bytes on an open port: the host keeps serving
            with socket.create_connection((h, first + 4), timeout=2) as j:
                j.recv(100)
                j.sendall(os.urandom(50000))
            time.sleep(0.05)
            self.assertEqual(probe(h, first + 4)[1], b"220 ProFTPD Server (gateway) ready.\r\n")
            # two connections 1 ms apart: a flood; the host stops sending banners
            time.sleep(0.05)
            a = socket.create_connection((h, first + 2), timeout=2)
            b = socket.create_connection((h, first + 4), timeout=2)
            self.assertTrue(a.recv(100).startswith(b"SSH-2.0"))
            b.settimeout(0.5)
            with self.assertRaises(socket.timeout):
                b.recv(100)
            a.close()
            b.close()
            self.assertEqual(probe(h, first + 2), (0, None))  # still tarpitted
            # another host is not affected
            self.assertEqual(probe("127.0.0.13", first), (0, b"SSH-2.0-OpenSSH_8.4p1\r\n"))
            up.stop()
            db = sqlite3.connect(up.journal)
            blocked = db.execute("SELECT json_extract(detail, '$.host') FROM events WHERE kind = 'scan-blocked'").fetchall()
            self.assertEqual(blocked, [(h,)])
            st = sqlite3.connect(os.path.join(up.info["run_dir"], "state", "targets.db"))
            self.assertEqual(st.execute("SELECT count(*), sum(state = 'open'), sum(state = 'filtered') FROM ports").fetchone(),
                             (60, 9, 4))


if __name__ == "__main__":
    unittest.main()
