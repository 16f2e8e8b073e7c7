"""Sequential write of one large file (random bytes, 1 MiB writes) on A.

quorumfs: close() returning means durable on a majority; "present" on B and C
means each node's chunk store holds the file's bytes (its payload counter,
read with mdb_dump every 20 ms, grew by as much as A's did by close(), which
is the file size unless chunks were already stored), so nothing is fetched
on demand later. If the counter cannot be read, present = the file reads back
whole (SHA-256 through the mount), which also times the read.
Syncthing: A's copy is written and closed, B's appears under its final name
(Syncthing renames its temp file when every block is in) at full size.
rsync: `rsync --fsync FILE rsync://127.0.0.1:PORT/bench/` to a daemon, wall time.
Every copy is checked against the source's SHA-256 afterwards (untimed).
The bench runs rounds of the three in turn, a new source file each round, and
takes each one's median round (median(), note()).
"""
import hashlib
import os
import subprocess
import time

from qcluster import chunk_bytes
from timing import poll_until

CHUNK = 1 << 20


def sha256_file(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while buf := f.read(CHUNK):
            h.update(buf)
    return h.hexdigest()


def write_copy(source, dst):
    """Copies source to dst in 1 MiB writes; returns (t_start, t_closed)."""
    with open(source, "rb") as src:
        t0 = time.perf_counter()
        with open(dst, "wb") as out:
            while buf := src.read(CHUNK):
                out.write(buf)
    return t0, time.perf_counter()


def _settled_chunk_bytes(nodes, timeout=60):
    """Every node's chunk payload counter once none has changed for 1 s: the
    garbage collector has freed what earlier workloads replaced, so it does
    not eat into the growth this workload waits for."""
    end = time.monotonic() + timeout
    last = None
    while True:
        cur = {n.name: chunk_bytes(n.data) for n in nodes}
        if cur == last or time.monotonic() > end:
            return cur
        last = cur
        time.sleep(1)


def quorumfs(cluster, source, name):
    size = os.path.getsize(source)
    a, others = cluster.nodes[0], cluster.nodes[1:]
    base = _settled_chunk_bytes(cluster.nodes)
    t0, t_major = write_copy(source, os.path.join(a.mnt, name))
    grown = chunk_bytes(a.data) - base[a.name]
    present = {}
    if all(v >= 0 for v in base.values()):
        how = f"chunk store, {grown / 1e6:.0f} MB new on A"
        pending = list(others)
        timeout = max(60, 5 * (t_major - t0))  # then "present" shows as TIMEOUT
        end = time.perf_counter() + timeout
        while pending and time.perf_counter() < end:
            for n in list(pending):
                if chunk_bytes(n.data) - base[n.name] >= grown:
                    present[n.name] = time.perf_counter()
                    pending.remove(n)
            time.sleep(0.02)
    else:
        how = "read back"
        want = sha256_file(source)
        for n in others:
            p = os.path.join(n.mnt, name)
            present[n.name] = poll_until(lambda: sha256_file(p) == want, 600,
                                         f"{p} to read back whole")
    want = sha256_file(source)
    ok = all(sha256_file(os.path.join(n.mnt, name)) == want for n in cluster.nodes)
    return dict(size=size, majority_s=t_major - t0, how=how, intact=ok,
                all_s=(max(present.values()) - t0) if len(present) == len(others) else None)


def syncthing(pair, source, name, timeout=600):
    size = os.path.getsize(source)
    dst = os.path.join(pair.b.folder, name)

    def arrived():
        try:
            return os.path.getsize(dst) == size
        except OSError:
            return False
    t0, t_local = write_copy(source, os.path.join(pair.a.folder, name))
    t_b = poll_until(arrived, timeout, f"Syncthing to deliver {name} to B")
    return dict(size=size, local_s=t_local - t0, peer_s=t_b - t0,
                intact=sha256_file(dst) == sha256_file(source))


def rsync(port, dest_dir, source):
    size = os.path.getsize(source)
    t0 = time.perf_counter()
    subprocess.run(["rsync", "--fsync", source, f"rsync://127.0.0.1:{port}/bench/"],
                   check=True, capture_output=True)
    t = time.perf_counter() - t0
    dst = os.path.join(dest_dir, os.path.basename(source))
    return dict(size=size, peer_s=t, intact=sha256_file(dst) == sha256_file(source))


def median(results, key):
    """The round whose `key` time is the median (a round with no time, a
    TIMEOUT, counts as the slowest), or None without rounds."""
    if not results:
        return None
    slow = sorted(results, key=lambda r: r[key] if r[key] is not None else float("inf"))
    return slow[(len(slow) - 1) // 2]


def note(mib, qr, sr, rr):
    def secs(rounds, key):
        return "/".join(f"{r[key]:.2f}" if r[key] is not None else "TIMEOUT" for r in rounds)
    out = (f"seq write: {mib} MiB of random bytes in 1 MiB writes, "
           f"{max(len(qr), len(sr))} round(s), a new file each, medians in the rows; "
           f"seconds by round:")
    if qr:
        out += (f" quorumfs close() {secs(qr, 'majority_s')}, present on B and C "
                f"({qr[0]['how'].split(',')[0]}) {secs(qr, 'all_s')}, copies intact: "
                f"{all(r['intact'] for r in qr)};")
    if sr:
        out += (f" Syncthing A's write+close {secs(sr, 'local_s')}, on B {secs(sr, 'peer_s')}, "
                f"intact: {all(r['intact'] for r in sr)};")
    if rr:
        out += f" rsync --fsync {secs(rr, 'peer_s')}, intact: {all(r['intact'] for r in rr)}."
    return out


def rows(q, st, rs):
    out = []

    def mbs(r, key):
        return r["size"] / r[key] / 1e6 if r and r.get(key) else None
    st_mbs = mbs(st, "peer_s")
    out.append(dict(label="seq write: durable on majority", unit="MB/s", q=mbs(q, "majority_s"),
                    a=mbs(rs, "peer_s"), anchor="rsync --fsync", better="higher", target="",
                    ok=None))
    ok = None
    if q and st:
        ok = q["all_s"] is not None and q["all_s"] <= st["peer_s"]
    out.append(dict(label="seq write: present on all three", unit="MB/s", q=mbs(q, "all_s"),
                    a=st_mbs, anchor="Syncthing A->B", better="higher",
                    target=">= Syncthing A->B", ok=ok))
    out.append(dict(label="seq write: present on all three", unit="MB/s", q=mbs(q, "all_s"),
                    a=mbs(rs, "peer_s"), anchor="rsync --fsync", better="higher", target="",
                    ok=None))
    return out
