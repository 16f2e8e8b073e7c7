#!/usr/bin/env python3
"""Extracts the namespace operations (paths under ns/) of a fault history
into lincheck's input format ("lincheck-history v1").

  hist2lin.py [--starts FILE] [--cutoff FILE] [--frozen FILE] HISTORY OUT

Results the directory model knows (ok, ENOENT, EEXIST, EISDIR, ENOTDIR,
ENOTEMPTY, and a lookup's file/dir) are kept. EROFS is a definite refusal
(the op is dropped). Timeouts, ETIMEDOUT (proposed, outcome unknown) and any
other error may or may not have taken effect: they become unknown ("?").
Lookups without a definite answer are dropped (a read changes nothing).

ENOTCONN means the node's FUSE connection is gone (its daemon died). The
first such failure on a node may have reached the daemon before it died;
once one has returned, later ops on that node that fail with ENOTCONN never
reached a daemon, unless the node was (re)started in between. FILE lists
node starts ("NODE T", CLOCK_MONOTONIC ns, written by the runner); with it,
those ops are dropped instead of becoming unknown, which keeps the search
small after a kill -9. Without FILE every ENOTCONN stays unknown.

Two successful renames of the same name to the same name that overlap are
both unknown: once the first has moved the inode, the second's kernel may
find it under both names (its two lookups straddle the first) and, as for
any rename onto the same inode, answer success without asking the daemon.

A rename that failed with EISDIR or ENOTDIR becomes two lookups over the
same interval (ENOTDIR: source a directory, target a file; EISDIR: the
other way round). The kernel decides these from its own two lookups, which
are not one atomic step (on a cluster, another node may rename and create
between them) and never asks the daemon; a failed rename changes nothing,
so the two lookups are all it says about the tree. This holds for a rename
of a name onto itself too: between the kernel's two lookups of the one name
another node may replace a directory by a file.

An op the workload gave up on (no answer within its bound: "unknown") whose
answer came later ("late") is judged by that answer: the syscall returned
it then.

--frozen FILE: "NODE STOPPED THAWED" lines (CLOCK_MONOTONIC ns, written by
the frozen-node scenario): every thread of the node's daemon was stopped
from STOPPED to THAWED, so an op invoked on that node in between cannot take
effect before THAWED, and starts there. Without it, such an op (answered
late, after the thaw) could take effect anywhere in minutes of history,
which the search cannot afford.

--cutoff FILE: windows of nodes cut off from the leader (fault_history.Cutoff).
Such a node answers lookups from its last state, and the kernel derives
failures like rmdir's ENOTDIR from those lookups: its lookups and its
failures with a model errno are dropped, and so is a rename of a name onto
itself (the kernel answers it without asking the daemon). Its successful
renames become unknown: if its lookup of the source found a stale entry
and, the node catching up in between, its lookup of the target found the
same inode there (moved by an older rename from another node), the kernel
answers success without asking the daemon, although the source is long
gone (what CI's kill-receiver run of stop 13 looks like: "no order places
rename n4 n3 -> ok" with n4 absent). Its other successful mutations are
kept (each went through consensus).
"""
import argparse
import sys

import fault_history

MODEL_ERRNOS = {"ENOENT", "EEXIST", "EISDIR", "ENOTDIR", "ENOTEMPTY"}
NS_OPS = {"create", "mkdir", "unlink", "rmdir", "rename", "lookup"}


def twin_renames(ops):
    """Ids of successful renames P -> Q that overlap another such rename."""
    by_pair = {}
    for o in ops:
        if o.op == "rename" and o.status == "ok" and o.path != o.path2:
            by_pair.setdefault((o.path, o.path2), []).append(o)
    out = set()
    for group in by_pair.values():
        for x in group:
            for y in group:
                if x is not y and x.invoke < y.end() and y.invoke < x.end():
                    out |= {x.id, y.id}
    return out


# A rename's type error -> what its two lookups saw: (source, target).
RENAME_TYPE_ERRORS = {"ENOTDIR": ("dir", "file"), "EISDIR": ("file", "dir")}


def line(o, unknown=frozenset()):
    a = o.path[3:]
    b = o.path2[3:] if o.op == "rename" else "-"
    seen = RENAME_TYPE_ERRORS.get(o.errno) if o.op == "rename" and o.status == "fail" else None
    if seen:
        return (f"{o.id}s {o.invoke} {o.complete} lookup {a} - {seen[0]}\n"
                f"{o.id}t {o.invoke} {o.complete} lookup {b} - {seen[1]}")
    if o.id in unknown:
        return f"{o.id} {o.invoke} - {o.op} {a} {b} ?"
    if o.status == "ok":
        res = o.result if o.op == "lookup" else "ok"
    elif o.status == "fail" and o.errno in MODEL_ERRNOS:
        res = o.errno
    elif o.status == "fail" and o.errno in fault_history.REFUSED:
        return None
    else:
        if o.op == "lookup":
            return None
        return f"{o.id} {o.invoke} - {o.op} {a} {b} ?"
    return f"{o.id} {o.invoke} {o.complete} {o.op} {a} {b} {res}"


def node_lines(path):
    """(node, [int, ...]) for each line "NODE INT..." of the file at path."""
    if path:
        with open(path) as f:
            for line in f:
                if line.strip():
                    node, *rest = map(int, line.split())
                    yield node, rest


def load_starts(path):
    starts = {}
    for node, (t,) in node_lines(path):
        starts.setdefault(node, []).append(t)
    return starts


def dead_connection_ops(ops, starts):
    """Ids of ENOTCONN failures that certainly never reached a daemon."""
    if starts is None:
        return set()
    first_dead = {}  # node -> return time of an ENOTCONN op with no start since
    out = set()
    for o in sorted((o for o in ops if o.errno == "ENOTCONN"), key=lambda o: o.invoke):
        d = first_dead.get(o.node)
        if d is not None and d < o.invoke and \
                not any(d < t <= o.complete for t in starts.get(o.node, [])):
            out.add(o.id)
        elif d is None or any(d < t <= o.complete for t in starts.get(o.node, [])):
            first_dead[o.node] = o.complete
    return out


def take_late_answer(o):
    """An unknown op that was answered after its bound: judged by the answer."""
    if o.status == "unknown" and o.late:
        o.status, o.complete = o.late["outcome"], o.late["t"]
        o.errno, o.result = o.late.get("errno"), o.late.get("result")


def load_frozen(path):
    windows = {}
    for node, (stopped, thawed) in node_lines(path):
        windows.setdefault(node, []).append((stopped, thawed))
    return windows


def start_after_thaw(o, frozen):
    """An op invoked while its daemon was stopped starts when it woke."""
    for stopped, thawed in frozen.get(o.node, []):
        if stopped <= o.invoke <= thawed:
            o.invoke = thawed


def stale_read(o, cutoff):
    """A lookup, or a failure the kernel may have derived from one, on a
    node that was cut off from the leader."""
    derived = o.op == "lookup" or (o.status == "fail" and o.errno in MODEL_ERRNOS) or \
        (o.op == "rename" and o.path == o.path2)  # the kernel's own no-op
    return derived and cutoff.covers(o)


def derived_renames(ops, cutoff):
    """Ids of successful renames P -> Q on a cut-off node: the kernel's own
    answer, possibly, when both its lookups found one inode."""
    return {o.id for o in ops if o.op == "rename" and o.status == "ok" and
            o.path != o.path2 and cutoff.covers(o)}


def main(path, out, starts_file=None, cutoff_file=None, frozen_file=None):
    header, ops = fault_history.load(path)
    frozen = load_frozen(frozen_file)
    for o in ops:
        take_late_answer(o)
        start_after_thaw(o, frozen)
    dead = dead_connection_ops(ops, load_starts(starts_file) if starts_file else None)
    cutoff = fault_history.Cutoff(cutoff_file)
    stale = {o.id for o in ops if stale_read(o, cutoff)}
    unknown = twin_renames(ops) | derived_renames(ops, cutoff)
    left_out = dead | stale
    n = 0
    with open(out, "w") as f:
        f.write("# lincheck-history v1\n")
        for name, kind in sorted(header.get("ns_init", {}).items()):
            f.write(f"init {name} {kind}\n")
        for o in ops:
            if o.op in NS_OPS and o.path.startswith("ns/") and o.id not in left_out:
                text = line(o, unknown)
                if text:
                    f.write(text + "\n")
                    n += 1
    print(f"hist2lin: {n} namespace ops ({len(dead)} ENOTCONN failures of a dead mount, "
          f"{len(stale)} reads of a cut-off node dropped)")
    return 0


if __name__ == "__main__":
    ap = argparse.ArgumentParser(usage=__doc__)
    ap.add_argument("--starts")
    ap.add_argument("--cutoff")
    ap.add_argument("--frozen")
    ap.add_argument("history")
    ap.add_argument("out")
    a = ap.parse_args()
    sys.exit(main(a.history, a.out, a.starts, a.cutoff, a.frozen))
