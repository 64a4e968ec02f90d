//! Blocking: which pairs are compared at all. Each record gets keys (its
//! normalised e-mails, phones, the Kölner Phonetik of its last name with
//! the first letter of its first name, …); only records sharing a key are
//! paired, so the work is near-linear instead of quadratic. A key shared
//! by more than `max_block` records (a company's `info@`, a placeholder
//! that slipped through) is too common to mean anything and pairs nothing.

use super::compare::{forms, Kind};
use super::phonetic::koelner;
use crate::record::Fields;
use serde::{Deserialize, Serialize};
use std::collections::HashMap;

/// One way of making blocking keys.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Rule {
    /// Every normalised form of a field (`emails`, `phones`, `postcode`).
    Field {
        /// Hub field.
        field: String,
        /// How it is normalised.
        kind: Kind,
    },
    /// Kölner Phonetik of the last name and the first letter of the first
    /// name (also swapped, for records with first and last reversed).
    Phonetic {
        /// First-name field.
        first: String,
        /// Last-name field.
        last: String,
    },
    /// Records agree on every one of these rules at once (a phonetic name
    /// key *and* the postcode): smaller blocks for common names.
    All(Vec<Rule>),
}

/// The blocking keys of a record (prefixed by the rule's number).
pub fn keys(rules: &[Rule], record: &Fields, region: &str) -> Vec<String> {
    let mut out = Vec::new();
    for (i, rule) in rules.iter().enumerate() {
        out.extend(
            rule_keys(rule, record, region)
                .into_iter()
                .map(|k| format!("{i}:{k}")),
        );
    }
    out.sort();
    out.dedup();
    out
}

/// Keys of one rule, unprefixed.
fn rule_keys(rule: &Rule, record: &Fields, region: &str) -> Vec<String> {
    match rule {
        Rule::Field { field, kind } => forms(*kind, record.get(field), region),
        Rule::Phonetic { first, last } => {
            let f = forms(Kind::Name, record.get(first), region);
            let l = forms(Kind::Name, record.get(last), region);
            let mut out = Vec::new();
            if let (Some(f), Some(l)) = (f.first(), l.first()) {
                for (a, b) in [(f, l), (l, f)] {
                    let code = koelner(b);
                    if let (false, Some(initial)) = (code.is_empty(), a.chars().next()) {
                        out.push(format!("{code}{initial}"));
                    }
                }
            }
            out
        }
        Rule::All(parts) => {
            // every combination of the parts' keys (a part without a key:
            // no key at all); at most 16, or the rule says nothing
            let mut combos = vec![String::new()];
            for part in parts {
                let ks = rule_keys(part, record, region);
                combos = combos
                    .iter()
                    .flat_map(|c| {
                        ks.iter().map(move |k| match c.is_empty() {
                            true => k.clone(),
                            false => format!("{c}|{k}"),
                        })
                    })
                    .take(16)
                    .collect();
            }
            combos
        }
    }
}

/// The candidate pairs `(i, j)`, `i < j`, of records sharing a key.
pub fn candidate_pairs(keys: &[Vec<String>], max_block: usize) -> Vec<(usize, usize)> {
    let mut blocks: HashMap<&str, Vec<usize>> = HashMap::new();
    for (i, ks) in keys.iter().enumerate() {
        for k in ks {
            blocks.entry(k.as_str()).or_default().push(i);
        }
    }
    let mut pairs = Vec::new();
    for members in blocks
        .values()
        .filter(|m| m.len() > 1 && m.len() <= max_block)
    {
        for (x, &i) in members.iter().enumerate() {
            for &j in &members[x + 1..] {
                pairs.push((i.min(j), i.max(j)));
            }
        }
    }
    pairs.sort_unstable();
    pairs.dedup();
    pairs
}

/// Clusters of records joined by pairs (union-find), each sorted, in the
/// order of their smallest member; single records are left out.
pub fn clusters(n: usize, pairs: &[(usize, usize)]) -> Vec<Vec<usize>> {
    let mut parent: Vec<usize> = (0..n).collect();
    fn root(parent: &mut [usize], mut i: usize) -> usize {
        while parent[i] != i {
            parent[i] = parent[parent[i]];
            i = parent[i];
        }
        i
    }
    for &(a, b) in pairs {
        let (ra, rb) = (root(&mut parent, a), root(&mut parent, b));
        if ra != rb {
            parent[ra.max(rb)] = ra.min(rb);
        }
    }
    let mut groups: HashMap<usize, Vec<usize>> = HashMap::new();
    for i in 0..n {
        let r = root(&mut parent, i);
        groups.entry(r).or_default().push(i);
    }
    let mut out: Vec<Vec<usize>> = groups.into_values().filter(|g| g.len() > 1).collect();
    out.sort();
    out
}
