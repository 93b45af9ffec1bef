# Mistake: I closed the socket without saying BYE; the output is right, but the hub never hears that the client is done.
# fails: says-bye
"""A wrong solution for the unix-socket lab: see the two comment lines above."""
import os
import socket

PATH = os.environ.get("WIRELAB_HUB_PATH", "/tmp/hub.sock")
LOG_IN = os.environ.get("WIRELAB_LOGGER_IN", "/tmp/logger.in")
LOG_OUT = os.environ.get("WIRELAB_LOGGER_OUT", "/tmp/logger.out")


def read_sensors():
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
        sock.settimeout(5)
        sock.connect(PATH)
        # A file over the socket reads whole lines, however the bytes come.
        lines = sock.makefile("rb")

        def ask(command):
            sock.sendall(command.encode() + b"\n")
            return lines.readline().decode().rstrip("\n")

        banner = lines.readline().decode().rstrip("\n")
        if not banner.startswith("HUB"):
            raise SystemExit(f"unexpected banner: {banner!r}")
        values = {}
        for sensor in ("temp", "humidity"):
            _, name, value = ask("READ " + sensor).split()
            values[name] = value
        return " ".join(f"{name}={value}" for name, value in values.items())


def log(text):
    with open(LOG_IN, "w") as commands, open(LOG_OUT) as answers:
        commands.write(f"LOG {text}\n")
        commands.flush()  # the logger sees nothing until the buffer goes out
        return answers.readline().rstrip("\n")


def main():
    readings = read_sensors()
    answer = log(readings)
    print(readings)
    print(answer)


if __name__ == "__main__":
    main()
