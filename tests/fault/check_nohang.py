#!/usr/bin/env python3
"""No-hang checker: every operation returned (success or error) within the
history's bound. Fails on ops recorded "unknown" (the watchdog gave up on
them) and on ops with no outcome at all.

  check_nohang.py HISTORY
"""
import sys

import fault_history


def main(path):
    header, ops = fault_history.load(path)
    bound_ms = header["timeout_ns"] / 1e6
    hung = [o for o in ops if o.status in ("unknown", "pending")]
    done = [o for o in ops if o.complete is not None]
    worst = max(done, key=lambda o: o.complete - o.invoke, default=None)
    if worst:
        print(f"nohang: {len(done)} ops returned; slowest {(worst.complete - worst.invoke) / 1e6:.1f} ms"
              f" (op {worst.id} {worst.op} {worst.path} on node {worst.node})")
    for o in hung[:10]:
        late = f", answered late: {o.late.get('outcome')}" if o.late else ", never answered"
        print(f"nohang: HUNG op {o.id} {o.op} {o.path} on node {o.node}{late}")
    print(f"nohang: {len(hung)} of {len(ops)} ops exceeded the {bound_ms:.0f} ms bound")
    print(f"RESULT hung={len(hung)}")
    return 1 if hung else 0


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    sys.exit(main(sys.argv[1]))
