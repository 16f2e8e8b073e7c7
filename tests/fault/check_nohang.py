#!/usr/bin/env python3
"""No-hang checker: every operation returned (success or error) within the
history's bound. Fails on ops recorded "unknown" (the watchdog gave up on
them) and on ops with no outcome at all.

  check_nohang.py [--exempt-file FILE] HISTORY

FILE lists windows in which a node's process was frozen (SIGSTOP) on
purpose, one "NODE T0 T1" line each (CLOCK_MONOTONIC ns): a frozen process
cannot answer its own clients, so ops on NODE invoked from T0 - bound to T1
are reported as exempt, not as hangs.
"""
import argparse
import sys

import fault_history


def load_exempt(path):
    if not path:
        return []
    with open(path) as f:
        return [tuple(int(x) for x in line.split()) for line in f if line.strip()]


def exempt(o, windows, bound):
    return any(o.node == n and t0 - bound <= o.invoke <= t1 for n, t0, t1 in windows)


def main(path, exempt_file):
    header, ops = fault_history.load(path)
    bound_ms = header["timeout_ns"] / 1e6
    windows = load_exempt(exempt_file)
    stuck = [o for o in ops if o.status in ("unknown", "pending")]
    hung = [o for o in stuck if not exempt(o, windows, header["timeout_ns"])]
    if len(stuck) > len(hung):
        print(f"nohang: {len(stuck) - len(hung)} ops on a deliberately frozen node exempt")
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
    ap = argparse.ArgumentParser(usage=__doc__)
    ap.add_argument("--exempt-file")
    ap.add_argument("history")
    a = ap.parse_args()
    sys.exit(main(a.history, a.exempt_file))
