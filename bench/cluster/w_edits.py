"""Small edits of a large file: overwrite 1 byte in the middle (in place), and
insert 1 byte at the start (the whole file rewritten in place: O_TRUNC, then
the new content in 1 MiB writes, as an editor without a backup copy saves).

Per edit: the bytes the writing node sent to each peer (kernel TCP counters,
traffic.py) from just before the edit until the traffic has settled after the
peer saw the new content, and the time from A's close() returning to B's first
read of the new content. Peer connections carry heartbeats too: each pair's
idle rate is measured over 2 s before the edits, and idle rate x window is
subtracted (the raw figures are kept as well).
"""
import hashlib
import os
import time

import traffic
from timing import poll_until

CHUNK = 1 << 20


def _copy(source, dst, size, prefix=b""):
    with open(source, "rb") as src, open(dst, "wb") as out:
        out.write(prefix)
        left = size
        while left:
            buf = src.read(min(CHUNK, left))
            out.write(buf)
            left -= len(buf)


def _sha(path):
    h = hashlib.sha256()
    try:
        with open(path, "rb") as f:
            while buf := f.read(CHUNK):
                h.update(buf)
    except OSError:
        return None
    return h.digest()


def _all_bytes(before, after, pids):
    return sum(traffic.sent(before, after, s, d) for s in pids for d in pids if s != d)


def settle(pids, quiet=64 << 10, window=0.5, timeout=120):
    """Waits until the processes' traffic is background only: two windows in a
    row under `quiet` bytes that differ by less than 4 KiB + 25% (heartbeats
    are steady; a transfer is neither small nor steady)."""
    end = time.monotonic() + timeout
    last = None
    s1 = traffic.snapshot()
    while time.monotonic() < end:
        time.sleep(window)
        s2 = traffic.snapshot()
        cur = _all_bytes(s1, s2, pids)
        if last is not None and max(cur, last) < quiet and abs(cur - last) < 4096 + last / 4:
            return
        last, s1 = cur, s2
    raise RuntimeError("peer traffic did not settle")


class Edits:
    """src: the writer's directory and PID; peers: [(name, directory, PID)], the
    first one is the node whose view is timed."""

    def __init__(self, src_dir, src_pid, peers, source, size):
        self.src_dir, self.src_pid, self.peers = src_dir, src_pid, peers
        self.source, self.size = source, size
        self.pids = [src_pid] + [p[2] for p in peers]
        self.name = "edit.dat"
        _copy(source, os.path.join(src_dir, self.name), size)
        want = _sha(os.path.join(src_dir, self.name))
        for _n, d, _pid in peers:
            poll_until(lambda: _sha(os.path.join(d, self.name)) == want, 300,
                       f"{self.name} to reach {d}")
        settle(self.pids)
        s1, t1 = traffic.snapshot(), time.perf_counter()
        time.sleep(2)
        s2, t2 = traffic.snapshot(), time.perf_counter()
        self.idle_all = _all_bytes(s1, s2, self.pids) / (t2 - t1)
        self.idle = {n: traffic.sent(s1, s2, src_pid, pid) / (t2 - t1) for n, _d, pid in peers}

    def _measure(self, edit, check):
        """Runs edit() on the writer; returns dict of times and bytes per peer."""
        peer_dir = self.peers[0][1]
        path = os.path.join(peer_dir, self.name)
        before = traffic.snapshot()
        t0 = time.perf_counter()
        edit(os.path.join(self.src_dir, self.name))
        t1 = time.perf_counter()
        t2 = poll_until(lambda: check(path), 60, f"{path} to show the edit")
        settle(self.pids)
        after = traffic.snapshot()
        span = time.perf_counter() - t0
        raw = {n: traffic.sent(before, after, self.src_pid, pid) for n, _d, pid in self.peers}
        return dict(edit_s=t1 - t0, seen_s=t2 - t1, span_s=span, raw=raw,
                    total=_all_bytes(before, after, self.pids),
                    sent={n: max(0, raw[n] - self.idle[n] * span) for n in raw})

    def overwrite_middle(self):
        off = self.size // 2
        with open(os.path.join(self.src_dir, self.name), "rb") as f:
            f.seek(off)
            new = bytes([f.read(1)[0] ^ 0xFF])

        def edit(p):
            with open(p, "r+b") as f:
                f.seek(off)
                f.write(new)

        def check(p):
            try:
                with open(p, "rb") as f:
                    f.seek(off)
                    return f.read(1) == new
            except OSError:
                return False
        return self._measure(edit, check)

    def insert_at_start(self):
        with open(os.path.join(self.src_dir, self.name), "rb") as f:
            head = f.read(1)
            f.seek(-16, os.SEEK_END)
            tail = f.read(16)
        size = os.path.getsize(os.path.join(self.src_dir, self.name))
        tmp = os.path.join(os.path.dirname(self.source), "edit-insert.src")
        _copy(os.path.join(self.src_dir, self.name), tmp, size)  # old content, read back

        def edit(p):
            _copy(tmp, p, size, prefix=b"Z")

        def check(p):
            try:
                with open(p, "rb") as f:
                    if f.read(2) != b"Z" + head:
                        return False
                    f.seek(-16, os.SEEK_END)
                    return f.tell() == size - 15 and f.read(16) == tail
            except OSError:
                return False
        r = self._measure(edit, check)
        os.unlink(tmp)
        return r


def rows(q, st, size):
    """q, st: {'overwrite': _measure() result, 'insert': ...} or None."""
    mib = size >> 20
    out = []
    for key, what in (("overwrite", f"overwrite 1 B mid {mib} MiB"),
                      ("insert", f"insert 1 B at start, {mib} MiB")):
        qr, sr = (q or {}).get(key), (st or {}).get(key)
        for peer in ("b", "c"):
            v = qr["sent"][peer] / 1e6 if qr else None
            a = sr["sent"]["b"] / 1e6 if sr and peer == "b" else None
            out.append(dict(label=f"{what}: sent A->{peer.upper()}", unit="MB", q=v, a=a,
                            anchor="Syncthing A->B" if peer == "b" else "(no 3rd peer)", better="lower", target="<= 0.17 MB",
                            ok=None if v is None else v <= 0.17))
        v = qr["seen_s"] * 1e3 if qr else None
        a = sr["seen_s"] * 1e3 if sr else None
        out.append(dict(label=f"{what}: B sees it", unit="ms", q=v, a=a, anchor="Syncthing",
                        better="lower", target="< 50 ms", ok=None if v is None else v < 50))
    return out
