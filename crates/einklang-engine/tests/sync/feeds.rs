//! Change feeds of the seed systems as peers of a practice list: EspoCRM's
//! zone-less `modifiedAt` window finds another user's edit without
//! `--full`; Microsoft Graph's contacts delta query is read through its
//! stored `@odata.deltaLink` (an edit and a removal), and a `410 Gone`
//! for that link restarts a full round within the same run with nothing
//! doubled.

use crate::harness::*;
use einklang_connectors::memory::MemoryOptions;
use einklang_emulator::{Emulator, Options};
use einklang_testkit::{graph_connector, graph_with_contacts, GRAPH_MAILBOX};
use serde_json::json;

fn espo_config(url: &str) -> String {
    format!(
        r#"
[entities.contact]
name = "text"

[connectors.office]
kind = "jsonl"
path = "memory-office.jsonl"

[connectors.espo]
kind = "http"
base_url = "{url}"
auth = {{ header = "X-Api-Key", value = "espo-api-key" }}
version = "versionNumber"
list = {{ path = "/Contact", records = "/list", paginate = "offset", offset_param = "offset", size_param = "maxSize", size = 200, params = {{ orderBy = "createdAt", order = "asc" }} }}
changes = {{ params = {{ maxSize = 200, orderBy = "createdAt", order = "asc", "where[0][type]" = "after", "where[0][attribute]" = "modifiedAt", "where[0][value]" = "{{since}}" }}, format = "%Y-%m-%d %H:%M:%S", tz = "UTC" }}
get = {{ path = "/Contact/{{id}}" }}
create = {{ path = "/Contact" }}
update = {{ method = "PATCH", path = "/Contact/{{id}}" }}
delete = {{ path = "/Contact/{{id}}" }}
writable = ["lastName"]

[map.office.contact]
id = "id"
fields = {{ name = "name" }}

[map.espo.contact]
id = "id"
fields = {{ name = "lastName" }}

[jobs.sync]
sync = ["espo", "office"]

[conflicts.contact]
default = {{ authority = "espo" }}
"#
    )
}

#[test]
fn an_espo_edit_is_read_through_its_zoneless_modified_at_without_full() {
    let emu = Emulator::start(Options::default());
    let espo = emu.espo();
    espo.advance(-3600);
    let ids: Vec<String> = (0..3)
        .map(|i| espo.insert("Contact", json!({"lastName": format!("Kunde {i}")})))
        .collect();
    espo.advance(3600);
    let mut hub = Hub::new(
        &espo_config(&espo.api_url()),
        &[("office", MemoryOptions::default())],
    );
    let r = hub.sync("sync");
    assert_eq!(count(&r, "created"), 3, "{:#?}", r.counters);
    assert_quiet(&hub.sync("sync"));
    espo.update("Contact", &ids[1], json!({"lastName": "Kunde 1 GmbH"}));
    let gets = espo.count("GET");
    let r = hub.sync("sync");
    assert_eq!(count(&r, "changes"), 1, "{:#?}", r.counters);
    assert_eq!(espo.count("GET") - gets, 1, "one listing of what changed");
    hub.find("office", "name", "Kunde 1 GmbH");
    assert_quiet(&hub.sync("sync"));
}

fn graph_config(emu: &Emulator) -> String {
    graph_config_with(emu, "changeKey")
}

fn graph_config_with(emu: &Emulator, version: &str) -> String {
    let g = emu.graph();
    let graph = graph_connector("graph", &g.base_url(), &g.token_url(), GRAPH_MAILBOX).replace(
        "version = \"changeKey\"",
        &format!("version = \"{version}\""),
    );
    format!(
        r#"
[entities.contact]
first_name = "text"
last_name = "text"

[connectors.office]
kind = "jsonl"
path = "memory-office.jsonl"

{graph}
# still [connectors.graph]
writable = ["givenName", "surname"]

[map.office.contact]
id = "id"
fields = {{ first_name = "first", last_name = "last" }}

[map.graph.contact]
id = "id"
fields = {{ first_name = "givenName", last_name = "surname" }}

[jobs.sync]
sync = ["graph", "office"]

[conflicts.contact]
default = {{ authority = "graph" }}
"#
    )
}

#[test]
fn graph_delta_reads_edits_and_removals_and_a_410_restarts_the_round_in_the_same_run() {
    let (emu, ids) = graph_with_contacts(12);
    let g = emu.graph();
    let mut hub = Hub::new(&graph_config(&emu), &[("office", MemoryOptions::default())]);
    let links = |hub: &mut Hub| {
        hub.store
            .count_links("default", "graph", "contact")
            .unwrap()
    };

    // the first run walks one full round (two pages) and keeps its delta link
    let r = hub.sync("sync");
    assert_eq!(count(&r, "created"), 12, "{:#?}", r.counters);
    assert_eq!(
        g.count("GET"),
        2,
        "the round is the full read: {:?}",
        g.requests()
    );
    assert_eq!(hub.remote("office").records().len(), 12);
    let gets = g.count("GET");
    assert_quiet(&hub.sync("sync"));
    assert_eq!(
        g.count("GET") - gets,
        1,
        "a quiet round through the delta link"
    );

    // an edit and a removal, seen through the delta link
    g.update(GRAPH_MAILBOX, &ids[3], json!({"surname": "Neubau"}));
    g.delete(GRAPH_MAILBOX, &ids[4]);
    let r = hub.sync("sync");
    assert_eq!(count(&r, "changes"), 2, "{:#?}", r.counters);
    assert_eq!(count(&r, "deleted"), 1, "{:#?}", r.counters);
    let (_, k3) = hub.find("office", "first", "K3");
    assert_eq!(k3["last"], json!("Neubau"));
    assert!(hub
        .remote("office")
        .records()
        .iter()
        .all(|(_, r)| r["first"] != json!("K4")));
    assert_quiet(&hub.sync("sync"));

    // the link expires: the same run reads a full round, nothing doubled,
    // and the edit made meanwhile arrives
    let (records, linked) = (hub.records().len(), links(&mut hub));
    g.update(GRAPH_MAILBOX, &ids[5], json!({"surname": "Altbau"}));
    g.expire_delta_tokens();
    let gets = g.count("GET");
    let r = hub.sync("sync");
    assert_eq!(count(&r, "created"), 0, "{:#?}", r.counters);
    assert_eq!(count(&r, "deleted"), 0, "{:#?}", r.counters);
    assert_eq!(
        g.count("GET") - gets,
        3,
        "the 410, then two pages of a new round"
    );
    assert_eq!((hub.records().len(), links(&mut hub)), (records, linked));
    assert_eq!(hub.remote("office").records().len(), 11);
    assert_eq!(hub.find("office", "first", "K5").1["last"], json!("Altbau"));
    for i in (0..12).filter(|i| *i != 4) {
        hub.find("office", "first", &format!("K{i}"));
    }
    // and the next run goes through the new round's link again
    let gets = g.count("GET");
    assert_quiet(&hub.sync("sync"));
    assert_eq!(g.count("GET") - gets, 1);
}

/// Kurt in a Graph mailbox, synced once with the office file, then
/// renamed in the office: the hub with the write to Graph still to do.
fn kurt_renamed_in_the_office(version: &str) -> (Emulator, String, Hub) {
    let emu = Emulator::start(Options::default());
    let id = emu.graph().insert(
        "info@bau.de",
        json!({"givenName": "Kurt", "surname": "Bau"}),
    );
    let mut hub = Hub::new(
        &graph_config_with(&emu, version),
        &[("office", MemoryOptions::default())],
    );
    hub.sync("sync");
    let (office_id, _) = hub.find("office", "first", "Kurt");
    hub.remote("office")
        .update(&office_id, raw(json!({"last": "Neubau"})));
    (emu, id, hub)
}

/// Graph compares `If-Match` with the `@odata.etag`, not the `changeKey`:
/// a config that sends the `changeKey` is refused every time. The second
/// refusal of the same version (after reading the record again) fails
/// the link with a message naming `version` instead of sending it again
/// on every run; with the etag the same edit lands.
#[test]
fn graph_refusing_the_version_it_hands_out_fails_the_link_with_a_hint_instead_of_looping() {
    let (emu, id, mut hub) = kurt_renamed_in_the_office("changeKey");
    let g = emu.graph();
    let r = hub.sync("sync");
    assert_eq!(count(&r, "write_conflicts"), 1, "{:#?}", r.counters);
    assert_eq!(r.status, einklang_store::RunStatus::Partial);
    let gets = g.count("GET");
    let r = hub.sync("sync");
    assert_eq!(count(&r, "reread_refused"), 1, "{:#?}", r.counters);
    assert!(
        g.count("GET") - gets >= 2,
        "the delta round and the record by id"
    );
    assert_eq!(count(&r, "push_failed"), 1, "{:#?}", r.counters);
    assert!(
        r.errors
            .iter()
            .any(|e| e.contains("refused version") && e.contains("`version`")),
        "{:?}",
        r.errors
    );
    let link = hub
        .record_of("graph", &id)
        .link_to("graph")
        .unwrap()
        .clone();
    assert_eq!(link.status, einklang_store::LinkStatus::Failed);
    let patches = g.count("PATCH");
    let r = hub.sync("sync");
    assert_eq!(
        g.count("PATCH"),
        patches,
        "not sent before its retry is due"
    );
    assert_eq!(count(&r, "not_due"), 1, "{:#?}", r.counters);

    // the same edit with the etag as the version lands at once
    let (_emu, _, mut hub) = kurt_renamed_in_the_office("@odata.etag");
    let r = hub.sync("sync");
    assert_eq!(count(&r, "pushed_update"), 1, "{:#?}", r.counters);
    assert_eq!(
        r.status,
        einklang_store::RunStatus::Succeeded,
        "{:?}",
        r.errors
    );
    assert_quiet(&hub.sync("sync"));
}
