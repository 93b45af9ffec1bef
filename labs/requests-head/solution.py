"""requests-head: is the server up? The socket-head checker with requests.

Usage: python3 checker.py HOST [PORT]
Exit status: 0 answered, 1 usage, 2 bad port, 3 timeout, 4 other failure.
"""
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
    print(f"HTTP/{version // 10}.{version % 10} {response.status_code} {response.reason}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
