//! The pure inbound decisions on hand-made hub states.

use super::*;
use einklang_connectors::Capabilities;
use einklang_core::schema::{FieldSpec, FieldType};
use einklang_core::{
    Direction, EntitySchema, FieldRule, Mapping, NormaliseContext, Policy, Source,
};
use serde_json::json;

fn schema() -> EntitySchema {
    let spec = |name: &str| FieldSpec {
        name: name.into(),
        ty: FieldType::Text,
        required: false,
        create: false,
    };
    EntitySchema {
        name: "contact".into(),
        fields: vec![spec("name"), spec("city")],
    }
}

fn mapping() -> Mapping {
    let rule = |f: &str| FieldRule {
        target: f.into(),
        source: Source::Field(f.into()),
        transforms: vec![],
        direction: Direction::Both,
    };
    Mapping {
        connector: "advo".into(),
        entity: "contact".into(),
        id_field: "id".into(),
        filter: None,
        fields: vec![rule("name"), rule("city")],
        on_delete: Default::default(),
        find: Vec::new(),
        out_of_scope: Default::default(),
        creates: Default::default(),
        mirror: Default::default(),
    }
}

fn caps() -> Capabilities {
    Capabilities {
        write: true,
        partial_update: true,
        ..Capabilities::read_only()
    }
}

fn f(v: serde_json::Value) -> Fields {
    v.as_object().unwrap().clone().into_iter().collect()
}

fn link(id: i64, connector: &str, base: Fields, status: LinkStatus) -> Link {
    Link {
        id,
        record_id: 1,
        connector: connector.into(),
        entity: "contact".into(),
        external_id: format!("{connector}-1"),
        content_hash: format!("{:032x}", einklang_core::content_hash(&base).0),
        base,
        version: Some("v1".into()),
        status,
        attempts: 0,
        last_error: None,
        next_attempt_at: None,
        updated_at: chrono::Utc::now(),
    }
}

fn state(values: Fields, links: Vec<Link>) -> RecordState {
    RecordState {
        id: 1,
        entity: "contact".into(),
        values,
        version: 3,
        deleted: false,
        links,
        open_conflicts: Vec::new(),
    }
}

fn incoming(values: Fields, version: &str) -> Incoming {
    Incoming {
        connector: "advo".into(),
        external_id: "advo-1".into(),
        hash: einklang_core::content_hash(&values),
        values,
        version: Some(version.into()),
    }
}

fn with_side<T>(pushes: bool, f: impl FnOnce(&Side<'_>) -> T) -> T {
    let (m, s) = (mapping(), schema());
    let side = Side::new(&m, &s, NormaliseContext::default(), caps(), (true, pushes));
    f(&side)
}

#[test]
fn an_unchanged_remote_writes_nothing() {
    let values = f(json!({"name": "Anna", "city": "Graz"}));
    let st = state(
        values.clone(),
        vec![link(7, "advo", values.clone(), LinkStatus::Clean)],
    );
    let out = with_side(true, |side| {
        plan_linked(
            side,
            &Policies::default(),
            &st,
            &st.links[0],
            &incoming(values, "v1"),
        )
    });
    assert_eq!(out, Linked::default());
}

#[test]
fn a_new_version_with_the_same_values_only_moves_the_token() {
    let values = f(json!({"name": "Anna"}));
    let st = state(
        values.clone(),
        vec![link(7, "advo", values.clone(), LinkStatus::Clean)],
    );
    let out = with_side(true, |side| {
        plan_linked(
            side,
            &Policies::default(),
            &st,
            &st.links[0],
            &incoming(values, "v2"),
        )
    });
    assert!(out.record.is_none());
    assert!(
        matches!(out.link, Some(LinkChange::Synced { version: Some(ref v), status: LinkStatus::Clean, .. }) if v == "v2")
    );
}

#[test]
fn a_remote_change_updates_the_hub_and_dirties_the_other_links() {
    let old = f(json!({"name": "Anna", "city": "Graz"}));
    let st = state(
        old.clone(),
        vec![
            link(7, "advo", old.clone(), LinkStatus::Clean),
            link(8, "espo", old.clone(), LinkStatus::Clean),
        ],
    );
    let new = f(json!({"name": "Anna", "city": "Wien"}));
    let out = with_side(true, |side| {
        plan_linked(
            side,
            &Policies::default(),
            &st,
            &st.links[0],
            &incoming(new.clone(), "v2"),
        )
    });
    let record = out.record.unwrap();
    assert_eq!((record.values, record.origin.as_str()), (Some(new), "advo"));
    assert_eq!(record.history["city"].new, json!("Wien"));
    assert!(out.dirty_others);
    assert_eq!(out.item.unwrap().fields[0].field, "city");
}

#[test]
fn a_held_conflict_marks_the_link_conflict_and_keeps_its_remote_hash() {
    let base = f(json!({"city": "Graz"}));
    let st = state(
        f(json!({"city": "Linz"})),
        vec![link(7, "advo", base, LinkStatus::Dirty)],
    );
    let remote = incoming(f(json!({"city": "Wien"})), "v2");
    let out = with_side(true, |side| {
        plan_linked(side, &Policies::default(), &st, &st.links[0], &remote)
    });
    assert!(out.record.is_none());
    assert_eq!(out.conflicts[0].resolution, "held");
    match out.link.unwrap() {
        LinkChange::Synced {
            status,
            content_hash,
            base,
            ..
        } => {
            assert_eq!(status, LinkStatus::Conflict);
            assert_eq!(
                content_hash, remote.hash,
                "an unchanged remote is skipped next time"
            );
            assert_eq!(
                base,
                f(json!({"city": "Graz"})),
                "the base stays while held"
            );
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn the_authority_decides_without_review() {
    let base = f(json!({"city": "Graz"}));
    let st = state(
        f(json!({"city": "Linz"})),
        vec![link(7, "advo", base, LinkStatus::Dirty)],
    );
    let policies = Policies {
        default: Policy::Authority(vec!["advo".into()]),
        fields: Default::default(),
    };
    let out = with_side(true, |side| {
        plan_linked(
            side,
            &policies,
            &st,
            &st.links[0],
            &incoming(f(json!({"city": "Wien"})), "v2"),
        )
    });
    assert_eq!(out.record.unwrap().values.unwrap()["city"], json!("Wien"));
    assert_eq!(out.conflicts[0].resolution, "take_remote");
}

#[test]
fn a_change_of_a_tombstoned_record_brings_it_back_and_recreates_the_lost_links() {
    let old = f(json!({"name": "Anna"}));
    let mut st = state(
        old.clone(),
        vec![
            link(7, "advo", old.clone(), LinkStatus::Clean),
            link(8, "espo", old.clone(), LinkStatus::DeletedRemote),
        ],
    );
    st.deleted = true;
    let out = with_side(true, |side| {
        plan_linked(
            side,
            &Policies::default(),
            &st,
            &st.links[0],
            &incoming(f(json!({"name": "Anna B"})), "v2"),
        )
    });
    assert_eq!(out.record.as_ref().unwrap().deleted, Some(false));
    assert_eq!(
        out.recreate,
        vec![LinkChange::Recreate {
            link_id: 8,
            marker: "ek-1".into()
        }]
    );
}

#[test]
fn gone_records_are_deleted_recreated_or_forgotten() {
    let v = f(json!({"name": "Anna"}));
    let clean = link(7, "advo", v.clone(), LinkStatus::Clean);
    let dirty = link(7, "advo", v.clone(), LinkStatus::Dirty);
    let other = link(8, "espo", v.clone(), LinkStatus::Clean);
    let only = state(v.clone(), vec![clean.clone()]);
    let shared = state(v.clone(), vec![clean.clone(), other.clone()]);
    let edited = state(v.clone(), vec![dirty.clone(), other]);
    let mut tomb = only.clone();
    tomb.deleted = true;
    with_side(true, |side| {
        assert_eq!(plan_gone(side, &only, &clean, false), Gone::DeleteRecord);
        assert_eq!(plan_gone(side, &shared, &clean, false), Gone::DeleteRecord);
        assert_eq!(
            plan_gone(side, &edited, &dirty, false),
            Gone::Recreate,
            "an edit beats a delete"
        );
        assert_eq!(plan_gone(side, &tomb, &clean, false), Gone::AlreadyDeleted);
        let mut ahead = only.clone();
        ahead.values = f(json!({"name": "Anna B"}));
        assert_eq!(
            plan_gone(side, &ahead, &clean, false),
            Gone::Recreate,
            "the hub holds what the remote has not got"
        );
    });
    with_side(false, |read_only| {
        assert_eq!(
            plan_gone(read_only, &shared, &clean, false),
            Gone::Forget,
            "a read-only source forgets"
        );
        assert_eq!(
            plan_gone(read_only, &only, &clean, false),
            Gone::DeleteRecord
        );
    });
}

#[test]
fn markers_are_ek_and_a_record_id() {
    assert_eq!(marker(17), "ek-17");
    assert!(is_marker("ek-17"));
    for not in ["ek-", "ek-1a", "ek-17.vcf", "EK-17", "x-17", "ek--1"] {
        assert!(!is_marker(not), "{not}");
    }
}
