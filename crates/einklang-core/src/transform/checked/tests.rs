//! Reading the engine's way: invalid values of optional fields are kept as
//! flags holding the raw value, written back verbatim and read back as the
//! same flag; only what the record cannot be kept without is an error.

use crate::mapping::{Direction, FieldRule, MapError, Mapping, Pulled, Source, Transform};
use crate::record::{Fields, Value};
use crate::schema::{EntitySchema, FieldSpec, FieldType, NormaliseContext};
use crate::transform::flag::{flag, flagged, flags_of};
use serde_json::json;
use std::collections::BTreeMap;

fn rule(target: &str, from: &str, transforms: Vec<Transform>) -> FieldRule {
    FieldRule {
        target: target.into(),
        source: Source::Field(from.into()),
        transforms,
        direction: Direction::Both,
    }
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
            f("phone", FieldType::Phone, false),
            f("mobile", FieldType::Phone, false),
            f("phones", FieldType::Phones, false),
            f("birthday", FieldType::Date, false),
            f("revenue", FieldType::Number, false),
            f(
                "status",
                FieldType::Enum(vec!["lead".into(), "customer".into()]),
                false,
            ),
        ],
    }
}

fn crm() -> Mapping {
    let status = Transform::ValueMap {
        map: BTreeMap::from([
            ("1".to_string(), json!("lead")),
            ("2".to_string(), json!("customer")),
        ]),
        default: None,
        passthrough: false,
    };
    Mapping {
        connector: "crm".into(),
        entity: "contact".into(),
        id_field: "Nr".into(),
        filter: None,
        fields: vec![
            rule("no", "Nr", vec![]),
            rule("name", "Name", vec![Transform::Trim]),
            rule(
                "email",
                "E-Mail",
                vec![Transform::Trim, Transform::Lowercase],
            ),
            rule("phone", "Telefon", vec![]),
            rule(
                "mobile",
                "Mobil",
                vec![Transform::Phone {
                    region: "DE".into(),
                    region_from: Some("Land".into()),
                }],
            ),
            FieldRule {
                target: "phones".into(),
                source: Source::Fields(vec!["Tel1".into(), "Tel2".into(), "Tel3".into()]),
                transforms: vec![],
                direction: Direction::Both,
            },
            rule(
                "birthday",
                "Geburtstag",
                vec![Transform::Date {
                    format: "%d.%m.%Y".into(),
                }],
            ),
            rule("revenue", "Umsatz", vec![]),
            rule("status", "Status", vec![status]),
        ],
        on_delete: Default::default(),
        find: Vec::new(),
        out_of_scope: Default::default(),
        creates: Default::default(),
        mirror: Default::default(),
    }
}

fn read(raw: Value) -> Result<Fields, MapError> {
    let raw = raw.as_object().unwrap().clone();
    match crm().pull_checked(&schema(), &NormaliseContext::default(), &raw)? {
        Pulled::Record { fields, .. } => Ok(fields),
        Pulled::Filtered => panic!("filtered"),
    }
}

fn reason(v: &Value) -> &str {
    flagged(v).unwrap().reason
}

#[test]
fn an_invalid_value_of_an_optional_field_is_kept_flagged_with_the_raw_text() {
    let f = read(json!({
        "Nr": "7", "Name": " Anna ", "Telefon": " 0170 12 ", "E-Mail": " Anna@@Example.DE ",
        "Geburtstag": "31.02.1980", "Umsatz": "viel", "Status": "9",
    }))
    .unwrap();
    assert_eq!(f["name"], json!("Anna"));
    assert_eq!(f["phone"]["invalid"], json!("0170 12"));
    assert_eq!(reason(&f["phone"]), "'0170 12' is not a valid phone number");
    // the raw text, not the lower-cased one a transform made of it
    assert_eq!(f["email"]["invalid"], json!("Anna@@Example.DE"));
    assert_eq!(
        reason(&f["email"]),
        "'Anna@@Example.DE' is not an email address"
    );
    assert_eq!(f["birthday"]["invalid"], json!("31.02.1980"));
    assert_eq!(reason(&f["birthday"]), "'31.02.1980' is not a date");
    assert_eq!(f["revenue"]["invalid"], json!("viel"));
    assert_eq!(f["status"]["invalid"], json!("9"));
    assert_eq!(reason(&f["status"]), "'9' is not one of lead, customer");
    assert_eq!(flags_of(&f).len(), 5);
}

/// The reason is the field type's, never the connector's: a date read
/// through a format and one read as ISO text are the same flag, so two
/// sources holding the same text never see a change in each other.
#[test]
fn the_same_raw_value_is_the_same_flag_whatever_the_rule() {
    let iso = Mapping {
        fields: vec![
            rule("no", "Nr", vec![]),
            rule("birthday", "Geburtstag", vec![]),
        ],
        ..crm()
    };
    let raw = json!({"Nr": "7", "Geburtstag": " 31.02.1980"});
    let Pulled::Record { fields, .. } = iso
        .pull_checked(
            &schema(),
            &NormaliseContext::default(),
            raw.as_object().unwrap(),
        )
        .unwrap()
    else {
        panic!()
    };
    assert_eq!(fields["birthday"], read(raw).unwrap()["birthday"]);
}

#[test]
fn valid_values_read_as_with_pull_and_normalise() {
    let raw = json!({
        "Nr": "7", "Name": " Anna ", "Telefon": "030 1234567", "E-Mail": " Anna@Example.DE ",
        "Tel1": "0170 1039595", "Tel2": "+49 30 1234567",
        "Geburtstag": "03.02.1980", "Umsatz": "1,5", "Status": "2",
    });
    let f = read(raw.clone()).unwrap();
    let Pulled::Record { fields, .. } = crm().pull(raw.as_object().unwrap()).unwrap() else {
        panic!()
    };
    let ctx = NormaliseContext::default();
    assert_eq!(f, schema().normalise(fields, &ctx).unwrap());
    assert!(flags_of(&f).is_empty());
}

#[test]
fn only_the_invalid_element_of_a_list_is_flagged() {
    let f = read(json!({"Nr": "7", "Tel1": "0170 1039595", "Tel2": "12", "Tel3": "0170 1039595"}))
        .unwrap();
    assert_eq!(
        f["phones"],
        json!([
            "+491701039595",
            flag(json!("12"), "'12' is not a valid phone number")
        ])
    );
    let mut m = crm();
    m.fields[5].source = Source::Field("Telefone".into());
    let raw = json!({"Nr": "7", "Telefone": "0170 1039595; x12; 030 1234567"});
    let Pulled::Record { fields, .. } = m
        .pull_checked(
            &schema(),
            &NormaliseContext::default(),
            raw.as_object().unwrap(),
        )
        .unwrap()
    else {
        panic!()
    };
    assert_eq!(fields["phones"][0], json!("+491701039595"));
    assert_eq!(fields["phones"][1]["invalid"], json!("x12"));
    assert_eq!(fields["phones"][2], json!("+49301234567"));
}

#[test]
fn a_record_without_an_id_or_a_required_field_is_still_an_error() {
    assert!(matches!(
        read(json!({"Telefon": "0170 12"})),
        Err(MapError::MissingId(_))
    ));
    let mut m = crm();
    m.fields[0].source = Source::Field("Kunde".into());
    let raw = json!({"Nr": "7", "Kunde": ["K-1", "K-2"]});
    let err = m
        .pull_checked(
            &schema(),
            &NormaliseContext::default(),
            raw.as_object().unwrap(),
        )
        .unwrap_err();
    match &err {
        MapError::Invalid {
            external_id,
            errors,
        } => {
            assert_eq!(external_id, "7");
            assert_eq!(errors[0].field, "no");
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(err.to_string(), "field `no`: a list is not text");
    let huge = "x".repeat(100);
    let ctx = NormaliseContext {
        max_field_bytes: 50,
        ..NormaliseContext::default()
    };
    let raw = json!({"Nr": "7", "Telefon": huge});
    let err = crm().pull_checked(&schema(), &ctx, raw.as_object().unwrap());
    assert!(
        err.unwrap_err().to_string().contains("more than the limit"),
        "a flag is no way around the size limit"
    );
}

#[test]
fn a_flag_is_written_back_verbatim_and_reads_back_as_itself() {
    let f = read(json!({
        "Nr": "7", "Telefon": "0170 12", "E-Mail": "Anna@@Example.DE", "Tel1": "0170 1039595", "Tel2": "12",
        "Geburtstag": "31.02.1980", "Status": "9",
    }))
    .unwrap();
    let raw = crm().push(&f);
    assert_eq!(raw["Telefon"], json!("0170 12"));
    assert_eq!(raw["E-Mail"], json!("Anna@@Example.DE"));
    assert_eq!(
        (&raw["Tel1"], &raw["Tel2"]),
        (&json!("+491701039595"), &json!("12"))
    );
    assert_eq!(raw["Geburtstag"], json!("31.02.1980"));
    assert_eq!(raw["Status"], json!("9"), "no inverse value map for a flag");
    let projected = crm().project(&schema(), &NormaliseContext::default(), &f);
    assert_eq!(projected, f);
}

#[test]
fn region_from_reads_each_number_in_its_records_country() {
    let mobile = |land: Value| {
        read(json!({"Nr": "7", "Mobil": "041 123 456", "Land": land})).unwrap()["mobile"].clone()
    };
    assert_eq!(mobile(json!("SI")), json!("+38641123456"));
    assert_eq!(mobile(json!("Slovenija")), json!("+38641123456"));
    assert_eq!(mobile(json!("Slowenien")), json!("+38641123456"));
    let unknown = mobile(json!("Narnia"));
    assert_eq!(unknown, mobile(Value::Null), "the rule's region, DE");
    assert_ne!(unknown, json!("+38641123456"));
    let at = read(json!({"Nr": "7", "Mobil": "0664 1234567", "Land": "Österreich"})).unwrap();
    assert_eq!(at["mobile"], json!("+436641234567"));
}

#[test]
fn a_flag_read_in_its_records_region_stays_a_flag_in_the_projection() {
    // invalid in Slovenia, valid in Germany (the rule's default region)
    let f = read(json!({"Nr": "7", "Mobil": "030 1234567", "Land": "SI"})).unwrap();
    assert_eq!(f["mobile"]["invalid"], json!("030 1234567"), "{f:?}");
    // the write carries no `Land`: the number must not turn valid on the way back
    let projected = crm().project(&schema(), &NormaliseContext::default(), &f);
    assert_eq!(projected["mobile"], f["mobile"]);
}

#[test]
fn normalise_or_flag_keeps_invalid_optional_values_and_is_idempotent() {
    let fields: Fields = serde_json::from_value(json!({
        "no": "1", "phone": "0170 12", "phones": ["030 1234567", "nope"], "email": "x@", "revenue": "3,5",
    }))
    .unwrap();
    let ctx = NormaliseContext::default();
    let once = schema().normalise_or_flag(fields.clone(), &ctx).unwrap();
    assert_eq!(once["phone"]["invalid"], json!("0170 12"));
    assert_eq!(once["phones"][0], json!("+49301234567"));
    assert_eq!(once["phones"][1]["invalid"], json!("nope"));
    assert_eq!(once["revenue"], json!(3.5));
    assert_eq!(
        schema().normalise_or_flag(once.clone(), &ctx),
        Ok(once.clone())
    );
    // strict normalising refuses new invalid values and lets flags pass
    assert!(schema().normalise(fields, &ctx).is_err());
    assert_eq!(schema().normalise(once.clone(), &ctx), Ok(once.clone()));
    let mut required_flagged = once;
    required_flagged.insert(
        "no".into(),
        flag(json!(["a", "b"]), "expected a single value"),
    );
    let errors = schema()
        .normalise_or_flag(required_flagged, &ctx)
        .unwrap_err();
    assert_eq!(errors[0].field, "no");
}
