"""N concurrent clients, each a forked process (no GIL between them), each
doing `nops` operations; per-operation latencies and the aggregate rate.

Clients set up (connect, open dirs) before a shared barrier, so setup is not
timed; the rate is all operations over the span from the first client's start
to the last client's end (CLOCK_MONOTONIC is system-wide, so the processes'
clocks agree).
"""
import multiprocessing
import time


def _child(i, setup, op, nops, barrier, conn):
    try:
        state = setup(i)
        barrier.wait()
        lats = []
        start = time.perf_counter()
        for j in range(nops):
            t0 = time.perf_counter()
            op(state, i, j)
            lats.append(time.perf_counter() - t0)
        conn.send((start, time.perf_counter(), lats, None))
    except BaseException as e:  # reported by the parent, which raises
        barrier.abort()
        conn.send((0, 0, [], f"client {i}: {e!r}"))
    conn.close()


def run(nclients, setup, op, nops):
    """Returns (ops per second, sorted list of per-op latencies in seconds)."""
    ctx = multiprocessing.get_context("fork")
    barrier = ctx.Barrier(nclients)
    kids = []
    for i in range(nclients):
        parent_end, child_end = ctx.Pipe(duplex=False)
        p = ctx.Process(target=_child, args=(i, setup, op, nops, barrier, child_end))
        p.start()
        child_end.close()
        kids.append((p, parent_end))
    results = []
    for p, conn in kids:
        try:
            results.append(conn.recv())
        except EOFError:
            results.append((0, 0, [], f"client pid {p.pid} died"))
        p.join()
    errors = [r[3] for r in results if r[3]]
    if errors:
        raise RuntimeError("; ".join(errors[:3]))
    span = max(r[1] for r in results) - min(r[0] for r in results)
    lats = sorted(x for r in results for x in r[2])
    return len(lats) / span, lats
