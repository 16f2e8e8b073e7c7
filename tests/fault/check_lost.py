#!/usr/bin/env python3
"""No-lost-write checker: every acknowledged write (its fsync and close
returned success) is readable, byte-identical, on every node after healing,
and every acknowledged append is still in its file, unless a later or
concurrent operation that may have taken effect replaced or removed it
(a write, unlink or rename of the same path that did not return before the
acknowledged op was invoked; for a write also a concurrent append, which may
interleave with it as on any filesystem). A version that two nodes' concurrent
commits moved into a conflict copy next to the file (NAME.conflict-*, the
issue-5 contract) is kept, not lost.

  check_lost.py HISTORY MOUNT0 MOUNT1 ...
"""
import os
import stat
import sys

import fault_content as content
import fault_history

REPLACERS = {"write": ("write", "unlink", "rename"), "append": ("write", "unlink", "rename")}
RIVALS = ("write", "unlink", "rename", "append")


def touches(x, path):
    if x.op == "rename":
        return x.path != x.path2 and path in (x.path, x.path2)
    return x.path == path


def required(ops):
    """Acknowledged writes/appends that nothing may have replaced since: every
    rival (a write, unlink or rename of the path that may have taken effect)
    returned before the op was invoked. Per path, the two latest rival ends
    are enough to answer that for every op in linear time."""
    latest = {}  # (path, rival kind) -> up to two (end, op id), latest first
    for x in ops:
        if x.op in RIVALS and x.may_have_effect():
            for p in {x.path, x.path2} - {None}:
                if touches(x, p):
                    k = (p, x.op == "append")
                    latest[k] = sorted(latest.get(k, []) + [(x.end(), x.id)], reverse=True)[:2]
    out = []
    for w in ops:
        if w.op not in REPLACERS or w.status != "ok":
            continue
        kinds = (False, True) if w.op == "write" else (False,)
        ends = [e for kind in kinds for e, i in latest.get((w.path, kind), []) if i != w.id]
        if max(ends, default=float("-inf")) < w.invoke:
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


def conflict_copies(mount, path):
    """States of the conflict copies of path (same directory, NAME.conflict-*)."""
    d, name = os.path.split(path)
    stem, ext = os.path.splitext(name)
    try:
        names = os.listdir(os.path.join(mount, d))
    except OSError:
        return []
    return [read_state(mount, os.path.join(d, n)) for n in names
            if n.startswith(stem + ".conflict-") and n.endswith(ext)]


def kept(w, mount):
    return survives(w, read_state(mount, w.path)) or \
        any(survives(w, s) for s in conflict_copies(mount, w.path))


def shown(state):
    return {k: v for k, v in state.items() if k != "data"}


def main(path, mounts):
    _, ops = fault_history.load(path)
    req = required(ops)
    lost = 0
    for w in req:
        bad = [(i, read_state(m, w.path)) for i, m in enumerate(mounts) if not kept(w, m)]
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
