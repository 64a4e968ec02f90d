//! The on-ingest match index: it finds what a batch pass would pair and
//! score, forgets removed records, and skips blocks too common to mean
//! anything.

use super::batch::{self, Settings};
use super::block::{self, Rule};
use super::compare::Kind;
use super::index::Index;
use super::tests_model::{model, rec};
use crate::record::Fields;
use proptest::prelude::*;
use serde_json::json;

fn rules() -> Vec<Rule> {
    vec![
        Rule::Field {
            field: "emails".into(),
            kind: Kind::Email,
        },
        Rule::Field {
            field: "phones".into(),
            kind: Kind::Phone,
        },
        Rule::Phonetic {
            first: "first_name".into(),
            last: "last_name".into(),
        },
        Rule::Field {
            field: "company".into(),
            kind: Kind::Company,
        },
    ]
}

fn hub() -> Vec<Fields> {
    vec![
        rec(
            json!({"first_name": "Hans", "last_name": "Huber", "emails": ["h.huber@huber-bau.de"],
            "phones": ["089 1234500"], "company": "Huber Bau GmbH", "street": "Hauptstraße 12"}),
        ),
        rec(
            json!({"first_name": "Maria", "last_name": "Berger", "emails": ["m.berger@huber-bau.de"],
            "phones": ["089 1234501"], "company": "Huber Bau GmbH", "street": "Hauptstr. 12"}),
        ),
        rec(json!({"first_name": "Anna", "last_name": "Novak", "emails": ["anna@novak.si"]})),
    ]
}

fn index(max_block: usize) -> Index {
    let m = model();
    let mut ix = Index::new(rules(), max_block);
    for (id, r) in hub().iter().enumerate() {
        ix.insert(&m, id as i64 + 10, r);
    }
    ix
}

#[test]
fn a_duplicate_is_found_and_a_colleague_is_not() {
    let (m, ix) = (model(), index(100));
    assert_eq!(ix.len(), 3);
    let again = rec(json!({"first_name": "Huber", "last_name": "Hans",
        "emails": ["H.Huber@huber-bau.de"], "company": "Huber Bau"}));
    let found = ix.matches(&m, &again, 0.95);
    assert_eq!(found.iter().map(|f| f.0).collect::<Vec<_>>(), vec![10]);
    let colleague = rec(json!({"first_name": "Peter", "last_name": "Lang",
        "emails": ["p.lang@huber-bau.de"], "phones": ["089 1234502"],
        "company": "Huber Bau GmbH", "street": "Hauptstraße 12"}));
    assert!(
        !ix.candidates(&m, &colleague).is_empty(),
        "same company: a candidate"
    );
    assert_eq!(ix.matches(&m, &colleague, 0.5), vec![]);
    // with no threshold every candidate comes back, best first
    let all = ix.matches(&m, &colleague, 0.0);
    assert_eq!(all.len(), 2);
    assert!(all[0].1 >= all[1].1);
}

#[test]
fn removed_and_replaced_records_are_not_returned() {
    let (m, mut ix) = (model(), index(100));
    let anna =
        rec(json!({"first_name": "Anna", "last_name": "Novák", "emails": ["ANNA@novak.si"]}));
    assert_eq!(ix.matches(&m, &anna, 0.95).len(), 1);
    ix.remove(12);
    ix.remove(12);
    assert_eq!(ix.matches(&m, &anna, 0.0), vec![]);
    assert_eq!(ix.len(), 2);
    // replacing a record drops its old keys
    ix.insert(
        &m,
        11,
        &rec(json!({"first_name": "Bob", "last_name": "Stone"})),
    );
    assert_eq!(ix.len(), 2);
    let maria = rec(
        json!({"first_name": "Maria", "last_name": "Berger", "emails": ["m.berger@huber-bau.de"]}),
    );
    assert_eq!(ix.matches(&m, &maria, 0.0), vec![]);
    assert!(!ix.is_empty() && ix.contains(11) && !ix.contains(12));
}

#[test]
fn a_block_over_max_block_is_skipped() {
    let m = model();
    // the two Huber Bau records share company; with the new record that
    // block has three members
    let probe = rec(json!({"first_name": "Peter", "last_name": "Lang", "company": "Huber Bau"}));
    assert_eq!(index(3).candidates(&m, &probe), vec![10, 11]);
    assert!(index(2).candidates(&m, &probe).is_empty());
}

#[test]
fn index_prepare_finds_the_common_values_batch_prepare_finds() {
    let mut records = hub();
    for i in 0..11 {
        records.push(rec(
            json!({"first_name": format!("P{i}"), "emails": ["info@firma.de"]}),
        ));
    }
    let (mut a, mut b) = (model(), model());
    batch::prepare(&mut a, false, &records);
    let mut ix = Index::new(rules(), 100);
    for (id, r) in records.iter().enumerate() {
        ix.insert(&b, id as i64, r);
    }
    ix.prepare(&mut b);
    assert_eq!(a.common, b.common);
    assert!(a.common[2].contains("info@firma.de"));
}

/// Small pools, so random records often share keys and nearly agree.
pub(super) fn record() -> impl Strategy<Value = Fields> {
    let first = prop::sample::select(vec![
        "Anna", "Ana", "Hans", "Jürgen", "Juergen", "Maria", "",
    ]);
    let last = prop::sample::select(vec![
        "Novak", "Novák", "Huber", "Müller", "Mueller", "Maier", "Meyer",
    ]);
    let mail = prop::sample::select(vec!["", "a@x.de", "b@x.de", "A@X.DE", "info@firma.de"]);
    let phone = prop::sample::select(vec!["", "089 1234500", "+49 89 1234501", "0049 89 1234500"]);
    let company = prop::sample::select(vec!["", "Huber Bau GmbH", "Huber Bau", "Novak d.o.o."]);
    (first, last, mail, phone, company).prop_map(|(f, l, e, p, c)| {
        rec(json!({"first_name": f, "last_name": l, "emails": [e], "phones": [p], "company": c}))
    })
}

proptest! {
    /// `matches` returns exactly the indexed records that share a block
    /// key with the new one and score at least `min` when scored directly
    /// (blocks never over the limit here).
    #[test]
    fn matches_agrees_with_scoring_directly(
        records in prop::collection::vec(record(), 0..30),
        probe in record(),
        min in 0.0f64..1.0,
    ) {
        let m = model();
        let mut ix = Index::new(rules(), 1000);
        for (id, r) in records.iter().enumerate() {
            ix.insert(&m, id as i64, r);
        }
        let probe_keys = block::keys(&rules(), &probe, "DE");
        let mut expected: Vec<(i64, f64)> = records
            .iter()
            .enumerate()
            .filter(|(_, r)| block::keys(&rules(), r, "DE").iter().any(|k| probe_keys.contains(k)))
            .map(|(id, r)| (id as i64, m.score(&probe, r).probability))
            .filter(|(_, p)| *p >= min)
            .collect();
        expected.sort_by(|x, y| y.1.total_cmp(&x.1).then(x.0.cmp(&y.0)));
        prop_assert_eq!(ix.matches(&m, &probe, min), expected);
    }

    /// The index finds the pairs a batch pass over the hub and the new
    /// record compares, with the same probabilities.
    #[test]
    fn matches_agrees_with_a_batch_pass(
        records in prop::collection::vec(record(), 1..25),
        max_block in 2usize..8,
    ) {
        let m = model();
        let (hub, probe) = records.split_at(records.len() - 1);
        let mut ix = Index::new(rules(), max_block);
        for (id, r) in hub.iter().enumerate() {
            ix.insert(&m, id as i64, r);
        }
        let settings = Settings { block: &rules(), max_block, estimate: false, em: false, auto_merge: 2.0, review: 2.0 };
        let mut bm = m.clone();
        let plan = batch::run(&mut bm, &settings, &records);
        let last = hub.len();
        let mut expected: Vec<(i64, f64)> = plan
            .pairs
            .iter()
            .filter(|p| p.b == last)
            .map(|p| (p.a as i64, p.probability))
            .collect();
        expected.sort_by(|x, y| y.1.total_cmp(&x.1).then(x.0.cmp(&y.0)));
        // batch::run set common values from all records; score with those
        prop_assert_eq!(ix.matches(&bm, &probe[0], 0.0), expected);
    }
}

proptest! {
    /// Packed forms hold what they were given and compare as lists do.
    #[test]
    fn packed_forms_compare_as_lists(a in record(), b in record()) {
        use super::packed::Packed;
        let m = model();
        let (fa, fb) = (m.forms(&a), m.forms(&b));
        let (pa, pb) = (Packed::new(&fa), Packed::new(&fb));
        prop_assert_eq!(&pa.unpack(), &fa);
        prop_assert_eq!(m.levels_in(&pa, &pb), m.levels_of(&fa, &fb));
        prop_assert_eq!(m.probability(&m.levels_in(&pa, &fb)), m.score(&a, &b).probability);
    }
}

#[test]
fn a_pass_fed_by_an_iterator_plans_as_one_fed_a_slice() {
    let records: Vec<Fields> = (0..1200)
        .map(|i| {
            let h = hub();
            let mut r = h[i % 3].clone();
            r.insert("street".into(), json!(format!("Weg {}", i % 7)));
            r.insert("first_name".into(), json!(format!("P{}", i % 400)));
            r
        })
        .collect();
    let settings = Settings {
        block: &rules(),
        max_block: 50,
        estimate: true,
        em: false,
        auto_merge: 0.9,
        review: 0.5,
    };
    let (mut a, mut b) = (model(), model());
    let mut pa = batch::Prepared::new();
    pa.extend(&a, &rules(), &records);
    let mut pb = batch::Prepared::new();
    pb.extend_from(&b, &rules(), records.iter().cloned());
    assert_eq!(pa.len(), pb.len());
    let (x, y) = (
        batch::run_prepared(&mut a, &settings, pa),
        batch::run_prepared(&mut b, &settings, pb),
    );
    let key = |p: &batch::Pair| (p.a, p.b, p.probability.to_bits());
    assert_eq!(
        x.pairs.iter().map(key).collect::<Vec<_>>(),
        y.pairs.iter().map(key).collect::<Vec<_>>()
    );
    assert_eq!(x.clusters, y.clusters);
    assert_eq!(a, b);
}

#[test]
fn extend_indexes_as_insert_does() {
    let m = model();
    let mut one = Index::new(rules(), 100);
    let mut many = Index::new(rules(), 100);
    let records: Vec<(i64, Fields)> = hub()
        .into_iter()
        .enumerate()
        .map(|(i, r)| (i as i64 + 10, r))
        .collect();
    for (id, r) in &records {
        one.insert(&m, *id, r);
    }
    many.extend(&m, records.into_iter());
    assert_eq!(many.len(), 3);
    let probe = rec(
        json!({"first_name": "Peter", "last_name": "Lang", "company": "Huber Bau", "emails": ["anna@novak.si"]}),
    );
    assert_eq!(one.candidates(&m, &probe), many.candidates(&m, &probe));
    assert_eq!(one.matches(&m, &probe, 0.0), many.matches(&m, &probe, 0.0));
}
