//! Estimating each comparison's `m` from the candidate pairs of a pass
//! (expectation maximisation), the way Splink trains it: one session per
//! blocking rule, over the pairs that rule paired, and in that session
//! only the comparisons the rule does not read are estimated.
//!
//! Why per rule: every candidate pair shares some blocking key, so over
//! all candidate pairs at once the fields the rules read look as if true
//! matches nearly always agree on them (a pair blocked on name and
//! postcode agrees on the postcode whether it is one person or two
//! neighbours). EM then learns `m` ≈ 1 for those fields and merges
//! neighbours (tried: F1 0.97 → 0.80 on a contact export). Within the
//! pairs one rule made, a field it does not read is free to agree or not,
//! so its agreement among the session's matches is an honest `m`; the
//! fields the rule reads count for nothing in that session (each pair
//! agrees on them because it was paired). Each
//! comparison's `m` is the mean over the sessions that estimated it; a
//! comparison every rule reads keeps its seed (the defaults or the
//! configured values). The prior is each session's own and is not kept:
//! the pass scores with the configured one.
//!
//! `u` is not estimated here: it comes from random pairs
//! ([`super::model::u_from_random`]), which blocking does not bias.

use super::block::Rule;
use super::compare::Level;
use super::model::{Comparison, Model};

/// A session with fewer pairs than this estimates nothing: a handful of
/// pairs says more about those records than about the fields.
pub const MIN_PAIRS: usize = 100;

/// Rounds of one session at most (it stops earlier once no `m` moves by
/// more than [`CONVERGED`]).
pub const ROUNDS: usize = 25;

/// See [`ROUNDS`].
pub const CONVERGED: f64 = 1e-4;

/// One session's outcome, for the pass's report.
#[derive(Clone, Debug, PartialEq)]
pub struct Session {
    /// The blocking rule's index.
    pub rule: usize,
    /// Pairs it trained on.
    pub pairs: usize,
    /// Rounds it took.
    pub rounds: usize,
    /// The share of matches it ended with.
    pub prior: f64,
    /// The comparisons it estimated.
    pub estimated: Vec<usize>,
}

/// The comparisons whose fields a blocking rule reads.
pub fn read_by(model: &Model, rule: &Rule) -> Vec<usize> {
    let mut fields: Vec<&str> = Vec::new();
    collect_fields(rule, &mut fields);
    (0..model.comparisons.len())
        .filter(|&k| fields.contains(&model.comparisons[k].field.as_str()))
        .collect()
}

fn collect_fields<'a>(rule: &'a Rule, out: &mut Vec<&'a str>) {
    match rule {
        Rule::Field { field, .. } | Rule::EmailLocal { field } => out.push(field),
        Rule::Phonetic { first, last } => out.extend([first.as_str(), last.as_str()]),
        Rule::All(parts) => parts.iter().for_each(|p| collect_fields(p, out)),
    }
}

/// Estimate `m` of `model`'s comparisons from candidate pairs: `levels`
/// holds each pair's levels one after the other (one per comparison),
/// `rules_of` each pair's blocking rules as bits (bit `r` for rule `r`;
/// rules from the 32nd on share bit 31 and train no session). Returns the
/// sessions that ran.
pub fn estimate_by_rule(
    model: &mut Model,
    rules: &[Rule],
    levels: &[Level],
    rules_of: &[u32],
) -> Vec<Session> {
    let n = model.comparisons.len();
    if n == 0 {
        return Vec::new();
    }
    debug_assert_eq!(levels.len(), rules_of.len() * n);
    let seed: Vec<Comparison> = model.comparisons.clone();
    let mut sums = vec![[0.0f64; 3]; n];
    let mut counts = vec![0usize; n];
    let mut sessions = Vec::new();
    for (r, rule) in rules.iter().enumerate().take(31) {
        let fixed = read_by(model, rule);
        let free: Vec<usize> = (0..n).filter(|k| !fixed.contains(k)).collect();
        let members: Vec<&[Level]> = rules_of
            .iter()
            .zip(levels.chunks_exact(n))
            .filter(|(bits, _)| *bits & (1 << r) != 0)
            .map(|(_, l)| l)
            .collect();
        if free.is_empty() || members.len() < MIN_PAIRS {
            continue;
        }
        let mut session = Model {
            comparisons: seed.clone(),
            prior: model.prior,
            region: String::new(),
            region_from: None,
            common: Vec::new(),
            frequencies: Vec::new(),
            population: 0,
        };
        // the rule's own fields say nothing inside its pairs (every pair
        // agrees on them): out of the session, as Splink deactivates them
        for &k in &fixed {
            session.comparisons[k].m = session.comparisons[k].u;
        }
        let rounds = train(&mut session, &members, &free);
        for &k in &free {
            for (s, m) in sums[k].iter_mut().zip(session.comparisons[k].m) {
                *s += m;
            }
            counts[k] += 1;
        }
        sessions.push(Session {
            rule: r,
            pairs: members.len(),
            rounds,
            prior: session.prior,
            estimated: free,
        });
    }
    for (k, c) in model.comparisons.iter_mut().enumerate() {
        if counts[k] > 0 {
            c.m = sums[k].map(|s| s / counts[k] as f64);
        }
    }
    sessions
}

/// EM over one session's pairs: the `m` of the `free` comparisons and the
/// session's prior. Returns the rounds it took.
fn train(session: &mut Model, pairs: &[&[Level]], free: &[usize]) -> usize {
    for round in 1..=ROUNDS {
        let p: Vec<f64> = pairs.iter().map(|l| session.probability(l)).collect();
        session.prior = (p.iter().sum::<f64>() / pairs.len() as f64).clamp(1e-4, 0.9999);
        let mut moved = 0.0f64;
        for &k in free {
            let mut counts = [0.0; 3];
            for (levels, pm) in pairs.iter().zip(&p) {
                if let Some(i) = levels[k].index() {
                    counts[i] += pm;
                }
            }
            let total: f64 = counts.iter().sum();
            if total <= 0.0 {
                continue;
            }
            let m = counts.map(|x| (x / total).clamp(1e-4, 1.0));
            let c = &mut session.comparisons[k];
            moved = (0..3).map(|i| (m[i] - c.m[i]).abs()).fold(moved, f64::max);
            c.m = m;
        }
        if moved < CONVERGED {
            return round;
        }
    }
    ROUNDS
}
