"""Metadata throughput: creates/s and renames/s of empty files with 1 and 16
concurrent clients, client i working in its own directory on mount i % 3;
against etcd puts/s with the same concurrency, client i talking to member
i % 3 (a 24-byte key and a 64-byte value per put).
"""
import os
import time

import clients
import etcd
from timing import percentile, poll_until


def _dirs(mounts, nclients, tag):
    """Creates one directory per client (on the first mount), and waits until
    each is visible on the mount its client uses."""
    base = os.path.join(mounts[0], tag)
    os.mkdir(base)
    for i in range(nclients):
        os.mkdir(os.path.join(base, f"c{i}"))
    out = [os.path.join(mounts[i % len(mounts)], tag, f"c{i}") for i in range(nclients)]
    for d in out:
        poll_until(lambda: os.path.isdir(d), 30, f"{d} to appear")
    return out


def _create(d, i, j):
    os.close(os.open(os.path.join(d, f"f{j:06d}"), os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644))


def _rename(d, i, j):
    os.rename(os.path.join(d, f"f{j:06d}"), os.path.join(d, f"r{j:06d}"))


WARM_SECS = 3.0


def _warm(op, state):
    """The single client's operation, unmeasured, for WARM_SECS: quorumfs
    hands its leadership to the node the commands come from within about 2 s
    (docs/ARCHITECTURE.md, "The leader follows the commands"), and the
    1-client rows are meant to show that steady state. etcd gets the same
    warm-up (it does not move its leader)."""
    end, j = time.perf_counter() + WARM_SECS, 0
    while time.perf_counter() < end:
        op(state, 0, j)
        j += 1


def quorumfs_warm(mounts):
    d = os.path.join(mounts[0], "meta-warm")
    os.mkdir(d)
    _warm(_create, d)


def etcd_warm(cluster):
    value = b"v" * 64
    _warm(lambda c, i, j: c.put(b"bench/warm/k%012d" % j, value), etcd.Client(cluster, 0))


def quorumfs(mounts, nclients, nops):
    """{'create': (ops/s, latencies), 'rename': (ops/s, latencies)}."""
    dirs = _dirs(mounts, nclients, f"meta-{nclients}")
    out = {}
    for name, op in (("create", _create), ("rename", _rename)):
        out[name] = clients.run(nclients, lambda i: dirs[i], op, nops)
    return out


def etcd_puts(cluster, nclients, nops):
    """(puts/s, latencies)."""
    value = b"v" * 64

    def put(c, i, j):
        c.put(b"bench/c%02d/k%012d" % (i, j), value)
    return clients.run(nclients, lambda i: etcd.Client(cluster, i), put, nops)


def rows(q, e, many):
    """q: {nclients: quorumfs() result} ; e: {nclients: etcd_puts() result}."""
    out = []
    for n in (1, many):
        qr, er = q.get(n), e.get(n)
        a = er[0] if er else None
        for op in ("create", "rename"):
            v = qr[op][0] if qr else None
            target, ok = "", None
            if n == many and op == "create":
                target = ">= 3x etcd"
                ok = None if v is None or a is None else v / a >= 3
            out.append(dict(label=f"{op}s/s, {n} client{'s' if n > 1 else ''}", unit="ops/s",
                            q=v, a=a, anchor="etcd puts/s", better="higher", target=target,
                            ok=ok))
        if n == 1:
            v = percentile(qr["create"][1], 50) * 1e3 if qr else None
            a1 = percentile(er[1], 50) * 1e3 if er else None
            out.append(dict(label="create p50, 1 client", unit="ms", q=v, a=a1,
                            anchor="etcd put p50", better="lower", target="<= 1 ms",
                            ok=None if v is None else v <= 1.0))
    return out
