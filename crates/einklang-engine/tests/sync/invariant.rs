//! The link invariant (issue 9, defect 2): a `clean` link whose base no
//! longer matches the hub was invisible — `sync --full` reported every
//! record unchanged and wrote nothing, while one side kept an old value
//! for ever. The check after each read batch and the reconcile of
//! `sync --full` find such a link and write what it owes.

use crate::harness::*;
use einklang_connectors::memory::MemoryOptions;
use serde_json::json;

/// Anna in Berlin everywhere; then the hub and espo say Potsdam while
/// advo keeps Berlin behind a link that claims to be clean — the state a
/// watch beside a manual sync left before runs were exclusive.
fn diverged() -> (Hub, String) {
    let mut hub = Hub::new(
        TWO_WAY,
        &[
            ("espo", MemoryOptions::default()),
            ("advo", MemoryOptions::default()),
        ],
    );
    let espo = hub
        .remote("espo")
        .insert(raw(json!({"name": "Anna", "city": "Berlin"})));
    hub.sync("sync");
    let (advo, _) = hub.find("advo", "name", "Anna");
    let batch = hub.changed_behind_the_others("espo", &espo, json!({"city": "Potsdam"}));
    hub.store.apply_sync("default", 1, &batch).unwrap();
    (hub, advo)
}

#[test]
fn a_clean_link_behind_the_hub_is_repaired_by_sync_full() {
    let (mut hub, advo) = diverged();
    // the divergence is invisible to an ordinary sync
    let r = hub.sync("sync");
    assert_eq!(count(&r, "pushed_update"), 0, "{:#?}", r.counters);
    assert_eq!(
        hub.remote("advo").get(&advo).unwrap()["ort"],
        json!("Berlin")
    );
    // the reconcile finds it, says so, and writes what the link owed
    let options = einklang_engine::RunOptions {
        full: true,
        ..hub.options()
    };
    let r = hub.run("sync", options).unwrap();
    assert_eq!(
        (count(&r, "links_repaired"), count(&r, "pushed_update")),
        (1, 1),
        "{:#?}",
        r.counters
    );
    assert!(
        r.errors
            .iter()
            .any(|e| e.contains("is clean but differs from the hub")),
        "{:?}",
        r.errors
    );
    assert_eq!(
        hub.remote("advo").get(&advo).unwrap()["ort"],
        json!("Potsdam")
    );
    assert_quiet(&hub.sync("sync"));
}

#[test]
fn a_change_read_on_another_side_also_writes_what_the_link_owed() {
    let (mut hub, advo) = diverged();
    let (espo, _) = hub.find("espo", "name", "Anna");
    hub.remote("espo")
        .update(&espo, raw(json!({"email": "anna@example.org"})));
    let r = hub.sync("sync");
    assert_eq!(
        count(&r, "links_repaired"),
        0,
        "the read marked advo dirty itself: {:#?}",
        r.counters
    );
    // the read's own plan marks the other link dirty; the pushed update
    // carries the town the link owed as well
    assert_eq!(
        hub.remote("advo").get(&advo).unwrap()["ort"],
        json!("Potsdam")
    );
    assert_quiet(&hub.sync("sync"));
}
