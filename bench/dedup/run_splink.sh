#!/usr/bin/env bash
# bench/dedup/run_splink.sh CSV [SCRIPT [ARGS…]] — SCRIPT (default
# splink_dedupe.py, the FEBRL model; splink_contacts.py for generated
# contacts) on CSV under /usr/bin/time, printing its JSON lines (Splink at
# 0.9, then at the best threshold chosen on the labels; see
# splink_report.py) each with "peak_rss_mb" appended (the peak resident
# set of the whole Python process, imports included). ARGS go to SCRIPT:
# --pairs FILE, --clusters FILE, --low P.
# Installs the venv first if needed (setup.sh).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
csv=${1:?usage: run_splink.sh CSV [SCRIPT [ARGS…]]}
script=${2:-splink_dedupe.py}
shift $(( $# < 2 ? $# : 2 ))
py=$("$here/setup.sh")
rss=$(mktemp)
trap 'rm -f "$rss"' EXIT
json=$(/usr/bin/time -f %M -o "$rss" "$py" "$here/$script" "$csv" "$@")
# %M is in KiB; each JSON line ends with "}"
mb=$(( $(tail -n1 "$rss") / 1024 ))
while IFS= read -r line; do
  printf '%s, "peak_rss_mb": %d}\n' "${line%\}}" "$mb"
done <<<"$json"
