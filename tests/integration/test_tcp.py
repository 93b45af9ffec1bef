"""The tcp service kind over real sockets: echo, line dialogues and
length-prefixed frames, every message journaled, and junk, huge lengths,
long lines and resets answered with a clear error while the service keeps
serving."""
import json
import os
import socket
import struct
import time
import unittest

from wltest import SOURCE, ServedLab, main, query

LAB = os.path.join(SOURCE, "tests", "integration", "tcp_fixtures")


def connect(port):
    return socket.create_connection(("127.0.0.1", port), timeout=5)


def read_until(sock, marker):
    data = b""
    while marker not in data:
        chunk = sock.recv(4096)
        if not chunk:
            break
        data += chunk
    return data


def read_to_eof(sock):
    data = b""
    while chunk := sock.recv(4096):
        data += chunk
    return data


def frame(obj_or_bytes):
    data = obj_or_bytes if isinstance(obj_or_bytes, bytes) else json.dumps(obj_or_bytes).encode()
    return struct.pack(">I", len(data)) + data


def recv_exactly(sock, n):
    buf = b""
    while len(buf) < n:
        chunk = sock.recv(n - len(buf))
        if not chunk:
            raise ConnectionError(f"closed after {len(buf)} of {n} bytes")
        buf += chunk
    return buf


def recv_frame(sock):
    (n,) = struct.unpack(">I", recv_exactly(sock, 4))
    return json.loads(recv_exactly(sock, n))


class TcpService(ServedLab):
    LAB = LAB

    def messages(self, service):
        return self.journal_rows(
                     "SELECT connection_id, dir, seq, data, json, error FROM messages WHERE service = ? ORDER BY id",
                     service)

    def test_urls_say_tcp(self):
        self.assertTrue(self.up.url("echo").startswith("tcp://127.0.0.1:"))

    def test_echo(self):
        with connect(self.up.port("echo")) as s:
            s.sendall(b"ping\x00\xff")
            self.assertEqual(read_until(s, b"\xff"), b"ping\x00\xff")

    def test_close_after_reply(self):
        with connect(self.up.port("once")) as s:
            s.sendall(b"one")
            self.assertEqual(read_to_eof(s), b"one")

    def test_line_dialogue(self):
        with connect(self.up.port("chat")) as s:
            self.assertEqual(read_until(s, b"\r\n"), b"WELCOME to chat\r\n")
            # Two commands in one segment: both answered, in one write.
            s.sendall(b"HELLO ada\nLIST\r\n")
            self.assertEqual(read_until(s, b"END\r\n"), b"HI ada\r\nA\r\nB\r\nEND\r\n")
            s.sendall(b"DANCE\n")
            self.assertEqual(read_until(s, b"\r\n"), b"ERR unknown command\r\n")
            s.sendall(b"QU")
            time.sleep(0.05)
            s.sendall(b"IT\n")
            self.assertEqual(read_to_eof(s), b"BYE\r\n")
        rows = self.messages("chat")
        ins = [(d.decode(), e) for _, dir_, _, d, _, e in rows if dir_ == "in"]
        self.assertEqual(ins[-4:], [("HELLO ada", None), ("LIST", None), ("DANCE", None), ("QUIT", None)])
        outs = [d.decode() for _, dir_, _, d, _, _ in rows if dir_ == "out"]
        self.assertIn("WELCOME to chat", outs)

    def test_long_line_is_refused_and_the_service_survives(self):
        with connect(self.up.port("chat")) as s:
            read_until(s, b"\r\n")
            s.sendall(b"x" * 200)
            reply = read_to_eof(s)
            self.assertIn(b"ERR line longer than 64 bytes", reply)
        errors = [e for *_, e in self.messages("chat") if e]
        self.assertTrue(any("64" in e for e in errors), errors)
        with connect(self.up.port("chat")) as s:
            self.assertEqual(read_until(s, b"\r\n"), b"WELCOME to chat\r\n")

    def test_frames(self):
        with connect(self.up.port("frames")) as s:
            self.assertEqual(recv_frame(s), {"hello": "frames"})
            # A frame cut inside its length, then two frames in one send.
            data = frame({"op": "echo", "brand": "Citroën"})
            s.sendall(data[:2])
            time.sleep(0.05)
            s.sendall(data[2:] + frame({"op": "nope"}))
            self.assertEqual(recv_frame(s), {"echo": {"op": "echo", "brand": "Citroën"}})
            self.assertEqual(recv_frame(s), {"error": "unknown request"})
        rows = [r for r in self.messages("frames") if r[1] == "in"]
        self.assertEqual(json.loads(rows[-2][4]), {"op": "echo", "brand": "Citroën"})

    def test_junk_and_a_4_gb_length(self):
        with connect(self.up.port("frames")) as s:
            recv_frame(s)
            s.sendall(frame(b"\xff\xfe not json"))
            self.assertIn("UTF-8", recv_frame(s)["error"])
            s.sendall(frame(b"{not json"))
            self.assertIn("not valid JSON", recv_frame(s)["error"])
            s.sendall(b"\xff\xff\xff\xff")
            self.assertIn("over the limit", recv_frame(s)["error"])
            self.assertEqual(read_to_eof(s), b"")
        errors = [e for *_, e in self.messages("frames") if e]
        self.assertEqual(len(errors), 3, errors)
        with connect(self.up.port("frames")) as s:
            self.assertEqual(recv_frame(s), {"hello": "frames"})

    def test_reset_in_the_middle_of_a_message(self):
        s = connect(self.up.port("frames"))
        recv_frame(s)
        s.sendall(frame({"op": "echo"})[:7])
        s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        s.close()
        time.sleep(0.2)
        rows = query(self.up.journal,
                     "SELECT closed_by, close_kind FROM connections WHERE service = 'frames' ORDER BY id DESC LIMIT 1")
        self.assertEqual(rows[0], ("client", "reset"))
        with connect(self.up.port("frames")) as s2:
            self.assertEqual(recv_frame(s2), {"hello": "frames"})


if __name__ == "__main__":
    main()
