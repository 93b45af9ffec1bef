"""tls-verify: your script.

$MIRRORS lists four HTTPS mirrors (comma-separated); upload
{"name": "backup-2026-12-01.tar", "sha256": "3f2a9c0d5e7b41a8"} with
POST {mirror}/uploads and the header X-Api-Key: $WIRELAB_API_KEY — but only
to a mirror whose certificate verifies. The run's CA is $WIRELAB_CA_FILE.
"""
import os

import requests


def main():
    for url in os.environ["MIRRORS"].split(","):
        print("mirror", url)
        # TODO: POST the upload, verifying the certificate; say which mirrors you refused and why


if __name__ == "__main__":
    main()
