//! Deduplicating a set of records in one pass (`einklang dedupe`): block,
//! compare the candidate pairs, estimate the model from the data when
//! asked, score, decide, and cluster the pairs to merge. Pure: the
//! records come in, the plan goes out.

use super::block::{self, Rule};
use super::compare::Kind;
use super::model::{decide, u_from_random, Decision, Forms, Model};
use crate::record::Fields;
use std::collections::{HashMap, HashSet};

/// The settings of one pass.
pub struct Settings<'a> {
    /// Blocking rules.
    pub block: &'a [Rule],
    /// Blocks larger than this pair nothing.
    pub max_block: usize,
    /// Refine the model from these records first.
    pub estimate: bool,
    /// Merge at or above.
    pub auto_merge: f64,
    /// Review at or above.
    pub review: f64,
}

/// One scored candidate pair (indices into the records).
#[derive(Clone, Debug)]
pub struct Pair {
    /// First record.
    pub a: usize,
    /// Second record.
    pub b: usize,
    /// Its match probability (`Model::score` explains it; the plan keeps
    /// only the number: millions of pairs must fit in memory).
    pub probability: f64,
    /// What to do.
    pub decision: Decision,
}

/// The outcome of a pass.
pub struct Plan {
    /// Every candidate pair, scored, highest probability first.
    pub pairs: Vec<Pair>,
    /// Groups of records joined by pairs to merge.
    pub clusters: Vec<Vec<usize>>,
}

/// An identifier value carried by more records than this is not one
/// person's own (one person appears once per source, rarely more than
/// three or four times).
const COMMON: usize = 4;

/// Make `model` ready for `records`: their normalised forms (returned,
/// one per record), the identifier values too common to be evidence, and
/// with `estimate` the `u` probabilities from random pairs. `einklang
/// explain` calls this too, so it scores a pair as the pass does.
pub fn prepare(model: &mut Model, estimate: bool, records: &[Fields]) -> Vec<Forms> {
    let forms: Vec<Forms> = records.iter().map(|r| model.forms(r)).collect();
    model.common = common_values(model, forms.iter());
    if estimate && records.len() >= 10 {
        let samples = (records.len() * 20).clamp(1_000, 200_000);
        u_from_random(model, &forms, samples, 42);
    }
    forms
}

/// Per comparison, the e-mail and phone values that more than a few of
/// these records carry (what [`Model::common`] holds); other kinds get an
/// empty set.
pub fn common_values<'a>(
    model: &Model,
    forms: impl Iterator<Item = &'a Forms> + Clone,
) -> Vec<HashSet<String>> {
    model
        .comparisons
        .iter()
        .enumerate()
        .map(|(k, c)| {
            if !matches!(c.kind, Kind::Email | Kind::Phone) {
                return HashSet::new();
            }
            let mut counts: HashMap<&str, usize> = HashMap::new();
            for f in forms.clone().flat_map(|r| &r[k]) {
                *counts.entry(f.as_str()).or_default() += 1;
            }
            counts
                .into_iter()
                .filter(|(_, n)| *n > COMMON)
                .map(|(f, _)| f.to_string())
                .collect()
        })
        .collect()
}

/// Run a pass over `records`; `model` is refined in place when
/// `settings.estimate`.
pub fn run(model: &mut Model, settings: &Settings<'_>, records: &[Fields]) -> Plan {
    let keys: Vec<Vec<String>> = records
        .iter()
        .map(|r| block::keys(settings.block, r, &model.region))
        .collect();
    let candidates = block::candidate_pairs(&keys, settings.max_block);
    let forms = prepare(model, settings.estimate, records);
    let levels: Vec<_> = candidates
        .iter()
        .map(|&(a, b)| model.levels_of(&forms[a], &forms[b]))
        .collect();
    let mut pairs: Vec<Pair> = candidates
        .iter()
        .zip(&levels)
        .map(|(&(a, b), l)| {
            let probability = model.score_levels(l).probability;
            let decision = decide(probability, settings.auto_merge, settings.review);
            Pair {
                a,
                b,
                probability,
                decision,
            }
        })
        .collect();
    pairs.sort_by(|x, y| {
        y.probability
            .total_cmp(&x.probability)
            .then((x.a, x.b).cmp(&(y.a, y.b)))
    });
    let merges: Vec<(usize, usize)> = pairs
        .iter()
        .filter(|p| p.decision == Decision::Merge)
        .map(|p| (p.a, p.b))
        .collect();
    let clusters = block::clusters(records.len(), &merges);
    Plan { pairs, clusters }
}
