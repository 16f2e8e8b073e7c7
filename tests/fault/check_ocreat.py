#!/usr/bin/env python3
"""O_CREAT checker: an open with O_CREAT finds the file or makes it.

  check_ocreat.py HISTORY

A write opens its file with O_CREAT | O_TRUNC in one of the content
directories, which the workload never removes, so the open itself must not
fail ENOENT, whatever other nodes do to the name meanwhile (ESTALE, when
the kernel's second path walk lost a race too, is allowed: NFS answers the
same). A write that failed after its open succeeded ("after_open") is not
an open failure.
"""
import sys

import fault_history


def main(path):
    _, ops = fault_history.load(path)
    writes = [o for o in ops if o.op == "write"]
    bad = [o for o in writes if o.status == "fail" and o.errno == "ENOENT" and not o.after_open]
    for o in bad[:10]:
        print(f"ocreat: op {o.id} write {o.path} on node {o.node}: open(O_CREAT) failed ENOENT")
    print(f"ocreat: {len(bad)} of {len(writes)} O_CREAT opens failed ENOENT")
    print(f"RESULT ocreat_enoent={len(bad)}")
    return 1 if bad else 0


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    sys.exit(main(sys.argv[1]))
