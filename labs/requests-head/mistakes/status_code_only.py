# Mistake: I printed response.status_code alone ('200') instead of the status line.
# fails: status-line
"""A wrong solution for the requests-head lab: see the two comment lines above."""
import sys

import requests

TIMEOUT = 2  # seconds


def main(argv):
    if len(argv) < 2:
        print("usage: checker.py host [port]", file=sys.stderr)
        return 1
    host = argv[1]
    port = 80
    if len(argv) > 2:
        try:
            port = int(argv[2])
        except ValueError:
            port = 0
        if not 1 <= port <= 65535:
            print(f"invalid port: {argv[2]!r} (expected 1-65535)", file=sys.stderr)
            return 2
    try:
        response = requests.head(f"http://{host}:{port}/", timeout=TIMEOUT)
    except requests.exceptions.Timeout:
        print(f"{host}:{port} did not answer within {TIMEOUT} s", file=sys.stderr)
        return 3
    except requests.exceptions.RequestException as e:
        print(f"cannot check {host}:{port}: {e}", file=sys.stderr)
        return 4
    version = response.raw.version  # 10 or 11
    print(response.status_code)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
