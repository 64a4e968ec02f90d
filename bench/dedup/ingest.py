"""Matching on ingest through the engine (bench/dedup/ingest).

Loads N generated contacts (einklang-gen dupes, ~15 % duplicates with
ground truth) into an empty hub twice, with `[matching.person]` matching
each record on ingest and without it (`ingest = false`), then syncs 20
new contacts (10 duplicates of hub records, 10 changed copies) into the
matched hub, twice: the first run brings the match keys up to date, the
second is the steady state. Prints wall time and peak RSS of each run,
the cost of matching on the first load as a ratio, and the pairwise
precision/recall/F1 of the merges made on ingest (pairs of source ids
that ended up on one hub record), scored by metrics.py.

Usage: ingest.py BIN_DIR OUT_DIR N
"""

import csv
import json
import os
import sqlite3
import subprocess
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
import metrics  # noqa: E402

FIELDS = ["first_name", "last_name", "email", "phone", "company", "street", "postcode", "city", "date_of_birth"]


def config(out: Path, ingest: bool) -> Path:
    base = (Path(__file__).parent / "contacts.toml").read_text()
    if not ingest:
        base = base.replace("[matching.person]\n", "[matching.person]\ningest = false\n")
    fields = ", ".join(f'{f} = "{f}"' for f in FIELDS)
    text = f'store = "{out}/hub-{"on" if ingest else "off"}.db"\n' + base
    for name, path in [("hub_csv", "hub.csv"), ("new_csv", "new.csv")]:
        text += f'\n[connectors.{name}]\nkind = "csv"\npath = "{path}"\n'
        text += f'\n[map.{name}.person]\nid = "id"\nfields = {{ {fields} }}\n'
    text += '\n[jobs.load]\npull = ["hub_csv"]\n\n[jobs.new]\npull = ["new_csv"]\n'
    path = out / f"ingest-{'on' if ingest else 'off'}.toml"
    path.write_text(text)
    for suffix in ["", "-wal", "-shm"]:
        db = out / f"hub-{'on' if ingest else 'off'}.db{suffix}"
        if db.exists():
            db.unlink()
    return path


def new_rows(out: Path):
    rows = list(csv.DictReader(open(out / "hub.csv", newline="", encoding="utf-8")))
    with open(out / "new.csv", "w", newline="", encoding="utf-8") as f:
        w = csv.DictWriter(f, fieldnames=list(rows[0].keys()))
        w.writeheader()
        for r in rows[:10]:
            w.writerow({**r, "id": "again-" + r["id"]})
        for r in rows[len(rows) // 2: len(rows) // 2 + 10]:
            w.writerow({**r, "id": "changed-" + r["id"], "email": "", "phone": "", "first_name": r["first_name"] + "a"})


def run(binary: Path, cfg: Path, job: str, out: Path):
    timing = out / "time.txt"
    cmd = ["/usr/bin/time", "-f", "%e %M", "-o", str(timing), str(binary), "--config", str(cfg), "sync", job, "--json"]
    done = subprocess.run(cmd, capture_output=True, text=True)
    if done.returncode != 0:
        sys.exit(f"einklang sync {job} ({cfg}) exited {done.returncode}:\n{done.stderr[-4000:]}\n{done.stdout[-2000:]}")
    report = json.loads(done.stdout)
    seconds, rss = timing.read_text().split()[-2:]
    counters = report.get("counters", {})
    return float(seconds), int(rss) // 1024, counters


def merged_pairs(db: Path, out: Path) -> Path:
    c = sqlite3.connect(db)
    groups = {}
    for record, ext in c.execute("SELECT record_id, external_id FROM links WHERE connector = 'hub_csv'"):
        groups.setdefault(record, []).append(ext)
    path = out / "ingest.pairs"
    with open(path, "w", encoding="utf-8") as f:
        f.write("a,b\n")
        for ids in groups.values():
            for i, a in enumerate(ids):
                for b in ids[i + 1:]:
                    f.write(f"{a},{b}\n")
    return path


def main():
    binary, out, n = Path(sys.argv[1]) / "einklang", Path(sys.argv[2]), int(sys.argv[3])
    new_rows(out)
    on, off = config(out, True), config(out, False)
    rows = []
    for label, cfg, job in [("first load, no matching", off, "load"), ("first load, matching on ingest", on, "load"),
                            ("20 new, keys brought up to date", on, "new"), ("20 new, steady state", on, "new")]:
        if "steady" in label:
            new_rows(out)  # same rows again under new ids would be unchanged: rename them
            text = (out / "new.csv").read_text().replace("again-", "again2-").replace("changed-", "changed2-")
            (out / "new.csv").write_text(text)
        seconds, rss, counters = run(binary, cfg, job, out)
        rows.append((label, seconds, rss, counters.get("created", 0), counters.get("merged", 0), counters.get("review", 0)))
    print(f"\n| run ({n:,} hub contacts) | seconds | peak RSS MB | created | merged on ingest | queued for review |")
    print("| --- | ---: | ---: | ---: | ---: | ---: |")
    for label, s, r, c, m, q in rows:
        print(f"| {label} | {s:.2f} | {r} | {c} | {m} | {q} |")
    print(f"\nmatching on ingest costs {rows[1][1] / rows[0][1]:.1f}x the plain first load")
    records, true_pairs = metrics.truth(out / "hub.csv")
    predicted = set()
    for line in open(merged_pairs(out / "hub-on.db", out), encoding="utf-8").read().splitlines()[1:]:
        a, b = line.split(",")
        predicted.add(metrics.pair(a, b))
    print(json.dumps(metrics.score("einklang on ingest", "hub.csv", records, true_pairs, predicted, rows[1][1])))


if __name__ == "__main__":
    main()
