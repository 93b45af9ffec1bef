# fails: exit-ok, hung-killed, report
# No timeout: the device that never answers stops the whole script.
import subprocess


def main():
    names = subprocess.run(["devctl", "list"], capture_output=True, text=True).stdout.splitlines()
    for name in names:
        r = subprocess.run(["devctl", "show", name], capture_output=True, text=True)
        if r.returncode != 0:
            print(f"{name} FAILED (exit {r.returncode}): {r.stderr.strip().splitlines()[-1]}")
            continue
        serial = [l.split()[1] for l in r.stdout.splitlines() if l.startswith("serial-number ")]
        print(name, serial[0] if serial else "unknown")


if __name__ == "__main__":
    main()
