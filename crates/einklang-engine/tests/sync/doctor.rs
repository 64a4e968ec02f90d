//! `einklang doctor`, the engine's half, on a two-way hub: nothing found
//! after a sync; a clean link behind the hub, a tombstone whose links
//! never got their delete and an outbox entry of no link are found,
//! repaired as a run of job `doctor`, and the next sync writes what was
//! owed. A mapping no job writes is not judged; a connector that cannot
//! be opened is named.

use crate::harness::*;
use einklang_connectors::memory::MemoryOptions;
use einklang_engine::doctor::{self, SideOutcome};
use einklang_store::{
    Check, FieldChange, IntegrityOptions, LinkChange, LinkStatus, NewRun, OutboxEntry, OutboxOp,
    OutboxWrite, RecordWrite, RunSource, RunStatus, SyncBatch,
};
use serde_json::json;

/// The two-way job, and an archive that is only ever read.
fn config() -> String {
    format!(
        "{TWO_WAY}
[connectors.archive]
kind = \"jsonl\"
path = \"memory-archive.jsonl\"

[map.archive.contact]
id = \"id\"
[map.archive.contact.fields]
name = \"name\"
city = \"city\"

[jobs.archive]
pull = [\"archive\"]
"
    )
}

fn examine(hub: &mut Hub) -> doctor::Examination {
    let options = IntegrityOptions::default();
    doctor::examine(hub.store.as_mut(), &hub.config, &mut hub.remotes, &options).unwrap()
}

fn outcome<'e>(e: &'e doctor::Examination, connector: &str) -> &'e SideOutcome {
    &e.sides
        .iter()
        .find(|s| s.connector == connector)
        .unwrap()
        .outcome
}

fn problems(e: &doctor::Examination) -> Vec<(Check, u64)> {
    e.store
        .iter()
        .filter(|f| f.is_problem())
        .map(|f| (f.check, f.count))
        .collect()
}

/// Anna and Bob synced both ways, Cleo from the archive too.
fn synced() -> Hub {
    synced_on(":memory:")
}

/// The same on the store at `location`.
fn synced_on(location: &str) -> Hub {
    let mut hub = Hub::on(
        location,
        &config(),
        &[
            ("espo", MemoryOptions::default()),
            ("advo", MemoryOptions::default()),
            ("archive", MemoryOptions::default()),
        ],
    );
    for name in ["Anna", "Bob"] {
        hub.remote("espo")
            .insert(raw(json!({"name": name, "city": "Berlin"})));
    }
    hub.sync("sync");
    hub.remote("archive")
        .insert(raw(json!({"name": "Cleo", "city": "Bonn"})));
    hub.sync("archive");
    hub.sync("sync");
    hub
}

/// A batch committed as a run of its own.
fn commit(hub: &mut Hub, batch: &SyncBatch) {
    let new = NewRun {
        job: "break".into(),
        source: RunSource::Manual,
        triggered_by: "test".into(),
    };
    let run = hub.store.start_run("default", &new).unwrap();
    hub.store.apply_sync("default", run, batch).unwrap();
}

/// Anna moved to Potsdam in the hub and on espo, while her advo link
/// still claims to be clean at Berlin (a lost dirty mark).
fn anna_moves_behind_advos_back(hub: &mut Hub) {
    let (espo, _) = hub.find("espo", "name", "Anna");
    let batch = hub.changed_behind_the_others("espo", &espo, json!({"city": "Potsdam"}));
    commit(hub, &batch);
}

/// Bob tombstoned in the hub without marking his links, and an outbox
/// entry of a link that does not exist.
fn bob_deleted_without_his_deletes(hub: &mut Hub) {
    let (espo, _) = hub.find("espo", "name", "Bob");
    let bob = hub.record_of("espo", &espo).id;
    let change = FieldChange {
        old: json!(false),
        new: json!(true),
    };
    let batch = SyncBatch {
        records: vec![RecordWrite {
            record_id: bob,
            values: None,
            deleted: Some(true),
            origin: "espo".into(),
            history: [("_deleted".to_string(), change)].into(),
        }],
        outbox: vec![OutboxWrite::Queue(OutboxEntry {
            id: 0,
            link_id: 999_999,
            record_id: bob,
            // on a side no sync reads (a read drops an update that did not land)
            connector: "archive".into(),
            entity: "contact".into(),
            op: OutboxOp::Update,
            idem_key: "link:999999:v1:update".into(),
            payload: Default::default(),
            new_base: Default::default(),
            target: "gone".into(),
            expected_version: None,
            state: "sending".into(),
        })],
        ..Default::default()
    };
    commit(hub, &batch);
}

#[test]
fn a_synced_hub_is_healthy_and_links_only_read_are_not_judged() {
    let mut hub = synced();
    // the archive's link is clean while the hub moved on: fine, it is never written
    let (espo, _) = hub.find("espo", "name", "Cleo");
    hub.remote("espo")
        .update(&espo, raw(json!({"city": "Köln"})));
    hub.sync("sync");
    let cleo = hub.record_of("espo", &espo);
    let archive = cleo.link_to("archive").unwrap().clone();
    commit(
        &mut hub,
        &SyncBatch {
            links: vec![LinkChange::State {
                link_id: archive.id,
                status: LinkStatus::Clean,
                attempts: 0,
                next_attempt_at: None,
                last_error: None,
            }],
            ..Default::default()
        },
    );
    let e = examine(&mut hub);
    assert_eq!(e.problems(), 0, "{e:#?}");
    assert_eq!(outcome(&e, "espo"), &SideOutcome::Checked(Vec::new()));
    assert_eq!(outcome(&e, "advo"), &SideOutcome::Checked(Vec::new()));
    assert_eq!(outcome(&e, "archive"), &SideOutcome::NotWritten);
}

#[test]
fn what_doctor_finds_it_repairs_as_a_run_and_the_next_sync_writes_what_was_owed() {
    find_repair_sync(":memory:");
}

#[test]
fn doctor_on_postgres() {
    if let Some(db) = einklang_testkit::PgDb::new("sync_doctor") {
        find_repair_sync(&db.url);
    }
}

fn find_repair_sync(location: &str) {
    let mut hub = synced_on(location);
    anna_moves_behind_advos_back(&mut hub);
    bob_deleted_without_his_deletes(&mut hub);
    let (advo_anna, _) = hub.find("advo", "name", "Anna");

    let e = examine(&mut hub);
    assert_eq!(
        problems(&e),
        [
            (Check::TombstonesOwingDelete, 2),
            (Check::OutboxWithoutLink, 1)
        ]
    );
    let owed = |o: &SideOutcome| match o {
        SideOutcome::Checked(v) => v.iter().map(|v| v.external_id.clone()).collect::<Vec<_>>(),
        other => panic!("{other:?}"),
    };
    let advo = owed(outcome(&e, "advo"));
    assert_eq!(advo.len(), 2, "Anna's update and Bob's delete: {advo:?}");
    assert!(advo.contains(&advo_anna));
    assert_eq!(owed(outcome(&e, "espo")).len(), 1, "Bob's delete");
    assert_eq!(e.problems(), 4);
    assert_eq!(e.repairable(), 4);
    // found, not yet repaired: an ordinary sync does not see any of it
    assert_quiet(&hub.sync("sync"));

    let options = IntegrityOptions::default();
    let done = doctor::repair(
        hub.store.as_mut(),
        &hub.config,
        &mut hub.remotes,
        "test",
        &options,
    )
    .unwrap();
    assert_eq!(done.before.problems(), 4);
    assert_eq!(
        done.store,
        [
            (Check::TombstonesOwingDelete, 2),
            (Check::OutboxWithoutLink, 1)
        ]
        .into()
    );
    assert_eq!(done.links, 3);
    assert_eq!(done.after.problems(), 0, "{:#?}", done.after);
    let run = hub.store.run("default", done.run).unwrap().unwrap();
    assert_eq!(
        (run.job.as_str(), run.status),
        ("doctor", RunStatus::Succeeded)
    );
    assert_eq!(run.counters["repaired_tombstones_owing_delete"], 2);
    assert_eq!(run.counters["links_repaired"], 3);
    assert!(hub.store.leases("default").unwrap().is_empty(), "released");

    let r = hub.sync("sync");
    assert_eq!(
        (count(&r, "pushed_update"), count(&r, "pushed_delete")),
        (1, 2),
        "{:#?}",
        r.counters
    );
    assert_eq!(
        hub.remote("advo").get(&advo_anna).unwrap()["ort"],
        json!("Potsdam")
    );
    for side in ["espo", "advo"] {
        let names: Vec<_> = hub
            .remote(side)
            .records()
            .values()
            .map(|r| r["name"].clone())
            .collect();
        assert!(!names.contains(&json!("Bob")), "{side}: {names:?}");
    }
    assert_eq!(examine(&mut hub).problems(), 0);
    assert_quiet(&hub.sync("sync"));
}

#[test]
fn a_connector_that_cannot_be_opened_is_named_not_judged() {
    // advo's settings name no file: opening it fails
    let broken = config().replace(
        "[connectors.advo]\nkind = \"jsonl\"\npath = \"memory-advo.jsonl\"",
        "[connectors.advo]\nkind = \"jsonl\"",
    );
    assert_ne!(broken, config());
    let mut hub = Hub::new(&broken, &[("espo", MemoryOptions::default())]);
    let e = examine(&mut hub);
    assert_eq!(outcome(&e, "espo"), &SideOutcome::Checked(Vec::new()));
    match outcome(&e, "advo") {
        SideOutcome::Unchecked(message) => {
            assert!(
                message.contains("advo") && message.contains("path"),
                "{message}"
            )
        }
        other => panic!("{other:?}"),
    }
    assert_eq!((e.problems(), e.repairable()), (1, 0));
}
