//! Remote calls: N changed records cost N writes per target and no extra
//! reads (ids and versions come from the write answers); no change costs
//! one listing per side and nothing else. And change detection by content
//! hash for a remote without version tokens.

use crate::harness::*;
use einklang_connectors::memory::MemoryOptions;
use serde_json::json;

fn linked(n: usize, espo: MemoryOptions) -> (Hub, Vec<String>) {
    let mut hub = Hub::new(
        TWO_WAY,
        &[("espo", espo), ("advo", MemoryOptions::default())],
    );
    let ids = (0..n)
        .map(|i| {
            hub.remote("espo").insert(raw(
                json!({"name": format!("Person {i}"), "city": "Berlin"}),
            ))
        })
        .collect();
    hub.sync("sync");
    hub.sync("sync");
    (hub, ids)
}

#[test]
fn n_changes_cost_n_writes_and_no_extra_reads() {
    let (mut hub, ids) = linked(20, MemoryOptions::default());
    hub.remote("espo").reset_calls();
    hub.remote("advo").reset_calls();
    for id in &ids[..5] {
        hub.remote("espo")
            .update(id, raw(json!({"city": "Hamburg"})));
    }
    let r = hub.sync("sync");
    let (espo, advo) = (hub.remote("espo").calls(), hub.remote("advo").calls());
    assert_eq!(
        (advo.updates, advo.creates, advo.deletes),
        (5, 0, 0),
        "{advo:?}"
    );
    assert_eq!(advo.write_calls, 1, "one batch");
    assert_eq!(
        (espo.list, espo.fetched),
        (1, 5),
        "only the changed records are fetched: {espo:?}"
    );
    assert_eq!(
        (advo.list, advo.fetched),
        (1, 0),
        "advo is listed, nothing fetched: {advo:?}"
    );
    assert_eq!((espo.write_calls, espo.find_created), (0, 0));
    assert_eq!(remote_writes(&r), 5);
    hub.remote("espo").reset_calls();
    hub.remote("advo").reset_calls();
    let quiet = hub.sync("sync");
    assert_quiet(&quiet);
    let (espo, advo) = (hub.remote("espo").calls(), hub.remote("advo").calls());
    assert_eq!(
        (espo.list, espo.fetch, advo.list, advo.fetch),
        (1, 0, 1, 0),
        "our own writes are not read back"
    );
    assert_eq!(advo.write_calls + espo.write_calls, 0);
}

#[test]
fn without_version_tokens_changes_are_found_by_content_hash() {
    let hashed = MemoryOptions {
        list_versions: false,
        ..MemoryOptions::default()
    };
    let (mut hub, ids) = linked(10, hashed);
    let quiet = hub.sync("sync");
    assert_quiet(&quiet);
    assert_eq!(count(&quiet, "unchanged"), 20, "{:#?}", quiet.counters);
    hub.remote("espo")
        .update(&ids[3], raw(json!({"city": "Hamburg"})));
    let r = hub.sync("sync");
    assert_eq!((count(&r, "updated"), count(&r, "pushed_update")), (1, 1));
    let (advo, _) = hub.find("advo", "name", "Person 3");
    assert_eq!(
        hub.remote("advo").get(&advo).unwrap()["ort"],
        json!("Hamburg")
    );
    assert_quiet(&hub.sync("sync"));
}

#[test]
fn a_create_answer_without_a_version_costs_one_fetch_later_but_no_write() {
    let advo = MemoryOptions {
        version_in_create_response: false,
        ..MemoryOptions::default()
    };
    let mut hub = Hub::new(
        TWO_WAY,
        &[("espo", MemoryOptions::default()), ("advo", advo)],
    );
    hub.remote("espo").insert(raw(json!({"name": "Anna"})));
    hub.sync("sync");
    hub.remote("advo").reset_calls();
    let r = hub.sync("sync");
    assert_eq!(remote_writes(&r), 0);
    assert_eq!(
        hub.remote("advo").calls().fetched,
        1,
        "the version is learnt by one fetch"
    );
    assert_quiet(&hub.sync("sync"));
}

#[test]
fn only_fields_the_remote_declares_writable_are_sent() {
    // advo's PUT writes names and towns, never phone numbers
    let advo = MemoryOptions {
        writable: Some(vec!["id".into(), "name".into(), "ort".into()]),
        ..MemoryOptions::default()
    };
    let mut hub = Hub::new(
        TWO_WAY,
        &[("espo", MemoryOptions::default()), ("advo", advo)],
    );
    let espo = hub.remote("espo").insert(raw(
        json!({"name": "Anna", "city": "Berlin", "phones": ["+49 30 1111111"]}),
    ));
    hub.sync("sync");
    let (advo_id, rec) = hub.find("advo", "name", "Anna");
    assert_eq!(rec.get("tel"), None, "phones are not written");
    assert_eq!(rec["ort"], json!("Berlin"));
    assert_quiet(&hub.sync("sync"));
    // advo's own numbers still flow into the hub (advo, the phones
    // authority, also decides which one is the primary)
    hub.remote("advo")
        .update(&advo_id, raw(json!({"tel": ["+49 30 2222222"]})));
    hub.sync("sync");
    assert_eq!(
        hub.remote("espo").get(&espo).unwrap()["phones"],
        json!(["+49302222222", "+49301111111"])
    );
    assert_eq!(
        hub.remote("advo").get(&advo_id).unwrap()["tel"],
        json!(["+49 30 2222222"]),
        "still never written"
    );
    assert_quiet(&hub.sync("sync"));
}

#[test]
fn a_change_feed_reads_only_what_changed_and_never_lists() {
    let feed = || MemoryOptions {
        change_feed: true,
        ..MemoryOptions::default()
    };
    let mut hub = Hub::new(TWO_WAY, &[("espo", feed()), ("advo", feed())]);
    let ids: Vec<String> = (0..20)
        .map(|i| {
            hub.remote("espo").insert(raw(
                json!({"name": format!("Person {i}"), "city": "Berlin"}),
            ))
        })
        .collect();
    hub.sync("sync");
    hub.sync("sync");
    hub.remote("espo").reset_calls();
    hub.remote("advo").reset_calls();
    for id in &ids[..5] {
        hub.remote("espo")
            .update(id, raw(json!({"city": "Hamburg"})));
    }
    hub.remote("espo").remove(&ids[19]);
    let r = hub.sync("sync");
    let (espo, advo) = (hub.remote("espo").calls(), hub.remote("advo").calls());
    assert_eq!(
        (espo.changes, espo.list, espo.fetched),
        (1, 0, 5),
        "{espo:?}"
    );
    assert_eq!(
        (advo.changes, advo.list, advo.fetched),
        (1, 0, 0),
        "our own writes are not fetched: {advo:?}"
    );
    assert_eq!((advo.updates, advo.deletes), (5, 1));
    assert_eq!(count(&r, "deleted"), 1);
    hub.remote("espo").reset_calls();
    hub.remote("advo").reset_calls();
    assert_quiet(&hub.sync("sync"));
    let (espo, advo) = (hub.remote("espo").calls(), hub.remote("advo").calls());
    assert_eq!((espo.fetch, advo.fetch, espo.list, advo.list), (0, 0, 0, 0));
}
