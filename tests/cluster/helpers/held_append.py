#!/usr/bin/env python3
"""held_append.py QFS B_CONF FILE_A FILE_B MODE - a log writer that keeps its
O_APPEND handle open on node B while node A appends to the same file: B's
next write must go after A's line, as on a local disk. MODE: wronly or rdwr.
B's kernel knew the size from before A's append; until the fix it put B's
line at that offset, over A's acknowledged line, with no conflict copy.
Exits 1 with what the file holds otherwise."""
import os
import subprocess
import sys


def main(qfs, b_conf, file_a, file_b, mode):
    flags = os.O_WRONLY if mode == "wronly" else os.O_RDWR
    with open(file_a, "wb") as f:
        f.write(b"base\n")
    subprocess.run([qfs, "wait-sync", "--timeout", "20", "-c", b_conf], check=True,
                   stdout=subprocess.DEVNULL)
    fd = os.open(file_b, flags | os.O_APPEND)  # B's kernel learns the size: 5
    try:
        with open(file_a, "ab") as f:  # close() returns once committed
            f.write(b"from a\n")
        # B has applied it once wait-sync returns; B does not open the file
        # again, so its kernel still says 5 bytes.
        subprocess.run([qfs, "wait-sync", "--timeout", "20", "-c", b_conf], check=True,
                       stdout=subprocess.DEVNULL)
        os.write(fd, b"from b\n")
        os.write(fd, b"from b again\n")
    finally:
        os.close(fd)
    want = b"base\nfrom a\nfrom b\nfrom b again\n"
    for path in (file_b, file_a):
        with open(path, "rb") as f:
            got = f.read()
        if got != want:
            print(f"{path} holds {got!r}, not {want!r}")
            return 1
    return 0


if __name__ == "__main__":
    if len(sys.argv) != 6 or sys.argv[5] not in ("wronly", "rdwr"):
        sys.exit(__doc__)
    sys.exit(main(*sys.argv[1:]))
