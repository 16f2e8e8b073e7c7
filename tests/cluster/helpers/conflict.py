#!/usr/bin/env python3
"""conflict.py ordered|race FILE_ON_A FILE_ON_B DATA_A DATA_B - two writers
of one existing file on two nodes, both opened before either closes: each
overwrites it from offset 0 with its own bytes (same length as the file, so
no truncate is involved). ordered: A closes, then B. race: both close at
once (a barrier releases two threads). Exits 1 if a write or close fails."""
import os
import sys
import threading


def writer(path, data, before_close, out, i):
    try:
        fd = os.open(path, os.O_RDWR)
        n = os.pwrite(fd, data, 0)
        if n != len(data):
            raise OSError(0, f"short write {n}")
        before_close()
        os.close(fd)
        out[i] = "ok"
    except OSError as e:
        out[i] = f"{path}: {e}"


def main():
    mode, pa, pb, da, db = sys.argv[1:6]
    da, db = open(da, "rb").read(), open(db, "rb").read()
    out = [None, None]
    if mode == "ordered":
        fa = os.open(pa, os.O_RDWR)
        fb = os.open(pb, os.O_RDWR)
        os.pwrite(fa, da, 0)
        os.pwrite(fb, db, 0)
        os.close(fa)
        os.close(fb)
        return
    barrier = threading.Barrier(2)
    t = [threading.Thread(target=writer, args=(p, d, barrier.wait, out, i))
         for i, (p, d) in enumerate(((pa, da), (pb, db)))]
    for x in t:
        x.start()
    for x in t:
        x.join()
    if out != ["ok", "ok"]:
        sys.exit(f"a writer failed: {out}")


main()
