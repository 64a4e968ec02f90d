//! EspoCRM-shaped lists written onto what the remote holds.

use super::*;
use crate::mapping::{Direction, Source, Transform};
use crate::schema::{FieldSpec, FieldType};
use serde_json::json;

fn each(value: &str, when: &[(&str, &str)], primary: Option<&str>) -> Transform {
    Transform::Each(Each {
        value: value.into(),
        when: when
            .iter()
            .map(|(k, v)| (k.to_string(), vec![json!(v)]))
            .collect(),
        primary: primary.map(str::to_string),
        set: Map::new(),
    })
}

fn rule(target: &str, from: &str, t: Transform) -> FieldRule {
    FieldRule {
        target: target.into(),
        source: Source::Field(from.into()),
        transforms: vec![t],
        direction: Direction::Both,
    }
}

fn espo() -> (Mapping, EntitySchema) {
    let mapping = Mapping {
        connector: "espo".into(),
        entity: "contact".into(),
        id_field: "id".into(),
        filter: None,
        fields: vec![
            rule(
                "emails",
                "emailAddressData",
                each("emailAddress", &[], Some("primary")),
            ),
            rule(
                "mobiles",
                "phoneNumberData",
                each("phoneNumber", &[("type", "Mobile")], Some("primary")),
            ),
            rule(
                "offices",
                "phoneNumberData",
                each("phoneNumber", &[("type", "Office")], None),
            ),
        ],
        on_delete: Default::default(),
        find: Vec::new(),
        out_of_scope: Default::default(),
        creates: Default::default(),
        mirror: Default::default(),
    };
    let spec = |name: &str, ty| FieldSpec {
        name: name.into(),
        ty,
        required: false,
        create: false,
    };
    let schema = EntitySchema {
        name: "contact".into(),
        fields: vec![
            spec("emails", FieldType::Emails),
            spec("mobiles", FieldType::Phones),
            spec("offices", FieldType::Phones),
        ],
    };
    (mapping, schema)
}

fn rebased(values: serde_json::Value, current: serde_json::Value) -> serde_json::Value {
    let (m, s) = espo();
    let hub = values.as_object().unwrap().clone().into_iter().collect();
    let mut fields = m.push(&hub);
    rebase_lists(
        &m,
        &s,
        &NormaliseContext::default(),
        &mut fields,
        current.as_object().unwrap(),
    );
    serde_json::Value::Object(fields)
}

#[test]
fn kept_elements_keep_their_formatting_and_keys_and_unmapped_ones_stay() {
    let current = json!({
        "emailAddressData": [
            {"emailAddress": "J.Weiss@GMX.de", "primary": true, "optOut": true, "lower": "j.weiss@gmx.de"},
            {"emailAddress": "old@kunde.de", "primary": false, "optOut": false}
        ],
        "phoneNumberData": [
            {"phoneNumber": "0170 1039595", "type": "Mobile", "primary": true},
            {"phoneNumber": "030 1234567", "type": "Other", "primary": false}
        ]
    });
    let out = rebased(
        json!({"emails": ["new@kunde.de", "j.weiss@gmx.de"], "mobiles": ["+491701039595"], "offices": ["+49301111111"]}),
        current,
    );
    assert_eq!(
        out["emailAddressData"],
        json!([
            {"emailAddress": "new@kunde.de", "primary": true},
            {"emailAddress": "J.Weiss@GMX.de", "primary": false, "optOut": true, "lower": "j.weiss@gmx.de"}
        ]),
        "the kept address as the remote writes it, no longer primary; the gone one left out"
    );
    assert_eq!(
        out["phoneNumberData"],
        json!([
            {"phoneNumber": "0170 1039595", "type": "Mobile", "primary": true},
            {"phoneNumber": "+49301111111", "type": "Office"},
            {"phoneNumber": "030 1234567", "type": "Other", "primary": false}
        ]),
        "the mobile as typed, the new office number added, the `Other` one untouched"
    );
}

#[test]
fn nothing_changed_writes_the_remote_list_back_as_it_is() {
    let current = json!({
        "emailAddressData": [{"emailAddress": "Anna@Firma.DE", "primary": true}],
        "phoneNumberData": [{"phoneNumber": "+43 1 234 5678", "type": "Office", "primary": false}]
    });
    let out = rebased(
        json!({"emails": ["anna@firma.de"], "offices": ["+4312345678"]}),
        current.clone(),
    );
    assert_eq!(out, current);
}

#[test]
fn a_flagged_value_matches_its_raw_text_and_lists_the_remote_lacks_are_built() {
    let current = json!({
        "phoneNumberData": [{"phoneNumber": "12345", "type": "Mobile", "primary": true, "id": 9}]
    });
    let flag = crate::transform::flag::flag_as(&FieldType::Phone, json!("12345"));
    let out = rebased(json!({"emails": ["a@b.de"], "mobiles": [flag]}), current);
    assert_eq!(
        out["phoneNumberData"],
        json!([{"phoneNumber": "12345", "type": "Mobile", "primary": true, "id": 9}])
    );
    assert_eq!(
        out["emailAddressData"],
        json!([{"emailAddress": "a@b.de", "primary": true}]),
        "a list the remote does not hold is written as built"
    );
}
