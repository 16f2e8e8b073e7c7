#!/usr/bin/env python3
"""fsops.py - system calls the shell cannot make, for the integration tests.

Each subcommand exits 0 when the behaviour is right; on a failing system
call it prints the errno name (e.g. ENOTEMPTY) and exits 1.
  rename2 noreplace|exchange A B   renameat2 with the flag
  append FILE                      two O_APPEND writers interleave, nothing lost
  mmap FILE                        shared writable mapping reaches the file
  wronly FILE                      a write-only handle's writes bypass the page
                                   cache; cached readers and mappings see them
  write-times FILE                 a write dates mtime/ctime at once, and the
                                   close keeps what stat showed then
  cached-atime FILE                relatime: a read of cached pages moves atime
  copy-range SRC DST               copy_file_range the whole file; prints bytes
  seek-hole FILE                   SEEK_DATA/SEEK_HOLE agree with a sparse layout
  names DIR                        255-byte name ok, 256 -> ENAMETOOLONG
  deep DIR                         relative paths as deep as PATH_MAX work
  workload DIR LOG                 write+fsync (and O_SYNC writes) forever, log
                                   each acknowledged size
  verify DIR LOG                   every acknowledged byte is there
"""
import ctypes
import errno
import hashlib
import mmap
import os
import sys

libc = ctypes.CDLL(None, use_errno=True)
RENAME_NOREPLACE, RENAME_EXCHANGE = 1, 2
AT_FDCWD = -100


def die(msg):
    print(msg, file=sys.stderr)
    sys.exit(1)


def oserr(e):
    die(errno.errorcode.get(e.errno, str(e.errno)) + f" ({str(e)[:200]})")


def rename2(flag, a, b):
    fl = {"noreplace": RENAME_NOREPLACE, "exchange": RENAME_EXCHANGE}[flag]
    r = libc.renameat2(AT_FDCWD, a.encode(), AT_FDCWD, b.encode(), fl)
    if r != 0:
        e = ctypes.get_errno()
        die(errno.errorcode.get(e, str(e)))


def append(path):
    a = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
    b = os.open(path, os.O_WRONLY | os.O_APPEND)
    recs = []
    for i in range(200):
        rec = (f"{'A' if i % 2 else 'B'}{i:05d}" + "x" * (i % 37) + "\n").encode()
        os.write(a if i % 2 else b, rec)
        recs.append(rec)
    os.close(a)
    os.close(b)
    with open(path, "rb") as f:
        got = f.read()
    if got != b"".join(recs):
        die(f"O_APPEND lost or reordered data: {len(got)} bytes")


def mmap_shared(path):
    size = 3 * 4096 + 100
    with open(path, "wb") as f:
        f.write(b"\0" * size)
    fd = os.open(path, os.O_RDWR)
    m = mmap.mmap(fd, size, mmap.MAP_SHARED, mmap.PROT_READ | mmap.PROT_WRITE)
    for i in range(0, size, 512):
        m[i:i + 8] = b"%08d" % i
    m.flush()
    m.close()
    os.fsync(fd)
    os.close(fd)
    with open(path, "rb") as f:
        data = f.read()
    for i in range(0, size, 512):
        if data[i:i + 8] != b"%08d" % i:
            die(f"mmap write at {i} not in the file")


def copy_range(src, dst):
    fi = os.open(src, os.O_RDONLY)
    fo = os.open(dst, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
    left = os.fstat(fi).st_size
    total = 0
    try:
        while left > 0:
            n = os.copy_file_range(fi, fo, left)
            if n == 0:
                break
            total += n
            left -= n
    except OSError as e:
        oserr(e)
    os.close(fi)
    os.close(fo)
    print(total)


def seek_hole(path):
    """Layout written by the test: data [0,64K), hole to 4M, data [4M,4M+64K)."""
    fd = os.open(path, os.O_RDONLY)
    try:
        d0 = os.lseek(fd, 0, os.SEEK_DATA)
        h0 = os.lseek(fd, 0, os.SEEK_HOLE)
        d1 = os.lseek(fd, h0, os.SEEK_DATA)
    except OSError as e:
        oserr(e)
    if d0 != 0 or not (65536 <= h0 <= 4 << 20) or not (h0 < d1 <= 4 << 20):
        die(f"SEEK_DATA/SEEK_HOLE: data {d0}, hole {h0}, next data {d1}")


def names(d):
    ok = os.path.join(d, "n" * 255)
    with open(ok, "w") as f:
        f.write("x")
    if os.path.basename(ok) not in os.listdir(d):
        die("255-byte name not listed")
    try:
        open(os.path.join(d, "m" * 256), "w")
    except OSError as e:
        if e.errno != errno.ENAMETOOLONG:
            oserr(e)
        return
    die("256-byte name was accepted")


def deep(d):
    """Builds a chain of 200-byte directory names by relative steps until the
    absolute path passes PATH_MAX, then opens a file by a relative path of
    almost PATH_MAX bytes from the top."""
    os.chdir(d)
    comp = "d" * 200
    depth = (len(d) + 4200) // (len(comp) + 1) + 1
    for _ in range(depth):
        os.mkdir(comp)
        os.chdir(comp)
    with open("leaf", "w") as f:
        f.write("deep")
    os.chdir(d)
    rel_depth = 4000 // (len(comp) + 1)
    rel = "/".join([comp] * rel_depth)
    with open(os.path.join(rel, "probe"), "w") as f:
        f.write("p")
    with open(os.path.join(rel, "probe")) as f:
        if f.read() != "p":
            die("deep relative file lost")
    os.chdir(d)
    for _ in range(depth):
        os.chdir(comp)
    with open("leaf") as f:
        if f.read() != "deep":
            die("leaf beyond PATH_MAX lost")


def block(name, i, n):
    """Deterministic content: file name, offset index."""
    seed = hashlib.sha256(f"{name}:{i}".encode()).digest()
    return (seed * (n // len(seed) + 1))[:n]


def workload(d, log):
    """Appends to f0..f3 with open, write, fsync, close; every third write
    goes to s0 (O_DSYNC) or s1 (O_SYNC) through a write-only handle kept
    open, acknowledged when the write returns."""
    lf = open(log, "a")
    sync = {}
    i = 0
    while True:
        try:
            if i % 3 == 2:
                name = f"s{i // 3 % 2}"
                if name not in sync:
                    flag = os.O_DSYNC if name == "s0" else os.O_SYNC
                    sync[name] = os.open(os.path.join(d, name),
                                         os.O_WRONLY | os.O_CREAT | flag, 0o644)
                fd = sync[name]
                size = os.fstat(fd).st_size
                n = 4096 * (1 + i % 7)
                os.pwrite(fd, block(name, size, n), size)
            else:
                name = f"f{i % 4}"
                fd = os.open(os.path.join(d, name), os.O_WRONLY | os.O_CREAT, 0o644)
                size = os.fstat(fd).st_size
                n = 4096 * (1 + i % 50)
                os.pwrite(fd, block(name, size, n), size)
                os.fsync(fd)
                os.close(fd)
        except OSError:
            return  # the daemon is gone
        lf.write(f"{name} {size} {n}\n")
        lf.flush()
        os.fsync(lf.fileno())
        i += 1


def verify(d, log):
    acked = {}
    with open(log) as f:
        for line in f:
            parts = line.split()
            if len(parts) != 3:
                continue  # a torn last line was never acknowledged
            name, off, n = parts[0], int(parts[1]), int(parts[2])
            acked.setdefault(name, []).append((off, n))
    total = 0
    for name, recs in acked.items():
        with open(os.path.join(d, name), "rb") as f:
            for off, n in recs:
                f.seek(off)
                if f.read(n) != block(name, off, n):
                    die(f"{name}: fsync'd bytes at {off}+{n} lost or wrong")
                total += n
    print(total)


def resident(fd, size):
    """Which pages of fd's file are in the page cache: mincore() of a fresh
    read-only mapping, which faults nothing in."""
    libc.mmap.restype = ctypes.c_void_p
    libc.mmap.argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int, ctypes.c_int,
                          ctypes.c_int, ctypes.c_long]
    libc.mincore.argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_char_p]
    libc.munmap.argtypes = [ctypes.c_void_p, ctypes.c_size_t]
    addr = libc.mmap(None, size, mmap.PROT_READ, mmap.MAP_SHARED, fd, 0)
    if addr in (None, ctypes.c_void_p(-1).value):
        raise OSError(ctypes.get_errno(), "mmap")
    pages = (size + mmap.PAGESIZE - 1) // mmap.PAGESIZE
    vec = ctypes.create_string_buffer(pages)
    rc = libc.mincore(addr, size, vec)
    e = ctypes.get_errno()
    libc.munmap(addr, size)
    if rc != 0:
        raise OSError(e, "mincore")
    return [b & 1 for b in vec.raw]


def wronly(path):
    """A write-only handle bypasses the page cache (FOPEN_DIRECT_IO): the
    range it writes leaves the cache instead of being copied into it, and a
    reader's handle, a shared mapping and a new open all see the new bytes."""
    pg, n = mmap.PAGESIZE, 4
    with open(path, "wb") as f:
        f.write(b"A" * pg * n)
    r = os.open(path, os.O_RDONLY)
    rw = os.open(path, os.O_RDWR)
    m = mmap.mmap(rw, pg * n, mmap.MAP_SHARED, mmap.PROT_READ | mmap.PROT_WRITE)
    try:
        if os.pread(r, pg * n, 0) != b"A" * pg * n or m[:1] != b"A":
            die("wronly: the file does not read back before the write")
        if resident(r, pg * n) != [1] * n:
            die(f"wronly: a read left pages {resident(r, pg * n)} cached, want all {n}")
        w = os.open(path, os.O_WRONLY)
        os.pwrite(w, b"B" * pg, pg)
        cached = resident(r, pg * n)
        if os.pread(r, 1, pg) != b"B" or m[pg:pg + 1] != b"B":
            die("wronly: a cached reader or a shared mapping sees the old bytes")
        os.close(w)
        if cached[1] or not cached[0]:
            die(f"wronly: after writing page 1 through a write-only handle the cached pages"
                f" are {cached}: want page 1 dropped (the write bypassed the cache), page 0 kept")
        a = os.open(path, os.O_WRONLY | os.O_APPEND)
        os.write(a, b"C" * 10)
        os.close(a)
        if os.fstat(r).st_size != pg * n + 10 or os.pread(r, 10, pg * n) != b"C" * 10:
            die("wronly: an O_APPEND write-only handle's bytes are not seen")
    finally:
        m.close()
        os.close(rw)
        os.close(r)
    with open(path, "rb") as f:
        if f.read() != b"A" * pg + b"B" * pg + b"A" * pg * (n - 2) + b"C" * 10:
            die("wronly: a new open reads other bytes")


def write_times(path):
    """POSIX: a write marks mtime and ctime for update, so fstat right after
    it shows them new; the close (our commit) must not move them again,
    since the kernel keeps what it was told for its attribute timeout."""
    old = 981173106  # 2001-02-03
    for flags in (os.O_WRONLY, os.O_RDWR):
        with open(path, "wb") as f:
            f.write(b"x")
        os.utime(path, (old, old))
        fd = os.open(path, flags)
        before = os.fstat(fd)
        os.write(fd, b"more")
        during = os.fstat(fd)
        os.close(fd)
        after = os.stat(path)
        what = "O_WRONLY" if flags == os.O_WRONLY else "O_RDWR"
        if during.st_mtime_ns <= before.st_mtime_ns or during.st_ctime_ns < before.st_ctime_ns:
            die(f"write-times {what}: fstat after a write shows mtime {during.st_mtime_ns},"
                f" ctime {during.st_ctime_ns}: not updated from {before.st_mtime_ns}")
        if (after.st_mtime_ns, after.st_ctime_ns) != (during.st_mtime_ns, during.st_ctime_ns):
            die(f"write-times {what}: mtime/ctime {during.st_mtime_ns}/{during.st_ctime_ns}"
                f" after the write, {after.st_mtime_ns}/{after.st_ctime_ns} after close")


def cached_atime(path):
    """The kernel serves a cached file's reads without asking the daemon;
    under relatime a read after atime was set back must still move it."""
    n = 4 * mmap.PAGESIZE
    with open(path, "wb") as f:
        f.write(b"c" * n)
    with open(path, "rb") as f:  # through the daemon: cached, atime updated
        f.read()
    before = os.stat(path)
    old = before.st_mtime_ns - 10**9 * 86400 * 365
    os.utime(path, ns=(old, before.st_mtime_ns))  # atime < mtime: due again
    r = os.open(path, os.O_RDONLY)
    try:
        cached = sum(resident(r, n))
        if os.read(r, n) != b"c" * n:
            die("cached-atime: the file reads back wrong")
    finally:
        os.close(r)
    after = os.stat(path)
    if after.st_atime_ns <= old:
        die(f"cached-atime: a read with atime due left atime {after.st_atime_ns} (set to {old};"
            f" {cached} of {n // mmap.PAGESIZE} pages were cached at the open)")
    if after.st_mtime_ns != before.st_mtime_ns:
        die("cached-atime: the read moved mtime")


def listing_while_writing(path):
    """A listing of the directory (readdirplus: the kernel takes each
    entry's attributes as the file's) while the file holds staged bytes:
    stat, the writer's own reads and, after close, everyone's still see
    them. With the committed size in the listing, all three saw 0 bytes."""
    data = os.urandom(100000)
    fd = os.open(path, os.O_CREAT | os.O_RDWR | os.O_TRUNC, 0o644)
    try:
        os.write(fd, data)
        listed = [e.name for e in os.scandir(os.path.dirname(path) or ".")]
        if os.path.basename(path) not in listed:
            die(f"listing-while-writing: {path} not listed: {listed}")
        for what, size in (("stat", os.stat(path).st_size), ("fstat", os.fstat(fd).st_size)):
            if size != len(data):
                die(f"listing-while-writing: {what} after the listing says {size} bytes,"
                    f" {len(data)} written")
        if os.pread(fd, 1000, 50000) != data[50000:51000]:
            die("listing-while-writing: the writer's read after the listing is wrong")
    finally:
        os.close(fd)
    with open(path, "rb") as f:
        if f.read() != data:
            die("listing-while-writing: the file reads back wrong after close")


def main():
    cmd, args = sys.argv[1], sys.argv[2:]
    fns = {"rename2": rename2, "append": append, "mmap": mmap_shared, "wronly": wronly,
           "write-times": write_times, "cached-atime": cached_atime,
           "listing-while-writing": listing_while_writing, "copy-range": copy_range,
           "seek-hole": seek_hole, "names": names, "deep": deep, "workload": workload,
           "verify": verify}
    try:
        fns[cmd](*args)
    except OSError as e:
        oserr(e)


if __name__ == "__main__":
    main()
