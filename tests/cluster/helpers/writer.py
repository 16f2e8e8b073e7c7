#!/usr/bin/env python3
"""writer.py - a write workload that records what was acknowledged.

  writer.py run DIR TAG LOG STOPFILE   until STOPFILE exists: write DIR/TAG-N
      (create, write, fsync, close), N = 0, 1, 2 ...; after a successful
      close append "N" to LOG (flushed at once); after a failure append
      "E N ERRNO" and back off 50 ms. An operation that hangs stays hung:
      the test notices that the log stops growing.
  writer.py verify DIR TAG LOG   every acknowledged DIR/TAG-N is present with
      exactly its bytes; prints how many were checked.
  writer.py acks LOG             prints how many writes LOG acknowledges.
"""
import errno
import hashlib
import os
import sys
import time


def content(tag, n):
    seed = hashlib.sha256(f"{tag}-{n}".encode()).digest()
    size = 1000 + (n * 7919) % 90000
    return (seed * (size // len(seed) + 1))[:size]


def run(d, tag, logpath, stop):
    log = open(logpath, "a", buffering=1)
    n = 0
    while not os.path.exists(stop):
        p = os.path.join(d, f"{tag}-{n}")
        try:
            fd = os.open(p, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
            try:
                os.write(fd, content(tag, n))
                os.fsync(fd)
            finally:
                os.close(fd)
            log.write(f"{n}\n")
        except OSError as e:
            log.write(f"E {n} {errno.errorcode.get(e.errno, e.errno)}\n")
            time.sleep(0.05)
        n += 1


def acked(logpath):
    with open(logpath) as f:
        return [int(x) for x in f.read().split("\n") if x and not x.startswith("E")]


def verify(d, tag, logpath):
    bad = []
    ok = acked(logpath)
    for n in ok:
        p = os.path.join(d, f"{tag}-{n}")
        try:
            with open(p, "rb") as f:
                if f.read() != content(tag, n):
                    bad.append(f"{p}: wrong bytes")
        except OSError as e:
            bad.append(f"{p}: {e}")
    if bad:
        print("\n".join(bad[:3]), file=sys.stderr)
        sys.exit(f"{len(bad)} of {len(ok)} acknowledged writes missing or wrong")
    print(len(ok))


cmd = sys.argv[1] if len(sys.argv) > 1 else ""
if cmd == "run" and len(sys.argv) == 6:
    run(*sys.argv[2:])
elif cmd == "verify" and len(sys.argv) == 5:
    verify(*sys.argv[2:])
elif cmd == "acks" and len(sys.argv) == 3:
    print(len(acked(sys.argv[2])))
else:
    sys.exit(__doc__)
