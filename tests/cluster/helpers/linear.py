#!/usr/bin/env python3
"""linear.py N MNT_A MNT_B MNT_C - what a node sees of a mutation another
node made, once that mutation returned (docs/ARCHITECTURE.md, "Close-to-open"):
- a listing (opendir asks the leader for its commit index) sees it at once,
  with no waiting and no retry: any stale listing fails;
- a lookup/stat that finds its name is served from the node's own state and
  may trail by the apply lag (a name not found asks the leader first); it
  must see the mutation within BOUND_MS, else it fails.
Each check is done N times with a stat on the reading node just before the
mutation (so its kernel holds the old entry or attributes). Prints, per
check, how often the reader was stale and for how long."""
import os
import sys
import time

BOUND_MS = 1500  # apply and invalidation lag, with room for a loaded machine


def until(cond, secs=3.0):
    """ms until cond() holds (None: never, within secs)."""
    t0 = time.monotonic()
    while time.monotonic() - t0 < secs:
        if cond():
            return (time.monotonic() - t0) * 1e3
        time.sleep(0.005)
    return None


def exists(p):
    return os.path.lexists(p)


def main():
    n = int(sys.argv[1])
    a, b, c = sys.argv[2:5]
    stale = {}
    listing_stale = []

    def check(name, ok):
        if not ok():
            ms = until(ok)
            stale.setdefault(name, []).append(ms)

    def listing(name, ok):
        if not ok():
            listing_stale.append(name)

    for i in range(n):
        exists(os.path.join(c, f"d{i}"))  # a negative entry on C
        os.mkdir(os.path.join(b, f"d{i}"))
        listing("mkdir on b, listing on c", lambda: f"d{i}" in os.listdir(c))
        check("mkdir on b, lookup on c", lambda: exists(os.path.join(c, f"d{i}")))
        f = os.path.join(a, f"f{i}")
        exists(os.path.join(b, f"f{i}"))
        open(f, "w").close()
        check("create on a, lookup on b", lambda: exists(os.path.join(b, f"f{i}")))
        os.link(f, f + "l")
        check("link on a, lookup on b", lambda: exists(os.path.join(b, f"f{i}l")))
        os.unlink(f)
        check("unlink of a link on a, st_nlink on b",
              lambda: os.stat(os.path.join(b, f"f{i}l")).st_nlink == 1)
        mode = 0o600 if i % 2 else 0o640
        os.chmod(f + "l", mode)
        check("chmod on a, st_mode on c",
              lambda: os.stat(os.path.join(c, f"f{i}l")).st_mode & 0o7777 == mode)
        os.utime(f + "l", ns=(10**9, 2 * 10**9 + i))
        check("utimens on a, st_mtime on b",
              lambda: os.stat(os.path.join(b, f"f{i}l")).st_mtime_ns == 2 * 10**9 + i)
        os.rename(f + "l", f + "r")
        listing("rename on a, listing on c",
                lambda: f"f{i}l" not in os.listdir(c) and f"f{i}r" in os.listdir(c))
        check("rename on a, old name gone on c", lambda: not exists(os.path.join(c, f"f{i}l")))
    bad = 0
    for name, v in stale.items():
        never = sum(1 for x in v if x is None)
        ms = sorted(x for x in v if x is not None)
        worst = f", seen after at most {ms[-1]:.0f} ms" if ms else ""
        print(f"{name}: stale {len(v)} of {n}{worst}{f', never: {never}' if never else ''}")
        if never or (ms and ms[-1] > BOUND_MS):
            print(f"FAIL: {name}: stale beyond {BOUND_MS} ms")
            bad = 1
    for name in sorted(set(listing_stale)):
        print(f"FAIL: {name}: a listing after the mutation returned did not show it "
              f"({listing_stale.count(name)} of {n})")
        bad = 1
    if not stale and not listing_stale:
        print(f"all {n} x 9 checks saw the mutation at once")
    sys.exit(bad)


main()
