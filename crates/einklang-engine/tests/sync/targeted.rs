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
