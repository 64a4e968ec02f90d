#!/usr/bin/env python3
"""Load on the webhook port of a watching `einklang sync --listen`.

Holds IDLE idle connections (that never send a byte) and SLOW slow bodies
(headers with `Content-Length: 1000`, then one byte a second) against the
port for SECONDS, replacing every connection the server closes so the load
stays up. Meanwhile, every second: `GET /healthz` on a fresh connection,
the listener's memory (VmRSS, VmHWM of /proc/PID/status) and open files;
every 5 s a signed webhook call. The runs the watch made during the load
are read back with `einklang runs --json`. Prints one JSON summary.
"""

import argparse
import hashlib
import hmac
import http.client
import json
import os
import select
import socket
import statistics
import subprocess
import time


def proc_status(pid):
    """VmRSS and VmHWM of a process, in MiB."""
    out = {}
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            key, _, value = line.partition(":")
            if key in ("VmRSS", "VmHWM"):
                out[key] = int(value.split()[0]) / 1024
    out["fds"] = len(os.listdir(f"/proc/{pid}/fd"))
    return out


def request(host, port, method, path, body=None, headers=None):
    """Status and seconds of one request on a fresh connection (None: failed)."""
    started = time.monotonic()
    try:
        conn = http.client.HTTPConnection(host, port, timeout=10)
        conn.request(method, path, body=body, headers=headers or {})
        status = conn.getresponse().status
        conn.close()
    except OSError:
        status = None
    return status, time.monotonic() - started


class Pool:
    """Connections of one kind, replaced when the server closes them."""

    def __init__(self, host, port, head):
        self.host, self.port, self.head = host, port, head
        self.socks = {}
        self.opened = self.closed = self.failed = 0
        self.answers = {}

    def fill(self, n, budget_s):
        deadline = time.monotonic() + budget_s
        while len(self.socks) < n and time.monotonic() < deadline:
            try:
                s = socket.create_connection((self.host, self.port), timeout=2)
                if self.head:
                    s.sendall(self.head)
                s.setblocking(False)
                self.socks[s.fileno()] = s
                self.opened += 1
            except OSError:
                self.failed += 1

    def reap(self):
        """Drop the connections the server closed or answered."""
        poll = select.poll()
        for fd in self.socks:
            poll.register(fd, select.POLLIN | select.POLLHUP | select.POLLERR)
        for fd, _ in poll.poll(0):
            s = self.socks.pop(fd)
            try:
                data = s.recv(4096)
            except OSError:
                data = b""
            status = data[9:12].decode() if data.startswith(b"HTTP/1.1 ") else "closed"
            self.answers[status] = self.answers.get(status, 0) + 1
            self.closed += 1
            s.close()

    def trickle(self):
        for s in list(self.socks.values()):
            try:
                s.send(b"x")
            except OSError:
                pass

    def summary(self):
        return {
            "held_at_end": len(self.socks),
            "opened": self.opened,
            "closed_by_server": self.closed,
            "answers": self.answers,
            "connect_failures": self.failed,
        }


def runs(einklang, config):
    out = subprocess.run(
        [einklang, "--config", config, "runs", "--json", "--limit", "100000"],
        check=True, capture_output=True,
    )
    return json.loads(out.stdout)


def pct(values, p):
    if not values:
        return None
    values = sorted(values)
    return round(values[min(len(values) - 1, int(len(values) * p))] * 1000, 1)


def main():
    a = argparse.ArgumentParser()
    a.add_argument("--pid", type=int, required=True)
    a.add_argument("--addr", required=True)
    a.add_argument("--secret", required=True)
    a.add_argument("--einklang", required=True)
    a.add_argument("--config", required=True)
    a.add_argument("--idle", type=int, default=5000)
    a.add_argument("--slow", type=int, default=300)
    a.add_argument("--seconds", type=int, default=60)
    args = a.parse_args()
    host, port = args.addr.rsplit(":", 1)
    port = int(port)

    before = proc_status(args.pid)
    base = [request(host, port, "GET", "/healthz") for _ in range(5)]
    first_run = max((r["id"] for r in runs(args.einklang, args.config)), default=0)

    idle = Pool(host, port, b"")
    slow_head = (
        b"POST /webhook/crm HTTP/1.1\r\nHost: x\r\nX-Signature: sha256=00\r\n"
        b"Content-Length: 1000\r\n\r\n"
    )
    slow = Pool(host, port, slow_head)
    started = time.monotonic()
    slow.fill(args.slow, 30)
    idle.fill(args.idle, 60)
    ramp_s = time.monotonic() - started

    health, hooks, samples = [], [], []
    n = 0
    until = time.monotonic() + args.seconds
    while time.monotonic() < until:
        tick = time.monotonic()
        slow.trickle()
        idle.reap()
        slow.reap()
        slow.fill(args.slow, 0.3)
        idle.fill(args.idle, 0.3)
        health.append(request(host, port, "GET", "/healthz"))
        if n % 5 == 0:
            body = json.dumps({"contacts": {"update": [{"id": str(n + 1)}]}, "n": n}).encode()
            sig = hmac.new(args.secret.encode(), body, hashlib.sha256).hexdigest()
            hooks.append(request(host, port, "POST", "/webhook/crm", body, {"X-Signature": sig}))
        samples.append(proc_status(args.pid))
        n += 1
        time.sleep(max(0.0, 1.0 - (time.monotonic() - tick)))

    during = [r for r in runs(args.einklang, args.config) if r["id"] > first_run]
    by = {}
    for r in during:
        key = f'{r["source"]} {r["status"]}'
        by[key] = by.get(key, 0) + 1
    ok_health = [s for st, s in health if st == 200]
    print(json.dumps({
        "load": {"idle": args.idle, "slow": args.slow, "seconds": args.seconds,
                 "ramp_seconds": round(ramp_s, 1)},
        "idle_connections": idle.summary(),
        "slow_bodies": slow.summary(),
        "healthz": {
            "before_ms_max": pct([s for _, s in base], 1.0),
            "probes": len(health), "answered_200": len(ok_health),
            "p50_ms": pct(ok_health, 0.5), "p99_ms": pct(ok_health, 0.99),
            "max_ms": pct(ok_health, 1.0),
        },
        "signed_webhooks": {
            "sent": len(hooks),
            "answered_202": sum(1 for st, _ in hooks if st == 202),
            "max_ms": pct([s for _, s in hooks], 1.0),
        },
        "runs_during_load": by,
        "listener_memory_mib": {
            "before_VmRSS": round(before["VmRSS"], 1),
            "before_VmHWM": round(before["VmHWM"], 1),
            "under_load_VmRSS_max": round(max(s["VmRSS"] for s in samples), 1),
            "under_load_VmRSS_last": round(samples[-1]["VmRSS"], 1),
            "VmHWM_at_end": round(samples[-1]["VmHWM"], 1),
        },
        "listener_open_files": {"before": before["fds"],
                                "under_load_max": max(s["fds"] for s in samples)},
    }, indent=2))


if __name__ == "__main__":
    main()
