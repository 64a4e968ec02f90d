//! Term-frequency adjustment: agreeing on a value many different people
//! carry is weaker evidence than agreeing on a rare one; never stronger,
//! never a bonus; one person's many records do not make their own values
//! common; small sets of records are not adjusted.

use super::batch;
use super::compare::Kind;
use super::model::TF_POPULATION;
use super::tests_model::{model, rec};
use crate::record::Fields;
use proptest::prelude::*;
use serde_json::json;

/// `n` filler people with distinct names, then `extra`.
fn population(n: usize, extra: Vec<Fields>) -> Vec<Fields> {
    let mut out: Vec<Fields> = (0..n)
        .map(|i| {
            rec(json!({"first_name": format!("Vorname{i}x"), "last_name": format!("Nachname{i}y")}))
        })
        .collect();
    out.extend(extra);
    out
}

#[test]
fn a_common_surname_weighs_less_than_a_rare_one() {
    // 300 different people named Müller, two records each of Anna Müller
    // and of Anna Quast
    let mut extra: Vec<Fields> = (0..300)
        .map(|i| rec(json!({"first_name": format!("Person{i}z"), "last_name": "Müller"})))
        .collect();
    for last in ["Müller", "Quast"] {
        for _ in 0..2 {
            extra.push(rec(json!({"first_name": "Anna", "last_name": last})));
        }
    }
    let records = population(2000, extra);
    let mut m = model();
    let forms = batch::prepare(&mut m, false, &records);
    assert_eq!(m.population, records.len() as u64);
    let n = records.len();
    let (mueller, quast) = (
        m.score_in(&forms[n - 4], &forms[n - 3]),
        m.score_in(&forms[n - 2], &forms[n - 1]),
    );
    assert!(mueller.parts[1].tf < -1.0, "{:?}", mueller.parts[1]);
    assert_eq!(quast.parts[1].tf, 0.0, "{:?}", quast.parts[1]);
    assert!(mueller.probability < quast.probability);
    assert_eq!(
        m.probability_in(&forms[n - 4], &forms[n - 3]),
        mueller.probability
    );
}

#[test]
fn one_persons_records_do_not_make_their_address_common() {
    // one person, twelve records with one address and the same name
    let extra: Vec<Fields> = (0..12)
        .map(|_| {
            rec(json!({"first_name": "Jan", "last_name": "Wessel", "emails": ["j.wessel@web.de"]}))
        })
        .collect();
    let records = population(TF_POPULATION as usize, extra);
    let mut m = model();
    batch::prepare(&mut m, false, &records);
    assert_eq!(m.frequencies[2].get("j.wessel@web.de"), None, "one carrier");
    assert_eq!(m.frequencies[1].get("wessel"), None);
}

#[test]
fn few_records_are_not_adjusted() {
    let records: Vec<Fields> = (0..50)
        .map(|i| rec(json!({"first_name": format!("P{i}q"), "last_name": "Müller"})))
        .collect();
    let mut m = model();
    let forms = batch::prepare(&mut m, false, &records);
    let s = m.score_in(&forms[0], &forms[1]);
    assert!(s.parts.iter().all(|p| p.tf == 0.0), "{:?}", s.parts);
}

proptest! {
    /// A commoner value is never stronger evidence, and no value is a
    /// bonus over the comparison's own weight.
    #[test]
    fn monotone_and_never_positive(
        k in 0usize..6,
        a in 0u32..100_000,
        b in 0u32..100_000,
        population in 0u64..2_000_000,
    ) {
        let mut m = model();
        m.population = population;
        let (rare, common) = (a.min(b), a.max(b));
        let (wr, wc) = (m.adjustment(k, rare), m.adjustment(k, common));
        prop_assert!(wr <= 0.0 && wc <= 0.0);
        prop_assert!(wr >= wc, "{rare}: {wr}, {common}: {wc}");
        prop_assert!(wr.is_finite() && wc.is_finite());
    }
}

#[test]
fn kinds_are_all_adjusted_by_the_same_rule() {
    let mut m = model();
    m.population = 10_000;
    // the e-mail's u (0.001) is 10 others in 10,000: 12 carriers start it
    assert_eq!(m.adjustment(2, 12), 0.0);
    assert!(m.adjustment(2, 22) < 0.0);
    assert!(m.comparisons.iter().any(|c| c.kind == Kind::Email));
}
