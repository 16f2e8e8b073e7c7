#!/usr/bin/env python3
"""No-lost-write checker: every acknowledged write (its fsync and close
returned success) is readable, byte-identical, on every node after healing,
and every acknowledged append is still in its file, unless a later or
concurrent operation that may have taken effect replaced or removed it
(a write, unlink or rename of the same path that did not return before the
acknowledged op was invoked).

  check_lost.py HISTORY MOUNT0 MOUNT1 ...
"""
import os
import stat
import sys

import fault_content as content
import fault_history

REPLACERS = {"write": ("write", "unlink", "rename"), "append": ("write", "unlink", "rename")}


def touches(x, path):
    if x.op == "rename":
        return x.path != x.path2 and path in (x.path, x.path2)
    return x.path == path


def required(ops):
    """Acknowledged writes/appends that nothing may have replaced since: every
    rival (a write, unlink or rename of the path that may have taken effect)
    returned before the op was invoked. Per path, the two latest rival ends
    are enough to answer that for every op in linear time."""
    latest = {}  # path -> up to two (end, op id), latest first
    for x in ops:
        if x.op in ("write", "unlink", "rename") and x.may_have_effect():
            for p in {x.path, x.path2} - {None}:
                if touches(x, p):
                    latest[p] = sorted(latest.get(p, []) + [(x.end(), x.id)], reverse=True)[:2]
    out = []
    for w in ops:
        if w.op not in REPLACERS or w.status != "ok":
            continue
        rival_end = next((e for e, i in latest.get(w.path, []) if i != w.id), float("-inf"))
        if rival_end < w.invoke:
            out.append(w)
    return out


def read_state(mount, path):
    full = os.path.join(mount, path)
    try:
        if not stat.S_ISREG(os.lstat(full).st_mode):
            return {"error": "not a regular file"}
        with open(full, "rb") as f:
            data = f.read()
    except OSError as e:
        return {"error": e.strerror}
    return dict(content.parse(data), data=data)


def survives(w, state):
    if "error" in state:
        return False
    if w.op == "write":
        return state["base"] == w.id and state["intact"]
    # An append survives wherever its line is: the base may be the interleaved
    # output of two concurrent writers, which parse() does not call intact.
    return content.append_bytes(w.id) in state["data"]


def shown(state):
    return {k: v for k, v in state.items() if k != "data"}


def main(path, mounts):
    _, ops = fault_history.load(path)
    req = required(ops)
    lost = 0
    for w in req:
        bad = [(i, read_state(m, w.path)) for i, m in enumerate(mounts)]
        bad = [(i, s) for i, s in bad if not survives(w, s)]
        if bad:
            lost += 1
            if lost <= 10:
                print(f"lost: LOST {w.op} op {w.id} to {w.path} (node {w.node}); found: " +
                      "; ".join(f"node {i}: {shown(s)}" for i, s in bad))
    acked = sum(1 for o in ops if o.op in REPLACERS and o.status == "ok")
    print(f"lost: {acked} acknowledged writes/appends, {len(req)} still required at the end, "
          f"{lost} lost")
    print(f"RESULT lost={lost} required={len(req)}")
    return 1 if lost else 0


if __name__ == "__main__":
    if len(sys.argv) < 3:
        sys.exit(__doc__)
    sys.exit(main(sys.argv[1], sys.argv[2:]))
