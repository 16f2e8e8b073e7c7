#!/usr/bin/env python3
"""nsfx.py - random namespace operations, differential against a reference.

  nsfx.py REF ROOT[:ROOT...] SEED OPS

runs OPS seeded random operations (mkdir, rmdir, create, O_TRUNC opens,
mkfifo, unlink, rename with no flag, RENAME_NOREPLACE or RENAME_EXCHANGE,
link, symlink, small writes, truncate, chmod, xattrs, stat, readdir,
readlink) over a small set of names
at depth up to three, once in REF (a directory on a kernel filesystem, the
reference) and once in a ROOT, and requires the same outcome from both:
success or the same errno, the same listing, the same stat fields. With
several ROOTs (nodes of a cluster) each operation runs under a random one,
so a change made through one mount must be seen at once through the others.
Every 50 operations, and at the end, the whole trees are compared: types,
modes, link counts, sizes, contents, symlink targets, user xattrs, and
which names are hard links of one another. Exits 1 at the first difference,
printing the last operations.

Write handles are also held open across operations (at most four pairs,
one on each side) and written through at random offsets, so the other
operations meet files with bytes a node has staged and not yet committed:
stats, listings, reads, renames, links and truncates must see them as the
reference's kernel does. Such bytes are visible on their own node only
until the close (close-to-open), so while any handle is held every
operation and comparison runs under the ROOT that holds it.
"""
import ctypes
import errno
import hashlib
import os
import random
import stat
import sys

libc = ctypes.CDLL(None, use_errno=True)
AT_FDCWD = -100
NAMES = ("a", "b", "c", "d")


def outcome(fn, *args):
    try:
        r = fn(*args)
        return "ok" if r is None else ("ok", r)
    except OSError as e:
        return errno.errorcode.get(e.errno, str(e.errno))


def renameat2(a, b, flags):
    if libc.renameat2(AT_FDCWD, a.encode(), AT_FDCWD, b.encode(), flags) != 0:
        e = ctypes.get_errno()
        raise OSError(e, os.strerror(e))


def create(p):
    os.close(os.open(p, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o640))


def write(p, data, append):
    # O_NONBLOCK: a FIFO without a reader must fail (ENXIO), not block
    fd = os.open(p, os.O_WRONLY | os.O_NONBLOCK | (os.O_APPEND if append else 0))
    try:
        os.write(fd, data)
    finally:
        os.close(fd)


def read(p):
    fd = os.open(p, os.O_RDONLY | os.O_NONBLOCK)  # a FIFO: no writer, no wait
    try:
        out = b""
        while chunk := os.read(fd, 1 << 20):
            out += chunk
        return out
    finally:
        os.close(fd)


def listing(p):
    return sorted(os.listdir(p))


def stat_of(p):
    st = os.lstat(p)
    size = None if stat.S_ISDIR(st.st_mode) else st.st_size  # ext4 says 4096
    return (stat.S_IFMT(st.st_mode), stat.S_IMODE(st.st_mode), st.st_nlink, size)


def xattrs(p):
    return sorted((n, os.getxattr(p, n, follow_symlinks=False))
                  for n in os.listxattr(p, follow_symlinks=False) if n.startswith("user."))


def snapshot(root):
    """Everything the comparison looks at, keyed by relative path; hard links
    as the sorted groups of paths that share an inode."""
    out, inodes = {}, {}
    for d, dirs, files in os.walk(root):
        for n in dirs + files:
            p = os.path.join(d, n)
            rel = os.path.relpath(p, root)
            st = os.lstat(p)
            e = stat_of(p) + (tuple(xattrs(p)),)
            if stat.S_ISLNK(st.st_mode):
                e += (os.readlink(p),)
            elif stat.S_ISREG(st.st_mode):
                e += (hashlib.sha256(read(p)).hexdigest()[:16],)
                inodes.setdefault(st.st_ino, []).append(rel)
            out[rel] = e
    links = sorted(sorted(g) for g in inodes.values() if len(g) > 1)
    return out, links


HELD_MAX = 4


class Nsfx:
    def __init__(self, ref, roots, seed):
        self.ref, self.roots = ref, roots
        self.rnd = random.Random(seed)
        self.log = []
        self.held = []  # (path, ref fd, root fd): write handles kept open
        self.home = None  # the ROOT they are open under, while there are any

    def fail(self, msg):
        print("nsfx: " + msg, file=sys.stderr)
        print("nsfx: last operations:", file=sys.stderr)
        for line in self.log[-25:]:
            print("  " + line, file=sys.stderr)
        sys.exit(1)

    def path(self):
        depth = self.rnd.choice((1, 1, 2, 2, 3))
        return "/".join(self.rnd.choice(NAMES) for _ in range(depth))

    def both(self, name, fn, *rels):
        """Runs fn on the paths rels under REF and under one ROOT; the
        outcomes must match."""
        root = self.home or self.rnd.choice(self.roots)
        tag = f" (on {root})" if len(self.roots) > 1 else ""
        self.log.append(f"{name} {' '.join(rels)}{tag}")
        want = outcome(fn, *(os.path.join(self.ref, r) for r in rels))
        got = outcome(fn, *(os.path.join(root, r) for r in rels))
        if got != want:
            self.fail(f"{name} {' '.join(rels)}{tag}: got {got}, the reference {want}")

    def hold(self, rel):
        """Opens rel for writing on both sides and keeps the pair."""
        fl = os.O_WRONLY | os.O_NONBLOCK | (os.O_CREAT if self.rnd.random() < 0.5 else 0)
        root = self.home or self.rnd.choice(self.roots)
        self.log.append(f"hold {rel}" + (f" (on {root})" if len(self.roots) > 1 else ""))
        fds = [outcome(os.open, os.path.join(d, rel), fl, 0o640) for d in (self.ref, root)]
        kinds = [f if isinstance(f, str) else "ok" for f in fds]
        if kinds[0] != kinds[1]:
            self.fail(f"hold {rel}: got {kinds[1]}, the reference {kinds[0]}")
        if kinds[0] == "ok":
            self.held.append((rel, fds[0][1], fds[1][1]))
            self.home = root

    def held_write(self):
        i = self.rnd.randrange(len(self.held))
        rel, a, b = self.held[i]
        data, off = self.rnd.randbytes(self.rnd.randint(1, 3000)), self.rnd.randint(0, 6000)
        self.log.append(f"held-write {rel} at {off}, {len(data)} bytes")
        want, got = outcome(os.pwrite, a, data, off), outcome(os.pwrite, b, data, off)
        if got != want:
            self.fail(f"held-write {rel}: got {got}, the reference {want}")
        sa, sb = os.fstat(a).st_size, os.fstat(b).st_size
        if sa != sb:
            self.fail(f"held-write {rel}: fstat size {sb}, the reference {sa}")

    def release(self, i):
        rel, a, b = self.held.pop(i)
        self.log.append(f"release {rel}")
        os.close(a)
        os.close(b)
        if not self.held:
            self.home = None

    def step(self):
        r = self.rnd
        p, q = self.path(), self.path()
        op = r.choices(
            ("mkdir", "rmdir", "create", "unlink", "rename", "link", "symlink", "write",
             "truncate", "chmod", "xattr", "stat", "list", "readlink", "read", "mkfifo",
             "create-trunc", "hold", "held-write", "release"),
            (10, 6, 10, 6, 14, 5, 4, 8, 3, 3, 3, 8, 6, 2, 6, 2, 3) +
            # several nodes: released sooner, so that most operations still
            # run on a random node
            ((3, 8, 2) if len(self.roots) == 1 else (2, 6, 5)))[0]
        if op == "hold":
            if len(self.held) < HELD_MAX:
                self.hold(p)
        elif op == "held-write":
            if self.held:
                self.held_write()
        elif op == "release":
            if self.held:
                self.release(r.randrange(len(self.held)))
        elif op == "mkfifo":
            self.both(op, lambda a: os.mkfifo(a, 0o640), p)
        elif op == "create-trunc":  # O_NONBLOCK: a FIFO must not block the test
            fl = os.O_CREAT | os.O_TRUNC | os.O_WRONLY | os.O_NONBLOCK
            self.both(op, lambda a: os.close(os.open(a, fl, 0o600)), p)
        elif op == "mkdir":
            self.both(op, lambda a: os.mkdir(a, 0o755), p)
        elif op == "rmdir":
            self.both(op, os.rmdir, p)
        elif op == "create":
            self.both(op, create, p)
        elif op == "unlink":
            self.both(op, os.unlink, p)
        elif op == "rename":
            flags = r.choice((0, 0, 1, 2))  # RENAME_NOREPLACE, RENAME_EXCHANGE
            self.both(f"rename{flags}", lambda a, b: renameat2(a, b, flags), p, q)
        elif op == "link":
            self.both(op, os.link, p, q)
        elif op == "symlink":
            target = r.choice(NAMES + ("a/b", "x/y"))  # never out of the tree
            self.both(op, lambda b: os.symlink(target, b), q)
        elif op == "write":
            data, app = r.randbytes(r.randint(0, 3000)), r.random() < 0.3
            self.both(op, lambda a: write(a, data, app), p)
        elif op == "truncate":
            n = r.randint(0, 5000)
            self.both(op, lambda a: os.truncate(a, n), p)
        elif op == "chmod":
            m = r.choice((0o600, 0o644, 0o755, 0o1777, 0o2755))
            self.both(op, lambda a: os.chmod(a, m), p)
        elif op == "xattr":
            v = r.randbytes(r.randint(0, 40))
            kind = r.choice(("set", "set", "remove"))
            fn = (lambda a: os.setxattr(a, "user.k", v, follow_symlinks=False)) if kind == "set" \
                else (lambda a: os.removexattr(a, "user.k", follow_symlinks=False))
            self.both(f"xattr-{kind}", fn, p)
        elif op == "stat":
            self.both(op, stat_of, p)
        elif op == "list":
            self.both(op, listing, p)
        elif op == "readlink":
            self.both(op, os.readlink, p)
        else:
            self.both(op, read, p)

    def compare(self):
        want = snapshot(self.ref)
        for root in [self.home] if self.home else self.roots:
            got = snapshot(root)
            if got == want:
                continue
            for rel in sorted(set(got[0]) | set(want[0])):
                if got[0].get(rel) != want[0].get(rel):
                    self.fail(f"tree of {root}: {rel} is {got[0].get(rel)}, "
                              f"in the reference {want[0].get(rel)}")
            self.fail(f"tree of {root}: hard links {got[1]}, in the reference {want[1]}")

    def run(self, count):
        for k in range(count):
            self.step()
            if k % 50 == 49:
                self.compare()
        self.compare()
        while self.held:
            self.release(0)
        self.compare()


def main():
    if len(sys.argv) != 5:
        sys.exit(__doc__)
    ref, roots, seed, count = sys.argv[1], sys.argv[2].split(":"), int(sys.argv[3]), int(sys.argv[4])
    Nsfx(ref, roots, seed).run(count)
    print(f"nsfx: seed {seed}: {count} operations, {len(snapshot(ref)[0])} names at the end")


if __name__ == "__main__":
    main()
