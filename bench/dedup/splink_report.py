"""What splink_dedupe.py and splink_contacts.py share: the command line,
prediction at a low threshold, and the scoring at 0.9 and at the best
threshold chosen on the labels.

Command line of both scripts:

    SCRIPT CSV [--pairs FILE] [--clusters FILE] [--low P]

Splink predicts every blocked pair with match probability >= P (default
0.01: low enough that no threshold worth choosing is cut off, high enough
that the pairs fit in memory at 1M records). From those pairs:

- tool "splink": the pairs with p >= 0.9 (THRESHOLD, fixed before any
  run, as for einklang), scored by metrics.score;
- tool "splink-best": the threshold with the best pairwise F1 over the
  same true pairs (metrics.sweep: every cut between two distinct match
  weights — ranked by weight, not probability, because above weight ~53
  the probability rounds to 1.0 and thousands of pairs would tie), with
  the threshold as probability and as match weight
  (threshold_match_weight) and a grid of fixed probability thresholds;
- on both lines, cluster_precision/recall/f1: Splink's own
  cluster_pairwise_predictions_at_threshold (connected components) at
  that line's threshold, every two records of a cluster a predicted pair;
- on the "splink-best" line also cluster_best: the threshold whose
  connected components have the best cluster F1 (metrics.cluster_sweep,
  union-find over the same pairs; at 0.9 and at the pairwise best it
  gives what Splink's clustering gives).

`seconds` covers cleaning (splink_contacts.py), building the linker,
training and the prediction at P, the same span for both lines;
`cluster_seconds` Splink's two clusterings. Not imports, reading the CSV,
writing the files or scoring.

--pairs FILE writes `a,b,p,w` (every predicted pair, its match
probability and match weight; `metrics.py CSV FILE --sweep` scores it
again), --clusters
FILE writes `id,cluster_09,cluster_best` (Splink's cluster ids at 0.9 and
at the pairwise best threshold).
"""

import argparse
import json
import time

import sys

from metrics import cluster_score, cluster_sweep, components, labels, score, sweep, truth

THRESHOLD = 0.9


def args(doc):
    p = argparse.ArgumentParser(description=doc.splitlines()[0])
    p.add_argument("csv")
    p.add_argument("--pairs", help="write a,b,p of every predicted pair here")
    p.add_argument("--clusters", help="write id,cluster_09,cluster_best here")
    p.add_argument("--low", type=float, default=0.01,
                   help="predict pairs with match probability >= this (default 0.01)")
    return p.parse_args()


def lowest_p(rows, weight):
    """The lowest match probability of the pairs with match weight >=
    weight: the probability threshold that keeps the same pairs (unless
    they tie at 1.0), exactly as Splink computed it, so that its
    clustering at that threshold keeps them too. None stays None."""
    if weight is None:
        return None
    return min(p for _, _, p, w in rows if w >= weight)


def predict_and_report(linker, opts, started):
    """Predicts at opts.low, clusters, scores; prints two JSON lines."""
    path = opts.csv
    predictions = linker.inference.predict(threshold_match_probability=opts.low)
    rel = predictions.as_duckdbpyrelation()
    rows = rel.select("id_l, id_r, match_probability, match_weight").fetchall()
    seconds = time.monotonic() - started
    scored = [(a, b, w) for a, b, _, w in rows]  # ranked by weight

    records, true_pairs = truth(path)
    truth_labels = labels(path)
    at = score("splink", path, records, true_pairs,
               [(a, b) for a, b, p, _ in rows if p >= THRESHOLD], seconds)
    at["threshold"] = THRESHOLD
    at["predict_threshold"] = opts.low
    best = score("splink-best", path, records, true_pairs, [], seconds)
    best.update(sweep(true_pairs, scored, grid=False))
    best["threshold_match_weight"] = best["threshold"]
    best["threshold"] = lowest_p(rows, best["threshold"])
    best.update(sweep(true_pairs, [(a, b, p) for a, b, p, _ in rows], best=False))
    best["predict_threshold"] = opts.low

    started = time.monotonic()
    clusters = {}
    for row, t in ((at, THRESHOLD), (best, best["threshold"])):
        if t is None:
            continue
        clustered = linker.clustering.cluster_pairwise_predictions_at_threshold(
            predictions, threshold_match_probability=t)
        assignment = dict(clustered.as_duckdbpyrelation().select("id, cluster_id").fetchall())
        clusters[t] = assignment
        _, _, precision, recall, f1 = cluster_score(truth_labels, assignment)
        # the same from our own union-find: Splink's clustering filters
        # by a probability it writes into SQL, check nothing got lost
        own = cluster_score(truth_labels, components([(a, b, p) for a, b, p, _ in rows], t))
        if round(own[4], 4) != round(f1, 4):
            print(f"splink_report: Splink's clusters at {t!r} score F1 {f1:.4f},"
                  f" connected components of the pairs {own[4]:.4f}", file=sys.stderr)
            row["cluster_f1_components"] = round(own[4], 4)
        row.update(cluster_precision=round(precision, 4), cluster_recall=round(recall, 4),
                   cluster_f1=round(f1, 4))
    cluster_seconds = round(time.monotonic() - started, 3)
    at["cluster_seconds"] = best["cluster_seconds"] = cluster_seconds
    cb = cluster_sweep(truth_labels, scored)
    cb["threshold_match_weight"] = cb["threshold"]
    cb["threshold"] = lowest_p(rows, cb["threshold"])
    best["cluster_best"] = cb

    if opts.pairs:
        with open(opts.pairs, "w", encoding="utf-8") as f:
            f.write("a,b,p,w\n")
            for a, b, p, w in rows:
                f.write(f"{a},{b},{p!r},{w!r}\n")
    if opts.clusters:
        c09 = clusters.get(THRESHOLD, {})
        cbest = clusters.get(best["threshold"], {})
        with open(opts.clusters, "w", encoding="utf-8") as f:
            f.write("id,cluster_09,cluster_best\n")
            for rid in truth_labels:
                f.write(f"{rid},{c09.get(rid, '')},{cbest.get(rid, '')}\n")

    print(json.dumps(at))
    print(json.dumps(best))
