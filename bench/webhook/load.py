#!/usr/bin/env python3
"""Load on the webhook port of a watching `einklang sync --listen` (or of
`einklang serve`, with --hook /webhooks/crm).

Holds IDLE idle connections (that never send a byte) and SLOW slow bodies
(headers with `Content-Length: 1000`, then one byte a second) against the
port for SECONDS, replacing every connection the server closes so the load
stays up. Before that, QUIET seconds without load, measured the same way:
every second `GET /healthz` on a fresh connection, the listener's memory
(VmRSS, VmHWM of /proc/PID/status) and open files; every 5 s a signed
webhook call. The runs the watch made in each phase are read back with
`einklang runs --json`. Prints one JSON summary.
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
from datetime import datetime


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


def seconds_of(run):
    if not run.get("finished_at"):
        return None
    t = [datetime.fromisoformat(run[k].replace("Z", "+00:00")) for k in ("started_at", "finished_at")]
    return (t[1] - t[0]).total_seconds()


class Phase:
    """Probes once a second for `seconds`; with pools, keeps them loaded."""

    def __init__(self, a, host, port, pools):
        self.a, self.host, self.port, self.pools = a, host, port, pools
        self.health, self.hooks, self.samples = [], [], []

    def run(self, seconds, first_n):
        n = first_n
        until = time.monotonic() + seconds
        while time.monotonic() < until:
            tick = time.monotonic()
            for pool, size in self.pools:
                pool.trickle()
                pool.reap()
            for pool, size in self.pools:
                pool.fill(size, 0.3)
            self.health.append(request(self.host, self.port, "GET", "/healthz"))
            if n % 5 == 0:
                body = json.dumps({"contacts": {"update": [{"id": str(n % 50 + 1)}]}, "n": n}).encode()
                sig = hmac.new(self.a.secret.encode(), body, hashlib.sha256).hexdigest()
                self.hooks.append(request(self.host, self.port, "POST", self.a.hook, body,
                                          {"X-Signature": sig}))
            self.samples.append(proc_status(self.a.pid))
            n += 1
            time.sleep(max(0.0, 1.0 - (time.monotonic() - tick)))
        return n

    def summary(self, made):
        ok = [s for st, s in self.health if st == 200]
        by = {}
        for r in made:
            key = f'{r["source"]} {r["status"]}'
            by[key] = by.get(key, 0) + 1
        secs = [x for x in map(seconds_of, made) if x is not None]
        return {
            "healthz": {"probes": len(self.health), "answered_200": len(ok),
                        "p50_ms": pct(ok, 0.5), "p99_ms": pct(ok, 0.99), "max_ms": pct(ok, 1.0)},
            "signed_webhooks": {"sent": len(self.hooks),
                                "answered_202": sum(1 for st, _ in self.hooks if st == 202),
                                "max_ms": pct([s for _, s in self.hooks], 1.0)},
            "runs": by,
            "run_seconds": {"median": round(statistics.median(secs), 3) if secs else None,
                            "max": round(max(secs), 3) if secs else None},
            "VmRSS_mib": {"min": round(min(s["VmRSS"] for s in self.samples), 1),
                          "max": round(max(s["VmRSS"] for s in self.samples), 1)},
            "VmHWM_mib_at_end": round(self.samples[-1]["VmHWM"], 1),
            "open_files_max": max(s["fds"] for s in self.samples),
        }


def main():
    a = argparse.ArgumentParser()
    a.add_argument("--pid", type=int, required=True)
    a.add_argument("--addr", required=True)
    a.add_argument("--secret", required=True)
    a.add_argument("--einklang", required=True)
    a.add_argument("--config", required=True)
    a.add_argument("--hook", default="/webhook/crm", help="the path of the signed calls and slow bodies")
    a.add_argument("--idle", type=int, default=5000)
    a.add_argument("--slow", type=int, default=300)
    a.add_argument("--seconds", type=int, default=60)
    a.add_argument("--quiet-seconds", type=int, default=20)
    args = a.parse_args()
    host, port = args.addr.rsplit(":", 1)
    port = int(port)

    mark = max((r["id"] for r in runs(args.einklang, args.config)), default=0)
    quiet = Phase(args, host, port, [])
    n = quiet.run(args.quiet_seconds, 0)
    quiet_runs = [r for r in runs(args.einklang, args.config) if r["id"] > mark]

    idle = Pool(host, port, b"")
    slow_head = (
        f"POST {args.hook} HTTP/1.1\r\nHost: x\r\nX-Signature: sha256=00\r\n"
        "Content-Length: 1000\r\n\r\n"
    ).encode()
    slow = Pool(host, port, slow_head)
    started = time.monotonic()
    slow.fill(args.slow, 30)
    idle.fill(args.idle, 60)
    ramp_s = time.monotonic() - started
    mark = max((r["id"] for r in runs(args.einklang, args.config)), default=0)
    loaded = Phase(args, host, port, [(slow, args.slow), (idle, args.idle)])
    loaded.run(args.seconds, n)
    load_runs = [r for r in runs(args.einklang, args.config) if r["id"] > mark]

    print(json.dumps({
        "load": {"idle": args.idle, "slow": args.slow, "seconds": args.seconds,
                 "ramp_seconds": round(ramp_s, 1)},
        "idle_connections": idle.summary(),
        "slow_bodies": slow.summary(),
        "without_load": quiet.summary(quiet_runs),
        "under_load": loaded.summary(load_runs),
    }, indent=2))


if __name__ == "__main__":
    main()
