# Mistake: I wrote the JSON but never sent a Content-Type header; clients cannot tell the answer is JSON.
# fails: creates
"""A wrong solution for the rest-server lab: see the two comment lines above."""
import json
import os
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

HOST = os.environ.get("WIRELAB_LISTEN_HOST", "127.0.0.1")
PORT = int(os.environ.get("WIRELAB_LISTEN_PORT", "3000"))

cars = {}  # id -> car
lock = threading.Lock()  # the server runs a thread per request


class Handler(BaseHTTPRequestHandler):
    def reply(self, status, body=None):
        data = b"" if body is None else json.dumps(body).encode("utf-8")
        self.send_response(status)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def car_id(self):
        """The id in /cars/<id>, or None for /cars."""
        parts = self.path.rstrip("/").split("/")
        if len(parts) == 3 and parts[1] == "cars" and parts[2].isdigit():
            return int(parts[2])
        return None

    def read_json(self):
        length = int(self.headers.get("Content-Length", 0))
        try:
            return json.loads(self.rfile.read(length) or b"null")
        except ValueError:  # json.JSONDecodeError, or bad UTF-8
            return None

    def do_GET(self):
        if self.path.rstrip("/") == "/cars":
            with lock:
                return self.reply(200, list(cars.values()))
        car_id = self.car_id()
        with lock:
            car = cars.get(car_id)
        if car is None:
            return self.reply(404, {})
        self.reply(200, car)

    def do_POST(self):
        if self.path.rstrip("/") != "/cars":
            return self.reply(404, {})
        car = self.read_json()
        if not isinstance(car, dict):
            return self.reply(400, {"error": "the body must be a JSON object"})
        with lock:
            car["id"] = max(cars, default=0) + 1
            cars[car["id"]] = car
        self.reply(201, car)

    def do_PUT(self):
        car_id = self.car_id()
        car = self.read_json()
        if not isinstance(car, dict):
            return self.reply(400, {"error": "the body must be a JSON object"})
        with lock:
            if car_id not in cars:
                return self.reply(404, {})
            car["id"] = car_id
            cars[car_id] = car
        self.reply(200, car)

    def do_DELETE(self):
        car_id = self.car_id()
        with lock:
            if cars.pop(car_id, None) is None:
                return self.reply(404, {})
        self.reply(204)

    def log_message(self, *args):
        pass  # keep the terminal quiet


def main():
    server = ThreadingHTTPServer((HOST, PORT), Handler)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()


if __name__ == "__main__":
    main()
