"""Bytes one process sent to another over loopback TCP, from the kernel's
per-socket counters (tcp_info bytes_acked, read with `ss -tinpH`).

A snapshot maps every established TCP socket to (owner PID, bytes acked); the
peer of a socket is the process owning the socket at its remote end. The
difference of two snapshots gives the bytes each process sent to each other
one in between: TLS records and TCP payload, without IP/TCP headers. A socket
opened in between counts from zero; one closed in between is not counted, so
long-lived peer connections (quorumfs, Syncthing) are what this measures.
"""
import re
import subprocess

# With a state filter and -H, a socket's line is: Recv-Q Send-Q Local Peer users:...
_SOCK = re.compile(r"^\d+\s+\d+\s+(\S+)\s+(\S+)\s+users:(.*)$")
_PID = re.compile(r"pid=(\d+)")
_ACKED = re.compile(r"\bbytes_acked:(\d+)")


def snapshot():
    """{(local, remote): (owner PIDs, bytes_acked)} for every established TCP socket."""
    out = subprocess.run(["ss", "-tinpH", "state", "established"], capture_output=True,
                         text=True, check=True).stdout
    socks = {}
    key = None
    for line in out.splitlines():
        m = _SOCK.match(line)
        if m:
            key = (m.group(1), m.group(2))
            socks[key] = (frozenset(int(p) for p in _PID.findall(m.group(3))), 0)
            continue
        a = _ACKED.search(line)
        if key and a:
            socks[key] = (socks[key][0], int(a.group(1)))
            key = None
    return socks


def sent(before, after, src_pid, dst_pid):
    """Bytes src_pid sent to dst_pid between the two snapshots."""
    total = 0
    for (local, remote), (pids, acked) in after.items():
        if src_pid not in pids:
            continue
        peer = after.get((remote, local))
        if not peer or dst_pid not in peer[0]:
            continue
        old = before.get((local, remote))
        total += acked - (old[1] if old else 0)
    return total
