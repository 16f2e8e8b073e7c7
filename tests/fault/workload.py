#!/usr/bin/env python3
"""Concurrent filesystem workload over N node mountpoints, recording every
operation to a history file (fault_history.py, docs/fault-testing.md).

  workload.py setup MOUNT                 creates the shared directories
  workload.py run --mounts M0,M1,... --out HISTORY [--clients 4]
              [--duration 5] [--timeout 10] [--seed 1] [--think-ms 2]
              [--big-node I --big-mb 32] [--stop-file PATH]

Clients (threads) on every node pick operations at random: in ns/ the
namespace operations the linearizability checker models (create, mkdir,
unlink, rmdir, rename, lookup on names n0..n5), in d0..d2/ content
operations on files f0..f3 (write+fsync, append+fsync, read-after-open,
rename, unlink) and mkdir/rmdir of s0/s1, and in u/ small writes+fsync of
files written once and never touched again ("keep" writes: nothing may
replace them, so the lost-write checker holds every acknowledged one to
the end, where the shared files' last writes all had rivals). With
--big-node I one more client on node I only writes --big-mb MiB files to
big/b<I> (a long content commit to crash into). Every op is bounded: a watchdog
records an op that has not returned within --timeout as "unknown", retires
its client (a late answer is recorded as "late") and starts a replacement.
"""
import argparse
import errno
import os
import random
import stat
import sys
import threading
import time

import fault_content as content
from fault_history import NO_EFFECT, NOT_MOUNTED, HistoryWriter

NS_NAMES = [f"n{i}" for i in range(6)]
CONTENT_DIRS = ["d0", "d1", "d2"]
FILES = ["f0", "f1", "f2", "f3"]
SUBDIRS = ["s0", "s1"]
SIZES = [0, 16, 512, 4096, 20000, 70000]
NO_EFFECT_OUTCOMES = NO_EFFECT | {"ok"}
WEIGHTS = {"create": 8, "mkdir": 6, "unlink_ns": 6, "rmdir": 6, "rename_ns": 8, "lookup": 8,
           "write": 20, "append": 10, "read": 16, "rename": 4, "unlink": 3, "mkdir_c": 2,
           "rmdir_c": 2, "keep": 1}
KEEP_SIZES = SIZES[:4]  # small: a long run writes thousands


def setup(mount):
    for d in ["ns", "big", "u"] + CONTENT_DIRS:
        os.makedirs(os.path.join(mount, d), exist_ok=True)


def ns_state(mount):
    state = {}
    for name in NS_NAMES:
        try:
            st = os.lstat(os.path.join(mount, "ns", name))
            state[name] = "dir" if stat.S_ISDIR(st.st_mode) else "file"
        except FileNotFoundError:
            pass
    return state


def choose(rng):
    kind = rng.choices(list(WEIGHTS), weights=list(WEIGHTS.values()))[0]
    if kind in ("create", "mkdir", "rmdir", "lookup"):
        return {"op": kind, "path": "ns/" + rng.choice(NS_NAMES)}
    if kind == "unlink_ns":
        return {"op": "unlink", "path": "ns/" + rng.choice(NS_NAMES)}
    if kind == "rename_ns":
        return {"op": "rename", "path": "ns/" + rng.choice(NS_NAMES),
                "path2": "ns/" + rng.choice(NS_NAMES)}
    cpath = lambda names: rng.choice(CONTENT_DIRS) + "/" + rng.choice(names)
    if kind == "rename":
        return {"op": "rename", "path": cpath(FILES), "path2": cpath(FILES)}
    if kind in ("mkdir_c", "rmdir_c"):
        return {"op": kind[:5], "path": cpath(SUBDIRS)}
    if kind == "keep":  # the client names the file (client_loop)
        return {"op": "write", "path": None, "args": {"len": rng.choice(KEEP_SIZES)}}
    spec = {"op": kind, "path": cpath(FILES)}
    if kind == "write":
        spec["args"] = {"len": rng.choice(SIZES)}
    return spec


def write_all(fd, data):
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view):]


_marks = threading.local()  # this client's syscall times in its current op


def mark(step):
    """Notes the end of one syscall of the op; a late op's answer lists them
    (where a slow link spent the time)."""
    _marks.list.append((step, time.monotonic_ns()))


def do_write(path, data, flags):
    """A failure after the open is marked: O_TRUNC has already emptied the
    file, so even ENOENT (the file was removed before the commit) does not
    mean the op had no effect."""
    fd = os.open(path, flags, 0o644)
    mark("open")
    try:
        try:
            write_all(fd, data)
            mark("write")
            os.fsync(fd)
            mark("fsync")
        finally:
            os.close(fd)
            mark("close")
    except OSError as e:
        e.after_open = True
        raise


def do_read(path):
    fd = os.open(path, os.O_RDONLY)
    mark("open")
    try:
        chunks = []
        while True:
            b = os.read(fd, 1 << 20)
            if not b:
                break
            chunks.append(b)
        mark("read")
    finally:
        os.close(fd)
        mark("close")
    data = b"".join(chunks)
    return dict(content.parse(data), len=len(data), sha=content.sha(data))


def execute(mount, op_id, spec):
    """Performs one op; returns its result (None for most) or raises OSError."""
    p = os.path.join(mount, spec["path"])
    op = spec["op"]
    if op == "create":
        fd = os.open(p, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
        try:
            _marks.ino = os.fstat(fd).st_ino
        finally:
            os.close(fd)
    elif op == "mkdir":
        os.mkdir(p, 0o755)
    elif op == "unlink":
        os.unlink(p)
    elif op == "rmdir":
        os.rmdir(p)
    elif op == "rename":
        os.rename(p, os.path.join(mount, spec["path2"]))
    elif op == "lookup":
        st = os.lstat(p)
        _marks.ino = st.st_ino
        return "dir" if stat.S_ISDIR(st.st_mode) else "file"
    elif op == "write":
        data = content.write_bytes(op_id, spec["args"]["len"])
        do_write(p, data, os.O_WRONLY | os.O_CREAT | os.O_TRUNC)
        return {"sha": content.sha(data)}
    elif op == "append":
        do_write(p, content.append_bytes(op_id), os.O_WRONLY | os.O_APPEND)
    elif op == "read":
        return do_read(p)
    return None


class Workload:
    def __init__(self, args):
        self.args = args
        self.mounts = args.mounts.split(",")
        self.lock = threading.Lock()  # guards next_id, next_client, inflight, budget, counts
        self.next_id, self.next_client = 1, 0
        self.inflight = {}  # client id -> [op id, start ns, declared unknown?]
        self.client_nodes = {}  # client id -> node
        self.budget = {n: 2 * args.clients for n in range(len(self.mounts))}
        self.counts = {"ok": 0, "fail": 0, "unknown": 0}
        self.stop = threading.Event()
        self.threads = []
        header = {"nodes": len(self.mounts), "clients_per_node": args.clients,
                  "timeout_ns": int(args.timeout * 1e9), "seed": args.seed,
                  "ns_names": NS_NAMES, "ns_init": ns_state(self.mounts[0]),
                  "clock": "CLOCK_MONOTONIC ns"}
        self.hist = HistoryWriter(args.out, header)

    def start_client(self, node, big=False):
        with self.lock:
            cid = self.next_client
            self.next_client += 1
            self.client_nodes[cid] = node
        rng = random.Random(self.args.seed * 7919 + cid)
        t = threading.Thread(target=self.client_loop, args=(node, cid, rng, big), daemon=True)
        self.threads.append(t)
        t.start()

    def client_loop(self, node, cid, rng, big=False):
        kept = 0
        while not self.stop.is_set():
            spec = choose(rng)
            if spec["path"] is None:  # a keep write: a name no other op uses
                kept += 1
                spec["path"] = f"u/c{cid}-{kept}"
            if big:
                spec = {"op": "write", "path": f"big/b{node}",
                        "args": {"len": self.args.big_mb << 20}}
            outcome = self.one_op(node, cid, spec)
            if outcome is None:
                return  # retired: its op was declared unknown
            if outcome not in NO_EFFECT_OUTCOMES:
                # A dead, read-only or full node fails fast; retrying at full
                # speed would only flood the history with identical failures.
                time.sleep(self.args.error_backoff_ms / 1000.0)
            elif self.args.think_ms:
                time.sleep(rng.uniform(0, self.args.think_ms) / 1000.0)

    def one_op(self, node, cid, spec):
        """Runs and records one op; returns "ok" or its errno name, or None
        if the watchdog declared it unknown meanwhile."""
        with self.lock:
            op_id = self.next_id
            self.next_id += 1
            t0 = time.monotonic_ns()
            self.inflight[cid] = [op_id, t0, False]
        self.hist.record(ev="invoke", id=op_id, node=node, client=cid, t=t0, **spec)
        out = {}
        _marks.list = [("invoke", t0)]
        _marks.ino = None
        try:
            out["result"] = execute(self.mounts[node], op_id, spec)
            kind = "ok"
            if _marks.ino is not None:
                out["ino"] = _marks.ino
        except OSError as e:
            kind, out["errno"] = "fail", errno.errorcode.get(e.errno, str(e.errno))
            if getattr(e, "after_open", False):
                out["after_open"] = True
            if self.args.require_mount and e.errno != errno.ENOTCONN and \
                    not os.path.ismount(self.mounts[node]):
                # A restarting node's bare mount point: no daemon saw it.
                out["errno"] = NOT_MOUNTED
        t1 = time.monotonic_ns()
        with self.lock:
            timed_out = self.inflight.pop(cid)[2]
            if not timed_out:
                self.counts[kind] += 1
        if timed_out:
            m = _marks.list
            out["steps_ms"] = [[m[i][0], round((m[i][1] - m[i - 1][1]) / 1e6, 1)]
                               for i in range(1, len(m))]
            self.hist.record(ev="late", id=op_id, t=t1, outcome=kind, **out)
            return None
        self.hist.record(ev=kind, id=op_id, t=t1, **out)
        return out.get("errno", "ok")

    def watchdog_pass(self):
        bound = int(self.args.timeout * 1e9)
        now = time.monotonic_ns()
        replace = []
        with self.lock:
            for cid, entry in self.inflight.items():
                if not entry[2] and now - entry[1] > bound:
                    entry[2] = True
                    self.counts["unknown"] += 1
                    self.hist.record(ev="unknown", id=entry[0], t=now, why="timeout")
                    replace.append(cid)
        for cid in replace:
            with self.lock:
                node = self.client_nodes[cid]
                ok = self.budget[node] > 0 and not self.stop.is_set()
                self.budget[node] -= ok
            if ok:
                self.start_client(node)

    def run(self):
        for node in range(len(self.mounts)):
            for _ in range(self.args.clients):
                self.start_client(node)
        if self.args.big_node is not None:
            self.start_client(self.args.big_node, big=True)
        end = time.monotonic() + self.args.duration
        stop_file = self.args.stop_file
        while time.monotonic() < end and not (stop_file and os.path.exists(stop_file)):
            time.sleep(0.05)
            self.watchdog_pass()
        self.stop.set()
        drain_end = time.monotonic() + self.args.timeout + 1.0
        while time.monotonic() < drain_end and any(t.is_alive() for t in self.threads):
            time.sleep(0.05)
            self.watchdog_pass()
        self.watchdog_pass()
        self.hist.close()
        print("workload: ops ok %(ok)d failed %(fail)d unknown %(unknown)d" % self.counts)


def main():
    ap = argparse.ArgumentParser()
    sub = ap.add_subparsers(dest="cmd", required=True)
    s = sub.add_parser("setup")
    s.add_argument("mount")
    r = sub.add_parser("run")
    r.add_argument("--mounts", required=True)
    r.add_argument("--out", required=True)
    r.add_argument("--clients", type=int, default=4)
    r.add_argument("--duration", type=float, default=5.0)
    r.add_argument("--timeout", type=float, default=10.0)
    r.add_argument("--seed", type=int, default=1)
    r.add_argument("--think-ms", type=float, default=2.0)
    r.add_argument("--error-backoff-ms", type=float, default=100.0,
                   help="pause after a failure other than a namespace errno")
    r.add_argument("--stop-file", help="stop early once this file exists")
    r.add_argument("--require-mount", action="store_true",
                   help="an op that failed on an unmounted mount point is recorded as "
                        + NOT_MOUNTED)
    r.add_argument("--big-node", type=int)
    r.add_argument("--big-mb", type=int, default=32)
    args = ap.parse_args()
    if args.cmd == "setup":
        setup(args.mount)
        return 0
    Workload(args).run()
    sys.stdout.flush()
    os._exit(0)  # threads stuck in a hung syscall must not keep us alive


if __name__ == "__main__":
    sys.exit(main())
