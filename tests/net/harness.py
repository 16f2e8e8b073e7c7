"""Process harness for the transport tests: identities, configs, netnode processes.

Every node gets its identity from `qfs init`, a listening socket bound here to
127.0.0.1 port 0 (kept open across restarts and inherited by each incarnation,
so the port never changes and never races), and a store directory. Processes
are ended by PID; the temporary directory is removed at the end.
"""
import hashlib
import os
import queue
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time

SANITIZED = os.environ.get("QFS_SANITIZED") == "1"


def scale(normal, sanitized):
    return sanitized if SANITIZED else normal


class Node:
    def __init__(self, cluster, name):
        self.cluster = cluster
        self.name = name
        self.dir = os.path.join(cluster.tmp, name)
        out = subprocess.run([cluster.qfs, "init", "--data", self.dir, "--listen", "127.0.0.1:1"],
                             check=True, capture_output=True, text=True)
        self.id = out.stdout.strip()
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(64)
        self.port = self.sock.getsockname()[1]
        self.store = os.path.join(cluster.store_root or self.dir, name + "-chunks")
        self.log = os.path.join(self.dir, "log")
        self.proc = None
        self.env = {}

    def write_config(self, peers):
        with open(os.path.join(self.dir, "node.conf"), "w") as f:
            f.write(f"node-id = {self.id}\nlisten = 127.0.0.1:{self.port}\ndata = {self.dir}\n")
            for p in peers:
                f.write(f"peer = {p.id} 127.0.0.1:{p.port}\n")

    def start(self, extra=()):
        env = dict(os.environ)
        env.update(self.env)
        logf = open(self.log, "a")
        fd = self.sock.fileno()
        self.proc = subprocess.Popen(
            [self.cluster.netnode, "--config", os.path.join(self.dir, "node.conf"),
             "--store", self.store, "--listen-fd", str(fd), "--name", self.name, *extra],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=logf, text=True,
            pass_fds=[fd], env=env)
        logf.close()
        self.lines = queue.Queue()
        self.async_lines = []
        threading.Thread(target=self._reader, args=(self.proc, self.lines), daemon=True).start()
        first = self.read(30)
        assert first.startswith("ok ready"), f"{self.name}: {first}"

    @staticmethod
    def _reader(proc, q):
        for line in proc.stdout:
            q.put(line.strip())
        q.put(None)

    def read(self, timeout):
        try:
            line = self.lines.get(timeout=timeout)
        except queue.Empty:
            raise AssertionError(f"{self.name}: no answer within {timeout}s")
        assert line is not None, f"{self.name}: process exited (see {self.log})"
        return line

    def send(self, cmd):
        self.proc.stdin.write(cmd + "\n")
        self.proc.stdin.flush()

    def cmd(self, cmd, timeout=60):
        self.send(cmd)
        line = self.read(timeout)
        while line.startswith(("ok push", "err push")) and not cmd.startswith("push "):
            self.async_lines.append(line)  # a push-bg finished meanwhile
            line = self.read(timeout)
        print(f"[{self.name}] {cmd} -> {line}", flush=True)
        return line

    def ok(self, cmd, timeout=60):
        line = self.cmd(cmd, timeout)
        assert line.startswith("ok"), f"{self.name}: {cmd} -> {line}"
        return dict(re.findall(r"(\w+)=(-?[\d.]+)", line))

    def wait_async(self, prefix, timeout):
        """The line a background command (push-bg) printed when it finished."""
        for i, line in enumerate(self.async_lines):
            if line.startswith(prefix):
                return self.async_lines.pop(i)
        line = self.read(timeout)
        assert line.startswith(prefix), f"{self.name}: expected {prefix}, got {line}"
        return line

    def kill(self):
        if self.proc and self.proc.poll() is None:
            os.kill(self.proc.pid, signal.SIGKILL)
            self.proc.wait()
        self.proc = None

    def stop(self):
        """Ends the process cleanly; a non-zero exit (sanitizer report, crash) fails the test."""
        rc = 0
        if self.proc and self.proc.poll() is None:
            try:
                self.proc.stdin.write("quit\n")
                self.proc.stdin.close()
                rc = self.proc.wait(timeout=60)
            except (BrokenPipeError, subprocess.TimeoutExpired):
                self.kill()
        elif self.proc:
            rc = self.proc.returncode
        self.proc = None
        assert rc == 0, f"{self.name} exited with {rc}:\n{self.log_text()[-4000:]}"

    def log_text(self):
        with open(self.log) as f:
            return f.read()

    def wait_log(self, pattern, timeout=10):
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            if re.search(pattern, self.log_text()):
                return
            time.sleep(0.05)
        raise AssertionError(f"{self.name}: log never matched {pattern!r}:\n{self.log_text()}")

    def chunk_names(self):
        return [n for n in os.listdir(self.store) if not n.startswith(".")]

    def verify_store(self):
        """Every stored chunk hashes to its name; returns their names."""
        names = self.chunk_names()
        for n in names:
            with open(os.path.join(self.store, n), "rb") as f:
                assert hashlib.sha256(f.read()).hexdigest() == n, f"{self.name}: {n} is corrupt"
        return set(names)


class Cluster:
    def __init__(self, build, names, store_root=None):
        # Stores may live elsewhere (the benchmark puts them on tmpfs).
        self.store_root = tempfile.mkdtemp(prefix="qfs-net-", dir=store_root) if store_root else None
        self.qfs = os.path.join(build, "tools", "qfs")
        self.netnode = os.path.join(build, "tests", "net", "netnode")
        self.tmp = tempfile.mkdtemp(prefix="qfs-net-")
        self.nodes = [Node(self, n) for n in names]
        for n in self.nodes:
            n.write_config([p for p in self.nodes if p is not n])

    def path(self, name):
        return os.path.join(self.tmp, name)

    def close(self):
        errors = []
        for n in self.nodes:
            try:
                n.stop()
            except AssertionError as e:
                errors.append(str(e))
            n.sock.close()
        if os.environ.get("QFS_KEEP_TMP"):
            print("kept", self.tmp)
        else:
            shutil.rmtree(self.tmp, ignore_errors=True)
        if self.store_root:
            shutil.rmtree(self.store_root, ignore_errors=True)
        assert not errors, "\n".join(errors)


def hashes(path):
    with open(path) as f:
        return [l.strip() for l in f if l.strip()]


def run(tests):
    """Runs the test named by argv[2] with the build dir argv[1]."""
    build, name = sys.argv[1], sys.argv[2]
    start = time.monotonic()
    tests[name](build)
    print(f"{name}: passed in {time.monotonic() - start:.1f}s")
