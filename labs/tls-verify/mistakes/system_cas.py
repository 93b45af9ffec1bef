# Mistake: I kept requests' default verification, which trusts only the system's CAs.
# fails: uploaded-to-trusted
"""A wrong solution for the tls-verify lab: see the two comment lines above."""
import os

import requests

UPLOAD = {"name": "backup-2026-12-01.tar", "sha256": "3f2a9c0d5e7b41a8"}


def main():
    ca = os.environ["WIRELAB_CA_FILE"]
    key = os.environ["WIRELAB_API_KEY"]
    for url in os.environ["MIRRORS"].split(","):
        try:
            # verify= the run's CA: the handshake fails before any byte of the request is sent
            r = requests.post(url + "/uploads", json=UPLOAD, headers={"X-Api-Key": key}, timeout=5)
            r.raise_for_status()
            print(f"uploaded {url}")
        except requests.exceptions.SSLError as e:
            reason = str(e).split("certificate verify failed: ")[-1].split(" (_ssl")[0]
            print(f"refused {url}: {reason}")


if __name__ == "__main__":
    main()
