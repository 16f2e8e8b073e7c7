"""Sync latency: write+close a new 4 KiB file on one node, then poll
open+read of it on another until the content matches; one file at a time.
The figure runs from just before A's open() to the first matching read on B.
"""
import errno
import os
import time

from timing import percentile, poll_until, read_or_none


def describe(path, want):
    """What a reader sees at path, for the error when it never matches."""
    try:
        with open(path, "rb") as f:
            got = f.read()
    except OSError as e:
        return errno.errorcode.get(e.errno, str(e.errno))
    return f"{len(got)} bytes, {'same' if got == want else 'different'} content"


def measure(src_dir, dst_dir, nfiles, timeout=10, max_misses=5):
    """(sorted latencies in seconds, misses) of nfiles files written in src_dir
    and read in dst_dir. A file B does not see within `timeout` counts as an
    infinite latency and its story goes to misses; more than max_misses of
    them end the run (RuntimeError)."""
    sub = f"lat-{os.getpid()}-{time.monotonic_ns()}"
    os.mkdir(os.path.join(src_dir, sub))
    poll_until(lambda: os.path.isdir(os.path.join(dst_dir, sub)), 30,
               f"directory {sub} to appear in {dst_dir}")
    lats, misses = [], []
    for i in range(nfiles + 1):  # file 0 warms up and is not counted
        data = os.urandom(4096)
        name = os.path.join(sub, f"f{i:05d}")
        dst = os.path.join(dst_dir, name)
        t0 = time.perf_counter()
        with open(os.path.join(src_dir, name), "wb") as f:
            f.write(data)
        try:
            t1 = poll_until(lambda: read_or_none(dst) == data, timeout, f"{dst} to match")
        except RuntimeError:
            misses.append(f"file {i}: after {timeout} s B sees {describe(dst, data)}, "
                          f"A sees {describe(os.path.join(src_dir, name), data)}")
            if len(misses) > max_misses:
                raise RuntimeError("; ".join(misses)) from None
            t1 = float("inf")
        if i:
            lats.append(t1 - t0)
    return sorted(lats), misses


def rows(q_lats, st_lats, q_misses, st_misses):
    """Table rows: p50, p99 and misses of quorumfs (None if not run) against Syncthing."""
    out = []
    for p in (50, 99):
        q = percentile(q_lats, p) * 1e3 if q_lats else None
        a = percentile(st_lats, p) * 1e3 if st_lats else None
        target = "< 10 ms, >= 100x" if p == 50 else ""
        ok = None
        if p == 50 and q is not None:
            ok = q < 10 and (a is None or a / q >= 100)
        out.append(dict(label=f"sync latency 4 KiB, p{p}", unit="ms", q=q, a=a,
                        anchor="Syncthing", better="lower", target=target, ok=ok))
    q = len(q_misses) if q_lats else None
    out.append(dict(label="sync: files B did not see in time", unit="files", q=q,
                    a=len(st_misses) if st_lats else None, anchor="Syncthing", better=None,
                    target="0", ok=None if q is None else q == 0))
    return out
