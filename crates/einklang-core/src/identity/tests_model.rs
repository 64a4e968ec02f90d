//! The match model on the seeds' hard cases: the same person written
//! differently merges, colleagues who share company, street and phone
//! switchboard stay apart, empty values are no evidence; EM recovers `m`
//! from data; blocking pairs what shares a key and nothing else.

use super::block::{self, Rule};
use super::compare::{level, Kind, Level};
use super::model::{decide, u_from_random, Comparison, Decision, Model};
use crate::record::Fields;
use proptest::prelude::*;
use serde_json::json;

pub(super) fn rec(v: serde_json::Value) -> Fields {
    v.as_object()
        .unwrap()
        .iter()
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect()
}

/// The seeds' contact model (also the index tests').
pub(super) fn model() -> Model {
    Model {
        comparisons: vec![
            Comparison::new("first_name", Kind::Name, None),
            Comparison::new("last_name", Kind::Name, None),
            Comparison::new("emails", Kind::Email, None),
            Comparison::new("phones", Kind::Phone, Some("workplace")),
            Comparison::new("company", Kind::Company, Some("workplace")),
            Comparison::new("street", Kind::Street, Some("workplace")),
        ],
        prior: 0.01,
        region: "DE".into(),
        region_from: None,
        common: Vec::new(),
        frequencies: Vec::new(),
        population: 0,
    }
}

#[test]
fn levels_per_kind() {
    let a = rec(
        json!({"n": "Jürgen", "e": ["J.W@X.DE", "j@y.de"], "p": ["089 1234500"], "c": "Huber Bau GmbH", "s": ""}),
    );
    let b = rec(
        json!({"n": "Juergen", "e": ["j.w@x.de"], "p": ["+49 89 1234501"], "c": "Huber Bau GmbH & Co. KG", "s": "-"}),
    );
    assert_eq!(level(Kind::Name, "n", &a, &b, "DE"), Level::Exact);
    assert_eq!(level(Kind::Email, "e", &a, &b, "DE"), Level::Exact);
    assert_eq!(
        level(Kind::Phone, "p", &a, &b, "DE"),
        Level::Close,
        "the same switchboard"
    );
    assert_eq!(level(Kind::Company, "c", &a, &b, "DE"), Level::Exact);
    assert_eq!(
        level(Kind::Street, "s", &a, &b, "DE"),
        Level::Missing,
        "placeholders are no evidence"
    );
    assert_eq!(level(Kind::Email, "none", &a, &b, "DE"), Level::Missing);
    let c = rec(json!({"n": "Jurgen"}));
    let d = rec(json!({"n": "Maier"}));
    let e = rec(json!({"n": "Meyer"}));
    assert_eq!(level(Kind::Name, "n", &a, &c, "DE"), Level::Close);
    assert_eq!(
        level(Kind::Name, "n", &d, &e, "DE"),
        Level::Close,
        "same Kölner code"
    );
    assert_eq!(level(Kind::Name, "n", &a, &d, "DE"), Level::Different);
}

#[test]
fn the_same_person_written_differently_merges() {
    let m = model();
    let a = rec(
        json!({"first_name": "Anna", "last_name": "Novak", "emails": ["anna@novak.si"], "phones": ["+386 41 123 456"]}),
    );
    let b = rec(json!({"first_name": "ANNA", "last_name": "Novák", "emails": ["ANNA@NOVAK.SI"]}));
    let s = m.score(&a, &b);
    assert_eq!(decide(s.probability, 0.95, 0.5), Decision::Merge, "{s:#?}");
    let phones = s.parts.iter().find(|p| p.field == "phones").unwrap();
    assert_eq!((phones.level, phones.weight), (Level::Missing, 0.0));
}

#[test]
fn empty_emails_are_not_equal_evidence() {
    // seed 000: an auto-merge treated empty e-mails as equal
    let m = model();
    let a = rec(json!({"first_name": "Hans", "last_name": "Huber", "emails": [""]}));
    let b = rec(json!({"first_name": "Maria", "last_name": "Berger", "emails": ["-"]}));
    let s = m.score(&a, &b);
    assert_eq!(s.parts[2].level, Level::Missing);
    assert_eq!(decide(s.probability, 0.95, 0.5), Decision::Apart);
}

#[test]
fn colleagues_sharing_company_street_and_switchboard_stay_apart() {
    let grouped = model();
    let mut independent = model();
    for c in &mut independent.comparisons {
        c.group = None;
    }
    let a = rec(
        json!({"first_name": "Hans", "last_name": "Huber", "emails": ["h.huber@huber-bau.de"],
        "phones": ["089 1234500"], "company": "Huber Bau GmbH", "street": "Hauptstraße 12"}),
    );
    let b = rec(
        json!({"first_name": "Maria", "last_name": "Berger", "emails": ["m.berger@huber-bau.de"],
        "phones": ["089 1234501"], "company": "Huber Bau GmbH", "street": "Hauptstr. 12"}),
    );
    let g = grouped.score(&a, &b);
    let i = independent.score(&a, &b);
    assert!(
        g.probability < i.probability,
        "{} vs {}",
        g.probability,
        i.probability
    );
    assert_eq!(decide(g.probability, 0.95, 0.5), Decision::Apart, "{g:#?}");
    let counted: Vec<&str> = g
        .parts
        .iter()
        .filter(|p| p.counted && p.weight > 0.0)
        .map(|p| p.field.as_str())
        .collect();
    assert_eq!(
        counted.len(),
        1,
        "one agreement of the workplace group counts: {counted:?}"
    );
    // the same person at the same workplace still merges
    let a2 = rec(
        json!({"first_name": "Hans", "last_name": "Huber", "emails": ["h.huber@huber-bau.de"], "company": "Huber Bau"}),
    );
    assert_eq!(
        decide(grouped.score(&a, &a2).probability, 0.95, 0.5),
        Decision::Merge
    );
}

#[test]
fn em_recovers_m_from_labelled_shapes() {
    // 100 matches agreeing on e-mail 90 % of the time, 900 non-matches
    let mut m = Model {
        comparisons: vec![
            Comparison::new("emails", Kind::Email, None),
            Comparison::new("last_name", Kind::Name, None),
        ],
        prior: 0.5,
        region: "DE".into(),
        region_from: None,
        common: Vec::new(),
        frequencies: Vec::new(),
        population: 0,
    };
    let mut pairs = Vec::new();
    for i in 0..100 {
        pairs.push(vec![
            if i < 90 {
                Level::Exact
            } else {
                Level::Different
            },
            Level::Exact,
        ]);
    }
    for i in 0..900 {
        pairs.push(vec![
            Level::Different,
            if i < 9 {
                Level::Exact
            } else {
                Level::Different
            },
        ]);
    }
    m.estimate(&pairs, 30);
    assert!((m.prior - 0.1).abs() < 0.03, "prior {}", m.prior);
    assert!(
        (m.comparisons[0].m[0] - 0.9).abs() < 0.05,
        "m {:?}",
        m.comparisons[0].m
    );
}

#[test]
fn u_from_random_pairs_is_small_for_identifiers() {
    let records: Vec<Fields> = (0..200).map(|i| rec(json!({"emails": [format!("p{i}@x.de")], "last_name": if i % 2 == 0 { "Huber" } else { "Berger" }}))).collect();
    let mut m = Model {
        comparisons: vec![
            Comparison::new("emails", Kind::Email, None),
            Comparison::new("last_name", Kind::Name, None),
        ],
        prior: 0.01,
        region: "DE".into(),
        region_from: None,
        common: Vec::new(),
        frequencies: Vec::new(),
        population: 0,
    };
    let forms: Vec<_> = records.iter().map(|r| m.forms(r)).collect();
    u_from_random(&mut m, &forms, 2000, 7);
    assert!(m.comparisons[0].u[0] < 0.01, "{:?}", m.comparisons[0].u);
    assert!(
        (m.comparisons[1].u[0] - 0.5).abs() < 0.1,
        "{:?}",
        m.comparisons[1].u
    );
}

#[test]
fn blocking_pairs_only_shared_keys_and_skips_huge_blocks() {
    let rules = vec![
        Rule::Field {
            field: "emails".into(),
            kind: Kind::Email,
        },
        Rule::Phonetic {
            first: "first_name".into(),
            last: "last_name".into(),
        },
    ];
    let records = [
        rec(json!({"first_name": "Jürgen", "last_name": "Müller", "emails": ["info@firma.de"]})),
        rec(json!({"first_name": "Juergen", "last_name": "Mueller", "emails": ["info@firma.de"]})),
        rec(json!({"first_name": "Mueller", "last_name": "Jürgen"})),
        rec(json!({"first_name": "Anna", "last_name": "Novak", "emails": ["info@firma.de"]})),
        rec(json!({"first_name": "Bob", "last_name": "Stone"})),
    ];
    let keys: Vec<Vec<String>> = records
        .iter()
        .map(|r| block::keys(&rules, r, "DE"))
        .collect();
    assert_eq!(
        block::candidate_pairs(&keys, 10),
        vec![(0, 1), (0, 2), (0, 3), (1, 2), (1, 3)]
    );
    // info@ is shared by three: with max_block 2 it pairs nothing
    assert_eq!(block::candidate_pairs(&keys, 2), vec![]);
    assert_eq!(block::clusters(5, &[(0, 1), (1, 2)]), vec![vec![0, 1, 2]]);
}

proptest! {
    /// Scores are symmetric, and a pair that agrees on more never scores
    /// lower than the same pair with a field made missing.
    #[test]
    fn scores_are_symmetric(first in "[A-Za-zäöü]{2,8}", last in "[A-Za-zäöü]{2,8}", mail in "[a-z]{1,6}", other in "[A-Za-z]{2,8}") {
        let m = model();
        let a = rec(json!({"first_name": first, "last_name": last, "emails": [format!("{mail}@x.de")]}));
        let b = rec(json!({"first_name": other, "last_name": last, "emails": [format!("{mail}@x.de")]}));
        let (ab, ba) = (m.score(&a, &b), m.score(&b, &a));
        prop_assert!((ab.log2_odds - ba.log2_odds).abs() < 1e-9);
        let mut b2 = b.clone();
        b2.remove("emails");
        prop_assert!(m.score(&a, &b2).log2_odds <= ab.log2_odds + 1e-9);
    }
}

#[test]
fn a_batch_pass_clusters_duplicates_and_keeps_colleagues_apart() {
    use super::batch::{run, Settings};
    let mut records = vec![
        rec(json!({"first_name": "Anna", "last_name": "Novak", "emails": ["anna@novak.si"]})),
        rec(json!({"first_name": "Novak", "last_name": "Anna", "emails": ["ANNA@novak.si"]})),
        rec(
            json!({"first_name": "Ana", "last_name": "Novak", "emails": ["anna@novak.si"], "phones": ["+386 41 123 456"]}),
        ),
        rec(
            json!({"first_name": "Hans", "last_name": "Huber", "emails": ["h.huber@huber-bau.de"], "phones": ["089 1234500"], "company": "Huber Bau GmbH"}),
        ),
        rec(
            json!({"first_name": "Maria", "last_name": "Berger", "emails": ["m.berger@huber-bau.de"], "phones": ["089 1234501"], "company": "Huber Bau GmbH"}),
        ),
    ];
    for i in 0..30 {
        records.push(rec(json!({"first_name": format!("Person{i}"), "last_name": format!("Nachname{i}"), "emails": [format!("p{i}@example.org")]})));
    }
    let mut m = model();
    let rules = vec![
        Rule::Field {
            field: "emails".into(),
            kind: Kind::Email,
        },
        Rule::Field {
            field: "company".into(),
            kind: Kind::Company,
        },
        Rule::Phonetic {
            first: "first_name".into(),
            last: "last_name".into(),
        },
    ];
    let settings = Settings {
        block: &rules,
        max_block: 100,
        estimate: false,
        em: false,
        auto_merge: 0.95,
        review: 0.5,
    };
    let plan = run(&mut m, &settings, &records);
    assert_eq!(plan.clusters, vec![vec![0, 1, 2]]);
    let colleagues = plan
        .pairs
        .iter()
        .find(|p| (p.a, p.b) == (3, 4))
        .expect("paired by company");
    assert_eq!(
        colleagues.decision,
        Decision::Apart,
        "{:#?}",
        colleagues.probability
    );
    assert!(plan
        .pairs
        .windows(2)
        .all(|w| w[0].probability >= w[1].probability));
}

#[test]
fn a_value_many_records_carry_is_weak_evidence() {
    use super::batch::prepare;
    let mut m = model();
    // eleven records behind one club address, two with their own
    let mut records: Vec<Fields> = (0..11)
        .map(|i| rec(json!({"first_name": format!("Mitglied{i}"), "last_name": "Huber", "emails": ["verein@huber.de"]})))
        .collect();
    records.push(rec(
        json!({"first_name": "Anna", "last_name": "Novak", "emails": ["anna@novak.si"]}),
    ));
    records.push(rec(
        json!({"first_name": "Ana", "last_name": "Novak", "emails": ["anna@novak.si"]}),
    ));
    let forms = prepare(&mut m, false, &records);
    assert_eq!(
        m.levels_of(&forms[0], &forms[1])[2],
        Level::Close,
        "carried by eleven records"
    );
    assert_eq!(
        m.levels_of(&forms[11], &forms[12])[2],
        Level::Exact,
        "carried by two"
    );
}

#[test]
fn dates_one_digit_off_or_day_and_month_swapped_are_close() {
    let d = |s: &str| rec(json!({"d": s}));
    let l = |a: &str, b: &str| level(Kind::Date, "d", &d(a), &d(b), "DE");
    assert_eq!(l("1980-12-24", "1980-12-24"), Level::Exact);
    assert_eq!(l("1980-12-24", "1980-12-25"), Level::Close);
    assert_eq!(l("1980-03-04", "1980-04-03"), Level::Close);
    assert_eq!(l("1980-12-24", "1975-06-01"), Level::Different);
    assert_eq!(l("1980-12-24", ""), Level::Missing);
}

#[test]
fn an_email_local_part_pairs_a_person_at_two_providers_and_records_without_names() {
    let rules = vec![Rule::EmailLocal {
        field: "emails".into(),
    }];
    let keys = |v: serde_json::Value| block::keys(&rules, &rec(v), "DE");
    let gmx = keys(json!({"emails": ["J.Weissmueller@gmx.de"]}));
    let work = keys(json!({"first_name": "Jürgen", "emails": ["j.weissmueller@kanzlei.de"]}));
    assert_eq!(gmx, work);
    assert!(!gmx.is_empty());
    assert!(
        keys(json!({"emails": ["info@kanzlei.de", "jo@x.de"]})).is_empty(),
        "functions and short parts make no key"
    );
}

/// A record's country field decides the plan its phones are read in:
/// `0664 1234567` of an Austrian contact is `+43 664 1234567`, in a hub
/// whose default region is DE — compared, blocked and paired as such.
#[test]
fn phones_are_read_in_the_country_a_record_names() {
    let mut m = model();
    let phones = m
        .comparisons
        .iter()
        .position(|c| c.field == "phones")
        .unwrap();
    let wien = rec(json!({"phones": ["0664 1234567"], "country": "Österreich"}));
    let intl = rec(json!({"phones": ["+43 664 1234567"]}));
    // without region_from both are read in DE: two numbers
    assert_eq!(m.levels(&wien, &intl)[phones], Level::Different);
    m.region_from = Some("country".into());
    assert_eq!(m.levels(&wien, &intl)[phones], Level::Exact);
    assert_eq!(m.region_of(&wien), "AT");
    assert_eq!(m.region_of(&intl), "DE", "no country: the default");
    let narnia = rec(json!({"phones": ["0664 1234567"], "country": "Narnia"}));
    assert_eq!(m.region_of(&narnia), "DE", "unknown: the default");
    // the batch pass blocks and pairs them by the same number
    let rules = vec![Rule::Field {
        field: "phones".into(),
        kind: Kind::Phone,
    }];
    let settings = super::batch::Settings {
        block: &rules,
        max_block: 100,
        estimate: false,
        em: false,
        auto_merge: 0.9,
        review: 0.5,
    };
    let plan = super::batch::run(&mut m, &settings, &[wien, intl]);
    assert_eq!(plan.pairs.len(), 1, "one candidate pair by the phone key");
}

#[test]
fn one_street_in_two_postcodes_is_two_addresses() {
    let mut m = model();
    m.comparisons.push(Comparison::new(
        "postcode",
        Kind::Postcode,
        Some("workplace"),
    ));
    let street = 5;
    let at = |postcode: &str| rec(json!({ "street": "57 Park Road", "postcode": postcode }));
    let levels = m.levels(&at("EH20 3XZ"), &at("EH9 3PP"));
    assert_eq!(levels[street], Level::Close, "57 Park Road in two towns");
    let levels = m.levels(&at("EH20 3XZ"), &at("EH20 3XZ"));
    assert_eq!(levels[street], Level::Exact, "one address");
    let levels = m.levels(&at("EH20 3XZ"), &rec(json!({ "street": "57 Park Road" })));
    assert_eq!(
        levels[street],
        Level::Exact,
        "a postcode missing on one side says nothing"
    );
    // the pair of the 1M export: one first name, a family name one slip
    // away, everything else different but the street — not one person
    let a = rec(
        json!({"first_name": "Thomas", "last_name": "Hallworth", "street": "57 Park Road", "postcode": "EH20 3XZ"}),
    );
    let b = rec(
        json!({"first_name": "Thomas", "last_name": "Hillford", "street": "57 Park Road", "postcode": "EH9 3PP"}),
    );
    assert!(m.score(&a, &b).probability < 0.95, "{:?}", m.score(&a, &b));
}
