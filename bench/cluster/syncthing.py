"""Two Syncthing instances (Debian's syncthing) sharing one folder over
loopback: the anchor for sync latency, small edits and bulk transfer.

Each instance gets its own home (keys, config, database) under the scratch
dir, a listen port and a GUI/REST port chosen free by the kernel, discovery,
relays, NAT, usage and crash reporting and upgrades off, and the folder with
its file watcher at the fastest setting (fsWatcherDelayS=1) and no low-priority
mode. Even with --no-restart, `syncthing serve` is a monitor process that
runs the server as its child: traffic is counted on the child's PID, and the
child is ended by its PID if it outlives the monitor.
"""
import json
import os
import secrets
import signal
import subprocess
import time
import urllib.request

from procs import free_port, wait_for

FOLDER = "bench"

_CONFIG = """<configuration version="36">
    <folder id="{folder}" label="{folder}" path="{path}" type="sendreceive" rescanIntervalS="3600" fsWatcherEnabled="true" fsWatcherDelayS="1" ignorePerms="false" autoNormalize="true">
        <filesystemType>basic</filesystemType>
        <device id="{id_a}" introducedBy=""></device>
        <device id="{id_b}" introducedBy=""></device>
        <minDiskFree unit="%">0</minDiskFree>
        <markerName>.stfolder</markerName>
    </folder>
    <device id="{id_a}" name="a" compression="metadata" introducer="false">
        <address>tcp://127.0.0.1:{port_a}</address>
    </device>
    <device id="{id_b}" name="b" compression="metadata" introducer="false">
        <address>tcp://127.0.0.1:{port_b}</address>
    </device>
    <gui enabled="true" tls="false" debugging="false">
        <address>127.0.0.1:{gui}</address>
        <apikey>{apikey}</apikey>
    </gui>
    <options>
        <listenAddress>tcp://127.0.0.1:{listen}</listenAddress>
        <globalAnnounceEnabled>false</globalAnnounceEnabled>
        <localAnnounceEnabled>false</localAnnounceEnabled>
        <relaysEnabled>false</relaysEnabled>
        <natEnabled>false</natEnabled>
        <startBrowser>false</startBrowser>
        <urAccepted>-1</urAccepted>
        <autoUpgradeIntervalH>0</autoUpgradeIntervalH>
        <crashReportingEnabled>false</crashReportingEnabled>
        <setLowPriority>false</setLowPriority>
        <reconnectionIntervalS>1</reconnectionIntervalS>
    </options>
</configuration>
"""


class Instance:
    def __init__(self, home, folder):
        self.home, self.folder = home, folder
        self.port, self.gui, self.apikey = free_port(), free_port(), secrets.token_hex(16)
        self.proc = None
        self.server_pid = None
        subprocess.run(["syncthing", "generate", f"--home={home}", "--no-default-folder"],
                       check=True, capture_output=True, env=_env(home))
        self.id = subprocess.run(["syncthing", "serve", f"--home={home}", "--device-id"],
                                 check=True, capture_output=True, text=True,
                                 env=_env(home)).stdout.strip()

    def rest(self, path):
        req = urllib.request.Request(f"http://127.0.0.1:{self.gui}{path}",
                                     headers={"X-API-Key": self.apikey})
        with urllib.request.urlopen(req, timeout=5) as r:
            return json.load(r)

    def try_rest(self, path):
        try:
            return self.rest(path)
        except OSError:
            return None


def _env(home):
    env = dict(os.environ, HOME=home, STNOUPGRADE="1", STNORESTART="1")
    env.pop("STGUIADDRESS", None)
    return env


class SyncthingPair:
    """a and b share FOLDER; a.folder and b.folder are its two copies."""

    def __init__(self, scratch):
        self.scratch = scratch
        self.a = Instance(scratch.path("st-a"), scratch.path("st-a", "folder"))
        self.b = Instance(scratch.path("st-b"), scratch.path("st-b", "folder"))
        for me in (self.a, self.b):
            os.makedirs(os.path.join(me.folder, ".stfolder"), exist_ok=True)
            with open(os.path.join(me.home, "config.xml"), "w") as f:
                f.write(_CONFIG.format(folder=FOLDER, path=me.folder, id_a=self.a.id,
                                       id_b=self.b.id, port_a=self.a.port, port_b=self.b.port,
                                       gui=me.gui, apikey=me.apikey, listen=me.port))
        for name, me in (("syncthing-a", self.a), ("syncthing-b", self.b)):
            me.proc = scratch.spawn(name, ["syncthing", "serve", f"--home={me.home}",
                                           "--no-browser", "--no-restart", "--no-upgrade"],
                                    env=_env(me.home))
        for me, other in ((self.a, self.b), (self.b, self.a)):
            wait_for(lambda: self._connected(me, other), 60,
                     "the two Syncthing instances to connect", 0.1)
        self.wait_idle()
        for me in (self.a, self.b):
            me.server_pid = wait_for(lambda: _child_of(me.proc.pid), 10,
                                     "Syncthing's server process")
            scratch.hooks.append(lambda pid=me.server_pid: _end(pid))

    def _connected(self, me, other):
        c = me.try_rest("/rest/system/connections")
        return bool(c) and c.get("connections", {}).get(other.id, {}).get("connected")

    def wait_idle(self, timeout=120):
        for me in (self.a, self.b):
            wait_for(lambda: (me.try_rest(f"/rest/db/status?folder={FOLDER}") or {})
                     .get("state") == "idle", timeout, "Syncthing's folder to be idle", 0.1)

    def stop(self):
        for me in (self.b, self.a):
            self.scratch.stop(me.proc)
            _end(me.server_pid)


def _child_of(ppid):
    """The PID of ppid's only child, or None."""
    for d in os.listdir("/proc"):
        if d.isdigit():
            try:
                with open(f"/proc/{d}/stat") as f:
                    fields = f.read().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(fields[1]) == ppid:
                return int(d)
    return None


def _end(pid, timeout=10):
    """Ends a process we did not start directly (not our child) by its PID."""
    if not pid:
        return
    end = time.monotonic() + timeout
    sig = signal.SIGTERM
    while True:
        try:
            os.kill(pid, sig)
        except ProcessLookupError:
            return
        if time.monotonic() > end:
            sig = signal.SIGKILL
        time.sleep(0.05)
