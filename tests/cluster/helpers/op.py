#!/usr/bin/env python3
"""op.py OP ARGS... - one system call; on failure prints its errno name
(ENOTEMPTY, EEXIST ...) and exits 1, so the tests can compare results.
  rename A B | rmdir A | create-excl A | unlink A | mkdir A
  reader-beside-writer A: A opened for appending and written (staged, not
    committed), then opened, read and closed for reading: prints what the
    READER's close gave ("reader-ok"), then fails with the writer's close."""
import errno
import os
import sys

def reader_beside_writer(path):
    w = os.open(path, os.O_WRONLY | os.O_APPEND)
    try:
        os.write(w, b"staged\n")
        r = os.open(path, os.O_RDONLY)
        os.read(r, 1 << 16)
        os.close(r)  # must not report the writer's commit
        print("reader-ok")
    finally:
        os.close(w)


OPS = {
    "reader-beside-writer": reader_beside_writer,
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
