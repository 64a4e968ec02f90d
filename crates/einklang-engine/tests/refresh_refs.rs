//! A refresh of several entities from one source (issue 14, seed 003): a
//! lead becomes a lead, a booking (unless its status keeps it a lead
//! only), a client and a vehicle; the booking's `ref` fields hold the hub
//! ids of the records they name, checked value by value against the
//! source on SQLite and PostgreSQL — vehicles and agents created where
//! the relation says `create`, an unknown client kept flagged, a rerun
//! writing nothing, refs following a source change and a merge.

mod common;

use einklang_config::Config;
use einklang_engine::{run_job, NoProgress, RunOptions};
use einklang_store::{HubStore, LinkStatus, MergeWrite, NewRun, RunSource, RunStatus};
use serde_json::{json, Value};
use std::collections::BTreeMap;
use std::path::Path;

const CONFIG: &str = r#"
store = "hub.db"

[entities.lead]
name = "text"
status_id = "number"

[entities.contact]
name = "text"
note = "text"

[entities.vehicle]
label = "text"

[entities.agent]
code = "text"

[entities.booking]
name = "text"
price = "number"
lead = "ref<lead>"
client = "ref<contact>"
vehicle = { type = "ref", entity = "vehicle", create = true }
agent = { type = "ref", entity = "agent", create = true }

[connectors.kommo]
kind = "jsonl"
path = "leads.jsonl"

[map.kommo.booking]
id = "id"
filter = "not status_id in (143, 79790631)"
fields = { name = "name", price = "price", lead = "id", client = "contact.id", vehicle = "vehicle.enum_id", agent = "agent" }

[map.kommo.lead]
id = "id"
fields = { name = "name", status_id = "status_id" }

[map.kommo.contact]
id = "contact.id"
filter = "contact.name is not empty"
fields = { name = "contact.name", note = "contact.note" }

[map.kommo.vehicle]
id = "vehicle.enum_id"
filter = "vehicle.value is not empty"
fields = { label = "vehicle.value" }

[jobs.bookings]
refresh = "kommo"
"#;

/// The source: `n` leads; contact `C0` has no name (so no contact record),
/// vehicle 906 no label (created empty by the booking's relation).
fn leads(n: u32) -> Vec<Value> {
    (1..=n)
        .map(|i| {
            let status = match i % 10 {
                0 => 143,
                1 => 79790631,
                _ => 142,
            };
            let contact = format!("C{}", i % 50);
            let name = (i % 50 != 0).then(|| format!("Client {}", i % 50));
            let enum_id = 900 + i % 7;
            let label = (enum_id != 906).then(|| format!("Car {enum_id}"));
            json!({"id": format!("L{i}"), "name": format!("Rent {i}"), "status_id": status,
                   "price": 100 + i, "contact": {"id": contact, "name": name},
                   "vehicle": {"enum_id": enum_id, "value": label}, "agent": format!("A{}", i % 3)})
        })
        .collect()
}

fn write(dir: &Path, leads: &[Value]) {
    let lines: Vec<String> = leads.iter().map(Value::to_string).collect();
    std::fs::write(dir.join("leads.jsonl"), lines.join("\n") + "\n").unwrap();
}

fn setup(store_line: Option<&str>) -> (tempfile::TempDir, Config) {
    common::config_in_dir(CONFIG, store_line)
}

/// The hub id of the `entity` record linked to `kommo` id `id` (not
/// deleted there).
fn hub_id(store: &mut dyn HubStore, entity: &str, id: &str) -> Option<i64> {
    let found = store.find_links("default", "kommo", entity, &[id]).unwrap();
    let link = found.into_iter().next().flatten();
    link.filter(|l| l.status != LinkStatus::DeletedRemote)
        .map(|l| l.record_id)
}

/// Every live record of `entity`: hub id → values.
fn records(store: &mut dyn HubStore, entity: &str) -> BTreeMap<i64, Value> {
    let mut out = BTreeMap::new();
    let mut after = 0;
    loop {
        let page = store.live_records("default", entity, after, 1_000).unwrap();
        let Some(last) = page.last() else { break };
        after = last.0;
        for (id, v) in page {
            out.insert(id, serde_json::to_value(v).unwrap());
        }
    }
    out
}

/// Every booking, lead, contact and vehicle of the hub is what `source`
/// says, each ref naming the hub record linked to the source's id.
fn check_hub(store: &mut dyn HubStore, source: &[Value]) {
    let bookings = records(store, "booking");
    let mut expected_bookings = 0;
    for lead in source {
        let id = lead["id"].as_str().unwrap();
        let lead_id = hub_id(store, "lead", id).expect("every lead is in the hub");
        let status = lead["status_id"].as_i64().unwrap();
        let booking = hub_id(store, "booking", id);
        if [143, 79790631].contains(&status) {
            assert_eq!(
                booking, None,
                "lead {id} (status {status}) stays a lead only"
            );
            continue;
        }
        expected_bookings += 1;
        let b = &bookings[&booking.expect("a booking")];
        assert_eq!(b["name"], lead["name"]);
        assert_eq!(b["price"], lead["price"]);
        assert_eq!(b["lead"], json!(lead_id.to_string()));
        let contact = lead["contact"]["id"].as_str().unwrap();
        match hub_id(store, "contact", contact) {
            Some(c) => assert_eq!(b["client"], json!(c.to_string()), "lead {id}"),
            None => assert_eq!(
                b["client"],
                json!({"invalid": contact, "reason": "no contact record has this id"}),
                "lead {id}: a client the hub does not have is kept flagged"
            ),
        }
        let vehicle = lead["vehicle"]["enum_id"].to_string();
        let v = hub_id(store, "vehicle", &vehicle).expect("vehicles are created");
        assert_eq!(b["vehicle"], json!(v.to_string()));
        let agent = hub_id(store, "agent", lead["agent"].as_str().unwrap()).expect("created");
        assert_eq!(b["agent"], json!(agent.to_string()));
    }
    assert_eq!(bookings.len(), expected_bookings);
    // vehicles with a label carry it; the one without was created empty
    let labels: BTreeMap<String, Value> = source
        .iter()
        .map(|l| {
            (
                l["vehicle"]["enum_id"].to_string(),
                l["vehicle"]["value"].clone(),
            )
        })
        .collect();
    let vehicles = records(store, "vehicle");
    for (id, v) in &vehicles {
        let linked = labels
            .keys()
            .find(|e| hub_id(store, "vehicle", e) == Some(*id));
        let e = linked.expect("every vehicle is linked to a vehicle of the source");
        let label = v.get("label").cloned().unwrap_or(Value::Null);
        assert_eq!(label, labels[e], "vehicle {e}");
    }
}

fn scenario(config: &Config, store: &mut dyn HubStore, dir: &Path) {
    let run = |store: &mut dyn HubStore| {
        run_job(
            config,
            store,
            "bookings",
            &RunOptions::default(),
            &NoProgress,
        )
        .unwrap()
    };
    let mut source = leads(600);
    write(dir, &source);
    let first = run(store);
    assert_eq!(first.status, RunStatus::Succeeded, "{:?}", first.errors);
    check_hub(store, &source);
    assert_eq!(records(store, "lead").len(), 600);
    assert_eq!(records(store, "contact").len(), 49, "C0 has no name");
    assert_eq!(records(store, "vehicle").len(), 7);
    assert_eq!(records(store, "agent").len(), 3);
    let c = |r: &einklang_engine::RunReport, k: &str| r.counters.get(k).copied().unwrap_or(0);
    // 1 vehicle and 3 agents made by the relations
    assert_eq!(c(&first, "refs_created"), 4);

    // the same snapshot again: nothing written
    let history = store.last_history_id("default").unwrap();
    let again = run(store);
    assert_eq!(again.status, RunStatus::Succeeded, "{:?}", again.errors);
    assert_eq!(
        (
            c(&again, "created"),
            c(&again, "updated"),
            c(&again, "refs_created")
        ),
        (0, 0, 0)
    );
    assert_eq!(store.last_history_id("default").unwrap(), history);

    // a lead moves to another client and a new car; one lead is gone
    source[4]["contact"] = json!({"id": "C7", "name": "Client 7"});
    source[4]["vehicle"] = json!({"enum_id": 950, "value": "Tesla"});
    let gone = source.remove(5);
    write(dir, &source);
    let changed = run(store);
    assert_eq!(changed.status, RunStatus::Succeeded, "{:?}", changed.errors);
    check_hub(store, &source);
    let gone_id = gone["id"].as_str().unwrap();
    assert_eq!(
        hub_id(store, "booking", gone_id),
        None,
        "the booking's link is deleted"
    );
    assert_eq!(hub_id(store, "lead", gone_id), None);
    assert_eq!(c(&changed, "deleted"), 2, "its booking and its lead");
    // the lead comes back (a status toggled back, an approved snapshot
    // that was short): its lead and booking are live again
    source.push(gone.clone());
    write(dir, &source);
    let back = run(store);
    assert_eq!(back.status, RunStatus::Succeeded, "{:?}", back.errors);
    assert_eq!(c(&back, "restored"), 2, "its booking and its lead");
    check_hub(store, &source);
    assert!(hub_id(store, "booking", gone_id).is_some());
    source.pop();
    write(dir, &source);
    let again = run(store);
    assert_eq!(c(&again, "deleted"), 2);
    assert_eq!(records(store, "vehicle").len(), 8);

    // contact C1 merged into C2: the bookings naming C1 still show their
    // record (merged_into leads to the survivor), and the next refresh
    // resolves C1 through its link, now on the survivor
    let (c1, c2) = (
        hub_id(store, "contact", "C1").unwrap(),
        hub_id(store, "contact", "C2").unwrap(),
    );
    let version = |s: &mut dyn HubStore, id| {
        s.load_records("default", &[id]).unwrap()[0]
            .as_ref()
            .unwrap()
            .version
    };
    let (v2, v1) = (version(store, c2), version(store, c1));
    let merge_run = store
        .start_run(
            "default",
            &NewRun {
                job: "merge".into(),
                source: RunSource::Manual,
                triggered_by: "test".into(),
            },
        )
        .unwrap();
    let merge = MergeWrite {
        entity: "contact".into(),
        survivor: c2,
        merged: c1,
        expect_versions: (v2, v1),
        values: serde_json::from_value(json!({"name": "Client 2"})).unwrap(),
        probability: 1.0,
        reason: "review".into(),
    };
    store.merge("default", merge_run, &merge).unwrap();
    assert_eq!(
        store
            .record("default", "contact", c1)
            .unwrap()
            .unwrap()
            .merged_into,
        Some(c2)
    );
    let after = run(store);
    assert_eq!(after.status, RunStatus::Succeeded, "{:?}", after.errors);
    check_hub(store, &source);
    // both links of the merged record change in one refresh, different
    // fields: the survivor takes both (the second update builds on the first)
    for lead in source.iter_mut() {
        match lead["contact"]["id"].as_str() {
            Some("C1") => lead["contact"]["note"] = json!("VIP"),
            Some("C2") => lead["contact"]["name"] = json!("Client Two"),
            _ => {}
        }
    }
    write(dir, &source);
    let both = run(store);
    assert_eq!(both.status, RunStatus::Succeeded, "{:?}", both.errors);
    let survivor = store.record("default", "contact", c2).unwrap().unwrap();
    let survivor = serde_json::to_value(&survivor.values).unwrap();
    assert_eq!(
        (&survivor["name"], &survivor["note"]),
        (&json!("Client Two"), &json!("VIP"))
    );
    let of_c1: Vec<_> = source
        .iter()
        .filter(|l| l["contact"]["id"] == "C1")
        .collect();
    assert!(!of_c1.is_empty());
    for lead in of_c1 {
        let b = hub_id(store, "booking", lead["id"].as_str().unwrap());
        if let Some(b) = b {
            let values = &records(store, "booking")[&b];
            assert_eq!(
                values["client"],
                json!(c2.to_string()),
                "refs follow the merge"
            );
        }
    }
}

#[test]
fn a_refresh_of_several_entities_resolves_refs_on_sqlite() {
    let (dir, config) = setup(None);
    let mut store = einklang_store::open(&config.store.as_open_str()).unwrap();
    scenario(&config, store.as_mut(), dir.path());
}

#[test]
fn a_refresh_of_several_entities_resolves_refs_on_postgres() {
    common::on_postgres("einklang_refresh_refs", setup, scenario);
}
