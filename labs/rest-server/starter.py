"""rest-server: the cars API on http.server.

Run it against the lab with:  wirelab check rest-server starter.py
"""
import json
import os
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

HOST = os.environ.get("WIRELAB_LISTEN_HOST", "127.0.0.1")
PORT = int(os.environ.get("WIRELAB_LISTEN_PORT", "3000"))

cars = {}


class Handler(BaseHTTPRequestHandler):
    def do_GET(self):
        # TODO: /cars/<id>, 404 for a missing car, Content-Type on JSON answers.
        data = json.dumps(list(cars.values())).encode()
        self.send_response(200)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    # TODO: do_POST (201), do_PUT (200 or 404), do_DELETE (204 or 404), 400 for bad JSON.


ThreadingHTTPServer((HOST, PORT), Handler).serve_forever()  # TODO: stop cleanly on Ctrl-C
