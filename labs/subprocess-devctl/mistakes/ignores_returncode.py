# fails: report
# Never looks at the exit status: a device that failed is reported with a
# made-up serial number instead of as a failure.
import subprocess


def main():
    names = subprocess.run(["devctl", "list"], capture_output=True, text=True).stdout.splitlines()
    for name in names:
        try:
            r = subprocess.run(["devctl", "show", name], capture_output=True, text=True, timeout=2)
        except subprocess.TimeoutExpired:
            print(f"{name} TIMEOUT")
            continue
        serial = [l.split()[1] for l in r.stdout.splitlines() if l.startswith("serial-number ")]
        print(name, serial[0] if serial else "unknown")


if __name__ == "__main__":
    main()
