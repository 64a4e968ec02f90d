//! Identifiers that different people share (a family's e-mail address,
//! an office's landline): agreeing on one is no identity when the first
//! names or birthdays disagree, and a pass never chains different people
//! into one cluster one good-looking pair at a time.

use super::batch::{self, Settings};
use super::block::{self, Rule};
use super::compare::Kind;
use super::model::{Comparison, Decision};
use super::tests_model::{model, rec};
use proptest::prelude::*;
use serde_json::json;

/// Given names no two of which are close (no typo, initial or variant).
const NAMES: &[&str] = &[
    "Anna",
    "Peter",
    "Lukas",
    "Sophie",
    "Karl",
    "Greta",
    "Ole",
    "Mira",
    "Felix",
    "Ida",
    "Oskar",
    "Frieda",
    "Emil",
    "Hedwig",
    "Bruno",
    "Clara",
    "Valentin",
    "Ronja",
    "Quirin",
    "Thekla",
    "Ansgar",
    "Luise",
    "Gustav",
    "Wiebke",
    "Horst",
    "Ottilie",
    "Ferdinand",
    "Zita",
    "Leopold",
    "Amalie",
    "Xaver",
    "Henrike",
    "Eberhard",
    "Rosemarie",
    "Ulf",
    "Brunhilde",
    "Kilian",
    "Gesine",
    "Detlef",
    "Walburga",
];

fn rules() -> Vec<Rule> {
    vec![
        Rule::Field {
            field: "emails".into(),
            kind: Kind::Email,
        },
        Rule::Phonetic {
            first: "first_name".into(),
            last: "last_name".into(),
        },
    ]
}

fn settings(rules: &[Rule]) -> Settings<'_> {
    Settings {
        block: rules,
        max_block: 1000,
        estimate: false,
        em: false,
        auto_merge: 0.9,
        review: 0.5,
    }
}

#[test]
fn a_shared_address_with_other_first_names_is_no_identity() {
    let m = model();
    let anna =
        rec(json!({"first_name": "Anna", "last_name": "Jansen", "emails": ["jansen@outlook.com"]}));
    let peter = rec(
        json!({"first_name": "Peter", "last_name": "Jansen", "emails": ["jansen@outlook.com"]}),
    );
    let anna2 =
        rec(json!({"first_name": "A.", "last_name": "Jansen", "emails": ["JANSEN@outlook.com"]}));
    assert!(
        m.score(&anna, &peter).probability < 0.5,
        "{:?}",
        m.score(&anna, &peter)
    );
    assert!(
        m.score(&anna, &anna2).probability > 0.9,
        "{:?}",
        m.score(&anna, &anna2)
    );
    // born on other days: two people, whatever else they share
    let with_birthday = |born: &str| {
        let mut r = anna.clone();
        r.insert("born".into(), json!(born));
        r
    };
    let mut dated = model();
    dated
        .comparisons
        .push(Comparison::new("born", Kind::Date, None));
    let (a, b) = (with_birthday("1980-03-01"), with_birthday("1975-11-23"));
    assert!(dated.different_people(&dated.forms(&a), &dated.forms(&b)));
    assert!(dated.score(&a, &b).probability < 0.9);
}

#[test]
fn two_slips_in_a_first_name_are_not_another_person() {
    let m = model();
    let person = |first: &str| {
        rec(
            json!({"first_name": first, "last_name": "Haasegger", "emails": ["haasegger47932@web.de"]}),
        )
    };
    // compared as different (two slips, a nickname outside the table) but
    // near: the address both carry is still evidence
    for (x, y) in [
        ("Frank", "rFsnk"),
        ("Stefanie", "Steffi"),
        ("Jessica", "Jesscia"),
    ] {
        let (a, b) = (m.forms(&person(x)), m.forms(&person(y)));
        assert!(!m.different_people(&a, &b), "{x} / {y}");
    }
    // but near is not the same: the shared address is no evidence when
    // the first names compare different, so a family's Bruno and
    // Brunhilde are not one person on it
    let (bruno, brunhilde) = (person("Bruno"), person("Brunhilde"));
    assert!(m.score(&bruno, &brunhilde).probability < 0.5);
    assert!(m.score(&person("Frank"), &person("rFsnk")).probability < 0.5);
    // far apart: two people sharing the address
    for (x, y) in [("Dirk", "Daniel"), ("Uwe", "Heike"), ("Hannah", "Ruby")] {
        let (a, b) = (m.forms(&person(x)), m.forms(&person(y)));
        assert!(m.different_people(&a, &b), "{x} / {y}");
    }
}

#[test]
fn forty_people_sharing_one_address_never_end_in_one_record() {
    let rules = rules();
    // forty family and club members on one address, some written twice,
    // and records with no first name at all in between
    let mut records = Vec::new();
    let mut truth = Vec::new();
    for (i, first) in NAMES.iter().enumerate() {
        let last = ["Smith", "Jansen", "Novak", "Heuser"][i % 4];
        records.push(rec(
            json!({"first_name": first, "last_name": last, "emails": ["smith@outlook.com"]}),
        ));
        truth.push(i);
        if i % 5 == 0 {
            records.push(rec(
                json!({"first_name": first, "last_name": last, "emails": ["SMITH@outlook.com"]}),
            ));
            truth.push(i);
        }
        if i % 7 == 0 {
            records.push(rec(
                json!({"last_name": last, "emails": ["smith@outlook.com"]}),
            ));
            truth.push(1000 + i); // unknown: may join anyone of that name
        }
    }
    let mut m = model();
    let plan = batch::run(&mut m, &settings(&rules), &records);
    for cluster in &plan.clusters {
        let people: std::collections::BTreeSet<usize> = cluster
            .iter()
            .map(|&r| truth[r])
            .filter(|&t| t < 1000)
            .collect();
        assert!(people.len() <= 1, "one record would hold {people:?}");
    }
    // the people written twice are still found
    let joined = |a: usize, b: usize| {
        plan.clusters
            .iter()
            .any(|c| c.contains(&a) && c.contains(&b))
    };
    let twice: Vec<usize> = (0..records.len())
        .filter(|&r| truth[r] < 1000 && truth.iter().filter(|&&t| t == truth[r]).count() == 2)
        .collect();
    for pair in twice.chunks(2) {
        assert!(
            joined(pair[0], pair[1]),
            "{:?} and {:?}",
            records[pair[0]],
            records[pair[1]]
        );
    }
    assert!(plan.pairs.iter().any(|p| p.decision == Decision::Review) || plan.clusters.len() >= 8);
}

#[test]
fn small_households_sharing_an_address_stay_apart() {
    // three people on each address: too few for the address to count as
    // common, so only the disagreeing first names keep them apart
    let rules = rules();
    let mut records = Vec::new();
    for (h, family) in ["Jansen", "Heuser", "Smit", "Kovač"].iter().enumerate() {
        for first in &NAMES[h * 3..h * 3 + 3] {
            let mail = format!("{}@outlook.com", family.to_lowercase());
            records.push(rec(
                json!({"first_name": first, "last_name": family, "emails": [mail]}),
            ));
        }
    }
    let mut m = model();
    let plan = batch::run(&mut m, &settings(&rules), &records);
    assert!(plan.clusters.is_empty(), "{:?}", plan.clusters);
}

#[test]
fn a_chain_through_a_record_without_first_name_is_cut() {
    // Anna and the nameless record share an address, the nameless record
    // and Peter a mobile number: each pair looks like one person, the
    // three together are two
    let records = vec![
        rec(json!({"first_name": "Anna", "last_name": "Jansen", "emails": ["jansen@outlook.com"]})),
        rec(
            json!({"last_name": "Jansen", "emails": ["jansen@outlook.com"], "phones": ["0170 1234567"]}),
        ),
        rec(json!({"first_name": "Peter", "last_name": "Jansen", "phones": ["0170 1234567"]})),
    ];
    let rules = vec![
        Rule::Field {
            field: "emails".into(),
            kind: Kind::Email,
        },
        Rule::Field {
            field: "phones".into(),
            kind: Kind::Phone,
        },
    ];
    let mut m = model();
    m.comparisons[3].group = None;
    let plan = batch::run(&mut m, &settings(&rules), &records);
    let merges = plan
        .pairs
        .iter()
        .filter(|p| p.decision == Decision::Merge)
        .count();
    let reviews = plan
        .pairs
        .iter()
        .filter(|p| p.decision == Decision::Review)
        .count();
    assert_eq!(plan.clusters.len(), 1, "{:?}", plan.pairs);
    assert_eq!(plan.clusters[0].len(), 2, "{:?}", plan.clusters);
    assert_eq!(
        (merges, reviews),
        (1, 1),
        "the weaker link goes to a person"
    );
}

#[test]
fn a_person_with_eight_records_keeps_their_address_as_evidence() {
    // the same person eight times, with initials, a typo and a nickname
    let firsts = [
        "Johannes", "J.", "Johannes", "Hans", "Johanes", "Johannes", "J.", "Hans",
    ];
    let records: Vec<_> = firsts
        .iter()
        .enumerate()
        .map(|(i, f)| {
            let last = if i == 5 { "Wesel" } else { "Wessel" };
            rec(json!({"first_name": f, "last_name": last, "emails": ["j.wessel@web.de"]}))
        })
        .collect();
    let rules = rules();
    let mut m = model();
    let plan = batch::run(&mut m, &settings(&rules), &records);
    assert_eq!(
        plan.clusters,
        vec![(0..8).collect::<Vec<_>>()],
        "{:?}",
        plan.pairs
    );
}

proptest! {
    /// A pair scores the same whichever record comes first.
    #[test]
    fn scores_are_symmetric(a in super::tests_index::record(), b in super::tests_index::record()) {
        let m = model();
        let (fa, fb) = (m.forms(&a), m.forms(&b));
        prop_assert_eq!(m.probability(&m.levels_of(&fa, &fb)), m.probability(&m.levels_of(&fb, &fa)));
        prop_assert_eq!(m.different_people(&fa, &fb), m.different_people(&fb, &fa));
    }

    /// Coherent clusters never hold two records `apart` names, and joining
    /// only the pairs not refused gives the same clusters.
    #[test]
    fn coherent_clusters_hold_no_apart_pair(
        n in 2usize..14,
        pairs in prop::collection::vec((0usize..14, 0usize..14), 0..40),
        apart in prop::collection::vec((0usize..14, 0usize..14), 0..10),
    ) {
        let pairs: Vec<(usize, usize)> = pairs.into_iter()
            .filter(|(a, b)| a < b && *b < n)
            .collect();
        let is_apart = |x: usize, y: usize| apart.iter().any(|&(a, b)| (a, b) == (x, y) || (a, b) == (y, x));
        let (clusters, refused) = block::coherent_clusters(n, &pairs, is_apart);
        for c in &clusters {
            for (i, &x) in c.iter().enumerate() {
                for &y in &c[i + 1..] {
                    prop_assert!(!is_apart(x, y), "{x} and {y} in {c:?}");
                }
            }
        }
        let kept: Vec<(usize, usize)> = pairs.iter().enumerate()
            .filter(|(i, _)| !refused.contains(i))
            .map(|(_, p)| *p)
            .collect();
        prop_assert_eq!(block::clusters(n, &kept), clusters);
    }
}

#[test]
fn without_apart_pairs_coherent_clusters_are_the_plain_ones() {
    let pairs = [(0, 1), (1, 2), (4, 5), (2, 0)];
    let (c, refused) = block::coherent_clusters(7, &pairs, |_, _| false);
    assert_eq!(c, block::clusters(7, &pairs));
    assert!(refused.is_empty());
}
