"""Print each device's serial number, using the devctl tool."""
import subprocess


def main():
    names = subprocess.run(["devctl", "list"], capture_output=True, text=True).stdout.splitlines()
    for name in names:
        # TODO: run `devctl show NAME`, find the 'serial-number' line, handle
        # failures (non-zero exit) and a device that never answers (2 s).
        pass


if __name__ == "__main__":
    main()
