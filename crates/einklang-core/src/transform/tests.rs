//! Unit and property tests for mapping transforms and normalisation.

use super::*;
use crate::filter;
use crate::mapping::{Direction, EpochUnit, NamePart};
use crate::schema::{FieldSpec, FieldType};
use proptest::prelude::*;
use serde_json::json;
use std::collections::BTreeMap;

fn obj(v: Value) -> serde_json::Map<String, Value> {
    v.as_object().unwrap().clone()
}

fn rule(target: &str, source: Source, transforms: Vec<Transform>) -> FieldRule {
    FieldRule {
        target: target.into(),
        source,
        transforms,
        direction: Direction::Both,
    }
}

fn field(name: &str) -> Source {
    Source::Field(name.into())
}

fn mapping(fields: Vec<FieldRule>, filter: Option<&str>) -> Mapping {
    Mapping {
        connector: "crm".into(),
        entity: "contact".into(),
        id_field: "Nr".into(),
        filter: filter.map(|f| filter::parse(f).unwrap()),
        fields,
        on_delete: Default::default(),
        find: Vec::new(),
        out_of_scope: Default::default(),
        creates: Default::default(),
        mirror: Default::default(),
    }
}

fn pulled(m: &Mapping, raw: Value) -> Fields {
    match m.pull(&obj(raw)).unwrap() {
        Pulled::Record { fields, .. } => fields,
        Pulled::Filtered => panic!("filtered"),
    }
}

#[test]
fn rename_trim_lowercase_and_drop_empties() {
    let m = mapping(
        vec![
            rule("first_name", field("Vorname"), vec![]),
            rule(
                "email",
                field("E-Mail"),
                vec![Transform::Trim, Transform::Lowercase],
            ),
            rule("company", field("Firma"), vec![]),
            rule("missing", field("nope"), vec![]),
        ],
        None,
    );
    let f = pulled(
        &m,
        json!({"Nr": "7", "Vorname": "Jürgen", "E-Mail": " J@X.DE ", "Firma": ""}),
    );
    assert_eq!(f.get("first_name"), Some(&json!("Jürgen")));
    assert_eq!(f.get("email"), Some(&json!("j@x.de")));
    assert!(!f.contains_key("company"));
    assert!(!f.contains_key("missing"));
}

#[test]
fn external_id_rules() {
    let m = mapping(vec![], None);
    let id = |raw: Value| m.pull(&obj(raw));
    assert!(
        matches!(id(json!({"Nr": 12})), Ok(Pulled::Record { external_id, .. }) if external_id == "12")
    );
    assert!(
        matches!(id(json!({"Nr": " a1 "})), Ok(Pulled::Record { external_id, .. }) if external_id == "a1")
    );
    assert_eq!(id(json!({"Nr": ""})), Err(MapError::MissingId("Nr".into())));
    assert_eq!(id(json!({})), Err(MapError::MissingId("Nr".into())));
    assert!(matches!(
        id(json!({"Nr": [1]})),
        Err(MapError::BadId { .. })
    ));
}

#[test]
fn value_map_with_default_passthrough_and_error() {
    let map: BTreeMap<String, Value> =
        [("142".into(), json!("won")), ("143".into(), json!("lost"))].into();
    let vm = |default: Option<Value>, passthrough| Transform::ValueMap {
        map: map.clone(),
        default,
        passthrough,
    };
    assert_eq!(apply(&vm(None, false), json!(142)), Ok(json!("won")));
    assert_eq!(
        apply(&vm(Some(json!("open")), false), json!("7")),
        Ok(json!("open"))
    );
    assert_eq!(apply(&vm(None, true), json!("7")), Ok(json!("7")));
    let err = apply(&vm(None, false), json!("7")).unwrap_err();
    assert!(
        err.contains("'7' is not in the value map (known: 142, 143)"),
        "{err}"
    );
    assert_eq!(apply(&vm(None, false), Value::Null), Ok(Value::Null));
}

#[test]
fn dates_datetimes_and_epochs() {
    let date = Transform::Date {
        format: "%d.%m.%Y".into(),
    };
    assert_eq!(apply(&date, json!("03.02.1980")), Ok(json!("1980-02-03")));
    assert!(apply(&date, json!("1980-02-03"))
        .unwrap_err()
        .contains("%d.%m.%Y"));
    let naive = Transform::DateTime {
        format: "%Y-%m-%d %H:%M:%S".into(),
        tz: "UTC".into(),
    };
    assert_eq!(
        apply(&naive, json!("2025-01-31 09:30:00")),
        Ok(json!("2025-01-31T09:30:00Z"))
    );
    let berlin = Transform::DateTime {
        format: "%Y-%m-%d %H:%M:%S".into(),
        tz: "Europe/Berlin".into(),
    };
    assert_eq!(
        apply(&berlin, json!("2025-07-01 12:00:00")),
        Ok(json!("2025-07-01T10:00:00Z"))
    );
    let zoned = Transform::DateTime {
        format: "%Y-%m-%d %H:%M:%S %z".into(),
        tz: "UTC".into(),
    };
    assert_eq!(
        apply(&zoned, json!("2025-01-31 09:30:00 +0100")),
        Ok(json!("2025-01-31T08:30:00Z"))
    );
    let bad_tz = Transform::DateTime {
        format: "%Y".into(),
        tz: "Mars/Base".into(),
    };
    assert!(apply(&bad_tz, json!("2025")).is_err());
    let s = Transform::Epoch {
        unit: EpochUnit::Seconds,
    };
    assert_eq!(
        apply(&s, json!(1735689600)),
        Ok(json!("2025-01-01T00:00:00Z"))
    );
    assert_eq!(
        apply(&s, json!("1735689600")),
        Ok(json!("2025-01-01T00:00:00Z"))
    );
    let ms = Transform::Epoch {
        unit: EpochUnit::Millis,
    };
    assert_eq!(
        apply(&ms, json!(1735689600000_i64)),
        Ok(json!("2025-01-01T00:00:00Z"))
    );
    assert!(apply(&ms, json!("soon")).is_err());
}

#[test]
fn names_join_and_person_or_company() {
    let first = Transform::SplitName {
        part: NamePart::First,
    };
    let last = Transform::SplitName {
        part: NamePart::Last,
    };
    assert_eq!(
        apply(&first, json!("Anna Maria Novak")),
        Ok(json!("Anna Maria"))
    );
    assert_eq!(apply(&last, json!("Anna Maria Novak")), Ok(json!("Novak")));
    assert_eq!(
        apply(&last, json!("Ludwig van Beethoven")),
        Ok(json!("van Beethoven"))
    );
    assert_eq!(apply(&first, json!("Müller, Jürgen")), Ok(json!("Jürgen")));
    assert_eq!(apply(&last, json!("Müller, Jürgen")), Ok(json!("Müller")));
    assert_eq!(apply(&last, json!("Cher")), Ok(json!("")));
    let join = Transform::Join { sep: " ".into() };
    assert_eq!(
        apply(&join, json!(["Anna", null, "", "Novak"])),
        Ok(json!("Anna Novak"))
    );
    assert_eq!(apply(&join, json!([null, ""])), Ok(Value::Null));
    // a fallback: the first field with a value (seed 003: delivery, else collection time)
    let first = Transform::First;
    assert_eq!(
        apply(&first, json!([null, "", 1_750_000_000, 7])),
        Ok(json!(1_750_000_000))
    );
    assert_eq!(apply(&first, json!([1, 2])), Ok(json!(1)));
    assert_eq!(apply(&first, json!([null, ""])), Ok(Value::Null));
    let epoch = Transform::Epoch {
        unit: crate::mapping::EpochUnit::Seconds,
    };
    let both = apply(&epoch, json!([null, 1_750_000_000])).and_then(|v| apply(&first, v));
    assert_eq!(both, Ok(json!("2025-06-15T15:06:40Z")));
    let poc = Transform::PersonOrCompany;
    assert_eq!(
        apply(&poc, json!(["ACME GmbH", "", ""])),
        Ok(json!("company"))
    );
    assert_eq!(
        apply(&poc, json!(["ACME GmbH", "Anna", ""])),
        Ok(json!("person"))
    );
    assert_eq!(apply(&poc, json!([null, null, null])), Ok(Value::Null));
}

#[test]
fn phones_become_e164() {
    let de = Transform::Phone {
        region: "DE".into(),
        region_from: None,
    };
    for input in [
        "030 1234567",
        "030/1234567",
        "+49 30 1234567",
        "0049 30 1234567",
        "(030) 123 45 67",
    ] {
        assert_eq!(
            apply(&de, json!(input)),
            Ok(json!("+49301234567")),
            "{input}"
        );
    }
    let si = Transform::Phone {
        region: "SI".into(),
        region_from: None,
    };
    assert_eq!(apply(&si, json!("041 123 456")), Ok(json!("+38641123456")));
    assert!(apply(&de, json!("12")).is_err());
    assert!(apply(
        &Transform::Phone {
            region: "XX".into(),
            region_from: None
        },
        json!("1")
    )
    .unwrap_err()
    .contains("region"));
    assert_eq!(
        apply(&de, json!(["030 1234567", null])),
        Ok(json!(["+49301234567", null]))
    );
}

#[test]
fn constants_defaults_and_lists() {
    let m = mapping(
        vec![
            rule("origin", Source::Constant(json!("crm")), vec![]),
            rule(
                "status",
                field("s"),
                vec![Transform::Default(json!("open"))],
            ),
            rule(
                "phones",
                Source::Fields(vec!["Tel".into(), "Mobil".into()]),
                vec![Transform::Phone {
                    region: "DE".into(),
                    region_from: None,
                }],
            ),
        ],
        None,
    );
    let f = pulled(&m, json!({"Nr": 1, "Tel": "089 1234567", "Mobil": ""}));
    assert_eq!(f["origin"], json!("crm"));
    assert_eq!(f["status"], json!("open"));
    assert_eq!(f["phones"], json!(["+49891234567"]));
}

#[test]
fn push_only_fields_are_not_pulled() {
    let mut r = rule("notes", field("n"), vec![]);
    r.direction = Direction::Push;
    let m = mapping(vec![r], None);
    assert!(pulled(&m, json!({"Nr": 1, "n": "x"})).is_empty());
}

#[test]
fn transform_errors_name_field_and_source() {
    let m = mapping(
        vec![rule(
            "birthday",
            field("Geb"),
            vec![Transform::Date {
                format: "%d.%m.%Y".into(),
            }],
        )],
        None,
    );
    let err = m
        .pull(&obj(json!({"Nr": 1, "Geb": "gestern"})))
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        "field `birthday` (from `Geb`): 'gestern' does not match the date format `%d.%m.%Y`"
    );
}

#[test]
fn filter_decides_before_mapping() {
    let m = mapping(
        vec![],
        Some("created_at >= 2025-01-01 and status_id != 143"),
    );
    let r = |raw: Value| m.pull(&obj(raw));
    assert!(matches!(
        r(json!({"Nr": 1, "created_at": "2025-02-01 10:00:00", "status_id": 142})),
        Ok(Pulled::Record { .. })
    ));
    assert_eq!(
        r(json!({"Nr": 1, "created_at": "2024-12-31 23:59:59", "status_id": 142})),
        Ok(Pulled::Filtered)
    );
    assert_eq!(
        r(json!({"Nr": 1, "created_at": 1740000000, "status_id": "143"})),
        Ok(Pulled::Filtered)
    );
    assert!(matches!(
        r(json!({"Nr": 1, "created_at": "soon", "status_id": 1})),
        Err(MapError::Filter(_))
    ));
}

fn schema() -> EntitySchema {
    let f = |name: &str, ty: FieldType, required: bool| FieldSpec {
        name: name.into(),
        ty,
        required,
        create: false,
    };
    EntitySchema {
        name: "contact".into(),
        fields: vec![
            f("no", FieldType::Text, true),
            f("name", FieldType::Text, false),
            f("email", FieldType::Email, false),
            f("emails", FieldType::Emails, false),
            f("phone", FieldType::Phone, false),
            f("phones", FieldType::Phones, false),
            f("birthday", FieldType::Date, false),
            f("changed", FieldType::DateTime, false),
            f("revenue", FieldType::Number, false),
            f("active", FieldType::Bool, false),
            f(
                "kind",
                FieldType::Enum(vec!["person".into(), "company".into()]),
                false,
            ),
            f("addresses", FieldType::Addresses, false),
        ],
    }
}

fn fields(v: Value) -> Fields {
    obj(v).into_iter().collect()
}

#[test]
fn normalise_by_type() {
    let ctx = NormaliseContext::default();
    let out = schema()
        .normalise(
            fields(json!({
                "no": 17, "name": " Ana Novak ", "email": " Ana@Novak.SI ",
                "emails": "A@x.de; a@X.de, b@y.de", "phone": "0171 2345678",
                "phones": ["+49 30 1234567", "030 1234567", ""],
                "birthday": "1980-02-03T00:00:00Z", "changed": "2025-01-31 09:30:00",
                "revenue": "1,5", "active": "ja", "kind": "Company",
                "addresses": [{"street": " Hauptstr. 1 ", "city": "Berlin", "region": ""}],
                "unknown": "dropped"
            })),
            &ctx,
        )
        .unwrap();
    assert_eq!(
        Value::Object(out.into_iter().collect()),
        json!({
            "no": "17", "name": "Ana Novak", "email": "ana@novak.si",
            "emails": ["a@x.de", "b@y.de"], "phone": "+491712345678",
            "phones": ["+49301234567"], "birthday": "1980-02-03",
            "changed": "2025-01-31T09:30:00Z", "revenue": 1.5, "active": true,
            "kind": "company", "addresses": [{"street": "Hauptstr. 1", "city": "Berlin"}]
        })
    );
}

#[test]
fn normalise_reports_every_error_at_once() {
    let ctx = NormaliseContext {
        region: "DE".into(),
        max_field_bytes: 10,
    };
    let errs = schema()
        .normalise(
            fields(json!({"name": "much longer than ten bytes", "email": "not-an-email", "kind": "robot", "birthday": "soon"})),
            &ctx,
        )
        .unwrap_err();
    let mut named: Vec<&str> = errs.iter().map(|e| e.field.as_str()).collect();
    named.sort();
    assert_eq!(named, ["birthday", "email", "kind", "name", "no"]);
    let msg = |f: &str| errs.iter().find(|e| e.field == f).unwrap().to_string();
    assert_eq!(
        msg("email"),
        "field `email`: 'not-an-email' is not an email address"
    );
    assert_eq!(
        msg("name"),
        "field `name`: value is 26 bytes, more than the limit of 10"
    );
    assert_eq!(msg("no"), "field `no`: required field is missing or empty");
    assert!(msg("kind").contains("is not one of person, company"));
}

fn any_fields() -> impl Strategy<Value = Fields> {
    (
        "[A-Za-zäöüßčšž ]{0,12}",
        "[a-zA-Z]{1,6}@[a-z]{1,6}\\.(de|si|com)",
        prop::sample::select(vec![
            "030 1234567",
            "+386 41 123 456",
            "0171 2345678",
            "+44 20 7946 0958",
        ]),
        1900i32..2100,
        1u32..13,
        1u32..29,
        any::<bool>(),
        -1.0e6f64..1.0e6,
    )
        .prop_map(|(name, email, phone, y, m, d, active, revenue)| {
            fields(json!({
                "no": "1", "name": name, "email": email, "emails": [email.to_uppercase(), email],
                "phones": [phone], "birthday": format!("{d:02}.{m:02}.{y}"),
                "active": active, "revenue": revenue,
            }))
        })
}

proptest! {
    #[test]
    fn normalising_twice_changes_nothing(raw in any_fields()) {
        let mut raw = raw;
        let date = Transform::Date { format: "%d.%m.%Y".into() };
        let b = raw.remove("birthday").unwrap();
        raw.insert("birthday".into(), apply(&date, b).unwrap());
        let ctx = NormaliseContext::default();
        let once = schema().normalise(raw, &ctx).unwrap();
        let twice = schema().normalise(once.clone(), &ctx).unwrap();
        prop_assert_eq!(once, twice);
    }

    #[test]
    fn e164_output_reparses_to_itself(n in 1_000_000u64..99_999_999) {
        if let Ok(e) = phone::e164(&format!("030 {n}"), "DE") {
            prop_assert_eq!(phone::e164(&e, "SI"), Ok(e.clone()));
        }
    }

    #[test]
    fn split_then_join_keeps_every_word(words in prop::collection::vec("[A-Z][a-zäöü]{1,8}", 2..5)) {
        let full = words.join(" ");
        let (first, last) = values::split_name(&full);
        prop_assert_eq!(format!("{first} {last}"), full);
    }
}

#[test]
fn nul_in_id_quarantined() {
    let m = mapping(vec![], None);
    for (raw, found, at) in [
        ("a\0b", "U+0000", 2),
        ("12\t3", "U+0009", 3),
        ("x\u{7f}", "U+007F", 2),
    ] {
        let err = m.pull(&obj(json!({ "Nr": raw }))).unwrap_err();
        assert_eq!(
            err.to_string(),
            format!("external id field `Nr` holds a control character ({found}) at character {at}; an id must be printable text")
        );
        assert_eq!(m.external_id_of(&obj(json!({ "Nr": raw }))), None);
    }
    // Surrounding whitespace is trimmed as before, not refused.
    assert!(
        matches!(m.pull(&obj(json!({"Nr": "\t7\r\n"}))), Ok(Pulled::Record { external_id, .. }) if external_id == "7")
    );
}

#[test]
fn email_with_quotes_rejected() {
    let ctx = NormaliseContext {
        region: "DE".into(),
        max_field_bytes: 1000,
    };
    let errs = schema()
        .normalise(
            fields(json!({"no": "1", "email": "b1@example.org\"x\"y", "emails": ["ok@x.de", "c@x.de\"y"]})),
            &ctx,
        )
        .unwrap_err();
    let msgs: Vec<String> = errs.iter().map(ToString::to_string).collect();
    assert_eq!(
        msgs,
        [
            "field `email`: 'b1@example.org\"x\"y' is not an email address",
            "field `emails`: 'c@x.de\"y' is not an email address",
        ]
    );
    let ok = schema()
        .normalise(
            fields(json!({"no": "1", "email": "Jürgen.Müller+CRM@Mail.Bücher.DE", "emails": "a..b@docomo.ne.jp; X@Y.de"})),
            &ctx,
        )
        .unwrap();
    assert_eq!(ok["email"], json!("jürgen.müller+crm@mail.bücher.de"));
    assert_eq!(ok["emails"], json!(["a..b@docomo.ne.jp", "x@y.de"]));
}
