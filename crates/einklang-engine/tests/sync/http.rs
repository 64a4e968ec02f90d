//! A Kommo-style CRM behind the `http` connector (the in-repo emulator) as
//! a two-way peer of a practice list: creates both ways with server ids,
//! edits both ways, each later read one listing of what changed (the
//! `{since}` filter), a deletion seen in the events feed, one PATCH per
//! changed record and no request that writes when nothing changed.

use crate::harness::*;
use einklang_connectors::memory::MemoryOptions;
use einklang_emulator::{Emulator, Options};
use serde_json::json;

pub(crate) fn config(url: &str) -> String {
    format!(
        r#"
[entities.contact]
name = "text"
email = "email"

[connectors.office]
kind = "jsonl"
path = "memory-office.jsonl"

[connectors.kommo]
kind = "http"
base_url = "{url}"
auth = {{ header = "X-Api-Key", value = "key-1" }}
version = "version"
list = {{ path = "/api/v4/contacts", paginate = "next_link", next = "/_links/next/href", params = {{ limit = 2 }}, records = "/_embedded/contacts" }}
changes = {{ params = {{ limit = 250, "filter[updated_at][from]" = "{{since}}" }}, format = "epoch", overlap_s = 1 }}
deletes = {{ path = "/api/v4/events", params = {{ "filter[type]" = "contact_deleted", "filter[created_at][from]" = "{{since}}" }}, records = "/_embedded/events", id = "entity_id" }}
get = {{ path = "/api/v4/contacts/{{id}}", missing = [204, 404] }}
create = {{ path = "/api/v4/contacts", body = ["{{record}}"], record = "/_embedded/contacts/0" }}
update = {{ path = "/api/v4/contacts/{{id}}" }}
delete = {{ path = "/api/v4/contacts/{{id}}" }}
conditional = "If-Match"
writable = ["name", "email"]

[map.office.contact]
id = "id"
fields = {{ name = "name", email = "email" }}

[map.kommo.contact]
id = "id"
fields = {{ name = "name", email = "email" }}

[jobs.sync]
sync = ["office", "kommo"]

[conflicts.contact]
default = {{ authority = "kommo" }}
"#
    )
}

#[test]
fn a_rest_crm_syncs_both_ways_reading_only_what_changed() {
    let emu = Emulator::start(Options {
        api_key: Some("key-1".into()),
        ..Options::default()
    });
    emu.advance(-600);
    let kommo_ids: Vec<u64> = (0..3)
        .map(|i| {
            emu.insert(
                json!({"name": format!("Kunde {i}"), "email": format!("k{i}@kommo.example")}),
            )
        })
        .collect();
    emu.advance(600);
    let mut hub = Hub::new(&config(&emu.url), &[("office", MemoryOptions::default())]);
    let anna = hub
        .remote("office")
        .insert(raw(json!({"name": "Anna Novak", "email": "anna@novak.si"})));
    let r = hub.sync("sync");
    assert_eq!(count(&r, "created"), 4, "{:#?}", r.counters);
    assert_eq!(emu.count("POST"), 1, "one create");
    let made = emu
        .all()
        .into_iter()
        .find(|c| c["name"] == json!("Anna Novak"))
        .unwrap();
    assert_eq!(made["email"], json!("anna@novak.si"));
    let (k0, _) = hub.find("office", "name", "Kunde 0");
    assert_quiet(&hub.sync("sync"));

    // edits on both sides: one listing of changes, one PATCH for ours
    emu.update(kommo_ids[1], json!({"email": "neu@kommo.example"}));
    hub.remote("office")
        .update(&k0, raw(json!({"name": "Kunde 0 GmbH"})));
    let (gets, patches) = (emu.count("GET"), emu.count("PATCH"));
    let r = hub.sync("sync");
    // the window also holds our own create of Anna (its version is
    // linked, so it is not fetched)
    assert!((1..=2).contains(&count(&r, "changes")), "{:#?}", r.counters);
    assert_eq!(
        emu.count("PATCH") - patches,
        1,
        "one write for one changed record"
    );
    assert!(
        emu.count("GET") - gets <= 2,
        "a changes listing and the events feed, no per-record GETs"
    );
    assert_eq!(
        emu.get(kommo_ids[0]).unwrap()["name"],
        json!("Kunde 0 GmbH")
    );
    let (_, k1) = hub.find("office", "name", "Kunde 1");
    assert_eq!(k1["email"], json!("neu@kommo.example"));
    let writes = emu.count("POST") + emu.count("PATCH") + emu.count("DELETE");
    assert_quiet(&hub.sync("sync"));
    assert_eq!(
        emu.count("POST") + emu.count("PATCH") + emu.count("DELETE"),
        writes
    );

    // deleted in the CRM: found in its events, deleted in the office list
    emu.delete(kommo_ids[2]);
    let r = hub.sync("sync");
    assert_eq!(count(&r, "deleted"), 1, "{:#?}", r.counters);
    let left = hub.remote("office").records();
    assert!(
        left.iter().all(|(_, r)| r["name"] != json!("Kunde 2")),
        "{left:?}"
    );
    assert_quiet(&hub.sync("sync"));
    let _ = anna;
}
