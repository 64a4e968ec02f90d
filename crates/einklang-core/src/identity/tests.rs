//! Normalisers on German, Slovenian, Dutch and English names, phones,
//! companies and addresses.

use super::normalise::*;
use proptest::prelude::*;

#[test]
fn names_fold_titles_umlauts_and_order() {
    let same = [
        ("Dr. Jürgen Weißmüller", "juergen weissmueller"),
        ("JUERGEN WEISSMUELLER", "juergen weissmueller"),
        ("Prof. Dr.-Ing. Jürgen Weißmüller", "juergen weissmueller"),
        ("Mag. Špela Zupančič", "spela zupancic"),
        ("Grace O'Brien", "grace obrien"),
        ("dhr. Jan van der Berg", "jan van der berg"),
        ("Mr  John   Smith, MBA", "john smith"),
        ("Ａｎｎａ Novák", "anna novak"),
    ];
    for (raw, want) in same {
        assert_eq!(name(raw).as_deref(), Some(want), "{raw}");
    }
    assert_eq!(person("Anna", "Novak"), person("Novak", "Anna"));
    assert_eq!(person("Anna", "Novak").as_deref(), Some("anna novak"));
    for empty in ["", "  ", "-", "n/a", "Dr.", "unbekannt"] {
        assert_eq!(name(empty), None, "{empty:?}");
    }
}

#[test]
fn emails_trim_lower_and_refuse_placeholders() {
    assert_eq!(
        email("  J.Weissmueller@Weissmueller-Bau.DE ").as_deref(),
        Some("j.weissmueller@weissmueller-bau.de")
    );
    assert_eq!(
        email("mailto:ann@example.org").as_deref(),
        Some("ann@example.org")
    );
    for bad in [
        "",
        "-",
        "keine",
        "name(at)host.de",
        "a@b",
        "test@test.de",
        "noreply@shop.example",
        "a b@c.de",
    ] {
        assert_eq!(email(bad), None, "{bad:?}");
    }
}

#[test]
fn phones_in_every_german_spelling_are_one_number() {
    let want = Some("+49891234567".to_string());
    for raw in [
        "+49 89 1234567",
        "0049 89 1234567",
        "089 1234567",
        "(089) 123 45 67",
        "089/1234567",
        "+49 (0)89 1234567",
    ] {
        assert_eq!(phone(raw, "DE"), want, "{raw}");
    }
    assert_eq!(phone("01 234 5678", "SI").as_deref(), Some("+38612345678"));
    // as people type numbers the plan does not take: one form for each
    // spelling of the same digits
    for (a, b, region) in [
        ("0152/4857109", "+49 152 4857109", "DE"),
        ("06/4993877", "+31 6 499 3877", "NL"),
        ("01-23067454", "+386 1 2306 7454", "SI"),
        ("+49 (0)152 4857109", "0049 152 4857109", "DE"),
    ] {
        let (x, y) = (phone(a, region), phone(b, region));
        assert!(x.is_some(), "{a}");
        assert_eq!(x, y, "{a} ~ {b}");
    }
    for bad in ["", "0000000", "1234567", "keine", "12"] {
        assert_eq!(phone(bad, "DE"), None, "{bad:?}");
    }
}

#[test]
fn companies_lose_their_legal_forms() {
    let cases = [
        ("Weißmüller Bau GmbH", "weissmueller bau"),
        ("Weissmueller Bau GmbH & Co. KG", "weissmueller bau"),
        ("Weißmüller Bau UG (haftungsbeschränkt)", "weissmueller bau"),
        ("Blumen Huber e.K.", "blumen huber"),
        ("Gorenje d.o.o.", "gorenje"),
        ("Mizarstvo Kos s.p.", "mizarstvo kos"),
        ("Bakkerij de Vries B.V.", "bakkerij de vries"),
        ("Acme Ltd", "acme"),
        ("Acme, Inc.", "acme"),
        ("Acme LLC", "acme"),
        ("Siemens AG", "siemens"),
        ("AG", "ag"),
    ];
    for (raw, want) in cases {
        assert_eq!(company(raw).as_deref(), Some(want), "{raw}");
    }
    assert_eq!(company("-"), None);
}

#[test]
fn streets_and_postcodes_compare_in_one_form() {
    for raw in [
        "Hauptstraße 12a",
        "Hauptstrasse 12 a",
        "Hauptstr. 12-A",
        "HAUPTSTR 12A",
    ] {
        assert_eq!(street(raw).as_deref(), Some("hauptstr 12a"), "{raw}");
    }
    assert_eq!(street("Lange Straße 5").as_deref(), Some("lange str 5"));
    assert_eq!(postcode("D-80331").as_deref(), Some("80331"));
    assert_eq!(postcode("1234 ab").as_deref(), Some("1234AB"));
    assert_eq!(postcode(" "), None);
}

proptest! {
    /// Normalising twice changes nothing, and case or surrounding spaces
    /// never matter.
    #[test]
    fn normalisers_are_idempotent(s in "[ A-Za-zäöüßÄÖÜčšžé.'-]{0,30}") {
        if let Some(n) = name(&s) {
            prop_assert_eq!(name(&n), Some(n.clone()));
            prop_assert_eq!(name(&format!("  {}  ", s.to_uppercase())), name(&s.to_lowercase()).or(Some(n)));
        }
        if let Some(c) = company(&s) {
            prop_assert_eq!(company(&c), Some(c));
        }
        if let Some(st) = street(&s) {
            prop_assert_eq!(street(&st), Some(st));
        }
    }

    /// Any first/last order gives the same person key.
    #[test]
    fn person_keys_ignore_order(a in "[A-Za-zäöü]{1,12}", b in "[A-Za-zäöü]{1,12}") {
        prop_assert_eq!(person(&a, &b), person(&b, &a));
    }
}

#[test]
fn a_flagged_phone_is_compared_by_its_digits() {
    use super::compare::{forms, level, Kind, Level};
    use crate::transform::flag::flag;
    use serde_json::json;
    let a = flag(
        json!("0170 / 12345"),
        "'0170 / 12345' is not a valid phone number",
    );
    let b = flag(
        json!("(0170) 12-345"),
        "'(0170) 12-345' is not a valid phone number",
    );
    // read as the numbering plan would, though it does not take them:
    // country code and national digits
    assert_eq!(
        forms(Kind::Phone, Some(&json!([a.clone()])), "DE"),
        vec!["+4917012345"]
    );
    let rec =
        |v: serde_json::Value| -> crate::record::Fields { [("phones".to_string(), v)].into() };
    let (ra, rb) = (rec(json!([a])), rec(json!(["+4930123456", b])));
    assert_eq!(level(Kind::Phone, "phones", &ra, &rb, "DE"), Level::Exact);
    let typed = rec(json!(["+49 170 12345"]));
    assert_eq!(
        level(Kind::Phone, "phones", &ra, &typed, "DE"),
        Level::Exact,
        "the same national digits with the country code"
    );
    let other = rec(json!(["+49 171 12345"]));
    assert_eq!(
        level(Kind::Phone, "phones", &ra, &other, "DE"),
        Level::Different
    );
    // what the crate cannot read at all is compared by its digits
    let odd = rec(json!([flag(json!("#170-12345#"), "r")]));
    assert_eq!(
        forms(Kind::Phone, odd.get("phones"), "DE"),
        vec!["17012345"]
    );
    for no_evidence in ["12", "000000", "123456", "n/a"] {
        let f = rec(json!([flag(json!(no_evidence), "r")]));
        assert_eq!(
            forms(Kind::Phone, f.get("phones"), "DE"),
            Vec::<String>::new(),
            "{no_evidence}"
        );
    }
    // other flagged values compare by their raw text
    let email =
        |v: &str| -> crate::record::Fields { [("email".to_string(), flag(json!(v), "r"))].into() };
    assert_eq!(
        level(
            Kind::Email,
            "email",
            &email("Anna@Novak.si "),
            &rec(json!(null)),
            "DE"
        ),
        Level::Missing
    );
    let plain: crate::record::Fields = [("email".to_string(), json!("anna@novak.si"))].into();
    assert_eq!(
        level(Kind::Email, "email", &email("Anna@Novak.si "), &plain, "DE"),
        Level::Exact
    );
}

#[test]
fn names_close_as_a_person_reads_them() {
    use super::compare::{level, Kind, Level};
    use serde_json::json;
    let rec = |v: &str| -> crate::record::Fields { [("first".to_string(), json!(v))].into() };
    let lv = |a: &str, b: &str| level(Kind::Name, "first", &rec(a), &rec(b), "DE");
    for (a, b) in [
        ("G.", "Glen"),
        ("Dean", "Dwan"),
        ("Hans", "Johannes"),
        ("Aleksandr", "Alexander"),
        ("Sepp", "Josef"),
        ("H. P.", "Hans Peter"),
    ] {
        assert_eq!(lv(a, b), Level::Close, "{a} ~ {b}");
    }
    assert_eq!(lv("Jürgen", "Juergen"), Level::Exact);
    for (a, b) in [("K.", "Glen"), ("Anna", "Peter"), ("Hans", "Peter")] {
        assert_eq!(lv(a, b), Level::Different, "{a} / {b}");
    }
}
