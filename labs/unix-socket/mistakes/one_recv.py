# Mistake: I took one recv() as one line: when the hub's bytes arrive a few at a time, I read half a line, and hang up before the hub has read my commands.
# fails: prints-values, reads-both, says-bye, logs-values
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
        def ask(command):
            sock.sendall(command.encode() + b"\n")
            return sock.recv(1024).decode().rstrip("\n")

        banner = sock.recv(1024).decode().rstrip("\n")
        values = {}
        for sensor in ("temp", "humidity"):
            parts = ask("READ " + sensor).split()
            values[sensor] = parts[-1] if parts else ""
        ask("BYE")
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
