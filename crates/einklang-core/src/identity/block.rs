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
    /// The part before the `@` of every e-mail address of a field
    /// (`j.weissmueller` of `j.weissmueller@gmx.de` and of
    /// `j.weissmueller@kanzlei.de`): the same person at two providers, and
    /// a record without a name still paired. Local parts that name a
    /// function, not a person (`info`, `office`, `kontakt`, …), and those
    /// shorter than four letters make no key.
    EmailLocal {
        /// Hub field.
        field: String,
    },
    /// Records agree on every one of these rules at once (a phonetic name
    /// key *and* the postcode): smaller blocks for common names.
    All(Vec<Rule>),
}

/// Local parts of shared mailboxes: never a person's key.
const FUNCTION_MAILBOXES: &[&str] = &[
    "info",
    "office",
    "kontakt",
    "contact",
    "mail",
    "email",
    "post",
    "hello",
    "hallo",
    "service",
    "support",
    "sales",
    "vertrieb",
    "buero",
    "admin",
    "team",
    "webmaster",
    "noreply",
    "no-reply",
    "empfang",
    "anfrage",
    "anfragen",
    "bestellung",
    "rechnung",
    "rechnungen",
    "buchhaltung",
    "verwaltung",
    "praxis",
    "kanzlei",
    "zentrale",
    "mailbox",
    "inbox",
    "billing",
    "accounts",
    "finance",
    "hr",
    "jobs",
    "karriere",
    "bewerbung",
    "marketing",
    "presse",
    "press",
    "news",
    "newsletter",
    "order",
    "orders",
    "shop",
    "welcome",
    "reception",
];

/// The blocking keys of a record (prefixed by the rule's number).
pub fn keys(rules: &[Rule], record: &Fields, region: &str) -> Vec<String> {
    keys_with(rules, &mut |field, kind| {
        forms(kind, record.get(field), region)
    })
}

/// [`keys`] from a function giving a field's normalised forms for a kind
/// (a pass computes each once for comparisons and keys).
pub fn keys_with(
    rules: &[Rule],
    forms_of: &mut impl FnMut(&str, Kind) -> Vec<String>,
) -> Vec<String> {
    let mut out: Vec<String> = keys_by_rule(rules, forms_of)
        .into_iter()
        .map(|(_, k)| k)
        .collect();
    out.sort();
    out.dedup();
    out
}

/// [`keys_with`], each key with the index of the rule that made it (a
/// pass trains its model per rule: [`super::em`]).
pub fn keys_by_rule(
    rules: &[Rule],
    forms_of: &mut impl FnMut(&str, Kind) -> Vec<String>,
) -> Vec<(usize, String)> {
    let mut out = Vec::new();
    for (i, rule) in rules.iter().enumerate() {
        out.extend(
            rule_keys(rule, forms_of)
                .into_iter()
                .map(|k| (i, format!("{i}:{k}"))),
        );
    }
    out
}

/// Keys of one rule, unprefixed.
fn rule_keys(rule: &Rule, forms_of: &mut impl FnMut(&str, Kind) -> Vec<String>) -> Vec<String> {
    match rule {
        Rule::Field { field, kind } => forms_of(field, *kind),
        Rule::Phonetic { first, last } => {
            let f = forms_of(first, Kind::Name);
            let l = forms_of(last, Kind::Name);
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
        Rule::EmailLocal { field } => forms_of(field, Kind::Email)
            .iter()
            .filter_map(|e| e.split_once('@').map(|(local, _)| local.to_string()))
            .filter(|l| l.len() >= 4 && !FUNCTION_MAILBOXES.contains(&l.as_str()))
            .collect(),
        Rule::All(parts) => {
            // every combination of the parts' keys (a part without a key:
            // no key at all); at most 16, or the rule says nothing
            let mut combos = vec![String::new()];
            for part in parts {
                let ks = rule_keys(part, forms_of);
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

/// The candidate pairs of records by hashed keys (`(key, record, rule)`,
/// each record's keys once), each with the rules that paired it (bit `r`
/// for rule `r`, rules from the 32nd on as bit 31): the same pairs as
/// [`candidate_pairs`] but for a 64-bit hash collision, which can only
/// add a pair.
pub fn hashed_pairs(mut keys: Vec<(u64, u32, u8)>, max_block: usize) -> Vec<(u32, u32, u32)> {
    keys.sort_unstable();
    let mut pairs = Vec::new();
    for block in keys.chunk_by(|x, y| x.0 == y.0) {
        if block.len() > 1 && block.len() <= max_block {
            let bit = 1u32 << block[0].2.min(31);
            for (x, &(_, i, _)) in block.iter().enumerate() {
                pairs.extend(
                    block[x + 1..]
                        .iter()
                        .map(|&(_, j, _)| (i.min(j), i.max(j), bit)),
                );
            }
        }
    }
    pairs.sort_unstable();
    let mut out: Vec<(u32, u32, u32)> = Vec::with_capacity(pairs.len());
    for (i, j, bit) in pairs {
        match out.last_mut() {
            Some(last) if (last.0, last.1) == (i, j) => last.2 |= bit,
            _ => out.push((i, j, bit)),
        }
    }
    out
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

/// Clusters as [`clusters`] makes them, but joined pair by pair in the
/// order given (the strongest first) and never across two records that
/// `apart` says are different people: a pair that would put such two into
/// one cluster is refused (its index returned) — the cluster as a whole
/// is checked, not only the pair, so records sharing an address never
/// chain different people together one good-looking pair at a time.
pub fn coherent_clusters(
    n: usize,
    pairs: &[(usize, usize)],
    apart: impl Fn(usize, usize) -> bool,
) -> (Vec<Vec<usize>>, Vec<usize>) {
    let mut root: Vec<usize> = (0..n).collect();
    let mut members: HashMap<usize, Vec<usize>> = HashMap::new();
    let mut refused = Vec::new();
    fn find(root: &mut [usize], mut i: usize) -> usize {
        while root[i] != i {
            root[i] = root[root[i]];
            i = root[i];
        }
        i
    }
    for (p, &(a, b)) in pairs.iter().enumerate() {
        let (ra, rb) = (find(&mut root, a), find(&mut root, b));
        if ra == rb {
            continue;
        }
        let ma = members.remove(&ra).unwrap_or_else(|| vec![ra]);
        let mb = members.remove(&rb).unwrap_or_else(|| vec![rb]);
        if ma.iter().any(|&x| mb.iter().any(|&y| apart(x, y))) {
            refused.push(p);
            members.insert(ra, ma);
            members.insert(rb, mb);
            continue;
        }
        let (keep, gone) = (ra.min(rb), ra.max(rb));
        root[gone] = keep;
        let mut all = ma;
        all.extend(mb);
        members.insert(keep, all);
    }
    let mut out: Vec<Vec<usize>> = members
        .into_values()
        .filter(|m| m.len() > 1)
        .map(|mut m| {
            m.sort_unstable();
            m
        })
        .collect();
    out.sort();
    (out, refused)
}
