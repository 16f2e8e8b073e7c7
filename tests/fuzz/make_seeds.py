#!/usr/bin/env python3
"""Writes the committed seed corpus (tests/fuzz/corpus/<target>/): valid examples
of every frame and message, as docs/wire-format.md describes them. Re-run after
a format change: tests/fuzz/make_seeds.py"""
import hashlib
import os
import struct

HERE = os.path.dirname(os.path.abspath(__file__))
MAGIC = 0x4E534651


def frame(t, p, flags=0):
    return struct.pack("<IBBHI", MAGIC, 2, t, flags, len(p)) + p


def h(i):
    return hashlib.sha256(bytes([i])).digest()


def push(chunks, bid=1):
    body = b"".join(hashlib.sha256(c).digest() + struct.pack("<I", len(c)) + c for c in chunks)
    return struct.pack("<QI", bid, len(chunks)) + body


hello = h(1) + b"\x00"
ping = struct.pack("<QQ", 7, 123456789)
pushes = [push([]), push([b"a"]), push([b"x" * 100, b"", b"yz"])]
ack = struct.pack("<QI", 1, 2) + h(1) + b"\x00" + h(2) + b"\x01"
hq = struct.pack("<QI", 3, 2) + h(1)[:16] + h(2)[:16]
ha = struct.pack("<QI", 3, 9) + b"\x05\x01"
fr = struct.pack("<QI", 4, 1) + h(3)
fresp = [struct.pack("<Q", 4) + h(3) + b"\x00" + struct.pack("<I", 3) + b"abc",
         struct.pack("<Q", 4) + h(3) + b"\x02" + struct.pack("<I", 0)]
seeds = {
    "hello": [hello, h(2) + b"\x01"],
    "ping": [ping],
    "push": pushes,
    "ack": [ack, struct.pack("<QI", 1, 0)],
    "have-query": [hq],
    "have-answer": [ha],
    "fetch-req": [fr],
    "fetch-resp": fresp,
    "frame": [frame(1, hello) + frame(2, ping) + frame(3, ping),
              frame(4, b"opaque consensus bytes") + frame(5, pushes[2]),
              frame(6, ack) + frame(7, hq) + frame(8, ha),
              frame(9, fr, 1) + frame(10, fresp[0]) + frame(10, fresp[1])],
    "config": [b"# node\nnode-id = XJ4BNP4-PAHH6UO-QKBIDPF-3LRCEOI-YAGYNDS-YLXVHFZ-UCD7WD4-QACWWQW\n"
               b"listen = 127.0.0.1:7466\ndata = /var/lib/q\n"
               b"peer = UEVDNNL-DS7NLJQ-GYMXZBM-JHYBLI3-HAVU3SO-XMXXGJB-VAWV3O5-FRBNBM6 [::1]:7000\n"
               b"cert = /c\nkey = /k\n",
               b"node-id = x\nlisten = 1.2.3.4:99999\n"],
}
for target, items in seeds.items():
    d = os.path.join(HERE, "corpus", target)
    os.makedirs(d, exist_ok=True)
    for i, data in enumerate(items):
        with open(os.path.join(d, f"seed-{i}"), "wb") as f:
            f.write(data)
