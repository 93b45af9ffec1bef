"""token-auth: your script.

$WIRELAB_API_URL is the API; log in at $WIRELAB_API_LOGIN_URL with
$WIRELAB_API_USERNAME / $WIRELAB_API_PASSWORD, refresh at
$WIRELAB_API_REFRESH_URL, sign the report with $WIRELAB_API_HMAC_SECRET.
"""
import os

import requests

BASE = os.environ["WIRELAB_API_URL"]


def main():
    r = requests.post(os.environ["WIRELAB_API_LOGIN_URL"], timeout=5,
                      json={"username": os.environ["WIRELAB_API_USERNAME"],
                            "password": os.environ["WIRELAB_API_PASSWORD"]})
    r.raise_for_status()
    tokens = r.json()
    print("logged in; the token lives", tokens["expires_in"], "s")
    # TODO: read every page of /orders with the token in the Authorization header,
    #       refreshing it when the API answers 401
    # TODO: print "orders: N total: EUROS" and POST the signed summary to /reports


if __name__ == "__main__":
    main()
