"""Pairwise precision, recall and F1 of predicted duplicate pairs.

Usage: metrics.py TRUTH_CSV PAIRS_CSV [--seconds S] [--tool NAME] [--sweep]

TRUTH_CSV is a febrl_export.py file (columns id and cluster: two records
are a true pair when their cluster is the same). PAIRS_CSV has a header
`a,b` and one predicted pair of ids a line; pairs are unordered, repeats
and self-pairs are ignored. Prints one JSON line with the keys tool, file,
records, true_pairs, predicted_pairs, tp, precision, recall, f1, seconds.

With --sweep, PAIRS_CSV needs a column `p` (the pair's match
probability) and may have `w` (its match weight), as the Splink scripts
write them with --pairs, and a second line is printed: the threshold with
the best F1, chosen on the labels (`sweep`: every cut between two
distinct weights, or probabilities without w, is tried, so the threshold
is the lowest one kept), tool NAME-best, with the keys threshold (and
threshold_match_weight) and grid (P, R, F1 at fixed probabilities)
added. The first line then scores the pairs with p >= 0.9.

The Splink scripts import `truth`, `labels`, `score`, `sweep`,
`cluster_score`, `components` and `cluster_sweep` from here.
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


def labels(path):
    """{id: cluster} of a TRUTH_CSV."""
    with open(path, newline="", encoding="utf-8") as f:
        return {row["id"]: row["cluster"] for row in csv.DictReader(f)}


def prf(tp, predicted, true):
    """(precision, recall, F1) of tp hits among predicted, out of true."""
    precision = tp / predicted if predicted else 0.0
    recall = tp / true if true else 0.0
    f1 = 2 * precision * recall / (precision + recall) if tp else 0.0
    return precision, recall, f1


GRID = (0.01, 0.05, 0.1, 0.2, 0.3, 0.5, 0.7, 0.8, 0.9, 0.95, 0.99, 0.999)


def unique_scored(scored):
    """[(p, (a, b))] of (a, b, p) triples, one per unordered pair (its
    highest p), highest p first."""
    best = {}
    for a, b, p in scored:
        if a == b:
            continue
        k = pair(a, b)
        p = float(p)
        if k not in best or best[k] < p:
            best[k] = p
    return sorted(((p, k) for k, p in best.items()), key=lambda t: -t[0])


def sweep(true_pairs, scored, best=True, grid=True):
    """The best-F1 threshold of scored pairs ((a, b, p) triples; p a
    probability or anything ranked like one, e.g. a match weight).

    Pairs are taken highest p first; each cut between two distinct p is
    scored, so pairs of equal p stay together. Returns a dict with
    threshold (the lowest p kept), predicted_pairs, tp, precision, recall,
    f1 (if best), and grid: [threshold, precision, recall, f1] at GRID
    (if grid; p must be a probability then).
    """
    found = _sweep(true_pairs, scored)
    out = {}
    if best:
        out.update(found[0])
    if grid:
        out["grid"] = found[1]
    return out


def _sweep(true_pairs, scored):
    ranked = unique_scored(scored)
    best = {"threshold": None, "predicted_pairs": 0, "tp": 0, "f1": -1.0}
    grid = {}
    tp = 0
    for i, (p, k) in enumerate(ranked):
        tp += k in true_pairs
        if i + 1 < len(ranked) and ranked[i + 1][0] == p:
            continue
        n = i + 1
        precision, recall, f1 = prf(tp, n, len(true_pairs))
        if f1 > best["f1"]:
            best = {"threshold": p, "predicted_pairs": n, "tp": tp,
                    "precision": precision, "recall": recall, "f1": f1}
        # the grid point t holds the pairs with p >= t: the cut here is
        # the last one for every t in (next p, p]
        nxt = ranked[i + 1][0] if i + 1 < len(ranked) else float("-inf")
        for t in GRID:
            if nxt < t <= p:
                grid[t] = [t, round(precision, 4), round(recall, 4), round(f1, 4)]
    for t in GRID:  # above the highest p: nothing predicted
        if ranked and t > ranked[0][0]:
            grid[t] = [t, 0.0, 0.0, 0.0]
    for key in ("precision", "recall", "f1"):
        best[key] = round(max(best.get(key, 0.0), 0.0), 4)
    return best, [grid[t] for t in GRID if t in grid]


def _label_pairs(counts):
    return sum(n * (n - 1) // 2 for n in counts.values())


def cluster_score(truth_labels, assignment):
    """(predicted_pairs, tp, precision, recall, f1) of a clustering:
    every two records in one predicted cluster are a predicted pair.
    assignment is {id: predicted cluster}; ids missing from it are
    singletons. Counted per cluster, so a giant cluster costs nothing."""
    by_cluster = defaultdict(lambda: defaultdict(int))
    for rid, c in assignment.items():
        by_cluster[c][truth_labels[rid]] += 1
    predicted = tp = 0
    for counts in by_cluster.values():
        n = sum(counts.values())
        predicted += n * (n - 1) // 2
        tp += _label_pairs(counts)
    true = _label_pairs(_counts(truth_labels.values()))
    return (predicted, tp) + prf(tp, predicted, true)


def _counts(values):
    c = defaultdict(int)
    for v in values:
        c[v] += 1
    return c


def components(scored, threshold):
    """{id: root} of the connected components of the scored pairs ((a, b,
    p) triples) with p >= threshold; records in no such pair are left
    out (singletons, as cluster_score takes them)."""
    parent = {}

    def find(x):
        while parent.get(x, x) != x:
            parent[x] = parent.get(parent[x], parent[x])
            x = parent[x]
        return x

    for a, b, p in scored:
        if p >= threshold and a != b:
            ra, rb = find(a), find(b)
            if ra != rb:
                parent[ra] = rb
            parent.setdefault(rb, rb)
    return {x: find(x) for x in list(parent)}


def cluster_sweep(truth_labels, scored):
    """The best-F1 threshold for connected components (what Splink's
    cluster_pairwise_predictions_at_threshold makes) of scored pairs:
    union-find adding pairs highest p first, counting the pairs and true
    pairs each union joins. Returns a dict like sweep's (no grid)."""
    true = _label_pairs(_counts(truth_labels.values()))
    parent, size, labels_of = {}, {}, {}

    def find(x):
        root = x
        while parent.get(root, root) != root:
            root = parent[root]
        while parent.get(x, x) != root:
            parent[x], x = root, parent[x]
        return root

    ranked = unique_scored(scored)
    predicted = tp = 0
    best = {"threshold": None, "predicted_pairs": 0, "tp": 0, "f1": -1.0}
    for i, (p, (a, b)) in enumerate(ranked):
        ra, rb = find(a), find(b)
        if ra != rb:
            la = labels_of.get(ra) or {truth_labels[a]: 1}
            lb = labels_of.get(rb) or {truth_labels[b]: 1}
            sa, sb = size.get(ra, 1), size.get(rb, 1)
            if len(la) < len(lb):
                ra, rb, la, lb = rb, ra, lb, la
            predicted += sa * sb
            for c, n in lb.items():
                m = la.get(c, 0)
                tp += m * n
                la[c] = m + n
            parent[rb] = ra
            size[ra] = sa + sb
            labels_of[ra] = la
            labels_of.pop(rb, None)
        if i + 1 < len(ranked) and ranked[i + 1][0] == p:
            continue
        precision, recall, f1 = prf(tp, predicted, true)
        if f1 > best["f1"]:
            best = {"threshold": p, "predicted_pairs": predicted, "tp": tp,
                    "precision": round(precision, 4), "recall": round(recall, 4),
                    "f1": round(f1, 4)}
    return best


def score(tool, path, records, true_pairs, predicted, seconds):
    """The JSON-ready result of predicted (an iterable of id pairs)."""
    predicted = {pair(a, b) for a, b in predicted if a != b}
    tp = len(predicted & true_pairs)
    precision, recall, f1 = prf(tp, len(predicted), len(true_pairs))
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
    p.add_argument("--sweep", action="store_true",
                   help="PAIRS_CSV has a column p: score p >= 0.9 and the best-F1 threshold")
    args = p.parse_args()
    records, true_pairs = truth(args.truth_csv)
    with open(args.pairs_csv, newline="", encoding="utf-8") as f:
        if not args.sweep:
            predicted = [(r["a"], r["b"]) for r in csv.DictReader(f)]
        else:
            rows = [(r["a"], r["b"], float(r["p"]), float(r.get("w") or r["p"]))
                    for r in csv.DictReader(f)]
            predicted = [(a, b) for a, b, p, _ in rows if p >= 0.9]
    print(json.dumps(score(args.tool, args.truth_csv, records, true_pairs, predicted, args.seconds)))
    if args.sweep:
        by_weight = "w" in open(args.pairs_csv, encoding="utf-8").readline().strip().split(",")
        row = score(args.tool + "-best", args.truth_csv, records, true_pairs, [], args.seconds)
        row.update(sweep(true_pairs, [(a, b, w) for a, b, _, w in rows], grid=False))
        if by_weight and row["threshold"] is not None:
            row["threshold_match_weight"] = row["threshold"]
            row["threshold"] = min(p for _, _, p, w in rows if w >= row["threshold"])
        row.update(sweep(true_pairs, [(a, b, p) for a, b, p, _ in rows], best=False))
        print(json.dumps(row))


if __name__ == "__main__":
    main()
