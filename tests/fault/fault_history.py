"""The history file of a fault run: JSON lines, format "qfs-fault-history"
version 1 (docs/fault-testing.md). HistoryWriter is thread-safe; load()
pairs each invoke with its outcome into Op records for the checkers."""
import json
import threading

FORMAT, VERSION = "qfs-fault-history", 1

# errnos that prove an operation had no effect: the namespace lookup failed
# before anything changed. Any other failure may have taken effect.
NO_EFFECT = {"ENOENT", "EEXIST", "EISDIR", "ENOTDIR", "ENOTEMPTY"}
# errnos of a refusal: quorumfs answers EROFS only for a mutation it never
# proposed (no quorum); one it proposed but could not see decided fails with
# ETIMEDOUT, whose outcome stays unknown (docs/ARCHITECTURE.md, "Failing fast").
REFUSED = {"EROFS"}
# Not an errno: the op failed on a mount point with nothing mounted (a node
# between kill and restart), so it reached no daemon.
NOT_MOUNTED = "ENOTMOUNTED"
REFUSED.add(NOT_MOUNTED)
# errnos of a failure whose effect, if it had one, came before the answer: a
# full disk here. quorumfs answers ENOSPC for a mutation it did not propose
# (a chunk that did not fit, an apply that fails here) or for one already
# decided whose apply here failed; never for one still in flight.
SETTLED = {"ENOSPC", "EDQUOT"}


class HistoryWriter:
    def __init__(self, path, header):
        self._lock = threading.Lock()  # guards _f
        self._f = open(path, "w", buffering=1)
        self._f.write(json.dumps(dict(header, format=FORMAT, version=VERSION)) + "\n")

    def record(self, **event):
        line = json.dumps(event, separators=(",", ":")) + "\n"
        with self._lock:
            self._f.write(line)

    def close(self):
        with self._lock:
            self._f.flush()
            self._f.close()


class Op:
    """One operation: status is "ok", "fail", "unknown" (no answer within the
    bound) or "pending" (no outcome recorded at all)."""

    def __init__(self, inv):
        self.id, self.node, self.client = inv["id"], inv["node"], inv["client"]
        self.op, self.path, self.path2 = inv["op"], inv["path"], inv.get("path2")
        self.args = inv.get("args", {})
        self.invoke = inv["t"]
        self.complete = None  # time of ok/fail; None = never (unknown/pending)
        self.status, self.errno, self.result = "pending", None, None
        self.late = None  # outcome that arrived after the op was declared unknown
        self.after_open = False  # a write/append failed after its open (O_TRUNC) succeeded

    def may_have_effect(self):
        return self.status in ("ok", "unknown", "pending") or self.after_open or \
            self.errno not in NO_EFFECT | REFUSED

    def end(self):
        """When its effect happened at the latest: a failure that may have
        had an effect (a proposal whose outcome is unknown) may be decided
        any time later; not one whose errno settles it (SETTLED), unless
        it failed after its open: the file its O_TRUNC emptied (content
        that is no write's bytes) stays until a later write replaces it,
        and the checkers see that state through this op's open end (CI's
        short disk-full run: four reads of such an empty file judged
        violations once these ended at their answer)."""
        if self.complete is None or (self.status == "fail" and self.may_have_effect()
                                     and (self.after_open or self.errno not in SETTLED)):
            return float("inf")
        return self.complete

    def before(self, other):
        """Real-time order: self returned before other was invoked."""
        return self.complete is not None and self.complete < other.invoke


def load(path):
    """Returns (header, [Op] in invoke order). Raises ValueError on a wrong
    format or version."""
    ops = {}
    with open(path) as f:
        header = json.loads(f.readline())
        if header.get("format") != FORMAT or header.get("version") != VERSION:
            raise ValueError(f"{path}: not a {FORMAT} v{VERSION} file")
        for line in f:
            ev = json.loads(line)
            kind = ev["ev"]
            if kind == "invoke":
                ops[ev["id"]] = Op(ev)
                continue
            op = ops[ev["id"]]
            if kind == "late":
                op.late = ev
            elif kind == "unknown":
                op.status = "unknown"
            else:
                op.status, op.complete = kind, ev["t"]
                op.errno, op.result = ev.get("errno"), ev.get("result")
                op.after_open = bool(ev.get("after_open"))
    return header, sorted(ops.values(), key=lambda o: o.invoke)


class Cutoff:
    """Windows in which a node was cut off from the leader and served reads
    from its last state (scenarios.sh, scn_cut): "NODE START END" lines,
    CLOCK_MONOTONIC ns, END "inf" when the node never became current."""

    def __init__(self, path=None):
        self.windows = {}
        if path:
            with open(path) as f:
                for line in f:
                    if line.strip():
                        node, start, end = line.split()
                        self.windows.setdefault(int(node), []).append(
                            (int(start), float("inf") if end == "inf" else int(end)))

    def covers(self, o):
        """o ran (in part) while its node was cut off."""
        return any(o.invoke < end and start < o.end()
                   for start, end in self.windows.get(o.node, []))

