#!/usr/bin/env python3
"""Deliberate faults for the checkers' self-test (never used on a cluster).

  sabotage.py lose HISTORY ROOT [K]   rolls back up to K (default 3) of the
                                      acknowledged writes and appends still
                                      required at the end: a write's file gets
                                      the bytes of an older write of that
                                      path, or vanishes; an append's line is
                                      cut out of its file
  sabotage.py fifos ROOT SECONDS      keeps FIFOs at the content paths for
                                      SECONDS, so opens of them hang
"""
import os
import sys
import time

import check_lost
import fault_content as content
import fault_history


def roll_back_write(ops, w, p):
    older = [o for o in ops if o.op == "write" and o.path == w.path and o.status == "ok"
             and o.before(w)]
    if older:
        with open(p, "wb") as f:
            f.write(content.write_bytes(older[-1].id, older[-1].args["len"]))
    else:
        os.unlink(p)


def roll_back_append(w, p):
    with open(p, "rb") as f:
        data = f.read()
    with open(p, "wb") as f:
        f.write(data.replace(content.append_bytes(w.id), b""))


def lose(hist, root, k):
    # Appends too: which acknowledged ops are still required at the end
    # depends on timing, and a run may leave only appends (CI saw one).
    _, ops = fault_history.load(hist)
    victims = check_lost.required(ops)[:k]
    for w in victims:
        p = os.path.join(root, w.path)
        if w.op == "write":
            roll_back_write(ops, w, p)
        else:
            roll_back_append(w, p)
        print(f"sabotage: lost {w.op} op {w.id} of {w.path}")
    if not victims:
        print("sabotage: no acknowledged write or append is still required: nothing to lose")
    return 0 if victims else 1


def fifos(root, seconds):
    end = time.monotonic() + seconds
    made = 0
    while time.monotonic() < end:
        for d in ("d0", "d1", "d2"):
            for f in ("f0", "f1", "f2", "f3"):
                p = os.path.join(root, d, f)
                if not os.path.lexists(p):
                    try:
                        os.mkfifo(p)
                        made += 1
                    except OSError:
                        pass
        time.sleep(0.02)
    print(f"sabotage: made {made} FIFOs")
    return 0 if made else 1


def main(argv):
    if len(argv) >= 4 and argv[1] == "lose":
        return lose(argv[2], argv[3], int(argv[4]) if len(argv) > 4 else 3)
    if len(argv) == 4 and argv[1] == "fifos":
        return fifos(argv[2], float(argv[3]))
    sys.stderr.write(__doc__)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv))
