#!/usr/bin/env bash
# Run the two-way examples for real against the servers scripts/test
# started (Radicale, PostgreSQL) and the in-repo REST/GraphQL emulator:
# each example is copied to a temporary folder, pointed at the test server,
# synced twice, and the second run must write nothing; the Kommo and
# EspoCRM/Advoware examples are then compared with the emulator field by
# field (scripts/examples-check.py). Called by
# scripts/test after the unit and integration tests; needs
# EINKLANG_TEST_DAV and EINKLANG_TEST_PG.
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=$PWD/target/debug
cargo build --quiet -p einklang -p einklang-emulator
WORK=$(mktemp -d /tmp/einklang-examples.XXXXXX)
EMU_PID=
cleanup() {
  [ -n "$EMU_PID" ] && kill "$EMU_PID" 2>/dev/null || true
  rm -rf "$WORK"
}
trap cleanup EXIT

"$BIN/einklang-emulator" --api-key demo-key >"$WORK/emulator.url" 2>"$WORK/emulator.log" &
EMU_PID=$!
for _ in $(seq 1 100); do [ -s "$WORK/emulator.url" ] && break; sleep 0.05; done
EMU=$(head -1 "$WORK/emulator.url")
export CRM_API_KEY=demo-key DAV_PASSWORD=alicepw

# sync JOB twice in example DIR (already copied and edited); the second
# run must be quiet
twice() {
  local dir=$1 job=$2 first second
  first=$("$BIN/einklang" -c "$dir/einklang.toml" sync "$job" --json)
  second=$("$BIN/einklang" -c "$dir/einklang.toml" sync "$job" --json)
  python3 - "$dir" "$first" "$second" <<'PY'
import json, sys
name, first, second = sys.argv[1].rsplit("/", 1)[-1], json.loads(sys.argv[2]), json.loads(sys.argv[3])
def writes(r):
    c = r["counters"]
    return sum(c.get(k, 0) for k in ("created", "updated", "deleted", "remote_writes"))
assert first["status"] == "succeeded", f"{name}: first run {first['status']}: {first['errors']}"
assert writes(first) > 0, f"{name}: the first run wrote nothing: {first['counters']}"
assert second["status"] == "succeeded" and writes(second) == 0, f"{name}: second run not quiet: {second['counters']}"
print(f"{name}: first run {writes(first)} writes, second run 0 — ok")
PY
}

copy() {
  cp -r "examples/$1" "$WORK/$1"
  echo "$WORK/$1"
}

d=$(copy http); sed -i "s#http://127.0.0.1:8099#$EMU#" "$d/einklang.toml"; twice "$d" office-crm
d=$(copy graphql); sed -i "s#http://127.0.0.1:8099#$EMU#" "$d/einklang.toml"; twice "$d" office-crm
for ex in carddav caldav; do
  d=$(copy $ex)
  sed -i "s#http://127.0.0.1:5232/alice/#$EINKLANG_TEST_DAV#; s#collection = \"\\([a-z]*\\)\"#collection = \"\\1-$$\"#" "$d/einklang.toml"
  conn=$([ $ex = carddav ] && echo phone || echo calendar)
  job=$([ $ex = carddav ] && echo office-phone || echo termine)
  "$BIN/einklang" -c "$d/einklang.toml" connector install "$conn" >/dev/null
  twice "$d" "$job"
done
d=$(copy postgres-table)
DB="examples_$$"
psql_() { "${PG_BIN:-/usr/lib/postgresql/15/bin}/psql" -q -X -v ON_ERROR_STOP=1 "$@"; }
psql_ "$EINKLANG_TEST_PG" -c "CREATE DATABASE $DB" >/dev/null
URL="${EINKLANG_TEST_PG%/*}/$DB"
psql_ "$URL" -c "CREATE TABLE kontakte (id TEXT PRIMARY KEY, vorname TEXT, nachname TEXT, email TEXT, telefon_mobil TEXT, ort TEXT)"
sed -i "s#^url = .*#url = \"$URL\"#" "$d/einklang.toml"
"$BIN/einklang" -c "$d/einklang.toml" connector install supabase >/dev/null
twice "$d" kontakte

# Seed 003: Kommo leads with custom fields into bookings (a pull), then
# the hub is compared with the emulator's leads field by field.
check() { python3 scripts/examples-check.py "$@"; }
sync_json() { "$BIN/einklang" -c "$1/einklang.toml" sync "$2" --json; }
counters() { python3 -c 'import json,sys; c=json.load(sys.stdin)["counters"]; print(" ".join(f"{k}={c.get(k,0)}" for k in sys.argv[1:]))' "$@"; }
d=$(copy kommo-leads); sed -i "s#http://127.0.0.1:8099#$EMU#" "$d/einklang.toml"
curl -sf -X POST --data-binary @"$d/data/leads.json" "$EMU/_emulator/leads/seed" >/dev/null
export KOMMO_API_KEY=demo-key
twice "$d" kommo-bookings
check kommo-leads "$d" "$EMU"
# a booking's lead is lost (status 143) and another's vehicle changes in
# Kommo: the lost one leaves the hub, the other is updated
lead() { curl -sf "$EMU/_emulator/leads/list" | python3 -c 'import json,sys; print(next(l["id"] for l in json.load(sys.stdin) if l["name"].startswith(sys.argv[1])))' "$1"; }
kommo_patch() { curl -sf -X PATCH -H "X-Api-Key: $KOMMO_API_KEY" -H 'Content-Type: application/json' --data "$2" "$EMU/api/v4/leads/$1" >/dev/null; }
kommo_patch "$(lead 'Anna Novak')" '{"status_id": 143}'
kommo_patch "$(lead 'Jürgen')" '{"custom_fields_values": [{"field_id": 1234163, "values": [{"enum_id": 3001}]}]}'
got=$(sync_json "$d" kommo-bookings | counters updated deleted)
[ "$got" = "updated=1 deleted=1" ] || { echo "kommo-leads: after the status change: $got, expected updated=1 deleted=1" >&2; exit 1; }
check kommo-leads "$d" "$EMU"

# Seed 002: EspoCRM Contacts ↔ Advoware Beteiligte. The connector signs
# Advoware's token request itself (auth signed_token, scheme advoware);
# the credentials are the emulator's.
d=$(copy espo-advoware); sed -i "s#http://127.0.0.1:8099#$EMU#" "$d/einklang.toml"
curl -sf -X POST --data-binary @"$d/data/espo-contacts.json" "$EMU/_emulator/espo/seed?entity=Contact" >/dev/null
curl -sf -X POST --data-binary @"$d/data/advoware-beteiligte.json" "$EMU/_emulator/advoware/seed" >/dev/null
export ESPO_API_KEY=espo-api-key
export ADVOWARE_APP_ID=einklang-app ADVOWARE_API_KEY=YWR2b3dhcmUtdGVzdC1rZXk= ADVOWARE_PASSWORD=advo-pass
twice "$d" beteiligte
check espo-advoware "$d" "$EMU"
# a title changes in EspoCRM (written to Advoware: its PUT must keep the
# Advoware-only fields), an e-mail address is added in Advoware (written
# to EspoCRM)
espo_id=$(curl -sf "$EMU/_emulator/espo/list?entity=Contact" | python3 -c 'import json,sys; print(next(c["id"] for c in json.load(sys.stdin) if c["lastName"] == "Müller-Lüdenscheidt"))')
curl -sf -X PATCH -H "X-Api-Key: $ESPO_API_KEY" -H 'Content-Type: application/json' --data '{"title": "Prof. Dr."}' "$EMU/espo/api/v1/Contact/$espo_id" >/dev/null
bet=$(curl -sf "$EMU/_emulator/advoware/list" | python3 -c 'import json,sys; print(next(b["betNr"] for b in json.load(sys.stdin) if b["name"] == "Bäckerei Hölzl"))')
curl -sf -X POST --data '{"kommKz": 4, "tlf": "Bestellung@Baeckerei-Hoelzl.de"}' "$EMU/_emulator/advoware/kommunikation?betNr=$bet" >/dev/null
# and a private phone number is added to Weißmüller in Advoware: written to
# EspoCRM's phone list, whose other entries must stay as typed there
wm=$(curl -sf "$EMU/_emulator/advoware/list" | python3 -c 'import json,sys; print(next(b["betNr"] for b in json.load(sys.stdin) if b["name"] == "Weißmüller"))')
curl -sf -X POST --data '{"kommKz": 6, "tlf": "089 7654321"}' "$EMU/_emulator/advoware/kommunikation?betNr=$wm" >/dev/null
got=$(sync_json "$d" beteiligte | counters updated remote_writes)
[ "$got" = "updated=3 remote_writes=3" ] || { echo "espo-advoware: after the edits: $got, expected updated=3 remote_writes=3" >&2; exit 1; }
curl -sf "$EMU/_emulator/espo/list?entity=Contact" | python3 -c '
import json, sys
c = next(c for c in json.load(sys.stdin) if c["lastName"] == "Weißmüller")
phones = [p["phoneNumber"] for p in c["phoneNumberData"]]
mails = [m["emailAddress"] for m in c["emailAddressData"]]
for typed in ("0170 1039595", "+49 89 1234567"):
    assert typed in phones, f"espo-advoware: Weißmüller phone {typed!r} was rewritten: {phones}"
assert any(p.replace(" ", "").endswith("897654321") for p in phones), f"espo-advoware: the new phone did not reach EspoCRM: {phones}"
assert "J.Weissmueller@gmx.de" in mails, f"espo-advoware: Weißmüller e-mail lost its case: {mails}"
print("espo-advoware: EspoCRM entries einklang did not change are as typed — ok")'
check espo-advoware "$d" "$EMU"
curl -sf "$EMU/_emulator/advoware/list" | python3 -c '
import json, sys
b = next(b for b in json.load(sys.stdin) if b["name"] == "Müller-Lüdenscheidt")
assert (b["titel"], b["zusatz"], b["geburtsdatum"]) == ("Prof. Dr.", "geb. Schmitz", "1958-11-30T00:00:00"), f"espo-advoware: Advoware Beteiligter after the PUT: {b}"'
echo "espo-advoware: an Espo edit reached Advoware and an Advoware e-mail reached EspoCRM — ok"

# Seed 000: three mailboxes and monday boards into one hub (scripts/examples-seed000.sh)
source scripts/examples-seed000.sh
