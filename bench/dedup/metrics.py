"""Pairwise precision, recall and F1 of predicted duplicate pairs.

Usage: metrics.py TRUTH_CSV PAIRS_CSV [--seconds S] [--tool NAME]

TRUTH_CSV is a febrl_export.py file (columns id and cluster: two records
are a true pair when their cluster is the same). PAIRS_CSV has a header
`a,b` and one predicted pair of ids a line; pairs are unordered, repeats
and self-pairs are ignored. Prints one JSON line with the keys tool, file,
records, true_pairs, predicted_pairs, tp, precision, recall, f1, seconds.
splink_dedupe.py imports `truth` and `score` from here.
"""

import argparse
import csv
import json
import os
from collections import defaultdict


def pair(a, b):
    return (a, b) if a < b else (b, a)


def truth(path):
    """(record count, set of true pairs) of a TRUTH_CSV."""
    clusters = defaultdict(list)
    records = 0
    with open(path, newline="", encoding="utf-8") as f:
        for row in csv.DictReader(f):
            clusters[row["cluster"]].append(row["id"])
            records += 1
    pairs = set()
    for ids in clusters.values():
        for i, a in enumerate(ids):
            for b in ids[i + 1:]:
                pairs.add(pair(a, b))
    return records, pairs


def score(tool, path, records, true_pairs, predicted, seconds):
    """The JSON-ready result of predicted (an iterable of id pairs)."""
    predicted = {pair(a, b) for a, b in predicted if a != b}
    tp = len(predicted & true_pairs)
    precision = tp / len(predicted) if predicted else 0.0
    recall = tp / len(true_pairs) if true_pairs else 0.0
    f1 = 2 * precision * recall / (precision + recall) if tp else 0.0
    return {
        "tool": tool, "file": os.path.basename(path), "records": records,
        "true_pairs": len(true_pairs), "predicted_pairs": len(predicted), "tp": tp,
        "precision": round(precision, 4), "recall": round(recall, 4), "f1": round(f1, 4),
        "seconds": None if seconds is None else round(seconds, 3),
    }


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("truth_csv")
    p.add_argument("pairs_csv")
    p.add_argument("--seconds", type=float)
    p.add_argument("--tool", default="einklang")
    args = p.parse_args()
    records, true_pairs = truth(args.truth_csv)
    with open(args.pairs_csv, newline="", encoding="utf-8") as f:
        predicted = [(r["a"], r["b"]) for r in csv.DictReader(f)]
    print(json.dumps(score(args.tool, args.truth_csv, records, true_pairs, predicted, args.seconds)))


if __name__ == "__main__":
    main()
