//! Scope (issue 10): a mapping's filter says which remote records belong
//! to the job. A linked record that stops matching — a Kommo lead that
//! became "lost", status 143 — leaves the hub like a record gone from the
//! source, under the job's delete guard; `out_of_scope = "keep"` keeps it,
//! `{ set = … }` keeps reading it with values set.

use crate::harness::*;
use einklang_connectors::memory::MemoryOptions;
use einklang_store::RunStatus;
use serde_json::json;

const CONFIG: &str = r#"
[entities.booking]
name   = "text"
status = "text"

[connectors.kommo]
kind = "jsonl"
path = "memory-kommo.jsonl"

[connectors.fleet]
kind = "jsonl"
path = "memory-fleet.jsonl"

[map.kommo.booking]
id = "id"
filter = "status_id != 143"
OUT_OF_SCOPE
[map.kommo.booking.fields]
name   = "name"
status = { from = "status_id", map = { "142" = "won", "143" = "lost" }, default = "open" }

[map.fleet.booking]
id = "id"
fields = { name = "name", status = "status" }

[jobs.leads]
steps = [{ pull = "kommo" }, { push = "fleet" }]
max_deletes = 0.3
"#;

fn leads(out_of_scope: &str, n: usize) -> (Hub, Vec<String>) {
    let config = CONFIG.replace("OUT_OF_SCOPE", out_of_scope);
    let mut hub = Hub::new(
        &config,
        &[
            ("kommo", MemoryOptions::default()),
            ("fleet", MemoryOptions::default()),
        ],
    );
    let ids = (0..n)
        .map(|i| {
            hub.remote("kommo").insert(raw(
                json!({"name": format!("Lead {i}"), "status_id": 79790631}),
            ))
        })
        .collect();
    hub.sync("leads");
    assert_eq!(hub.remote("fleet").len(), n);
    (hub, ids)
}

fn lose(hub: &Hub, ids: &[String]) {
    for id in ids {
        hub.remote("kommo")
            .update(id, raw(json!({"status_id": 143})));
    }
}

#[test]
fn leads_that_became_lost_leave_the_hub_and_the_other_side() {
    let (mut hub, ids) = leads("", 100);
    lose(&hub, &ids[..5]);
    let r = hub.sync("leads");
    assert_eq!(r.status, RunStatus::Succeeded, "{:?}", r.errors);
    assert_eq!(count(&r, "deleted"), 5, "{:#?}", r.counters);
    assert_eq!(
        (hub.remote("fleet").len(), hub.records_of("booking").len()),
        (95, 95)
    );
    assert_quiet(&hub.sync("leads"));
}

#[test]
fn too_many_leads_leaving_at_once_are_held_by_the_guard() {
    let (mut hub, ids) = leads("", 100);
    lose(&hub, &ids[..40]);
    let r = hub.sync("leads");
    assert_eq!(r.status, RunStatus::NeedsReview, "{:?}", r.errors);
    assert_eq!(
        (count(&r, "deleted"), count(&r, "deletes_held")),
        (0, 40),
        "{:#?}",
        r.counters
    );
    assert_eq!(hub.remote("fleet").len(), 100, "nothing deleted");
}

#[test]
fn out_of_scope_keep_keeps_them_as_they_were() {
    let (mut hub, ids) = leads("out_of_scope = \"keep\"", 20);
    lose(&hub, &ids[..5]);
    let r = hub.sync("leads");
    assert_eq!(count(&r, "deleted"), 0, "{:#?}", r.counters);
    assert_eq!(hub.remote("fleet").len(), 20);
}

#[test]
fn out_of_scope_set_keeps_reading_them_with_the_values_set() {
    let (mut hub, ids) = leads("out_of_scope = { set = { status = \"archived\" } }", 20);
    lose(&hub, &ids[..2]);
    // a lost lead that was never synced is not taken in
    hub.remote("kommo")
        .insert(raw(json!({"name": "Never", "status_id": 143})));
    let r = hub.sync("leads");
    assert_eq!(count(&r, "deleted"), 0, "{:#?}", r.counters);
    let (_, lead) = hub.find("fleet", "name", "Lead 0");
    assert_eq!(lead["status"], json!("archived"));
    assert_eq!(hub.remote("fleet").len(), 20);
    assert_quiet(&hub.sync("leads"));
}

/// Issue 10, item 6: fields that mirror the sync back into the remote
/// (seed 002's `syncStatus` and `advowareLastSync` in EspoCRM) and a soft
/// delete stamped with the time; writing them is never a change.
#[test]
fn mirror_fields_and_stamped_soft_deletes_are_written_and_change_nothing() {
    let config = TWO_WAY.replace(
        "[map.advo.contact]\nid = \"id\"\n",
        "[map.advo.contact]\nid = \"id\"\nmirror = { syncStatus = \"{link.status}\", lastSync = \"{now:%Y-%m-%d %H:%M:%S}\", syncError = \"{link.last_error}\" }\non_delete = { set = { deletedAt = \"{now:%Y-%m-%d}\" } }\n",
    );
    let mut hub = Hub::new(
        &config,
        &[
            ("espo", MemoryOptions::default()),
            ("advo", MemoryOptions::default()),
        ],
    );
    let anna = hub
        .remote("espo")
        .insert(raw(json!({"name": "Anna", "city": "Berlin"})));
    hub.sync("sync");
    let (advo, record) = hub.find("advo", "name", "Anna");
    assert_eq!(record["syncStatus"], json!("synced"));
    assert_eq!(record["lastSync"], json!("2026-06-01 08:00:00"));
    assert!(record.get("syncError").is_none(), "cleared: {record:?}");
    assert_quiet(&hub.sync("sync"));
    hub.remote("espo")
        .update(&anna, raw(json!({"city": "Potsdam"})));
    hub.later(3600);
    hub.sync("sync");
    let record = hub.remote("advo").get(&advo).unwrap();
    assert_eq!(
        (record["ort"].clone(), record["lastSync"].clone()),
        (json!("Potsdam"), json!("2026-06-01 09:00:00"))
    );
    hub.remote("espo").remove(&anna);
    hub.sync("sync");
    let record = hub.remote("advo").get(&advo).unwrap();
    assert_eq!(record["deletedAt"], json!("2026-06-01"));
}
