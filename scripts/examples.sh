#!/usr/bin/env bash
# Run the two-way examples for real against the servers scripts/test
# started (Radicale, PostgreSQL) and the in-repo REST/GraphQL emulator:
# each example is copied to a temporary folder, pointed at the test server,
# synced twice, and the second run must write nothing. Called by
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
source scripts/examples-seed000.sh
