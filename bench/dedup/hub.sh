#!/usr/bin/env bash
# bench/dedup/hub.sh — `einklang dedupe person` over a SQLite hub (issue 12
# item 4): loads N generated contacts (einklang-gen dupes) into an empty
# hub with a csv connector and bench/dedup/contacts.toml's matching
# (matching on ingest off for the load), then times
# `einklang dedupe person --dry-run` and `einklang dedupe person` with
# /usr/bin/time -v (wall seconds, peak RSS).
#
#   bench/dedup/hub.sh              # N=1000000
#   N=200000 bench/dedup/hub.sh
#   PRESET=real bench/dedup/hub.sh  # default classic
#   SKIP_LOAD=1 bench/dedup/hub.sh  # reuse the loaded hub (a copy of it is
#                                   # kept, since dedupe changes the hub)
#   BIN=/some/release bench/dedup/hub.sh  # binaries of another build
#   OUT=/tmp/hub bench/dedup/hub.sh # where the CSV, hub and timings go
#                                   # (default bench/out/hub; ~1.5 GB at 1M)
set -euo pipefail
cd "$(dirname "$0")/../.."
N=${N:-1000000}
PRESET=${PRESET:-classic}
OUT=${OUT:-$PWD/bench/out/hub}
mkdir -p "$OUT"
if [ -z "${BIN:-}" ]; then # BIN=DIR: binaries built elsewhere (another commit)
  cargo build --release --quiet -p einklang -p einklang-gen
  BIN=${CARGO_TARGET_DIR:-$PWD/target}/release
fi
FIELDS="first_name last_name email phone company street postcode city date_of_birth"
cfg=$OUT/hub.toml
{
  echo "store = \"$OUT/hub.db\""
  sed 's/^\[matching.person\]$/[matching.person]\ningest = false/' bench/dedup/contacts.toml
  printf '\n[connectors.hub_csv]\nkind = "csv"\npath = "hub.csv"\n'
  printf '\n[map.hub_csv.person]\nid = "id"\nfields = { %s }\n' \
    "$(for f in $FIELDS; do printf '%s = "%s", ' "$f" "$f"; done | sed 's/, $//')"
  printf '\n[jobs.load]\npull = ["hub_csv"]\n'
} >"$cfg"

report() { # NAME
  local wall rss
  wall=$(grep 'Elapsed (wall clock)' "$OUT/$1.time" | awk '{print $NF}')
  rss=$(grep 'Maximum resident' "$OUT/$1.time" | awk '{print $NF}')
  printf '%-16s wall %s  peak RSS %d MB  (%s)\n' "$1" "$wall" $((rss / 1024)) "$(tail -n1 "$OUT/$1.out")"
}

if [ -z "${SKIP_LOAD:-}" ]; then
  "$BIN/einklang-gen" dupes --preset "$PRESET" --count "$N" --seed 42 --out "$OUT/hub.csv"
  rm -f "$OUT"/hub.db "$OUT"/hub.db-wal "$OUT"/hub.db-shm "$OUT"/loaded.db
  /usr/bin/time -v -o "$OUT/load.time" "$BIN/einklang" --config "$cfg" sync load >"$OUT/load.out" 2>"$OUT/load.err"
  report load
  # the last connection to close checkpoints the WAL: hub.db is all of it
  [ ! -s "$OUT/hub.db-wal" ] || { echo "hub.db-wal left over" >&2; exit 1; }
  cp "$OUT/hub.db" "$OUT/loaded.db"
else
  rm -f "$OUT"/hub.db-wal "$OUT"/hub.db-shm
  cp "$OUT/loaded.db" "$OUT/hub.db"
fi
/usr/bin/time -v -o "$OUT/dry-run.time" "$BIN/einklang" --config "$cfg" dedupe person --dry-run --limit 5 >"$OUT/dry-run.out" 2>"$OUT/dry-run.err"
report dry-run
/usr/bin/time -v -o "$OUT/dedupe.time" "$BIN/einklang" --config "$cfg" dedupe person >"$OUT/dedupe.out" 2>"$OUT/dedupe.err"
report dedupe
