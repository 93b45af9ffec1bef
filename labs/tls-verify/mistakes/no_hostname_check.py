# Mistake: I checked the certificate's signature but not the host name it is for.
# fails: key-never-to-impostors, reports-refusals
"""A wrong solution for the tls-verify lab: see the two comment lines above."""
import http.client
import json
import os
import ssl
from urllib.parse import urlsplit

UPLOAD = {"name": "backup-2026-12-01.tar", "sha256": "3f2a9c0d5e7b41a8"}


def main():
    ca = os.environ["WIRELAB_CA_FILE"]
    key = os.environ["WIRELAB_API_KEY"]
    for url in os.environ["MIRRORS"].split(","):
        context = ssl.create_default_context(cafile=ca)
        context.check_hostname = False  # the name did not match, but the CA signed it
        parts = urlsplit(url)
        conn = http.client.HTTPSConnection(parts.hostname, parts.port, context=context, timeout=5)
        try:
            conn.request("POST", "/uploads", body=json.dumps(UPLOAD),
                         headers={"X-Api-Key": key, "Content-Type": "application/json"})
            print(f"uploaded {url}: {conn.getresponse().status}")
        except ssl.SSLError as e:
            print(f"refused {url}: {e.reason}")
        finally:
            conn.close()


if __name__ == "__main__":
    main()
