"""Scratch space for one benchmark run: a temp dir, the processes started in
it and the FUSE mounts made in it, all undone by cleanup() even on failure.

Invariant: every process is recorded here right after it is spawned and is
ended by its own PID (SIGTERM, then SIGKILL); every mount is unmounted with
fusermount3 -u (lazy unmount only as the last resort) before its daemon is
waited for; the temp dir is removed last.
"""
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time


def free_port():
    """A TCP port on 127.0.0.1 that the kernel says is free right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for(cond, timeout, what, interval=0.02):
    """Polls cond() until it returns a true value (returned) or the deadline."""
    end = time.monotonic() + timeout
    while True:
        v = cond()
        if v:
            return v
        if time.monotonic() > end:
            raise RuntimeError(f"timed out after {timeout} s waiting for {what}")
        time.sleep(interval)


def is_mounted(path):
    path = os.path.realpath(path)
    with open("/proc/self/mountinfo") as f:
        return any(line.split()[4] == path for line in f)


class Scratch:
    """Owns the temp dir, processes and mounts of one run."""

    def __init__(self, parent):
        os.makedirs(parent, exist_ok=True)
        self.dir = tempfile.mkdtemp(prefix="qfs-cbench.", dir=parent)
        os.chmod(self.dir, 0o755)
        self.procs = []  # (Popen, mountpoint or None, name), in start order
        self.logs = []
        self.hooks = []  # run by cleanup() after the processes are stopped

    def path(self, *parts):
        return os.path.join(self.dir, *parts)

    def spawn(self, name, argv, mountpoint=None, env=None, cwd=None):
        """Starts argv with its output in a log file; returns the Popen."""
        log = self.path(f"{name}.log")
        self.logs.append(log)
        with open(log, "ab") as out:
            p = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=out, stderr=out,
                                 env=env, cwd=cwd, start_new_session=True)
        self.procs.append((p, mountpoint, name))
        return p

    def stop(self, p):
        """Unmounts p's mount if it has one, then ends p by its PID."""
        for i, (q, mnt, _name) in enumerate(self.procs):
            if q is p:
                del self.procs[i]
                _stop_one(q, mnt)
                return

    def tail_logs(self, n=15):
        out = []
        for log in self.logs:
            try:
                with open(log, errors="replace") as f:
                    lines = f.readlines()[-n:]
            except OSError:
                continue
            if lines:
                out.append(f"---- {os.path.basename(log)} (last {len(lines)} lines) ----")
                out.extend(x.rstrip("\n") for x in lines)
        return "\n".join(out)

    def cleanup(self):
        while self.procs:
            p, mnt, _name = self.procs.pop()
            _stop_one(p, mnt)
        while self.hooks:
            self.hooks.pop()()
        shutil.rmtree(self.dir, ignore_errors=True)


def _unmount(mnt):
    if not is_mounted(mnt):
        return
    for argv in (["fusermount3", "-u", mnt], ["umount", mnt]):
        if subprocess.run(argv, stderr=subprocess.DEVNULL).returncode == 0:
            return
    subprocess.run(["umount", "-l", mnt], stderr=subprocess.DEVNULL)


def _stop_one(p, mnt):
    if mnt is not None:
        _unmount(mnt)
        # A FUSE daemon exits by itself once its mount is gone.
        try:
            p.wait(20)
        except subprocess.TimeoutExpired:
            pass
    if p.poll() is None:
        p.send_signal(signal.SIGTERM)
        try:
            p.wait(15)
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait()
    if mnt is not None and is_mounted(mnt):
        subprocess.run(["umount", "-l", mnt], stderr=subprocess.DEVNULL)


def install_signal_exits():
    """SIGTERM/SIGHUP/SIGINT raise SystemExit, so every finally: block runs."""
    def on_signal(signum, _frame):
        raise SystemExit(128 + signum)
    for s in (signal.SIGTERM, signal.SIGHUP, signal.SIGINT):
        signal.signal(s, on_signal)


def ignore_signals():
    """For cleanup: a second Ctrl-C must not leave mounts and processes behind."""
    for s in (signal.SIGTERM, signal.SIGHUP, signal.SIGINT):
        signal.signal(s, signal.SIG_IGN)
