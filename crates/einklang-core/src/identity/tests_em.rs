//! Tests of `m` estimated per blocking rule (`em`).

use super::batch::{run, Settings};
use super::block::Rule;
use super::compare::{Kind, Level};
use super::em::{estimate_by_rule, read_by, MIN_PAIRS};
use super::model::{Comparison, Model};
use super::tests_model::model;
use crate::record::Fields;
use proptest::prelude::*;
use serde_json::json;

fn field(f: &str, kind: Kind) -> Rule {
    Rule::Field {
        field: f.into(),
        kind,
    }
}

/// Four text comparisons `a`, `b`, `c`, `d` seeded far from the truth
/// (a session needs three free ones: two yes/no answers cannot tell two
/// classes apart).
fn four() -> Model {
    let c = |f: &str| Comparison {
        m: [0.5, 0.0, 0.5],
        u: [0.01, 0.0, 0.99],
        ..Comparison::new(f, Kind::Text, None)
    };
    Model {
        comparisons: vec![c("a"), c("b"), c("c"), c("d")],
        prior: 0.01,
        region: "DE".into(),
        region_from: None,
        common: Vec::new(),
        frequencies: Vec::new(),
        population: 0,
    }
}

/// Pairs of a population whose matches agree on `a`, `b`, `c`, `d` with
/// probabilities 0.8, 0.9, 0.7, 0.85 and whose non-matches agree on each by
/// chance (1 %), as blocking on `a` (rule 0) and on `b` (rule 1) would
/// pair them: a pair is a candidate only where it agrees on one of them.
fn blocked_population() -> (Vec<Level>, Vec<u32>) {
    let mut state = 0x9e37_79b9_7f4a_7c15u64;
    let mut draw = move || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        (state >> 11) as f64 / (1u64 << 53) as f64
    };
    let (mut levels, mut rules) = (Vec::new(), Vec::new());
    for pair in 0..60_000 {
        let truth: [f64; 4] = match pair < 4_000 {
            true => [0.8, 0.9, 0.7, 0.85],
            false => [0.01; 4],
        };
        let l: Vec<Level> = truth
            .iter()
            .map(|&p| match draw() < p {
                true => Level::Exact,
                false => Level::Different,
            })
            .collect();
        let bits = u32::from(l[0] == Level::Exact) | (u32::from(l[1] == Level::Exact) << 1);
        if bits != 0 {
            levels.extend(l);
            rules.push(bits);
        }
    }
    (levels, rules)
}

#[test]
fn each_comparison_is_learned_from_pairs_a_rule_on_other_fields_made() {
    let (levels, rules) = blocked_population();
    let block = [field("a", Kind::Text), field("b", Kind::Text)];
    let mut m = four();
    let sessions = estimate_by_rule(&mut m, &block, &levels, &rules);
    assert_eq!(sessions.len(), 2, "{sessions:?}");
    assert_eq!(sessions[0].estimated, vec![1, 2, 3]);
    assert_eq!(sessions[1].estimated, vec![0, 2, 3]);
    for (k, truth) in [0.8, 0.9, 0.7, 0.85].into_iter().enumerate() {
        let got = m.comparisons[k].m[0];
        assert!(
            (got - truth).abs() < 0.05,
            "m of {k}: {got} (truth {truth})"
        );
    }
    assert_eq!(m.prior, 0.01, "the pass keeps the configured prior");
    // all pairs in one session: every candidate agrees on `a` or `b`
    // because blocking paired it, and their `m` come out biased
    let mut naive = four();
    let pairs: Vec<Vec<Level>> = levels.chunks(4).map(<[Level]>::to_vec).collect();
    naive.estimate(&pairs, 25);
    for (k, truth) in [0.8, 0.9].into_iter().enumerate() {
        let (biased, per_rule) = (naive.comparisons[k].m[0], m.comparisons[k].m[0]);
        assert!(
            (biased - truth).abs() > 2.0 * (per_rule - truth).abs(),
            "m of {k}: one session {biased}, per rule {per_rule}, truth {truth}"
        );
    }
}

#[test]
fn a_comparison_every_rule_reads_or_too_few_pairs_keep_their_seeds() {
    let (levels, rules) = blocked_population();
    let mut m = four();
    // both rules read `a` (one reads `a` and `b` together)
    let block = [
        field("a", Kind::Text),
        Rule::All(vec![field("a", Kind::Text), field("b", Kind::Text)]),
    ];
    estimate_by_rule(&mut m, &block, &levels, &rules);
    assert_eq!(m.comparisons[0].m, [0.5, 0.0, 0.5], "`a` keeps its seed");
    assert_ne!(m.comparisons[2].m, [0.5, 0.0, 0.5], "`c` is learned");
    // fewer pairs than a session needs: nothing moves
    let mut few = four();
    let n = MIN_PAIRS - 1;
    let sessions = estimate_by_rule(&mut few, &block[..1], &levels[..n * 4], &rules[..n]);
    assert!(sessions.is_empty());
    assert_eq!(few, four());
}

#[test]
fn rules_read_their_fields() {
    let m = model();
    let phonetic = Rule::Phonetic {
        first: "first_name".into(),
        last: "last_name".into(),
    };
    assert_eq!(read_by(&m, &phonetic), vec![0, 1]);
    assert_eq!(
        read_by(
            &m,
            &Rule::EmailLocal {
                field: "emails".into()
            }
        ),
        vec![2]
    );
    let both = Rule::All(vec![phonetic, field("street", Kind::Street)]);
    assert_eq!(read_by(&m, &both), vec![0, 1, 5]);
    assert_eq!(
        read_by(&m, &field("nothing", Kind::Text)),
        Vec::<usize>::new()
    );
}

/// One of a thousand family names, `Berkanmol` and the like.
fn family(i: usize) -> String {
    const SYLLABLES: [&str; 10] = [
        "ber", "kan", "mol", "tis", "rup", "gal", "fen", "dor", "sil", "wak",
    ];
    let s: String = [i / 100, i / 10 % 10, i % 10]
        .iter()
        .map(|&d| SYLLABLES[d])
        .collect();
    let mut c = s.chars();
    c.next()
        .map(|f| f.to_uppercase().chain(c).collect())
        .unwrap_or_default()
}

fn person(i: usize, copy: usize) -> Fields {
    let first = ["Anna", "Jonas", "Petra", "Luka", "Maja", "Tomas"][i % 6];
    let v = json!({
        "first_name": if copy == 2 { first[..first.len() - 1].to_string() } else { first.to_string() },
        "last_name": family(i),
        "emails": [if copy == 1 { format!("other{i}@example.org") } else { format!("p{i}@example.org") }],
        "street": format!("Weg {}", i % 97),
    });
    serde_json::from_value(v).expect("record")
}

#[test]
fn a_pass_with_em_scores_with_the_learned_m_and_reports_it() {
    let records: Vec<Fields> = (0..300)
        .flat_map(|i| (0..3).map(move |c| person(i, c)))
        .collect();
    let rules = [
        field("emails", Kind::Email),
        Rule::Phonetic {
            first: "first_name".into(),
            last: "last_name".into(),
        },
    ];
    let settings = |em| Settings {
        block: &rules,
        max_block: 100,
        estimate: true,
        em,
        auto_merge: 0.95,
        review: 0.6,
    };
    let mut plain = model();
    let without = run(&mut plain, &settings(false), &records);
    assert!(without.trained_m.is_empty());
    let mut learned = model();
    let with = run(&mut learned, &settings(true), &records);
    assert_eq!(with.trained_m.len(), learned.comparisons.len());
    let first = &with.trained_m[0];
    assert_eq!(first.0, "first_name");
    assert_ne!(first.1, model().comparisons[0].m, "first names learned");
    assert_eq!(first.1, learned.comparisons[0].m, "as scored");
    // each person's three records end in one cluster either way
    assert_eq!(with.clusters.len(), 300);
    assert!(with.clusters.iter().all(|c| c.len() == 3));
}

proptest! {
    /// Whatever the pairs, each learned `m` is a distribution, and a
    /// comparison every rule reads is never touched.
    #[test]
    fn learned_m_are_distributions(raw in proptest::collection::vec((0u8..4, 0u8..4, 0u8..4, 0u8..4, 1u32..4), 0..400)) {
        let mut levels = Vec::new();
        let mut rules = Vec::new();
        let level = |x: u8| [Level::Exact, Level::Close, Level::Different, Level::Missing][x as usize];
        for (a, b, c, d, bits) in raw {
            levels.extend([level(a), level(b), level(c), level(d)]);
            rules.push(bits);
        }
        let block = [
            Rule::All(vec![field("a", Kind::Text), field("b", Kind::Text)]),
            field("a", Kind::Text),
        ];
        let mut m = four();
        estimate_by_rule(&mut m, &block, &levels, &rules);
        prop_assert_eq!(m.comparisons[0].m, [0.5, 0.0, 0.5]);
        for c in &m.comparisons {
            let total: f64 = c.m.iter().sum();
            prop_assert!(c.m.iter().all(|p| (0.0..=1.0).contains(p)));
            prop_assert!((total - 1.0).abs() < 0.01 || c.m == [0.5, 0.0, 0.5], "{:?}", c.m);
        }
    }
}
