# fails: hung-killed
# Gives up on the hung device after 2 s but never kills it: devctl is still
# running when the script ends.
import subprocess


def main():
    names = subprocess.run(["devctl", "list"], capture_output=True, text=True).stdout.splitlines()
    for name in names:
        p = subprocess.Popen(["devctl", "show", name], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        try:
            out, err = p.communicate(timeout=2)
        except subprocess.TimeoutExpired:
            print(f"{name} TIMEOUT")
            continue
        if p.returncode != 0:
            print(f"{name} FAILED (exit {p.returncode}): {err.strip().splitlines()[-1]}")
            continue
        serial = [l.split()[1] for l in out.splitlines() if l.startswith("serial-number ")]
        print(name, serial[0] if serial else "unknown")


if __name__ == "__main__":
    main()
