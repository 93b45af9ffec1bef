# fails: each-device-once, hung-killed, no-shell, report
# The command built as a string and run by a shell: the device named
# 'r4; touch pwned' becomes two commands, `devctl show r4` and `touch pwned`.
# And the timeout kills the shell, leaving the hung devctl running.
import subprocess


def main():
    names = subprocess.run("devctl list", shell=True, capture_output=True, text=True).stdout.splitlines()
    for name in names:
        try:
            r = subprocess.run(f"devctl show {name}", shell=True, capture_output=True, text=True, timeout=2)
        except subprocess.TimeoutExpired:
            print(f"{name} TIMEOUT")
            continue
        if r.returncode != 0:
            print(f"{name} FAILED (exit {r.returncode}): {r.stderr.strip().splitlines()[-1]}")
            continue
        serial = [l.split()[1] for l in r.stdout.splitlines() if l.startswith("serial-number ")]
        print(name, serial[0] if serial else "unknown")


if __name__ == "__main__":
    main()
