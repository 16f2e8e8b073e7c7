#!/usr/bin/env python3
"""Close-to-open checker: a read (open + read) of a path that started after
an acknowledged write+close of that path returns that content or newer,
with every append acknowledged in between.

For a read R of path P: S = acknowledged writes of P that returned before R
was invoked; F = the writes of S not followed (in real time) by another of
S. R must return, intact, the bytes of a write V of P that is in F or not
strictly before any member of F, and was invoked before R returned, plus
every acknowledged append invoked after V returned and returned before R
was invoked (but for one that overlapped another node's write or append:
it may have lost the name to a conflict copy). Reads are not judged when an unlink/rename of P may have taken
effect after a member of F. Content that is no write's exact bytes is
accepted only when a write of P overlapped the read, or when the write(s)
it came from overlapped another write or an append of P (concurrent writers
interleave). A write or append that overlapped a rename of its path may
have written the moved file (its open file follows the inode), so it also
counts as a possible writer of the rename's destination. With --cutoff FILE,
reads that ran while their node was cut off from the leader (it serves its
last state, by design) are not judged (fault_history.Cutoff). Nor is a
read that failed because its node's daemon was down (ENOTCONN: it died
under the read; ENOTMOUNTED: the bare mount point of a node between a kill
and its restart): it returned no content, stale or not, and the no-hang
checker holds it to its bound.

  check_cto.py [--cutoff FILE] HISTORY
"""
import bisect
import sys

import fault_history


class PathWrites:
    """The writes of one path, with the acknowledged ones sorted by return
    time and a running maximum of their invoke times, so the frontier of
    "acknowledged before t" is found by bisection."""

    def __init__(self):
        self.all, self.acked, self.appends = [], [], []

    def seal(self):
        self.acked.sort(key=lambda w: w.complete)
        self.ends = [w.complete for w in self.acked]
        self.max_invoke, m = [], float("-inf")
        for w in self.acked:
            m = max(m, w.invoke)
            self.max_invoke.append(m)
        self.by_id = {w.id: w for w in self.all}

    def frontier(self, t):
        """Acknowledged writes that returned before t and were not followed
        by another such write."""
        n = bisect.bisect_left(self.ends, t)
        if n == 0:
            return []
        latest_invoke = self.max_invoke[n - 1]
        out = []
        for i in range(n - 1, -1, -1):  # not a slice: that copies n per read
            if self.acked[i].complete < latest_invoke:
                break
            out.append(self.acked[i])
        return out


class Intervals:
    """Ops by invoke time, for "which of them overlap [t0, t1)?" in
    O(log n + answer): the finite ones sorted with their longest duration,
    the open-ended ones (end() infinite) apart."""

    def __init__(self, ops):
        fin = sorted((o for o in ops if o.end() != float("inf")), key=lambda o: o.invoke)
        self.fin, self.starts = fin, [o.invoke for o in fin]
        self.longest = max((o.end() - o.invoke for o in fin), default=0)
        self.open = [o for o in ops if o.end() == float("inf")]
        # prefix maximum of end() over fin, for "does any overlap?"
        self.max_end, m = [], float("-inf")
        for o in fin:
            m = max(m, o.end())
            self.max_end.append(m)

    def overlapping(self, t0, t1):
        lo = bisect.bisect_left(self.starts, t0 - self.longest)
        hi = bisect.bisect_left(self.starts, t1)
        out = [o for o in self.fin[lo:hi] if o.end() > t0]
        return out + [o for o in self.open if o.invoke < t1]

    def any_overlapping(self, t0, t1):
        hi = bisect.bisect_left(self.starts, t1)
        return (hi > 0 and self.max_end[hi - 1] > t0) or any(o.invoke < t1 for o in self.open)


def index(ops):
    writes, moves, appends = {}, {}, {}
    for o in ops:
        if o.op == "write" and o.may_have_effect():
            pw = writes.setdefault(o.path, PathWrites())
            pw.all.append(o)
            if o.status == "ok":
                pw.acked.append(o)
        elif o.op == "append" and o.may_have_effect():
            writes.setdefault(o.path, PathWrites()).appends.append(o)
            if o.status == "ok":
                appends.setdefault(o.path, []).append(o)
        elif o.op in ("unlink", "rename") and o.may_have_effect():
            for p in {o.path, o.path2} - {None}:
                if o.op == "unlink" or o.path != o.path2:
                    moves.setdefault(p, []).append(o)
    carry_through_renames(ops, writes)
    for pw in writes.values():
        pw.seal()
    return writes, {p: Intervals(m) for p, m in moves.items()}, \
        {p: Appends(a) for p, a in appends.items()}


def carry_through_renames(ops, writes):
    """A write or append of P that was running while P was renamed to Q may
    have landed in Q's file: list it among Q's possible writers (not its
    acknowledged ones: whether it landed there is unknown). Renames in
    invoke order, so a chain P -> Q -> R carries it on."""
    renames = sorted((o for o in ops if o.op == "rename" and o.may_have_effect()
                      and o.path2 and o.path2 != o.path), key=lambda o: o.invoke)
    own = {p: Intervals(pw.all + pw.appends) for p, pw in writes.items()}
    carried = {}  # path -> ops carried into it that may still overlap a rename
    ids = {}  # path -> ids of its writes and appends (own and carried)
    for x in renames:
        moved = own[x.path].overlapping(x.invoke, x.end()) if x.path in own else []
        if x.path in carried:
            # later renames start later: an op that ended before this one
            # started overlaps none of them (a 5-minute history spent most
            # of its 10 minutes rescanning these lists)
            carried[x.path] = [w for w in carried[x.path] if w.end() > x.invoke]
            moved += [w for w in carried[x.path] if overlap(w, x)]
        if not moved:
            continue
        dst = writes.setdefault(x.path2, PathWrites())
        seen = carried.setdefault(x.path2, [])
        have = ids.get(x.path2)
        if have is None:
            have = ids[x.path2] = {w.id for w in dst.all + dst.appends}
        for w in moved:
            if w.id not in have:
                have.add(w.id)
                (dst.all if w.op == "write" else dst.appends).append(w)
                seen.append(w)


def overlap(a, b):
    return a.invoke < b.end() and b.invoke < a.end()


def torn_allowed(r, v, ws, front):
    """Content that is no single write's bytes is legal when a write ran
    during the read, or when the write that produced it ran concurrently
    with another write or an append of the file (their bytes interleave, on
    any POSIX filesystem), or when two nodes appended to it at once: the
    later commit's line lands on the other node's version and the file ends
    where the later writer's did, which can cut the other's line (the whole
    other version is in a conflict copy; ARCHITECTURE.md, "Conflicts").
    ws: every write and append of the path that may have taken effect."""
    if any(overlap(w, r) for w in ws if w.op == "write"):
        return True
    suspects = [v] if v is not None else front
    if any(w is not s and overlap(w, s) for s in suspects for w in ws):
        return True
    appends = [a for a in ws if a.op == "append" and a.invoke < r.end()
               and (v is None or not a.before(v))]
    return any(in_conflict(a, appends) for a in appends)


def in_conflict(a, ws):
    """An append that ran while another node wrote or appended to the file:
    the later commit takes the name and the other version becomes a conflict
    copy (DESIGN.md), so a read of the name may lack it."""
    return any(w.node != a.node and overlap(w, a) for w in ws)


def appends_between(appends, v, r):
    """The acknowledged appends (an Appends, or None) invoked after V
    returned that returned before R was invoked."""
    if not appends or v.complete is None:
        return []
    lo = bisect.bisect_right(appends.starts, v.complete)
    hi = bisect.bisect_left(appends.starts, r.invoke)
    return [a for a in appends.ops[lo:hi] if v.before(a) and a.before(r)]


class Appends:
    """The acknowledged appends of one path, in invoke order."""

    def __init__(self, ops):
        self.ops = ops
        self.starts = [a.invoke for a in ops]


# A read that failed with one of these reached no live daemon.
NODE_DOWN = {"ENOTCONN", fault_history.NOT_MOUNTED}


def judge(r, writes, moves, appends):
    """Returns None when R is fine (or not judged), else why it is wrong."""
    if r.status != "ok" and r.errno in NODE_DOWN:
        return None
    pw = writes.get(r.path)
    front = pw.frontier(r.invoke) if pw else []
    if not front:
        return None
    t0 = min(f.invoke for f in front)
    if r.path in moves and moves[r.path].any_overlapping(t0, r.end()):
        return None
    if r.status != "ok":
        return f"read failed {r.errno} after write op {front[0].id} was acknowledged"
    res = r.result
    v = pw.by_id.get(res.get("base"))
    if v is None or not res.get("intact"):
        if torn_allowed(r, v, pw.all + pw.appends, front):
            return None
        return f"returned {res}, not the bytes of any write of the path"
    if not (v.invoke < r.end() and all(not v.before(f) for f in front)):
        return f"returned write op {v.id}, older than acknowledged write op {front[0].id}"
    missing = [a.id for a in appends_between(appends.get(r.path), v, r)
               if a.id not in res.get("appends", []) and not in_conflict(a, pw.all + pw.appends)]
    if missing:
        return f"returned write op {v.id} without acknowledged appends {missing[:5]}"
    return None


def main(path, cutoff_file=None):
    _, ops = fault_history.load(path)
    writes, moves, appends = index(ops)
    cutoff = fault_history.Cutoff(cutoff_file)
    reads = [o for o in ops if o.op == "read" and o.status in ("ok", "fail")]
    exempt = [r for r in reads if cutoff.covers(r)]
    reads = [r for r in reads if not cutoff.covers(r)]
    bad = 0
    for r in reads:
        why = judge(r, writes, moves, appends)
        if why:
            bad += 1
            if bad <= 10:
                print(f"cto: VIOLATION read op {r.id} of {r.path} on node {r.node}: {why}")
    print(f"cto: {len(reads)} reads judged, {bad} violations"
          f" ({len(exempt)} reads of a cut-off node not judged)")
    print(f"RESULT cto_violations={bad}")
    return 1 if bad else 0


if __name__ == "__main__":
    args = sys.argv[1:]
    cut = None
    if len(args) == 3 and args[0] == "--cutoff":
        cut, args = args[1], args[2:]
    if len(args) != 1:
        sys.exit(__doc__)
    sys.exit(main(args[0], cut))
