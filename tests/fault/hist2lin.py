#!/usr/bin/env python3
"""Extracts the namespace operations (paths under ns/) of a fault history
into lincheck's input format ("lincheck-history v1").

  hist2lin.py HISTORY OUT

Results the directory model knows (ok, ENOENT, EEXIST, EISDIR, ENOTDIR,
ENOTEMPTY, and a lookup's file/dir) are kept. EROFS is a definite refusal
(the op is dropped). Timeouts and any other error may or may not have taken
effect: they become unknown ("?"). Lookups without a definite answer are
dropped (a read changes nothing).
"""
import sys

import fault_history

MODEL_ERRNOS = {"ENOENT", "EEXIST", "EISDIR", "ENOTDIR", "ENOTEMPTY"}
NS_OPS = {"create", "mkdir", "unlink", "rmdir", "rename", "lookup"}


def line(o):
    a = o.path[3:]
    b = o.path2[3:] if o.op == "rename" else "-"
    if o.status == "ok":
        res = o.result if o.op == "lookup" else "ok"
    elif o.status == "fail" and o.errno in MODEL_ERRNOS:
        res = o.errno
    elif o.status == "fail" and o.errno == "EROFS":
        return None
    else:
        if o.op == "lookup":
            return None
        return f"{o.id} {o.invoke} - {o.op} {a} {b} ?"
    return f"{o.id} {o.invoke} {o.complete} {o.op} {a} {b} {res}"


def main(path, out):
    header, ops = fault_history.load(path)
    n = 0
    with open(out, "w") as f:
        f.write("# lincheck-history v1\n")
        for name, kind in sorted(header.get("ns_init", {}).items()):
            f.write(f"init {name} {kind}\n")
        for o in ops:
            if o.op in NS_OPS and o.path.startswith("ns/"):
                text = line(o)
                if text:
                    f.write(text + "\n")
                    n += 1
    print(f"hist2lin: {n} namespace ops")
    return 0


if __name__ == "__main__":
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    sys.exit(main(sys.argv[1], sys.argv[2]))
