#!/usr/bin/env python3
"""bench/serve: `einklang serve` under webhooks and API calls.

Phase 1 (webhooks), against the emulator's Kommo-like contacts:
  - a job pulling CONTACTS contacts is loaded through POST /api/jobs/j/runs;
  - latency: SINGLE times, one contact changed at the emulator, one signed
    webhook for it, then GET /api/runs/{id} every 2 ms until the run it
    queued finished: webhook sent -> run finished (the record read by id
    from the emulator and committed to the hub), p50/p99;
  - storm: every contact changed, then CALLS signed webhooks naming them
    round-robin, from THREADS client threads, while /healthz is probed
    every 10 ms on a connection of its own: intake calls/s, /healthz
    p50/p99 during the storm, the runs it made, the emulator GETs by id,
    and whether every contact reached the hub.
Phase 2 (API at N records), a hub loaded with N generated contacts:
  GET /api/records/contact/{id} and /api/mappings/... for random ids,
  and GET /api/runs/{id}, REQUESTS each, one client: p50/p99; then the
  dashboard's pages, signed in with a session (PHASE=pages: the pages
  alone over the same hub).

Prints one JSON summary.
"""

import argparse
import concurrent.futures
import hashlib
import hmac
import http.client
import itertools
import json
import os
import random
import statistics
import subprocess
import tempfile
import urllib.parse
import threading
import time

SECRET = "bench-hook-secret"


def pct(xs, p):
    xs = sorted(xs)
    return round(xs[min(len(xs) - 1, int(len(xs) * p))], 3) if xs else None


class Client:
    def __init__(self, port, token=None):
        self.conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        self.token = token

    def call(self, method, path, body=None, headers=None):
        h = dict(headers or {})
        if self.token:
            h["Authorization"] = f"Bearer {self.token}"
        data = None
        if body is not None:
            data = body if isinstance(body, (bytes, str)) else json.dumps(body)
            h.setdefault("content-type", "application/json")
        self.conn.request(method, path, body=data, headers=h)
        r = self.conn.getresponse()
        text = r.read()
        try:
            return r.status, json.loads(text)
        except ValueError:
            return r.status, text


EVENTS = itertools.count()


def signed(port, ids):
    # each call an event of its own, as the CRM sends them (identical
    # calls are copies: the service answers them and queues nothing)
    body = json.dumps({"contacts": {"update": [{"id": str(i)} for i in ids]}, "event": next(EVENTS)})
    sig = "sha256=" + hmac.new(SECRET.encode(), body.encode(), hashlib.sha256).hexdigest()
    return body, {"X-Signature": sig}


def start(cmd, cwd=None, env=None):
    return subprocess.Popen(cmd, cwd=cwd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def free_port():
    import socket
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def wait_port(port, proc, seconds=60):
    import socket
    end = time.time() + seconds
    while time.time() < end:
        if proc.poll() is not None:
            raise SystemExit(f"exited: {proc.stderr.read()}")
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return
        except OSError:
            time.sleep(0.05)
    raise SystemExit(f"port {port} not open")


def token(bin_dir, cfg):
    out = subprocess.run([f"{bin_dir}/einklang", "--config", cfg, "token", "create", "bench", "--role", "operator"],
                         capture_output=True, text=True, check=True)
    return out.stdout.strip()


def wait_run(api, run_id, seconds=600):
    end = time.time() + seconds
    while time.time() < end:
        _, run = api.call("GET", f"/api/runs/{run_id}")
        if run["status"] not in ("queued", "running"):
            return run
        time.sleep(0.002)
    raise SystemExit(f"run {run_id} did not end")


def serve(bin_dir, cfg, port, dir):
    p = start([f"{bin_dir}/einklang", "--config", cfg, "serve", "--listen", f"127.0.0.1:{port}"], cwd=dir)
    wait_port(port, p)
    return p


def phase_webhooks(a, bin_dir, dir):
    emu = start([f"{bin_dir}/einklang-emulator", "--contacts", str(a.contacts)])
    url = emu.stdout.readline().strip()
    eport = int(url.rsplit(":", 1)[1])
    cfg = os.path.join(dir, "hooks.toml")
    with open(cfg, "w") as f:
        f.write(f'''store = "{dir}/hooks.db"
[entities.contact]
name = "text"
[connectors.crm]
kind = "http"
base_url = "{url}"
list = {{ path = "/api/v4/contacts", records = "/_embedded/contacts", paginate = "next_link", next = "/_links/next/href", params = {{ limit = 250 }} }}
get = {{ path = "/api/v4/contacts/{{id}}", missing = [204, 404] }}
webhook = {{ signature_header = "X-Signature", secret = "{SECRET}", ids = ["/contacts/update/*/id"] }}
[map.crm.contact]
id = "id"
fields = {{ name = "name" }}
[jobs.j]
pull = ["crm"]
[serve]
workers = 2
webhook_window_ms = {a.window_ms}
sweep_minutes = 0
''')
    tok = token(bin_dir, cfg)
    port = free_port()
    srv = serve(bin_dir, cfg, port, dir)
    api = Client(port, tok)
    t0 = time.perf_counter()
    _, queued = api.call("POST", "/api/jobs/j/runs")
    wait_run(api, queued["run_id"])
    load = round(time.perf_counter() - t0, 3)
    emuc = Client(eport)
    ids = []
    page = 1
    while True:
        _, lst = emuc.call("GET", f"/api/v4/contacts?limit=250&page={page}")
        if not isinstance(lst, dict):
            break
        got = [c["id"] for c in lst.get("_embedded", {}).get("contacts", [])]
        if not got:
            break
        ids.extend(got)
        page += 1
    hook = Client(port)
    # latency: one change, one call, until its run ended
    lat = []
    for n in range(a.single):
        cid = ids[n % len(ids)]
        emuc.call("PATCH", f"/api/v4/contacts/{cid}", {"name": f"single {n}"})
        time.sleep(a.window_ms / 1000 * 1.2)  # the previous call's window has closed
        body, h = signed(port, [cid])
        t0 = time.perf_counter()
        status, answer = hook.call("POST", "/webhooks/crm", body, h)
        assert status == 202, answer
        run = wait_run(api, answer["runs"][0])
        lat.append((time.perf_counter() - t0) * 1000)
        assert run["status"] == "succeeded", run
    # storm
    for cid in ids:
        emuc.call("PATCH", f"/api/v4/contacts/{cid}", {"name": f"storm {cid}"})
    emuc.call("POST", "/_emulator/reset-stats")
    _, before = api.call("GET", "/api/runs?limit=1000")
    stop = threading.Event()
    health = []

    def probe():
        c = Client(port)
        while not stop.is_set():
            t0 = time.perf_counter()
            c.call("GET", "/healthz")
            health.append((time.perf_counter() - t0) * 1000)
            time.sleep(0.01)

    prober = threading.Thread(target=probe)
    prober.start()
    per = a.calls // a.threads

    def sender(k):
        c = Client(port)
        codes = {}
        for n in range(per):
            body, h = signed(port, [ids[(k * per + n) % len(ids)]])
            s, _ = c.call("POST", "/webhooks/crm", body, h)
            codes[s] = codes.get(s, 0) + 1
        return codes

    t0 = time.perf_counter()
    with concurrent.futures.ThreadPoolExecutor(a.threads) as ex:
        results = list(ex.map(sender, range(a.threads)))
    intake = time.perf_counter() - t0
    stop.set()
    prober.join()
    codes = {}
    for r in results:
        for s, n in r.items():
            codes[s] = codes.get(s, 0) + n
    # drained?
    end = time.time() + 300
    while time.time() < end:
        _, ready = Client(port).call("GET", "/readyz")
        if ready.get("queued_runs") == 0:
            break
        time.sleep(0.1)
    _, after = api.call("GET", "/api/runs?limit=1000")
    storm_runs = [r for r in after["runs"] if r["id"] not in {b["id"] for b in before["runs"]}]
    _, stats = emuc.call("GET", "/_emulator/stats")
    synced = 0
    for cid in ids:
        _, m = api.call("GET", f"/api/mappings/crm/contact/{cid}")
        _, rec = api.call("GET", f"/api/records/contact/{m['record_id']}")
        synced += rec["record"]["values"]["name"] == f"storm {cid}"
    srv.terminate()
    srv.wait(30)
    emu.terminate()
    return {
        "contacts": len(ids),
        "load_seconds": load,
        "webhook_to_run_end_ms": {"n": len(lat), "p50": pct(lat, 0.5), "p99": pct(lat, 0.99), "max": round(max(lat), 3)},
        "storm": {
            "calls": per * a.threads,
            "threads": a.threads,
            "answers": codes,
            "intake_seconds": round(intake, 3),
            "calls_per_second": round(per * a.threads / intake, 1),
            "healthz_ms": {"n": len(health), "p50": pct(health, 0.5), "p99": pct(health, 0.99), "max": round(max(health), 3)},
            "runs": len(storm_runs),
            "run_statuses": sorted({r["status"] for r in storm_runs}),
            "emulator_requests": stats.get("requests"),
            "contacts_changed": len(ids),
            "contacts_synced": synced,
        },
    }


def phase_api(a, bin_dir, dir):
    csv = os.path.join(dir, "hub.csv")
    subprocess.run([f"{bin_dir}/einklang-gen", "dupes", "--preset", "classic", "--count", str(a.records), "--seed", "7", "--out", csv],
                   check=True, capture_output=True)
    cfg = os.path.join(dir, "api.toml")
    with open(cfg, "w") as f:
        f.write(f'''store = "{dir}/api.db"
[entities.contact]
first_name = "text"
last_name = "text"
email = "text"
phone = "text"
[connectors.people]
kind = "csv"
path = "{csv}"
[map.people.contact]
id = "id"
fields = {{ first_name = "first_name", last_name = "last_name", email = "email", phone = "phone" }}
[jobs.load]
pull = ["people"]
[matching.contact]
ingest = false
compare = [
  {{ field = "first_name", kind = "name" }},
  {{ field = "last_name", kind = "name" }},
  {{ field = "email", kind = "email" }},
  {{ field = "phone", kind = "phone" }},
]
''')
    t0 = time.time()
    subprocess.run([f"{bin_dir}/einklang", "--config", cfg, "sync", "load"], check=True, capture_output=True)
    loaded = time.time() - t0
    # one new record through matching on ingest brings the match keys of
    # all records up to date (what the caller lookup reads)
    one = os.path.join(dir, "one.csv")
    with open(one, "w") as f:
        f.write("id,first_name,last_name,email,phone\nnew1,Zora,Quell,zora@example.org,+49 171 0000001\n")
    with open(cfg) as f:
        text = f.read()
    text = text.replace("ingest = false\n", "")
    text += f'''
[connectors.one]
kind = "csv"
path = "{one}"
[map.one.contact]
id = "id"
fields = {{ first_name = "first_name", last_name = "last_name", email = "email", phone = "phone" }}
[jobs.one]
pull = ["one"]
'''
    with open(cfg, "w") as f:
        f.write(text)
    t0 = time.time()
    done = subprocess.run([f"{bin_dir}/einklang", "--config", cfg, "sync", "one"], capture_output=True, text=True)
    if done.returncode not in (0, 3, 4):  # succeeded, partial, needs_review
        raise SystemExit(f"sync one: {done.returncode}: {done.stderr}")
    keyed = time.time() - t0
    deduped = None
    if a.phase == "pages":
        # merges, and pairs for the review queue to page through
        t0 = time.time()
        done = subprocess.run([f"{bin_dir}/einklang", "--config", cfg, "dedupe", "contact"], capture_output=True, text=True)
        if done.returncode not in (0, 3, 4):
            raise SystemExit(f"dedupe: {done.returncode}: {done.stderr}")
        deduped = {"seconds": round(time.time() - t0, 1), "summary": done.stdout.strip().splitlines()[-1:]}
    import csv as csvmod
    with open(csv) as f:
        rows = list(csvmod.DictReader(f))
    phones = [r["phone"] for r in rows if r["phone"]]
    tok = token(bin_dir, cfg)
    port = free_port()
    srv = serve(bin_dir, cfg, port, dir)
    api = Client(port, tok)
    rng = random.Random(1)
    out = {"records": a.records, "load_seconds": round(loaded, 1), "match_keys_seconds": round(keyed, 1)}
    if a.phase == "pages":
        out["dedupe"] = deduped
        out["pages"] = measure_pages(a, port, tok, rows)
        srv.terminate()
        srv.wait(30)
        return out
    found = 0
    ms = []
    for _ in range(a.requests):
        number = rng.choice(phones)
        q = urllib.parse.quote(number)
        t0 = time.perf_counter()
        s_, body = api.call("GET", f"/lookup/phone?number={q}")
        ms.append((time.perf_counter() - t0) * 1000)
        found += s_ == 200 and len(body["records"]) > 0
    out["lookup_phone"] = {"n": len(ms), "p50": pct(ms, 0.5), "p99": pct(ms, 0.99), "found": found}
    for name, path in [
        ("record", lambda: f"/api/records/contact/{rng.randint(1, a.records)}"),
        ("mapping", lambda: f"/api/mappings/people/contact/r{rng.randint(1, a.records)}"),
        ("run", lambda: "/api/runs/1"),
        ("runs", lambda: "/api/runs?limit=50"),
    ]:
        ms = []
        codes = {}
        for _ in range(a.requests):
            t0 = time.perf_counter()
            s, _ = api.call("GET", path())
            ms.append((time.perf_counter() - t0) * 1000)
            codes[s] = codes.get(s, 0) + 1
        out[name] = {"n": len(ms), "p50": pct(ms, 0.5), "p99": pct(ms, 0.99), "answers": codes}
    out["pages"] = measure_pages(a, port, tok, rows)
    srv.terminate()
    srv.wait(30)
    return out


def measure_pages(a, port, tok, rows):
    """The dashboard's pages, signed in as a browser is: REQUESTS // 10
    of each, one client on a keep-alive connection; the time from the
    request to the last byte (server time plus a local round trip), and
    each page's weight with the stylesheet and script it loads."""
    web = Client(port)
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    conn.request("POST", "/login", body=f"token={tok}", headers={"content-type": "application/x-www-form-urlencoded"})
    r = conn.getresponse()
    r.read()
    assert r.status == 303, r.status
    cookie = r.getheader("set-cookie").split(";")[0]
    assets = 0
    for path in ["/assets/app.css", "/assets/app.js"]:
        _, body = web.call("GET", path)
        assets += len(body)
    rng = random.Random(2)
    since = time.strftime("%Y-%m-%dT%H:%M", time.gmtime(time.time() - 3600))
    pages = [
        ("overview", lambda: "/"),
        ("runs", lambda: "/runs"),
        ("run", lambda: "/runs/1"),
        ("record", lambda: f"/records/contact/{rng.randint(1, a.records)}"),
        ("search an e-mail, any field (match keys)", lambda: "/records?entity=contact&q=" + urllib.parse.quote(rng.choice(rows)["email"] or "x")),
        ("search a name, any field (one window)", lambda: "/records?entity=contact&q=" + urllib.parse.quote(rng.choice(rows)["last_name"] or "x")),
        ("search a name, one field (one window)", lambda: "/records?entity=contact&field=last_name&q=" + urllib.parse.quote(rng.choice(rows)["last_name"] or "x")),
        ("recent changes (snapshots)", lambda: "/changes?entity=contact"),
        ("recent changes since an hour ago (1M creates: the first part, 25,000 entries)", lambda: f"/changes?entity=contact&since={since}"),
        ("conflicts", lambda: "/conflicts"),
        ("review queue", lambda: "/reviews"),
        ("review queue, a later page", lambda: f"/reviews?after={rng.randint(1, 50000)}"),
        ("review pair", lambda: f"/reviews/{rng.randint(1, 2000)}"),
        ("needs attention", lambda: "/attention"),
    ]
    out = {"assets_bytes": assets}
    n = max(20, a.requests // 10)
    for name, path in pages:
        ms, codes, weight = [], {}, 0
        count = 50 if "since" in name else n
        for _ in range(count):
            t0 = time.perf_counter()
            s, body = web.call("GET", path(), headers={"cookie": cookie})
            ms.append((time.perf_counter() - t0) * 1000)
            codes[s] = codes.get(s, 0) + 1
            weight = max(weight, len(body) + assets)
        out[name] = {"n": count, "p50": pct(ms, 0.5), "p99": pct(ms, 0.99), "max": round(max(ms), 3), "answers": codes, "weight_bytes": weight}
    return out


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--bin", required=True)
    p.add_argument("--contacts", type=int, default=500)
    p.add_argument("--calls", type=int, default=10000)
    p.add_argument("--threads", type=int, default=16)
    p.add_argument("--single", type=int, default=100)
    p.add_argument("--window-ms", type=int, default=200)
    p.add_argument("--records", type=int, default=1000000)
    p.add_argument("--requests", type=int, default=2000)
    p.add_argument("--phase", choices=["all", "webhooks", "api", "pages"], default="all")
    a = p.parse_args()
    out = {}
    with tempfile.TemporaryDirectory() as dir:
        if a.phase in ("all", "webhooks"):
            out["webhooks"] = phase_webhooks(a, a.bin, dir)
        if a.phase in ("all", "api", "pages"):
            out["api"] = phase_api(a, a.bin, dir)
    print(json.dumps(out, indent=2))


if __name__ == "__main__":
    main()
