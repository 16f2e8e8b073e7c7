#!/usr/bin/env python3
"""tree.py [--ino] [--times] [--only REL] ROOT... - prints one line per path under ROOT
(sorted, ROOT itself included as "."): type, mode, owner, link count, size,
SHA-256 of the content (symlinks: the target), and xattrs (names and value
hashes). Two nodes hold the same tree exactly when their outputs are equal.
--ino adds inode numbers (the state machine allocates them: equal on every
node), --times the mtime in ns. With several roots it prints nothing but the
lines where a root differs from the first, and exits 1 if any does. --only
REL describes just that path (and not what is below it). A read error shows
as read:ERRNO in place of the hash. QFS_CT_NO_CONTENT=1 leaves content out
(a debugging aid, to look at the namespace alone).
"""
import errno
import hashlib
import os
import stat
import sys


def digest(path):
    h = hashlib.sha256()
    try:
        with open(path, "rb") as f:
            for block in iter(lambda: f.read(1 << 20), b""):
                h.update(block)
    except OSError as e:  # a difference to report, not a crash
        return "read:" + errno.errorcode.get(e.errno, str(e.errno))
    return h.hexdigest()[:16]


def xattrs(path):
    out = []
    for name in sorted(os.listxattr(path, follow_symlinks=False)):
        v = os.getxattr(path, name, follow_symlinks=False)
        out.append(f"{name}={hashlib.sha256(v).hexdigest()[:12]}")
    return ",".join(out)


def line(root, rel, opts):
    p = os.path.join(root, rel)
    st = os.lstat(p)
    m = st.st_mode
    if stat.S_ISLNK(m):
        kind, what = "l", os.readlink(p)
    elif stat.S_ISDIR(m):
        kind, what = "d", "-"
    elif stat.S_ISREG(m):
        kind, what = "f", ("-" if os.environ.get("QFS_CT_NO_CONTENT") else digest(p))
    else:
        kind, what = "o", "-"
    # A directory's size is the filesystem's business (dirent bytes); skip it.
    size = "-" if kind == "d" else st.st_size
    f = [rel, kind, f"{stat.S_IMODE(m):o}", f"{st.st_uid}:{st.st_gid}",
         str(st.st_nlink), str(size), what, xattrs(p)]
    if "--ino" in opts:
        f.append(f"ino={st.st_ino}")
    if "--times" in opts:
        f.append(f"mtime={st.st_mtime_ns}")
    return " ".join(f)


def describe(root, opts, only):
    if only is not None:
        try:
            return [line(root, only, opts)]
        except FileNotFoundError:
            return [f"{only} absent"]
    rels = ["."]
    for d, dirs, files in os.walk(root):
        for n in dirs + files:
            rels.append(os.path.relpath(os.path.join(d, n), root))
    return [line(root, rel, opts) for rel in sorted(rels)]


def main():
    args = sys.argv[1:]
    only = None
    if "--only" in args:
        i = args.index("--only")
        only = args[i + 1]
        del args[i:i + 2]
    opts = [a for a in args if a.startswith("--")]
    roots = [a for a in args if not a.startswith("--")]
    if not roots:
        sys.exit(__doc__)
    ref = describe(roots[0], opts, only)
    if len(roots) == 1:
        print("\n".join(ref))
        return
    bad = 0
    for r in roots[1:]:
        got = describe(r, opts, only)
        if got != ref:
            bad = 1
            a, b = set(ref), set(got)
            for x in sorted(a - b)[:10]:
                print(f"only in {roots[0]}: {x}")
            for x in sorted(b - a)[:10]:
                print(f"only in {r}: {x}")
    sys.exit(bad)


main()
