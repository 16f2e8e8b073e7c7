#!/usr/bin/env python3
"""appenders.py FILE THREADS COUNT - THREADS threads each append COUNT lines
to FILE (open O_APPEND, write, fsync, close, as a log writer does), at the
same time, through one mount. Exits 1, saying how many lines are missing,
unless every line is in FILE exactly once."""
import os
import sys
import threading


def appender(path, tag, count):
    for i in range(count):
        fd = os.open(path, os.O_WRONLY | os.O_APPEND)
        try:
            os.write(fd, f"{tag} {i:06d}\n".encode())
            os.fsync(fd)
        finally:
            os.close(fd)


def main(path, threads, count):
    open(path, "wb").close()
    ts = [threading.Thread(target=appender, args=(path, t, count)) for t in range(threads)]
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    with open(path, "rb") as f:
        lines = f.read().decode(errors="replace").splitlines()
    want = {f"{t} {i:06d}" for t in range(threads) for i in range(count)}
    missing, extra = want - set(lines), len(lines) - len(set(lines))
    if missing or extra:
        print(f"{len(missing)} of {len(want)} appended lines missing, {extra} repeated")
        return 1
    return 0


if __name__ == "__main__":
    if len(sys.argv) != 4:
        sys.exit(__doc__)
    sys.exit(main(sys.argv[1], int(sys.argv[2]), int(sys.argv[3])))
