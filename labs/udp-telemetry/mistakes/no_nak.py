# Mistake: When the datagrams stopped coming I printed what I had; the lost pieces are simply missing from the log.
# fails: prints-lossy, asks-again
"""A wrong solution for the udp-telemetry lab: see the two comment lines above."""
import json
import os
import socket

PROBE = (os.environ.get("WIRELAB_PROBE_HOST", "127.0.0.1"), int(os.environ.get("WIRELAB_PROBE_PORT", "9999")))
QUIET = 0.3  # seconds without a datagram before asking again


def send(sock, message):
    sock.sendto(json.dumps(message).encode("utf-8"), PROBE)


def collect(sock):
    pieces = {}  # seq -> data: a repeated datagram simply overwrites itself
    total = None
    send(sock, {"op": "start"})
    while total is None or len(pieces) < total:
        try:
            data, _ = sock.recvfrom(65536)
        except socket.timeout:
            if total is None:
                send(sock, {"op": "start"})  # even the first pieces were lost
            else:
                break
            continue
        message = json.loads(data.decode("utf-8"))
        if "seq" in message:
            pieces[message["seq"]] = message["data"]
            total = message["total"]
    send(sock, {"op": "done"})
    return "".join(pieces[i] for i in sorted(pieces))


def main():
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.settimeout(QUIET)
        print(collect(sock), end="")


if __name__ == "__main__":
    main()
