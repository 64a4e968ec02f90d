use super::*;
use crate::mapping::{Direction, Pulled};
use crate::schema::{FieldSpec, FieldType};
use proptest::prelude::*;
use serde_json::json;

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

fn crm() -> Mapping {
    let status = Transform::ValueMap {
        map: BTreeMap::from([
            ("142".to_string(), json!("won")),
            ("143".to_string(), json!("lost")),
        ]),
        default: Some(json!("open")),
        passthrough: false,
    };
    Mapping {
        connector: "crm".into(),
        entity: "contact".into(),
        id_field: "Nr".into(),
        filter: None,
        fields: vec![
            rule(
                "first_name",
                field("name"),
                vec![Transform::SplitName {
                    part: NamePart::First,
                }],
            ),
            rule(
                "last_name",
                field("name"),
                vec![Transform::SplitName {
                    part: NamePart::Last,
                }],
            ),
            rule(
                "email",
                field("E-Mail"),
                vec![Transform::Trim, Transform::Lowercase],
            ),
            rule(
                "phones",
                Source::Fields(vec!["Telefon".into(), "Mobil".into()]),
                vec![],
            ),
            rule(
                "birthday",
                field("Geburtstag"),
                vec![Transform::Date {
                    format: "%d.%m.%Y".into(),
                }],
            ),
            rule(
                "changed",
                field("modifiedAt"),
                vec![Transform::DateTime {
                    format: "%Y-%m-%d %H:%M:%S".into(),
                    tz: "Europe/Berlin".into(),
                }],
            ),
            rule(
                "created",
                field("created_at"),
                vec![Transform::Epoch {
                    unit: EpochUnit::Seconds,
                }],
            ),
            rule("status", field("status_id"), vec![status]),
            rule("city", field("address.city"), vec![]),
            rule(
                "kind",
                Source::Fields(vec!["Firma".into(), "name".into()]),
                vec![Transform::PersonOrCompany],
            ),
            rule("origin", Source::Constant(json!("crm")), vec![]),
        ],
        on_delete: Default::default(),
        find: Vec::new(),
        out_of_scope: Default::default(),
        creates: Default::default(),
        mirror: Default::default(),
    }
}

fn schema() -> EntitySchema {
    let spec = |name: &str, ty: FieldType| FieldSpec {
        name: name.into(),
        ty,
        required: false,
        create: false,
    };
    EntitySchema {
        name: "contact".into(),
        fields: vec![
            spec("first_name", FieldType::Text),
            spec("last_name", FieldType::Text),
            spec("email", FieldType::Email),
            spec("phones", FieldType::Phones),
            spec("birthday", FieldType::Date),
            spec("changed", FieldType::DateTime),
            spec("created", FieldType::DateTime),
            spec("status", FieldType::Text),
            spec("city", FieldType::Text),
            spec(
                "kind",
                FieldType::Enum(vec!["person".into(), "company".into()]),
            ),
            spec("origin", FieldType::Text),
        ],
    }
}

fn hub() -> Fields {
    serde_json::from_value(json!({
        "first_name": "Jan", "last_name": "van der Berg", "email": "jan@berg.nl",
        "phones": ["+49301234567", "+491711234567", "+43664123456"],
        "birthday": "1980-02-03", "changed": "2025-06-01T08:30:00Z", "created": "2024-01-01T00:00:00Z",
        "status": "lost", "city": "Utrecht", "kind": "person", "origin": "crm"
    }))
    .unwrap()
}

#[test]
fn every_invertible_transform_is_written_back_in_the_source_format() {
    let raw = crm().push(&hub());
    assert_eq!(
        Value::Object(raw),
        json!({
            "name": "Jan van der Berg", "E-Mail": "jan@berg.nl",
            "Telefon": "+49301234567", "Mobil": "+491711234567",
            "Geburtstag": "03.02.1980", "modifiedAt": "2025-06-01 10:30:00", "created_at": 1704067200,
            "status_id": "143", "address": {"city": "Utrecht"}
        })
    );
}

#[test]
fn constants_joins_and_derived_fields_are_never_pushed() {
    let roles = crm().field_roles(&schema());
    assert!(!roles["kind"].pushes && roles["kind"].pulls);
    assert!(!roles["origin"].pushes);
    assert!(roles["first_name"].pushes && roles["phones"].pushes && roles["phones"].list);
    let mut only_first = crm();
    only_first.fields.retain(|r| r.target != "last_name");
    assert!(
        !only_first.field_roles(&schema())["first_name"].pushes,
        "half a name cannot rebuild the raw field"
    );
}

#[test]
fn the_projection_is_what_the_remote_will_hold() {
    let p = crm().project(&schema(), &NormaliseContext::default(), &hub());
    let mut expected = hub();
    expected.remove("kind");
    expected.remove("origin");
    expected.insert("phones".into(), json!(["+49301234567", "+491711234567"]));
    assert_eq!(p, expected, "two phone columns hold two numbers");
}

#[test]
fn an_unmapped_value_map_value_falls_back_to_the_default_in_the_projection() {
    let mut h = hub();
    h.insert("status".into(), json!("open"));
    let p = crm().project(&schema(), &NormaliseContext::default(), &h);
    assert_eq!(p["status"], json!("open"));
}

#[test]
fn push_only_and_pull_only_directions_are_respected() {
    let mut m = crm();
    m.fields[2].direction = Direction::Pull;
    m.fields[8].direction = Direction::Push;
    let roles = m.field_roles(&schema());
    assert!(roles["email"].pulls && !roles["email"].pushes);
    assert!(!roles["city"].pulls && roles["city"].pushes);
    assert!(!m.push(&hub()).contains_key("E-Mail"));
}

proptest! {
    /// Pushing a record and pulling it back gives the same values, for
    /// every field the mapping can write.
    #[test]
    fn push_then_pull_round_trips(
        first in "[A-Z][a-z]{1,8}", last in "(van der |von )?[A-Z][a-z]{1,8}",
        secs in 0i64..4_000_000_000, day in 1u32..28, status in prop::sample::select(vec!["won", "lost"]),
    ) {
        let mut h = hub();
        h.insert("first_name".into(), json!(first));
        h.insert("last_name".into(), json!(last));
        let instant = DateTime::from_timestamp(secs, 0).unwrap();
        // a wall-clock time without zone cannot say which of the two 02:30s
        // of a DST fall-back it was: such instants do not round-trip (the
        // projection, not the round trip, keeps them echo-free)
        let local = instant.with_timezone(&chrono_tz::Europe::Berlin).naive_local();
        use chrono::TimeZone;
        prop_assume!(chrono_tz::Europe::Berlin.from_local_datetime(&local).single().is_some());
        h.insert("created".into(), json!(values::rfc3339(instant)));
        h.insert("changed".into(), json!(values::rfc3339(instant)));
        h.insert("birthday".into(), json!(format!("1990-05-{day:02}")));
        h.insert("status".into(), json!(status));
        h.insert("phones".into(), json!(["+49301234567"]));
        let p = crm().project(&schema(), &NormaliseContext::default(), &h);
        for (k, v) in &h {
            if crm().field_roles(&schema())[k].pushes {
                prop_assert_eq!(p.get(k), Some(v), "{}", k);
            }
        }
    }
}

/// Kommo keeps a lead's dates in custom fields and its main contact in
/// `_embedded`: a mapping reads them through paths, and a push writes
/// only the fields it maps, each keyed element created with its key.
#[test]
fn paths_read_and_write_keyed_elements() {
    let lead = Mapping {
        connector: "kommo".into(),
        entity: "booking".into(),
        id_field: "id".into(),
        filter: None,
        fields: vec![
            rule(
                "start",
                field("custom_fields_values[field_id=1218176].values[0].value"),
                vec![],
            ),
            rule(
                "car",
                field("custom_fields_values[field_id=1218200].values[0].value"),
                vec![],
            ),
            rule(
                "client",
                field("_embedded.contacts[is_main=true].id"),
                vec![],
            ),
        ],
        on_delete: Default::default(),
        find: Vec::new(),
        out_of_scope: Default::default(),
        creates: Default::default(),
        mirror: Default::default(),
    };
    let raw = json!({
        "id": 5,
        "custom_fields_values": [
            {"field_id": 1218176, "values": [{"value": 1735718400}]},
            {"field_id": 1218200, "values": [{"value": "Octavia", "enum_id": 774}]}
        ],
        "_embedded": {"contacts": [{"id": 7, "is_main": false}, {"id": 9, "is_main": true}]}
    });
    let Pulled::Record { fields, .. } = lead.pull(raw.as_object().unwrap()).unwrap() else {
        panic!("filtered")
    };
    assert_eq!(fields["start"], json!(1735718400));
    assert_eq!(fields["car"], json!("Octavia"));
    assert_eq!(fields["client"], json!(9));
    let hub = Fields::from([("start".to_string(), json!(1767225600))]);
    let body = lead.push_only(&hub, &["start"]);
    assert_eq!(
        Value::Object(body),
        json!({"custom_fields_values": [{"field_id": 1218176, "values": [{"value": 1767225600}]}]})
    );
}

/// Issue 10: `birthday = { from = "geburtsdatum", date =
/// "%Y-%m-%dT%H:%M:%S" }` passed `check`, then `plan` and `sync` exited
/// 101 ("a Display implementation returned an error") when a date was
/// written back. A date is now written as midnight.
#[test]
fn date_with_time_specifiers_written_back_does_not_panic() {
    let mut m = crm();
    let birthday = m.fields.iter_mut().find(|r| r.target == "birthday");
    birthday.unwrap().transforms = vec![Transform::Date {
        format: "%Y-%m-%dT%H:%M:%S".into(),
    }];
    let raw = m.push(&hub());
    assert_eq!(raw["Geburtstag"], json!("1980-02-03T00:00:00"));
    let p = m.project(&schema(), &NormaliseContext::default(), &hub());
    assert_eq!(p["birthday"], json!("1980-02-03"), "and it reads back");
}
