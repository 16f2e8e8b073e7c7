"""File content format of the fault workload (docs/fault-testing.md).

A write with op id K on node N stores   b"W<K> <LEN>\\n" + payload(K, LEN)
and each append with op id J adds       b"A<J>\\n".
The payload is a deterministic function of (K, LEN), so any checker can
rebuild the exact bytes an acknowledged write stored and compare them.
"""
import hashlib
import random
import re

_HEADER = re.compile(rb"W(\d+) (\d+)\n")
_APPEND = re.compile(rb"A(\d+)\n")


def payload(op_id, length):
    rng = random.Random(op_id * 1000003 + length)
    return rng.randbytes(length)


def write_bytes(op_id, length):
    return b"W%d %d\n" % (op_id, length) + payload(op_id, length)


def append_bytes(op_id):
    return b"A%d\n" % op_id


def sha(data):
    return hashlib.sha256(data).hexdigest()


def parse(data):
    """Describes file content: {"base": write id or None, "appends": [ids],
    "intact": True when the whole content is one write's exact bytes followed
    by whole append lines}."""
    m = _HEADER.match(data)
    if not m:
        return {"base": None, "appends": [], "intact": data == b""}
    base, length = int(m.group(1)), int(m.group(2))
    end = m.end() + length
    intact = len(data) >= end and data[:end] == write_bytes(base, length)
    appends, pos = [], end
    while intact and pos < len(data):
        a = _APPEND.match(data, pos)
        if not a:
            intact = False
            break
        appends.append(int(a.group(1)))
        pos = a.end()
    return {"base": base, "appends": appends, "intact": intact}
