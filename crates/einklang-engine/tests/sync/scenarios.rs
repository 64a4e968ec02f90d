//! Single-side changes, initial sync, no echoes.

use crate::harness::*;
use einklang_connectors::memory::MemoryOptions;
use serde_json::json;

fn two() -> Hub {
    Hub::new(
        TWO_WAY,
        &[
            ("espo", MemoryOptions::default()),
            ("advo", MemoryOptions::default()),
        ],
    )
}

#[test]
fn initial_sync_creates_each_side_on_the_other_and_a_second_sync_writes_nothing() {
    let mut hub = two();
    hub.remote("espo").insert(raw(json!({"name": "Anna Novak", "email": "Anna@Novak.si", "phones": ["+386 41 123 456"], "city": "Ljubljana"})));
    hub.remote("advo").insert(raw(
        json!({"name": "Jürgen Müller", "tel": ["089 1234567"], "ort": "München"}),
    ));
    let r = hub.sync("sync");
    assert_eq!(
        (count(&r, "created"), count(&r, "pushed_create")),
        (2, 2),
        "{:#?}",
        r.counters
    );
    let (_, anna) = hub.find("advo", "name", "Anna Novak");
    assert_eq!(anna["tel"], json!(["+38641123456"]));
    assert_eq!(anna["ort"], json!("Ljubljana"));
    assert!(!anna.contains_key("email"), "advo does not map email");
    let (_, jurgen) = hub.find("espo", "name", "Jürgen Müller");
    assert_eq!(jurgen["phones"], json!(["+49891234567"]));
    assert_eq!(hub.records().len(), 2);
    let again = hub.sync("sync");
    assert_quiet(&again);
    assert_eq!(count(&again, "unchanged"), 4, "{:#?}", again.counters);
}

/// Anna on both sides, linked, with phones A and B.
fn anna() -> (Hub, String, String) {
    let mut hub = two();
    let espo = hub.remote("espo").insert(raw(json!({"name": "Anna Novak", "phones": ["+49 30 1111111", "+49 30 2222222"], "city": "Berlin"})));
    hub.sync("sync");
    let (advo, _) = hub.find("advo", "name", "Anna Novak");
    (hub, espo, advo)
}

const A: &str = "+49301111111";
const B: &str = "+49302222222";
const C: &str = "+49303333333";

fn phones(hub: &Hub, connector: &str, id: &str) -> serde_json::Value {
    let field = if connector == "advo" { "tel" } else { "phones" };
    hub.remote(connector).get(id).unwrap()[field].clone()
}

fn set_phones(hub: &Hub, connector: &str, id: &str, list: &[&str]) {
    let field = if connector == "advo" { "tel" } else { "phones" };
    hub.remote(connector)
        .update(id, raw(json!({ field: list })));
}

fn both_hold(hub: &mut Hub, espo: &str, advo: &str, list: serde_json::Value) {
    assert_eq!(phones(hub, "espo", espo), list, "espo");
    assert_eq!(phones(hub, "advo", advo), list, "advo");
    assert_eq!(hub.record_of("espo", espo).values["phones"], list, "hub");
    assert_quiet(&hub.sync("sync"));
}

#[test]
fn var1_phone_added_in_espo_is_added_in_advo() {
    let (mut hub, espo, advo) = anna();
    set_phones(&hub, "espo", &espo, &[A, B, C]);
    let r = hub.sync("sync");
    assert_eq!((count(&r, "updated"), count(&r, "pushed_update")), (1, 1));
    both_hold(&mut hub, &espo, &advo, json!([A, B, C]));
}

#[test]
fn var2_phone_removed_in_espo_is_removed_in_advo() {
    let (mut hub, espo, advo) = anna();
    set_phones(&hub, "espo", &espo, &[A]);
    hub.sync("sync");
    both_hold(&mut hub, &espo, &advo, json!([A]));
}

#[test]
fn var3_phone_removed_in_advo_is_removed_in_espo() {
    let (mut hub, espo, advo) = anna();
    set_phones(&hub, "advo", &advo, &[B]);
    hub.sync("sync");
    both_hold(&mut hub, &espo, &advo, json!([B]));
}

#[test]
fn var4_phone_added_in_advo_is_added_in_espo() {
    let (mut hub, espo, advo) = anna();
    set_phones(&hub, "advo", &advo, &[A, B, C]);
    hub.sync("sync");
    both_hold(&mut hub, &espo, &advo, json!([A, B, C]));
}

#[test]
fn var5_phone_changed_in_espo_changes_in_advo() {
    let (mut hub, espo, advo) = anna();
    set_phones(&hub, "espo", &espo, &[A, C]);
    hub.sync("sync");
    both_hold(&mut hub, &espo, &advo, json!([A, C]));
}

#[test]
fn var6_phone_changed_in_advo_changes_in_espo() {
    let (mut hub, espo, advo) = anna();
    set_phones(&hub, "advo", &advo, &[C, B]);
    hub.sync("sync");
    both_hold(&mut hub, &espo, &advo, json!([C, B]));
}

#[test]
fn phones_added_on_both_sides_merge_without_conflict() {
    let (mut hub, espo, advo) = anna();
    set_phones(&hub, "espo", &espo, &[A, B, C]);
    set_phones(&hub, "advo", &advo, &[A, B, "+49 30 4444444"]);
    let r = hub.sync("sync");
    assert_eq!(count(&r, "conflicts"), 0);
    both_hold(&mut hub, &espo, &advo, json!([A, B, C, "+49304444444"]));
}

#[test]
fn changes_of_different_fields_on_both_sides_both_survive() {
    let (mut hub, espo, advo) = anna();
    hub.remote("espo")
        .update(&espo, raw(json!({"name": "Anna Novak-Kos"})));
    hub.remote("advo")
        .update(&advo, raw(json!({"ort": "Potsdam"})));
    let r = hub.sync("sync");
    assert_eq!(count(&r, "conflicts"), 0);
    for (c, id, city) in [("espo", &espo, "city"), ("advo", &advo, "ort")] {
        let rec = hub.remote(c).get(id).unwrap();
        assert_eq!(
            (rec["name"].clone(), rec[city].clone()),
            (json!("Anna Novak-Kos"), json!("Potsdam")),
            "{c}"
        );
    }
    assert_quiet(&hub.sync("sync"));
}

#[test]
fn a_dry_run_shows_the_plan_and_writes_nothing() {
    let mut hub = two();
    hub.remote("espo")
        .insert(raw(json!({"name": "Anna Novak", "city": "Berlin"})));
    let plan = hub.plan("sync");
    assert_eq!(
        plan.plan.counts.get("espo pull create"),
        Some(&1),
        "{:#?}",
        plan.plan.counts
    );
    assert_eq!(
        plan.plan.counts.get("advo push create"),
        Some(&1),
        "{:#?}",
        plan.plan.counts
    );
    let shown = plan.plan.to_string();
    assert!(
        shown.contains("advo") && shown.contains("\"Berlin\""),
        "{shown}"
    );
    assert_eq!(hub.remote("advo").len(), 0);
    assert_eq!(hub.remote("advo").calls().write_calls, 0);
    assert_eq!(hub.store.count_records("default", "contact").unwrap(), 0);
    assert!(
        hub.store.runs("default", 10).unwrap().is_empty(),
        "a dry run records no run"
    );
    let real = hub.sync("sync");
    assert_eq!(count(&real, "pushed_create"), 1);
}
