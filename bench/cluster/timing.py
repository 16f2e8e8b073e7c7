"""Polling with a deadline and percentiles, shared by the workloads.

poll_until() checks at once, then backs off from 0.1 ms to 5 ms between
checks: the figure it returns is late by at most a third of the elapsed time
for short waits and by 5 ms for long ones (Syncthing's ~1 s), and it does not
steal a core from the daemons on this 2-core machine by spinning.
"""
import time


def poll_until(cond, timeout, what):
    """perf_counter() at the first check where cond() is true."""
    end = time.perf_counter() + timeout
    pause = 0.0001
    while True:
        if cond():
            return time.perf_counter()
        if time.perf_counter() > end:
            raise RuntimeError(f"timed out after {timeout} s waiting for {what}")
        time.sleep(pause)
        pause = min(pause * 1.5, 0.005)


def percentile(sorted_values, p):
    """Nearest-rank percentile of an ascending list (NaN if empty)."""
    if not sorted_values:
        return float("nan")
    k = min(len(sorted_values) - 1, max(0, round(p / 100 * (len(sorted_values) - 1))))
    return sorted_values[k]


def read_or_none(path, n=-1, offset=0):
    """The first n bytes of path from offset (all if n < 0), None if unreadable."""
    try:
        with open(path, "rb") as f:
            if offset:
                f.seek(offset)
            return f.read(n)
    except OSError:
        return None
