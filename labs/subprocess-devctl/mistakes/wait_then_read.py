# fails: output-read, report
# Waits for the tool before reading its pipes: once a pipe's 64 KB buffer
# is full the tool blocks, wait() times out, and every device looks hung.
import subprocess


def main():
    names = subprocess.run(["devctl", "list"], capture_output=True, text=True).stdout.splitlines()
    for name in names:
        p = subprocess.Popen(["devctl", "show", name], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        try:
            p.wait(timeout=1)
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait()
            print(f"{name} TIMEOUT")
            continue
        out, err = p.stdout.read(), p.stderr.read()
        if p.returncode != 0:
            print(f"{name} FAILED (exit {p.returncode}): {err.strip().splitlines()[-1]}")
            continue
        serial = [l.split()[1] for l in out.splitlines() if l.startswith("serial-number ")]
        print(name, serial[0] if serial else "unknown")


if __name__ == "__main__":
    main()
