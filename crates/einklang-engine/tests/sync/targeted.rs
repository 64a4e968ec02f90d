//! A targeted run (a webhook's, `RunOptions::targets`): the named records
//! of the named side are fetched by id and nothing else is read; their
//! changes are written to the other sides; a named record the remote no
//! longer has is deleted nowhere until an ordinary run decides it.

use crate::harness::*;
use einklang_connectors::memory::MemoryOptions;
use einklang_engine::RunOptions;
use serde_json::json;
use std::collections::BTreeMap;

#[test]
fn a_targeted_run_reads_only_the_named_records_and_deletes_nothing() {
    let mut hub = Hub::new(
        TWO_WAY,
        &[
            ("espo", MemoryOptions::default()),
            ("advo", MemoryOptions::default()),
        ],
    );
    let ids: Vec<String> = (0..4)
        .map(|i| {
            hub.remote("espo").insert(raw(
                json!({"name": format!("Person {i}"), "city": "Berlin"}),
            ))
        })
        .collect();
    hub.sync("sync");
    let (advo3, _) = hub.find("advo", "name", "Person 3");
    hub.remote("espo")
        .update(&ids[1], raw(json!({"city": "Potsdam"})));
    hub.remote("espo").remove(&ids[2]);
    hub.remote("advo")
        .update(&advo3, raw(json!({"ort": "Köln"})));
    hub.remote("espo").reset_calls();
    hub.remote("advo").reset_calls();
    let options = RunOptions {
        targets: Some(BTreeMap::from([(
            "espo".to_string(),
            vec![ids[1].clone(), ids[2].clone()],
        )])),
        ..hub.options()
    };
    let r = hub.run("sync", options).unwrap();
    let (espo, advo) = (hub.remote("espo").calls(), hub.remote("advo").calls());
    assert_eq!(
        (espo.list, espo.read, espo.fetch, espo.fetched),
        (0, 0, 1, 1),
        "{espo:?}"
    );
    assert_eq!(
        (advo.list, advo.read, advo.fetch),
        (0, 0, 0),
        "advo is not read: {advo:?}"
    );
    assert_eq!(advo.updates, 1, "Person 1's change written: {advo:?}");
    assert_eq!(
        (
            count(&r, "named"),
            count(&r, "named_absent"),
            count(&r, "deleted")
        ),
        (2, 1, 0),
        "{:#?}",
        r.counters
    );
    let (_, p1) = hub.find("advo", "name", "Person 1");
    assert_eq!(p1["ort"], json!("Potsdam"));
    hub.find("advo", "name", "Person 2"); // still there
    assert_eq!(
        hub.remote("espo").get(&ids[3]).unwrap()["city"],
        json!("Berlin"),
        "advo not read yet"
    );
    // the ordinary run is the safety net: the delete and advo's change
    let r = hub.sync("sync");
    assert_eq!(count(&r, "deleted"), 1, "{:#?}", r.counters);
    assert_eq!(
        hub.remote("espo").get(&ids[3]).unwrap()["city"],
        json!("Köln")
    );
    assert_quiet(&hub.sync("sync"));
}

#[test]
fn a_targeted_run_of_a_connector_it_does_not_name_reads_nothing() {
    let mut hub = Hub::new(
        TWO_WAY,
        &[
            ("espo", MemoryOptions::default()),
            ("advo", MemoryOptions::default()),
        ],
    );
    let id = hub
        .remote("espo")
        .insert(raw(json!({"name": "Person", "city": "Berlin"})));
    hub.sync("sync");
    hub.remote("espo")
        .update(&id, raw(json!({"city": "Potsdam"})));
    hub.remote("espo").reset_calls();
    let options = RunOptions {
        targets: Some(BTreeMap::from([(
            "elsewhere".to_string(),
            vec!["x".into()],
        )])),
        ..hub.options()
    };
    hub.run("sync", options).unwrap();
    let espo = hub.remote("espo").calls();
    assert_eq!((espo.list, espo.read, espo.fetch), (0, 0, 0), "{espo:?}");
    let r = hub.sync("sync");
    assert_eq!(count(&r, "pushed_update"), 1, "{:#?}", r.counters);
}

/// A targeted run that dies after its writes went out, before their
/// results were stored (a worker killed mid-run); then a targeted run of
/// another record (the next queued record sync), and the first run again
/// (the service that takes it over): the writes that may have landed are
/// never sent again — the other record's run leaves them for a run that
/// reads their records, and that run reads them back as its own.
#[test]
fn lost_answers_of_a_crashed_targeted_run_are_not_written_twice() {
    let mut hub = Hub::new(
        TWO_WAY,
        &[
            ("espo", MemoryOptions::default()),
            ("advo", MemoryOptions::default()),
        ],
    );
    let ids: Vec<String> = (0..3)
        .map(|i| {
            hub.remote("espo").insert(raw(
                json!({"name": format!("Person {i}"), "city": "Berlin"}),
            ))
        })
        .collect();
    hub.sync("sync");
    let advo: Vec<String> = (0..3)
        .map(|i| hub.find("advo", "name", &format!("Person {i}")).0)
        .collect();
    for id in &ids {
        hub.remote("espo")
            .update(id, raw(json!({"city": "Potsdam"})));
    }
    hub.remote("advo").reset_calls();
    // sync now of records 0 and 1 — both sides named, as the API does
    let named = |which: &[usize]| {
        Some(BTreeMap::from([
            (
                "espo".to_string(),
                which.iter().map(|&i| ids[i].clone()).collect(),
            ),
            (
                "advo".to_string(),
                which.iter().map(|&i| advo[i].clone()).collect(),
            ),
        ]))
    };
    let crashing = RunOptions {
        targets: named(&[0, 1]),
        crash: Some(einklang_engine::CrashAt {
            point: einklang_engine::CrashPoint::AfterRemoteWrite,
            nth: 1,
        }),
        ..hub.options()
    };
    assert!(matches!(
        hub.run("sync", crashing),
        Err(einklang_engine::EngineError::Crashed(_))
    ));
    assert_eq!(hub.remote("advo").calls().updates, 2, "the writes landed");
    // record 2's run: its own write only
    let other = RunOptions {
        targets: named(&[2]),
        ..hub.options()
    };
    let r = hub.run("sync", other).unwrap();
    assert_eq!(hub.remote("advo").calls().updates, 3, "{:#?}", r.counters);
    assert_eq!(count(&r, "held_unread"), 2, "{:#?}", r.counters);
    // the crashed run again: read back as its own, nothing sent
    let again = RunOptions {
        targets: named(&[0, 1]),
        ..hub.options()
    };
    hub.run("sync", again).unwrap();
    assert_eq!(hub.remote("advo").calls().updates, 3, "none sent twice");
    for id in &advo {
        assert_eq!(hub.remote("advo").get(id).unwrap()["ort"], json!("Potsdam"));
    }
    assert_quiet(&hub.sync("sync"));
}
