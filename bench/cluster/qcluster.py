"""A 3-node quorumfs cluster on 127.0.0.1, started and stopped by the bench
itself (no dependency on tools/demo-cluster): `qfs init` per node with a free
port, every other node appended to node.conf as `peer = ID ADDR`, then
`quorumfs -c DATA/node.conf -f --pid-file P MOUNTPOINT` per node.

Ready means: all three mounted, and a directory made on A (retried while
there is no quorum yet) shows on B and C. Nodes are named a, b, c; their data
dirs and mounts live in the scratch dir (the data disk by default).
"""
import json
import os
import shutil
import subprocess

from procs import free_port, is_mounted, wait_for

NAMES = ("a", "b", "c")


def find_binaries(build):
    """(quorumfs, qfs) from the build dir, else from PATH."""
    found = []
    for rel, name in (("fs/fuse/quorumfs", "quorumfs"), ("tools/qfs", "qfs")):
        p = os.path.join(build, rel)
        if not os.access(p, os.X_OK):
            p = shutil.which(name)
        if not p:
            raise RuntimeError(f"{name} not found in {build}/{rel} nor on PATH: build first")
        found.append(os.path.abspath(p))
    return found


def has_cluster_mode(quorumfs):
    out = subprocess.run([quorumfs, "--help"], capture_output=True, text=True)
    return " -c " in out.stdout + out.stderr or "--config" in out.stdout + out.stderr


class Node:
    def __init__(self, name, data, mnt, port):
        self.name, self.data, self.mnt, self.port = name, data, mnt, port
        self.id = None
        self.proc = None

    @property
    def pid(self):
        return self.proc.pid


class QfsCluster:
    def __init__(self, scratch, build, extra_opts=()):
        self.scratch = scratch
        quorumfs, qfs = find_binaries(build)
        self.qfs = qfs
        self.nodes = [Node(n, scratch.path(f"qfs-{n}"), scratch.path(f"mnt-{n}"), free_port())
                      for n in NAMES]
        for n in self.nodes:
            out = subprocess.run([qfs, "init", "--data", n.data, "--listen",
                                  f"127.0.0.1:{n.port}"], capture_output=True, text=True,
                                 check=True).stdout
            n.id = out.split()[-1].strip()
        for n in self.nodes:
            with open(os.path.join(n.data, "node.conf"), "a") as f:
                for peer in self.nodes:
                    if peer is not n:
                        f.write(f"peer = {peer.id} 127.0.0.1:{peer.port}\n")
        for n in self.nodes:
            os.makedirs(n.mnt)
            n.proc = scratch.spawn(f"quorumfs-{n.name}", [
                quorumfs, "-c", os.path.join(n.data, "node.conf"), "-f",
                "--pid-file", scratch.path(f"quorumfs-{n.name}.pid"), *extra_opts, n.mnt],
                mountpoint=n.mnt)
        for n in self.nodes:
            wait_for(lambda: self._mounted(n), 30, f"node {n.name} to mount")
        self._wait_quorum()

    def _mounted(self, n):
        if n.proc.poll() is not None:
            raise RuntimeError(f"quorumfs on node {n.name} exited with {n.proc.returncode}")
        return is_mounted(n.mnt)

    def _wait_quorum(self):
        """A directory made on a (retried while there is no quorum yet) shows
        on b and c: metadata only, so readiness does not depend on content
        replication, which each workload then checks for itself."""
        probe = os.path.join(self.nodes[0].mnt, ".bench-ready")

        def mkdir():
            try:
                os.mkdir(probe)
            except FileExistsError:
                pass
            except OSError:
                return False
            return True
        wait_for(mkdir, 60, "a mkdir on node a to succeed (quorum)", 0.1)
        for n in self.nodes[1:]:
            p = os.path.join(n.mnt, ".bench-ready")
            wait_for(lambda: os.path.isdir(p), 60, f"node {n.name} to see node a's mkdir", 0.05)

    def node(self, name):
        return self.nodes[NAMES.index(name)]

    def leader(self):
        """The name of the node that node a sees leading, or None: where a
        client's mount sits relative to the leader decides a create's cost
        (on a follower's it adds the forward, the commit announcement and
        that node's own apply)."""
        out = subprocess.run([self.qfs, "status", "--json", "--data", self.nodes[0].data],
                             capture_output=True, text=True).stdout
        try:
            lid = json.loads(out)["consensus"]["leader"]
        except (ValueError, KeyError, TypeError):
            return None
        return next((n.name for n in self.nodes if n.id == lid), None)

    def stop(self):
        for n in reversed(self.nodes):
            self.scratch.stop(n.proc)


class SingleNode:
    """One single-node quorumfs mount standing in for a, b and c: exercises
    every workload's code on a real mount before the cluster exists, and gives
    the local floor of each figure. Not a cluster figure."""

    def __init__(self, scratch, build, extra_opts=()):
        self.scratch = scratch
        quorumfs, _qfs = find_binaries(build)
        n = Node("a", scratch.path("qfs-single"), scratch.path("mnt-single"), 0)
        os.makedirs(n.mnt)
        n.proc = scratch.spawn("quorumfs-single", [
            quorumfs, "--data", n.data, "-f", *extra_opts, n.mnt], mountpoint=n.mnt)
        wait_for(lambda: QfsCluster._mounted(self, n), 30, "the single node to mount")
        self.nodes = [n] + [Node(x, n.data, n.mnt, 0) for x in NAMES[1:]]
        for x in self.nodes[1:]:
            x.proc = n.proc

    def node(self, name):
        return self.nodes[NAMES.index(name)]

    def leader(self):
        return None

    def stop(self):
        self.scratch.stop(self.nodes[0].proc)


def chunk_bytes(data_dir):
    """Payload bytes in a node's chunk store (chunk formats 1 and 2: DB "meta", key
    "bytes", u64 LE), read with mdb_dump as an LMDB reader; -1 if unknown."""
    r = subprocess.run(["mdb_dump", "-s", "meta", os.path.join(data_dir, "chunks")],
                       capture_output=True, text=True)
    if r.returncode != 0:
        return -1
    lines = [x.strip() for x in r.stdout.splitlines()]
    try:
        body = lines[lines.index("HEADER=END") + 1:lines.index("DATA=END")]
    except ValueError:
        return -1
    kv = dict(zip(body[0::2], body[1::2]))
    v = kv.get(b"bytes".hex())
    return int.from_bytes(bytes.fromhex(v), "little") if v else -1
