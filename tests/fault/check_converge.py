#!/usr/bin/env python3
"""Convergence checker: the trees under every node's mountpoint are
identical: names, types, permission bits, sizes, xattrs and content hashes.

  check_converge.py [--ignore NAME]... MOUNT0 MOUNT1 ...
"""
import argparse
import hashlib
import os
import stat
import sys


def file_sha(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def xattrs(path):
    try:
        names = sorted(os.listxattr(path, follow_symlinks=False))
    except OSError:
        return ()
    return tuple((n, hashlib.sha256(os.getxattr(path, n, follow_symlinks=False)).hexdigest())
                 for n in names)


def describe(path):
    st = os.lstat(path)
    mode = stat.S_IMODE(st.st_mode)
    if stat.S_ISDIR(st.st_mode):
        return ("dir", mode, None, None, xattrs(path))
    if stat.S_ISLNK(st.st_mode):
        return ("symlink", None, None, os.readlink(path), ())
    if stat.S_ISREG(st.st_mode):
        return ("file", mode, st.st_size, file_sha(path), xattrs(path))
    return ("other", mode, None, None, ())


def manifest(root, ignore):
    out = {".": describe(root)}
    for d, dirs, files in os.walk(root):
        dirs[:] = [x for x in dirs if x not in ignore]
        for name in dirs + [f for f in files if f not in ignore]:
            full = os.path.join(d, name)
            rel = os.path.relpath(full, root)
            try:
                out[rel] = describe(full)
            except OSError as e:
                out[rel] = ("error", e.strerror)
    return out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--ignore", action="append", default=[])
    ap.add_argument("mounts", nargs="+")
    a = ap.parse_args()
    mans = [manifest(m, set(a.ignore)) for m in a.mounts]
    paths = sorted(set().union(*mans))
    divergent = [p for p in paths if len({repr(m.get(p)) for m in mans}) > 1]
    for p in divergent[:20]:
        seen = "; ".join(f"node {i}: {m.get(p, 'absent')}" for i, m in enumerate(mans))
        print(f"converge: DIVERGENT {p}: {seen}")
    print(f"converge: {len(a.mounts)} nodes, {len(paths)} paths, {len(divergent)} divergent")
    print(f"RESULT divergent={len(divergent)}")
    return 1 if divergent else 0


if __name__ == "__main__":
    sys.exit(main())
