#!/usr/bin/env python3
"""Stand-in network service and probes for the fault harness self-test.

  nettool.py serve PORTFILE LOGFILE   TCP + UDP echo on the same free port
                                      (kernel-chosen); every UDP datagram's
                                      payload is appended to LOGFILE.
  nettool.py tcp ADDR PORT [TIMEOUT]  one TCP connect + echo; prints JSON
                                      {"ok": bool, "ms": float|null}
  nettool.py udp ADDR PORT N [GAP_MS] sends N numbered datagrams, collects
                                      echoes; prints JSON {"sent", "received",
                                      "loss_pct", "rtt_ms": {p10, p50, p90}}
  nettool.py send ADDR PORT TOKEN     one UDP datagram carrying TOKEN
"""
import json
import os
import socket
import socketserver
import struct
import sys
import threading
import time


class Echo(socketserver.StreamRequestHandler):
    def handle(self):
        while True:
            data = self.request.recv(4096)
            if not data:
                return
            self.request.sendall(data)


class TCPServer(socketserver.ThreadingTCPServer):
    daemon_threads = True
    allow_reuse_address = True


def serve(portfile, logfile):
    tcp = TCPServer(("0.0.0.0", 0), Echo)
    port = tcp.server_address[1]
    udp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    udp.bind(("0.0.0.0", port))
    threading.Thread(target=tcp.serve_forever, daemon=True).start()
    tmp = portfile + ".tmp"
    with open(tmp, "w") as f:
        f.write(f"{port}\n")
    os.rename(tmp, portfile)
    with open(logfile, "ab", buffering=0) as log:
        while True:
            data, peer = udp.recvfrom(2048)
            log.write(data + b"\n")
            udp.sendto(data, peer)


def tcp_probe(addr, port, timeout):
    t0 = time.monotonic()
    try:
        with socket.create_connection((addr, port), timeout=timeout) as s:
            s.settimeout(timeout)
            s.sendall(b"ping")
            ok = s.recv(16) == b"ping"
    except OSError:
        ok = False
    ms = (time.monotonic() - t0) * 1000.0 if ok else None
    print(json.dumps({"ok": ok, "ms": ms}))


def pct(sorted_vals, p):
    if not sorted_vals:
        return None
    return sorted_vals[min(len(sorted_vals) - 1, int(p / 100.0 * len(sorted_vals)))]


def udp_probe(addr, port, n, gap_ms):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.connect((addr, port))
    s.setblocking(False)
    sent_at, rtts = {}, {}
    deadline = None
    i = 0
    while True:
        now = time.monotonic()
        if i < n and (i == 0 or now >= sent_at[i - 1] + gap_ms / 1000.0):
            sent_at[i] = now
            try:
                s.send(b"probe " + struct.pack("!I", i).hex().encode())
            except OSError:
                pass
            i += 1
            if i == n:
                deadline = now + 1.0
        if deadline and now > deadline:
            break
        try:
            data = s.recv(2048)
            k = int(data.split()[1], 16)
            rtts.setdefault(k, (time.monotonic() - sent_at[k]) * 1000.0)
        except (BlockingIOError, ConnectionRefusedError):
            time.sleep(0.0005)
    vals = sorted(rtts.values())
    print(json.dumps({"sent": n, "received": len(rtts),
                      "loss_pct": 100.0 * (n - len(rtts)) / n,
                      "rtt_ms": {"p10": pct(vals, 10), "p50": pct(vals, 50),
                                 "p90": pct(vals, 90)}}))


def main(argv):
    cmd = argv[1] if len(argv) > 1 else ""
    if cmd == "serve" and len(argv) == 4:
        serve(argv[2], argv[3])
    elif cmd == "tcp" and len(argv) in (4, 5):
        tcp_probe(argv[2], int(argv[3]), float(argv[4]) if len(argv) == 5 else 1.0)
    elif cmd == "udp" and len(argv) in (5, 6):
        udp_probe(argv[2], int(argv[3]), int(argv[4]),
                  float(argv[5]) if len(argv) == 6 else 5.0)
    elif cmd == "send" and len(argv) == 5:
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
            s.sendto(argv[4].encode(), (argv[2], int(argv[3])))
    else:
        sys.stderr.write(__doc__)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
