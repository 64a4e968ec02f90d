#!/usr/bin/env bash
# bench/dedup/run_splink.sh CSV [SCRIPT] — SCRIPT (default splink_dedupe.py,
# the FEBRL model; splink_contacts.py for generated contacts) on CSV under
# /usr/bin/time, printing its JSON line with "peak_rss_mb" appended (the
# peak resident set of the whole Python process, imports included).
# Installs the venv first if needed (setup.sh).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
csv=${1:?usage: run_splink.sh CSV [SCRIPT]}
script=${2:-splink_dedupe.py}
py=$("$here/setup.sh")
rss=$(mktemp)
trap 'rm -f "$rss"' EXIT
json=$(/usr/bin/time -f %M -o "$rss" "$py" "$here/$script" "$csv")
# %M is in KiB; the JSON line ends with "}"
printf '%s, "peak_rss_mb": %d}\n' "${json%\}}" "$(( $(tail -n1 "$rss") / 1024 ))"
