#!/usr/bin/env bash
# Seed 000's contacts job, examples/mailboxes-monday: three Microsoft 365
# mailboxes and three monday.com boards pulled into one hub, matching on
# ingest.
#
#   scripts/examples-seed000.sh seed URL   # only seed an emulator at URL from data/
#
# Sourced by scripts/examples.sh (which sets EMU, BIN, WORK and the
# functions `copy` and `twice`), it seeds the emulator, pulls twice (the
# second run must write nothing) and checks the hub field by field
# against what the emulator holds, and that each person present in two
# sources is one hub contact.

SEED000_DATA=examples/mailboxes-monday/data

# POST stdin (a JSON list) to the seed route $1; fail unless all were seeded
seed000_post() {
  local list answer
  list=$(cat)
  answer=$(curl -sf -X POST -H 'Content-Type: application/json' --data-binary "$list" "$1") &&
    python3 -c 'import json, sys; a = json.loads(sys.argv[1]); n = len(json.loads(sys.argv[2])); sys.exit(0 if a.get("seeded") == n else f"seeding {sys.argv[3]}: {a}")' \
      "$answer" "$list" "$1"
}

# seed the emulator at $1 from data/; writes "instance=board id" per board
# to the file $2
seed000_seed() {
  local emu=$1 out=$2 mailbox board instance id boards=
  for mailbox in anna@firma.de ben@firma.de office@firma.de; do
    python3 -c 'import json, sys; print(json.dumps(json.load(open(sys.argv[1]))[sys.argv[2]]))' \
      "$SEED000_DATA/mailboxes.json" "$mailbox" | seed000_post "$emu/_emulator/graph/seed?mailbox=$mailbox"
  done
  # the boards first, then their items: a fresh emulator numbers the
  # boards 1000000001, 1000000002, 1000000003, as einklang.toml says
  for instance in mitarbeiter subunternehmer lieferanten; do
    board=$(python3 -c 'import json, sys; b = [b for b in json.load(open(sys.argv[1])) if b["instance"] == sys.argv[2]][0]; print(json.dumps({"name": b["name"], "columns": b["columns"]}))' \
      "$SEED000_DATA/boards.json" "$instance")
    id=$(curl -sf -X POST -H 'Content-Type: application/json' --data-binary "$board" \
      "$emu/_emulator/monday/board" | python3 -c 'import json, sys; print(json.load(sys.stdin)["board"])')
    boards="$boards $instance=$id"
  done
  for board in $boards; do
    instance=${board%%=*} id=${board#*=}
    python3 -c 'import json, sys; print(json.dumps([b for b in json.load(open(sys.argv[1])) if b["instance"] == sys.argv[2]][0]["items"]))' \
      "$SEED000_DATA/boards.json" "$instance" | seed000_post "$emu/_emulator/monday/seed?board=$id"
    echo "$instance=$id" >>"$out"
  done
}

if [ "${BASH_SOURCE[0]}" = "$0" ]; then
  set -euo pipefail
  cd "$(dirname "$0")/.."
  [ "${1:-}" = seed ] && [ -n "${2:-}" ] || {
    echo "usage: $0 seed EMULATOR_URL" >&2
    exit 2
  }
  boards=$(mktemp)
  seed000_seed "$2" "$boards"
  cat "$boards"
  rm -f "$boards"
  exit 0
fi

d=$(copy mailboxes-monday)
sed -i "s#http://127.0.0.1:8099#$EMU#" "$d/einklang.toml"
seed000_seed "$EMU" "$WORK/seed000-boards.txt"
for pair in $(cat "$WORK/seed000-boards.txt"); do
  sed -i "s#${pair%%=*} = { board = [0-9]* }#${pair%%=*} = { board = ${pair#*=} }#" "$d/einklang.toml"
done
seed000_tokens() { curl -sf "$EMU/_emulator/graph/count" | python3 -c 'import json, sys; print(json.load(sys.stdin)["tokens"])'; }
tokens_before=$(seed000_tokens)
GRAPH_SECRET=graph-s3cret MONDAY_TOKEN=monday-token twice "$d" kontakte
tokens_after=$(seed000_tokens)
"$BIN/einklang" -c "$d/einklang.toml" dedupe contact --dry-run >"$WORK/seed000-dedupe.txt" 2>&1 || true
python3 - "$d" "$EMU" "$WORK/seed000-dedupe.txt" "$tokens_before" "$tokens_after" <<'PY'
import json, re, sqlite3, sys, urllib.request

d, emu, dedupe = sys.argv[1], sys.argv[2], sys.argv[3]
tokens = int(sys.argv[5]) - int(sys.argv[4])
name = "mailboxes-monday"
data = f"{d}/data"

def get(path):
    with urllib.request.urlopen(emu + path) as r:
        return json.load(r)

def phone(raw):
    """E.164 of the numbers in data/ (German numbers without +49 written
    locally, a trunk '(0)' after the country code dropped)."""
    s = raw.replace("(0)", "")
    digits = re.sub(r"[^\d+]", "", s)
    if digits.startswith("+"):
        return digits
    if digits.startswith("00"):
        return "+" + digits[2:]
    return "+49" + digits.lstrip("0")

def split_name(full):
    """split_name as einklang reads 'First Last' and 'Last, First'."""
    if "," in full:
        last, first = (p.strip() for p in full.split(",", 1))
        return first, last
    parts = full.split()
    return (" ".join(parts[:-1]), parts[-1]) if len(parts) > 1 else ("", full)

def none_if_empty(v):
    return v if v not in (None, "", []) else None

# every source record as the hub should read it: connector, id, label, fields
sources = []
for inst, mailbox in [("anna", "anna@firma.de"), ("ben", "ben@firma.de"), ("office", "office@firma.de")]:
    for c in get(f"/_emulator/graph/list?mailbox={mailbox}"):
        phones = ([c["mobilePhone"]] if c.get("mobilePhone") else []) + c.get("businessPhones", [])
        sources.append((f"mailbox.{inst}", c["id"], f'{c["givenName"]} {c["surname"]}', {
            "vorname": none_if_empty(c.get("givenName")),
            "nachname": none_if_empty(c.get("surname")),
            "firma": none_if_empty(c.get("companyName")),
            "emails": [e["address"].lower() for e in c.get("emailAddresses", [])],
            "phones": [phone(p) for p in phones],
            "ort": none_if_empty((c.get("businessAddress") or {}).get("city")),
        }))
config = open(f"{d}/einklang.toml").read()
for inst in ["mitarbeiter", "subunternehmer", "lieferanten"]:
    board = re.search(inst + r" = \{ board = (\d+) \}", config).group(1)
    for item in get(f"/_emulator/monday/list?board={board}"):
        col = {c["id"]: c["text"] for c in item["column_values"]}
        if inst == "lieferanten":
            first, last = split_name(col["text_mkx3"]) if col["text_mkx3"] else ("", "")
            fields = {"vorname": first, "nachname": last, "firma": item["name"],
                      "emails": col["email_mkx1"], "phones": col["phone_mkx2"], "ort": col["text_mkx4"]}
        else:
            first, last = split_name(item["name"])
            fields = {"vorname": first, "nachname": last, "firma": col["firma"],
                      "emails": col["email"], "phones": col["telefon"], "ort": col["ort"]}
        fields["emails"] = [fields["emails"].lower()] if fields["emails"] else []
        fields["phones"] = [phone(fields["phones"])] if fields["phones"] else []
        for k in ("vorname", "nachname", "firma", "ort"):
            fields[k] = none_if_empty(fields[k])
        sources.append((f"monday.{inst}", item["id"], item["name"], fields))

db = sqlite3.connect(f"{d}/einklang.db")
records = {rid: (json.loads(vals), merged) for rid, vals, merged in
           db.execute("SELECT id, vals, merged_into FROM records WHERE entity = 'contact' AND deleted_at IS NULL")}
links = {(conn, ext): rid for conn, ext, rid in
         db.execute("SELECT connector, external_id, record_id FROM links WHERE entity = 'contact'")}
fails = []
hub_of = {}
for conn, ext, label, _ in sources:
    rid = links.get((conn, ext))
    if rid is None:
        fails.append(f"{conn} {label!r} (id {ext}): no link to a hub contact")
        continue
    if records[rid][1] is not None:
        fails.append(f"{conn} {label!r}: linked to hub contact {rid}, which was merged into {records[rid][1]}")
    hub_of[(conn, label)] = rid

# the pairs a person would merge: one hub contact each
pairs = json.load(open(f"{data}/pairs.json"))
in_pair = set()
for a, b in pairs["merged"]:
    ra, rb = hub_of.get(tuple(a)), hub_of.get(tuple(b))
    in_pair |= {tuple(a), tuple(b)}
    if ra is None or rb is None or ra != rb:
        fails.append(f"not merged: {a[0]} {a[1]!r} is hub contact {ra}, {b[0]} {b[1]!r} is hub contact {rb}")
# the pairs matching is not sure of: two hub contacts, queued for a person
reviews = {frozenset((a, b)): (p, st) for a, b, p, st in
           db.execute("SELECT record_a, record_b, probability, status FROM reviews WHERE entity = 'contact'")}
for a, b in pairs["review"]:
    ra, rb = hub_of.get(tuple(a)), hub_of.get(tuple(b))
    in_pair |= {tuple(a), tuple(b)}
    queued = reviews.get(frozenset((ra, rb)))
    if ra is None or rb is None or ra == rb or queued is None or queued[1] != "open":
        fails.append(f"not queued for review: {a[0]} {a[1]!r} is hub contact {ra}, {b[0]} {b[1]!r} is hub contact {rb}, review {queued}")
# everyone else stays apart
alone = [k for k in hub_of if k not in in_pair]
for k in alone:
    for other in hub_of:
        if other != k and hub_of[other] == hub_of[k]:
            fails.append(f"merged by mistake: {k[0]} {k[1]!r} and {other[0]} {other[1]!r} are both hub contact {hub_of[k]}")

# field by field: each hub contact holds what its sources hold. Lists are
# the union of the sources' (normalised) values; a text field holds the
# value of the first source in `survive.sources` order (mailboxes before
# boards, in pull order) that has one
order = ["mailbox.anna", "mailbox.ben", "mailbox.office", "monday.mitarbeiter", "monday.subunternehmer", "monday.lieferanten"]
by_hub = {}
for conn, ext, label, fields in sources:
    if (conn, label) in hub_of:
        by_hub.setdefault(hub_of[(conn, label)], []).append((order.index(conn), conn, label, fields))
for rid, srcs in sorted(by_hub.items()):
    srcs.sort()
    vals = records[rid][0]
    who = " + ".join(f"{c} {l!r}" for _, c, l, _ in srcs)
    for field in ("vorname", "nachname", "firma", "ort"):
        want = next((f[field] for _, _, _, f in srcs if f[field] is not None), None)
        have = vals.get(field)
        if have != want:
            fails.append(f"hub contact {rid} ({who}): {field} is {have!r}, the source has {want!r}")
    for field in ("emails", "phones"):
        want = sorted({v for _, _, _, f in srcs for v in f[field]})
        have = vals.get(field) or []
        have = sorted(v if isinstance(v, str) else json.dumps(v) for v in have)
        if have != want:
            fails.append(f"hub contact {rid} ({who}): {field} are {have}, the sources have {want}")
if tokens != 2:
    fails.append(f"two runs of three mailboxes asked for {tokens} OAuth2 tokens, not one a run")
live = {rid for rid, (_, merged) in records.items() if merged is None}
if live != set(by_hub):
    fails.append(f"hub contacts without a source: {sorted(live - set(by_hub))}")

if fails:
    print(f"{name}: FAILED", file=sys.stderr)
    for f in fails:
        print(f"  {f}", file=sys.stderr)
    print(f"dedupe --dry-run:\n{open(dedupe).read()}", file=sys.stderr)
    sys.exit(1)
print(f"{name}: {len(sources)} records from 6 sources are {len(live)} hub contacts: "
      f"{len(pairs['merged'])} pairs merged, {len(pairs['review'])} queued for review, the others apart, "
      "every field as the sources have it, one OAuth2 token a run — ok")
PY
