//! What an update carries: only the raw fields that change for a connector
//! with partial updates; every pushed field, canonical, for one without.

use super::*;
use einklang_connectors::Capabilities;
use einklang_core::schema::{FieldSpec, FieldType};
use einklang_core::{Direction, EntitySchema, FieldRule, Mapping, NormaliseContext, Source};
use serde_json::json;

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
            spec("city", FieldType::Text),
            spec("phone", FieldType::Phone),
            spec("phones", FieldType::Phones),
        ],
    }
}

fn mapping() -> Mapping {
    let rule = |target: &str, source: Source| FieldRule {
        target: target.into(),
        source,
        transforms: vec![],
        direction: Direction::Both,
    };
    Mapping {
        connector: "crm".into(),
        entity: "contact".into(),
        id_field: "id".into(),
        filter: None,
        fields: vec![
            rule("city", Source::Field("Ort".into())),
            rule("phone", Source::Field("Telefon".into())),
            rule(
                "phones",
                Source::Fields(vec!["Tel1".into(), "Tel2".into(), "Tel3".into()]),
            ),
        ],
        on_delete: Default::default(),
        find: Vec::new(),
        out_of_scope: Default::default(),
        creates: Default::default(),
        mirror: Default::default(),
    }
}

fn f(v: serde_json::Value) -> Fields {
    v.as_object().unwrap().clone().into_iter().collect()
}

/// The fields an update of `base` to `values` writes.
fn update_fields(partial_update: bool, base: Fields, values: Fields) -> RawFields {
    let (m, s) = (mapping(), schema());
    let caps = Capabilities {
        write: true,
        partial_update,
        ..Capabilities::read_only()
    };
    let side = Side::new(&m, &s, NormaliseContext::default(), caps, (true, true));
    let link = Link {
        id: 7,
        record_id: 1,
        connector: "crm".into(),
        entity: "contact".into(),
        external_id: "c1".into(),
        content_hash: String::new(),
        base,
        version: Some("v1".into()),
        status: LinkStatus::Dirty,
        attempts: 0,
        last_error: None,
        next_attempt_at: None,
        updated_at: chrono::Utc::now(),
    };
    let state = RecordState {
        id: 1,
        entity: "contact".into(),
        values,
        version: 3,
        deleted: false,
        links: vec![link.clone()],
        open_conflicts: Vec::new(),
    };
    match plan_push(&side, &state, &link) {
        Some(PushPlan::Write {
            op: WriteOp::Update { fields, .. },
            ..
        }) => fields,
        other => panic!("expected an update, got {other:?}"),
    }
}

#[test]
fn a_partial_update_writes_only_the_raw_fields_that_change() {
    let base = f(
        json!({"city": "Graz", "phone": "+491701039595", "phones": ["+49301111111", "+49302222222"]}),
    );
    let mut values = base.clone();
    values.insert("city".into(), json!("Wien"));
    assert_eq!(
        update_fields(true, base.clone(), values),
        f(json!({"Ort": "Wien"})).into_iter().collect()
    );
    // one element more: its free field only, the other two keep their text
    let mut values = base.clone();
    values.insert(
        "phones".into(),
        json!(["+49301111111", "+49302222222", "+49303333333"]),
    );
    assert_eq!(
        update_fields(true, base, values),
        f(json!({"Tel3": "+49303333333"})).into_iter().collect()
    );
}

/// A connector without partial updates (an `http` update by `PUT`) is
/// sent every pushed field, in the hub's canonical form: a number a
/// person typed there as `0170 1039595` comes back as `+491701039595`
/// the first time anything of the record changes.
#[test]
fn an_update_without_partial_updates_writes_every_field_canonical() {
    let base = f(json!({"city": "Graz", "phone": "+491701039595"}));
    let mut values = base.clone();
    values.insert("city".into(), json!("Wien"));
    let fields = update_fields(false, base, values);
    assert_eq!(fields["Ort"], json!("Wien"));
    assert_eq!(fields["Telefon"], json!("+491701039595"));
}
