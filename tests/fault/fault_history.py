"""The history file of a fault run: JSON lines, format "qfs-fault-history"
version 1 (docs/fault-testing.md). HistoryWriter is thread-safe; load()
pairs each invoke with its outcome into Op records for the checkers."""
import json
import threading

FORMAT, VERSION = "qfs-fault-history", 1

# errnos that prove an operation had no effect: the namespace lookup failed
# before anything changed. Any other failure may have taken effect.
NO_EFFECT = {"ENOENT", "EEXIST", "EISDIR", "ENOTDIR", "ENOTEMPTY"}


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

    def may_have_effect(self):
        return self.status in ("ok", "unknown", "pending") or self.errno not in NO_EFFECT

    def end(self):
        return self.complete if self.complete is not None else float("inf")

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
    return header, sorted(ops.values(), key=lambda o: o.invoke)
