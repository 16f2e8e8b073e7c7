#!/usr/bin/env python3
"""op.py OP ARGS... - one system call; on failure prints its errno name
(ENOTEMPTY, EEXIST ...) and exits 1, so the tests can compare results.
  rename A B | rmdir A | create-excl A | unlink A | mkdir A"""
import errno
import os
import sys

OPS = {
    "rename": lambda a, b: os.rename(a, b),
    "rmdir": os.rmdir,
    "create-excl": lambda a: os.close(os.open(a, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644)),
    "unlink": os.unlink,
    "mkdir": os.mkdir,
}
try:
    OPS[sys.argv[1]](*sys.argv[2:])
except OSError as e:
    print(errno.errorcode.get(e.errno, str(e.errno)))
    sys.exit(1)
