//! Create scope (issue 10): which hub records a side receives as creates.
//! Syncing one mailbox must not create every hub contact in it.

use crate::harness::*;
use einklang_connectors::memory::MemoryOptions;
use serde_json::json;

const CONFIG: &str = r#"
[entities.contact]
name = "text"
city = "text"

[connectors.crm]
kind = "jsonl"
path = "memory-crm.jsonl"

[connectors.hero]
kind = "jsonl"
path = "memory-hero.jsonl"

[connectors.mailbox]
kind = "jsonl"
path = "memory-mailbox.jsonl"

[map.crm.contact]
id = "id"
fields = { name = "name", city = "city" }

[map.hero.contact]
id = "id"
fields = { name = "name", city = "city" }

[map.mailbox.contact]
id = "id"
CREATES
fields = { name = "name", city = "city" }

[jobs.sync]
sync = ["crm", "hero", "mailbox"]
"#;

fn hub(creates: &str) -> Hub {
    let config = CONFIG.replace("CREATES", creates);
    let hub = Hub::new(
        &config,
        &[
            ("crm", MemoryOptions::default()),
            ("hero", MemoryOptions::default()),
            ("mailbox", MemoryOptions::default()),
        ],
    );
    hub.remote("crm")
        .insert(raw(json!({"name": "Anna", "city": "Berlin"})));
    hub.remote("hero")
        .insert(raw(json!({"name": "Bernd", "city": "Köln"})));
    hub.remote("mailbox")
        .insert(raw(json!({"name": "Clara", "city": "Berlin"})));
    hub
}

fn names(hub: &Hub, connector: &str) -> Vec<String> {
    let mut n: Vec<String> = hub
        .remote(connector)
        .records()
        .values()
        .map(|r| r["name"].as_str().unwrap().to_string())
        .collect();
    n.sort();
    n
}

#[test]
fn creates_none_only_updates_what_the_side_has() {
    let mut hub = hub("creates = \"none\"");
    hub.sync("sync");
    assert_eq!(names(&hub, "mailbox"), vec!["Clara"]);
    assert_eq!(
        names(&hub, "crm"),
        vec!["Anna", "Bernd", "Clara"],
        "the others still get all"
    );
    let (clara, _) = hub.find("crm", "name", "Clara");
    hub.remote("crm")
        .update(&clara, raw(json!({"city": "Potsdam"})));
    hub.sync("sync");
    assert_eq!(
        hub.find("mailbox", "name", "Clara").1["city"],
        json!("Potsdam")
    );
    assert_quiet(&hub.sync("sync"));
}

#[test]
fn creates_from_takes_only_records_that_came_from_those_connectors() {
    let mut hub = hub("creates = { from = [\"crm\"] }");
    hub.sync("sync");
    assert_eq!(names(&hub, "mailbox"), vec!["Anna", "Clara"]);
    assert_quiet(&hub.sync("sync"));
}

#[test]
fn creates_filter_takes_records_whose_values_pass_and_those_that_come_to() {
    let mut hub = hub("creates = { filter = \"city = 'Berlin'\" }");
    hub.sync("sync");
    assert_eq!(names(&hub, "mailbox"), vec!["Anna", "Clara"]);
    let (bernd, _) = hub.find("hero", "name", "Bernd");
    hub.remote("hero")
        .update(&bernd, raw(json!({"city": "Berlin"})));
    hub.sync("sync");
    assert_eq!(names(&hub, "mailbox"), vec!["Anna", "Bernd", "Clara"]);
    assert_quiet(&hub.sync("sync"));
}
