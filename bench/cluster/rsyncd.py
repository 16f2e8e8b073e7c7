"""An rsync daemon on 127.0.0.1 (free port, --no-detach so the PID we start
is the server) with one writable module, `bench`, in the scratch dir: the
bulk-transfer anchor (a client pushes with --fsync, so the time includes
making the copy durable on the receiver)."""
import os
import socket

from procs import free_port, wait_for


def _listening(port):
    try:
        socket.create_connection(("127.0.0.1", port), timeout=1).close()
        return True
    except OSError:
        return False


class RsyncDaemon:
    def __init__(self, scratch):
        self.scratch = scratch
        self.dir = scratch.path("rsync-dest")
        os.makedirs(self.dir)
        conf = scratch.path("rsyncd.conf")
        with open(conf, "w") as f:
            f.write(f"use chroot = no\nlog file = {scratch.path('rsyncd.log')}\n"
                    f"[bench]\n    path = {self.dir}\n    read only = no\n"
                    "    uid = 0\n    gid = 0\n")
        self.port = free_port()
        self.proc = scratch.spawn("rsyncd", ["rsync", "--daemon", "--no-detach",
                                             f"--config={conf}", f"--port={self.port}",
                                             "--address=127.0.0.1"])
        wait_for(lambda: self.proc.poll() is None and _listening(self.port), 20,
                 "the rsync daemon to listen")

    def stop(self):
        self.scratch.stop(self.proc)
