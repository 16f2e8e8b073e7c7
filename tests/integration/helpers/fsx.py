#!/usr/bin/env python3
"""fsx.py - a random file exerciser checked against a model of the bytes.

  fsx.py DIR SEED OPS EXPECT [MAXSIZE]
                                runs OPS random operations on the files
                                DIR/fsx.0 and DIR/fsx.1 and checks every read
                                and stat against the model; at the end writes
                                the model's bytes to EXPECT/fsx.0 and .1 so
                                that the caller can compare after a remount

The operations reach the file through every path the driver has: cached
read-write handles, write-only and O_APPEND handles (direct I/O), O_DIRECT
handles, read-only handles opened long before, shared mappings, truncate up
and down, O_TRUNC opens, fallocate (0, KEEP_SIZE, PUNCH_HOLE),
copy_file_range between and within the files, fsync, close, listings of
the directory, renames that swap the two names while handles stay open,
and unlinks of files whose handles stay open and go on reading and writing
them. Handles are kept open across operations, so one handle's cache must
see another handle's writes.
Written data is random, a copy of bytes already in a file (chunks shared),
or zeros. A run is determined by SEED; on a mismatch it prints the last
operations and exits 1.
"""
import ctypes
import mmap
import os
import random
import sys

libc = ctypes.CDLL(None, use_errno=True)
libc.fallocate.argtypes = [ctypes.c_int, ctypes.c_int, ctypes.c_long, ctypes.c_long]
FALLOC_FL_KEEP_SIZE, FALLOC_FL_PUNCH_HOLE = 1, 2
MAXSIZE = 3 << 20  # crosses many chunks (16/64/256 KiB) yet keeps the model cheap
ALIGN = 4096

KINDS = {
    "rw": os.O_RDWR,
    "ro": os.O_RDONLY,
    "wo": os.O_WRONLY,
    "app": os.O_WRONLY | os.O_APPEND,
    "direct": os.O_RDWR | os.O_DIRECT,
}
WRITABLE = ("rw", "wo", "app", "direct")
READABLE = ("rw", "ro", "direct")


class Inode:
    """The expected bytes of one file, whatever name it has now."""

    def __init__(self, tag):
        self.tag = tag
        self.data = bytearray()


class Fsx:
    def __init__(self, d, seed):
        self.rnd = random.Random(seed)
        self.roots = d.split(":")
        self.inodes = [Inode("0"), Inode("1")]  # inodes[i] is named fsx.i
        self.fds = {}  # (inode tag, kind) -> fd, kept across operations
        self.once = []  # with several roots: fds closed after each operation
        self.detached = {}  # tag -> (Inode, {kind: fd}): unlinked, still open here
        self.serial = 0
        self.log = []
        self.last = 0  # the offset last picked
        self.dbuf = mmap.mmap(-1, max(512 << 10, MAXSIZE // 4))  # page-aligned, for O_DIRECT
        for n in (self.name(0), self.name(1)):
            os.close(os.open(n, os.O_CREAT | os.O_TRUNC | os.O_WRONLY, 0o644))

    # -- helpers -----------------------------------------------------------

    def fail(self, msg):
        print("fsx: " + msg, file=sys.stderr)
        print("fsx: last operations:", file=sys.stderr)
        for line in self.log[-25:]:
            print("  " + line, file=sys.stderr)
        sys.exit(1)

    def name(self, i):
        """fsx.i under one of the roots: with several (nodes of a cluster) a
        random one, and the log says which."""
        r = self.rnd.randrange(len(self.roots))
        if len(self.roots) > 1:
            self.log.append(f"  on {self.roots[r]}")
        return os.path.join(self.roots[r], f"fsx.{i}")

    def fd(self, i, kind):
        if len(self.roots) > 1:  # close-to-open: a handle lives for one operation
            self.once.append(os.open(self.name(i), KINDS[kind]))
            return self.once[-1]
        key = (self.inodes[i].tag, kind)
        if key not in self.fds:
            self.fds[key] = os.open(self.name(i), KINDS[kind])
        return self.fds[key]

    def end_op(self):
        for fd in self.once:
            os.close(fd)
        self.once.clear()

    def pick(self, m):
        i = self.rnd.randrange(2)
        return i, self.inodes[i]

    def length(self):
        r = self.rnd.random()
        if r < 0.4:
            return self.rnd.randint(1, 4096)
        if r < 0.75:
            return self.rnd.randint(1, 65536)
        if r < 0.95:
            return self.rnd.randint(1, 512 << 10)
        return self.rnd.randint(1, MAXSIZE // 4)  # past the staging bound of a large run

    @staticmethod
    def aligned(off, n):
        """O_DIRECT ranges in whole blocks, as ext4 needs (the reference run)."""
        off -= off % ALIGN
        n = max(ALIGN, n - n % ALIGN)
        return off, min(n, MAXSIZE - off)

    def offset(self, ino, slack=65536):
        """Anywhere up to a little past the end; half the time near the last
        offset used, so that ranges meet, overlap and leave gaps inside one
        page between commits."""
        if self.rnd.random() < 0.5:
            near = self.last + self.rnd.randint(-6000, 6000)
            self.last = max(0, min(near, len(ino.data) + slack, MAXSIZE - 1))
        else:
            self.last = self.rnd.randint(0, min(len(ino.data) + slack, MAXSIZE - 1))
        return self.last

    def payload(self, n):
        r = self.rnd.random()
        src = self.inodes[self.rnd.randrange(2)].data
        if r < 0.15:
            return bytes(n)
        if r < 0.35 and len(src) >= n:
            o = self.rnd.randint(0, len(src) - n)
            return bytes(src[o : o + n])
        return self.rnd.randbytes(n)

    @staticmethod
    def put(ino, off, b):
        end = off + len(b)
        if end > len(ino.data):
            ino.data.extend(bytes(end - len(ino.data)))
        ino.data[off:end] = b

    @staticmethod
    def resize(ino, size):
        if size < len(ino.data):
            del ino.data[size:]
        else:
            ino.data.extend(bytes(size - len(ino.data)))

    def expect(self, what, got, want, base):
        if got == want:
            return
        n = min(len(got), len(want))
        at = next((k for k in range(n) if got[k] != want[k]), n)
        self.fail(
            f"{what}: {len(got)} bytes, expected {len(want)}; first difference at "
            f"offset {base + at} (got {got[at:at+8].hex()}, expected {want[at:at+8].hex()})"
        )

    # -- operations --------------------------------------------------------

    def op_write(self):
        i, ino = self.pick(0)
        kind = self.rnd.choice(WRITABLE)
        n = self.length()
        off = len(ino.data) if kind == "app" else self.offset(ino)
        n = max(1, min(n, MAXSIZE - off))
        if kind == "direct":
            off, n = self.aligned(off, n)
        b = self.payload(n)
        self.log.append(f"write {kind} {ino.tag} off={off} len={n}")
        fd = self.fd(i, kind)
        if kind == "direct":
            self.dbuf[:n] = b
            w = os.pwrite(fd, memoryview(self.dbuf)[:n], off)
        else:
            w = os.pwrite(fd, b, off) if kind != "app" else os.write(fd, b)
        if w != n:
            self.fail(f"short write {w} of {n}")
        self.put(ino, off, b)

    def op_read(self):
        i, ino = self.pick(0)
        kind = self.rnd.choice(READABLE)
        off = self.offset(ino, 4096)
        n = self.length()
        if kind == "direct":
            off, n = self.aligned(off, n)
        self.log.append(f"read {kind} {ino.tag} off={off} len={n}")
        if kind == "direct":
            got = bytes(self.dbuf[: os.preadv(self.fd(i, kind), [memoryview(self.dbuf)[:n]], off)])
        else:
            got = os.pread(self.fd(i, kind), n, off)
        self.expect("read", got, bytes(ino.data[off : off + n]), off)

    def op_map(self):
        i, ino = self.pick(0)
        size = len(ino.data)
        if size == 0:
            return
        off = self.rnd.randrange(size)
        n = min(self.length(), size - off)
        write = self.rnd.random() < 0.5
        self.log.append(f"map{'write' if write else 'read'} {ino.tag} off={off} len={n}")
        fd = self.fd(i, "rw")
        with mmap.mmap(fd, size, mmap.MAP_SHARED, mmap.PROT_READ | mmap.PROT_WRITE) as m:
            if write:
                b = self.payload(n)
                m[off : off + n] = b
                self.put(ino, off, b)
                m.flush()
            else:
                self.expect("mapread", bytes(m[off : off + n]), bytes(ino.data[off : off + n]), off)

    def op_truncate(self):
        i, ino = self.pick(0)
        how = self.rnd.choice(("path", "fd", "fd", "otrunc"))
        size = 0 if how == "otrunc" else self.rnd.randint(0, min(len(ino.data) * 2 + 65536, MAXSIZE))
        self.log.append(f"truncate {how} {ino.tag} size={size}")
        if how == "path":
            os.truncate(self.name(i), size)
        elif how == "fd":
            os.ftruncate(self.fd(i, self.rnd.choice(("rw", "wo", "direct"))), size)
        else:
            os.close(os.open(self.name(i), os.O_WRONLY | os.O_TRUNC))
        self.resize(ino, size)

    def op_fallocate(self):
        i, ino = self.pick(0)
        mode = self.rnd.choice((0, FALLOC_FL_KEEP_SIZE, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE))
        off = self.offset(ino)
        n = max(1, min(self.length(), MAXSIZE - off))
        self.log.append(f"fallocate mode={mode} {ino.tag} off={off} len={n}")
        if libc.fallocate(self.fd(i, "rw"), mode, off, n) != 0:
            e = ctypes.get_errno()
            self.fail(f"fallocate mode {mode}: {os.strerror(e)}")
        if mode == 0 and off + n > len(ino.data):
            self.resize(ino, off + n)
        elif mode & FALLOC_FL_PUNCH_HOLE:
            end = min(off + n, len(ino.data))
            if end > off:
                ino.data[off:end] = bytes(end - off)

    def op_copy(self):
        s, src = self.pick(0)
        d, dst = self.pick(0)
        if not src.data:
            return
        soff = self.rnd.randrange(len(src.data))
        doff = self.offset(dst)
        n = max(1, min(self.length(), MAXSIZE - doff, len(src.data) - soff))
        if s == d and soff < doff + n and doff < soff + n:
            return  # overlapping ranges of one file are EINVAL
        self.log.append(f"copy {src.tag}@{soff} -> {dst.tag}@{doff} len={n}")
        sfd, dfd = self.fd(s, "rw"), self.fd(d, self.rnd.choice(("rw", "wo")))
        want = bytes(src.data[soff : soff + n])
        done = 0
        while done < n:
            c = os.copy_file_range(sfd, dfd, n - done, soff + done, doff + done)
            if c == 0:
                self.fail(f"copy_file_range stopped after {done} of {n} bytes")
            done += c
        self.put(dst, doff, want)

    def op_sync(self):
        i, ino = self.pick(0)
        kind = self.rnd.choice(WRITABLE)
        self.log.append(f"fsync {kind} {ino.tag}")
        (os.fsync if self.rnd.random() < 0.5 else os.fdatasync)(self.fd(i, kind))

    def op_close(self):
        if not self.fds:
            return
        key = self.rnd.choice(sorted(self.fds))
        self.log.append(f"close {key[1]} {key[0]}")
        os.close(self.fds.pop(key))

    def op_stat(self):
        i, ino = self.pick(0)
        self.log.append(f"stat {ino.tag}")
        name = self.name(i)
        got = os.stat(name).st_size
        if got != len(ino.data):
            self.fail(f"stat {name}: size {got}, expected {len(ino.data)}")
        for (tag, kind), fd in self.fds.items():
            if tag == ino.tag and os.fstat(fd).st_size != len(ino.data):
                self.fail(f"fstat of a {kind} handle: size {os.fstat(fd).st_size}, expected {len(ino.data)}")

    def op_list(self):
        """A listing (readdirplus) hands the kernel every entry's attributes,
        which it keeps as the file's: a staged file must be listed at its
        staged size, or later stats and reads see the file cut short."""
        root = self.rnd.choice(self.roots)
        self.log.append(f"list {root}")
        sizes = {e.name: e.stat().st_size for e in os.scandir(root)}
        for i, ino in enumerate(self.inodes):
            got = sizes.get(f"fsx.{i}")
            if got != len(ino.data):
                self.fail(f"listing of {root}: fsx.{i} size {got}, expected {len(ino.data)}")

    def op_swap(self):
        self.log.append("swap names")
        root = self.rnd.choice(self.roots)
        a, b, tmp = (os.path.join(root, n) for n in ("fsx.0", "fsx.1", "fsx.tmp"))
        os.rename(a, tmp)
        os.rename(b, a)
        os.rename(tmp, b)
        self.inodes.reverse()

    def op_replace(self):
        """Unlinks a file whose handles stay open, and creates a new one under
        its name: the old handles go on reading and writing the unlinked file."""
        i, ino = self.pick(0)
        self.serial += 1
        new = Inode(f"{i}.{self.serial}")
        name = self.name(i)
        self.log.append(f"replace {ino.tag} by {new.tag}")
        os.unlink(name)
        os.close(os.open(name, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644))
        kept = {k: fd for (tag, k), fd in self.fds.items() if tag == ino.tag}
        for k in kept:
            del self.fds[(ino.tag, k)]
        if kept:
            self.detached[ino.tag] = (ino, kept)
        self.inodes[i] = new

    def op_detached(self):
        """I/O through a handle of an unlinked file, or its close."""
        if not self.detached:
            return
        tag = self.rnd.choice(sorted(self.detached))
        ino, fds = self.detached[tag]
        kind = self.rnd.choice(sorted(fds))
        fd, r = fds[kind], self.rnd.random()
        if r < 0.2:
            self.log.append(f"close unlinked {kind} {tag}")
            os.close(fds.pop(kind))
            if not fds:
                del self.detached[tag]
        elif kind in READABLE and (r < 0.6 or kind not in WRITABLE) and kind != "direct":
            off, n = self.offset(ino, 4096), self.length()
            self.log.append(f"read unlinked {kind} {tag} off={off} len={n}")
            self.expect("read of an unlinked file", os.pread(fd, n, off),
                        bytes(ino.data[off : off + n]), off)
        elif kind in WRITABLE and kind != "direct":
            off = len(ino.data) if kind == "app" else self.offset(ino)
            b = self.payload(max(1, min(self.length(), MAXSIZE - off)))
            self.log.append(f"write unlinked {kind} {tag} off={off} len={len(b)}")
            if (os.write(fd, b) if kind == "app" else os.pwrite(fd, b, off)) != len(b):
                self.fail("short write to an unlinked file")
            self.put(ino, off, b)
        st = os.fstat(fd) if kind in fds else None
        if st and (st.st_nlink != 0 or st.st_size != len(ino.data)):
            self.fail(f"fstat of an unlinked file: nlink {st.st_nlink}, size {st.st_size}, "
                      f"expected 0 and {len(ino.data)}")

    OPS = [
        (op_write, 30), (op_read, 25), (op_map, 8), (op_truncate, 6), (op_fallocate, 6),
        (op_copy, 8), (op_sync, 5), (op_close, 6), (op_stat, 5), (op_list, 3), (op_swap, 1),
        (op_replace, 1), (op_detached, 4),
    ]

    def run(self, count):
        ops = [o for o, _ in self.OPS]
        weights = [w for _, w in self.OPS]
        for k in range(count):
            op = self.rnd.choices(ops, weights)[0]
            try:
                op(self)
                self.end_op()
            except (OSError, ValueError) as e:
                self.fail(f"operation {k}: {e}")
        for i, ino in enumerate(self.inodes):  # a final full read of each file
            for root in self.roots:
                name = os.path.join(root, f"fsx.{i}")
                with open(name, "rb") as f:
                    self.expect(f"final read of {name}", f.read(), bytes(ino.data), 0)
        for fd in self.fds.values():
            os.close(fd)
        for _, fds in self.detached.values():
            for fd in fds.values():
                os.close(fd)

    def save(self, expect):
        for i, ino in enumerate(self.inodes):
            with open(os.path.join(expect, f"fsx.{i}"), "wb") as f:
                f.write(ino.data)


def main():
    global MAXSIZE
    if len(sys.argv) not in (5, 6):
        sys.exit(__doc__)
    if len(sys.argv) == 6:
        MAXSIZE = int(sys.argv[5])
    d, seed, count, expect = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
    fx = Fsx(d, seed)
    fx.run(count)
    fx.save(expect)
    print(f"fsx: seed {seed}: {count} operations, sizes "
          f"{len(fx.inodes[0].data)} and {len(fx.inodes[1].data)} bytes")


if __name__ == "__main__":
    main()
