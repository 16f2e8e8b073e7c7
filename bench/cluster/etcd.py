"""A 3-member etcd cluster (Debian's etcd-server) on loopback: the anchor for
metadata throughput, since an etcd put is, like a quorumfs create, one
command ordered by a leader-based consensus and fsynced on a majority.

Members use the data disk (the scratch dir), peer traffic over TLS
(--peer-auto-tls, as quorumfs peers use TLS), clients over plain HTTP on the
v3 JSON gateway (POST /v3/kv/put with a keep-alive connection per client).
"""
import base64
import http.client
import json

from procs import free_port, wait_for


class EtcdCluster:
    def __init__(self, scratch, members=3):
        self.scratch = scratch
        self.client_ports = [free_port() for _ in range(members)]
        peer_ports = [free_port() for _ in range(members)]
        initial = ",".join(f"m{i}=https://127.0.0.1:{p}" for i, p in enumerate(peer_ports))
        self.procs = []
        for i in range(members):
            curl = f"http://127.0.0.1:{self.client_ports[i]}"
            purl = f"https://127.0.0.1:{peer_ports[i]}"
            self.procs.append(scratch.spawn(f"etcd-m{i}", [
                "etcd", "--name", f"m{i}", "--data-dir", scratch.path(f"etcd-m{i}"),
                "--listen-client-urls", curl, "--advertise-client-urls", curl,
                "--listen-peer-urls", purl, "--initial-advertise-peer-urls", purl,
                "--peer-auto-tls", "--initial-cluster", initial,
                "--initial-cluster-token", "qfs-bench", "--initial-cluster-state", "new",
                "--log-level", "warn"]))
        for port in self.client_ports:
            wait_for(lambda: _healthy(port), 60, "etcd members to be healthy", 0.1)
        # One put through every member: the cluster has a leader and serves writes.
        for i in range(members):
            c = Client(self, i)
            c.put(b"warmup", b"x")
            c.close()

    def stop(self):
        for p in reversed(self.procs):
            self.scratch.stop(p)


def _healthy(port):
    try:
        c = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
        c.request("GET", "/health")
        ok = json.loads(c.getresponse().read()).get("health") == "true"
        c.close()
        return ok
    except (OSError, ValueError, http.client.HTTPException):
        return False


class Client:
    """One keep-alive connection to member `index % members`."""

    def __init__(self, cluster, index):
        port = cluster.client_ports[index % len(cluster.client_ports)]
        self.conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)

    def put(self, key, value):
        body = json.dumps({"key": base64.b64encode(key).decode(),
                           "value": base64.b64encode(value).decode()})
        self.conn.request("POST", "/v3/kv/put", body, {"Content-Type": "application/json"})
        r = self.conn.getresponse()
        data = r.read()
        if r.status != 200 or b"header" not in data:
            raise RuntimeError(f"etcd put failed: {r.status} {data[:200]!r}")

    def close(self):
        self.conn.close()
