"""Print each device's serial number, using the devctl tool."""
import subprocess


def devctl(*args, timeout=2):
    # A list of arguments: no shell reads the device name. capture_output
    # reads stdout and stderr together while the tool writes them. On a
    # timeout, run() kills the tool and waits for it before raising.
    return subprocess.run(["devctl", *args], capture_output=True, text=True, timeout=timeout)


def serial_of(config):
    for line in config.splitlines():
        if line.startswith("serial-number "):
            return line.split(maxsplit=1)[1]
    return "unknown"


def main():
    names = devctl("list").stdout.splitlines()
    for name in names:
        try:
            r = devctl("show", name)
        except subprocess.TimeoutExpired:
            print(f"{name} TIMEOUT")
            continue
        if r.returncode != 0:
            last = r.stderr.strip().splitlines()[-1] if r.stderr.strip() else "no message"
            print(f"{name} FAILED (exit {r.returncode}): {last}")
            continue
        print(name, serial_of(r.stdout))


if __name__ == "__main__":
    main()
