//! The answer is the truth (issue 11, item 1): Advoware's `PUT` silently
//! ignores some fields (seed 002). A field written and not kept must not
//! come back as a change at the remote — which would overwrite the hub and
//! every other side with the old value — and is left out of later writes.

use crate::harness::*;
use einklang_connectors::memory::MemoryOptions;
use einklang_emulator::{Emulator, Options};
use serde_json::json;

fn config(base: &str, token: &str) -> String {
    format!(
        r#"
[entities.contact]
last_name = {{ type = "text", required = true }}
first_name = "text"
birth_name = "text"

[connectors.office]
kind = "jsonl"
path = "memory-office.jsonl"

{advo}
[map.office.contact]
id = "id"
fields = {{ last_name = "name", first_name = "first", birth_name = "birth" }}

[map.advo.contact]
id = "betNr"
on_delete = "ignore"
fields = {{ last_name = "name", first_name = "vorname", birth_name = "geburtsname" }}

[conflicts.contact]
default = {{ authority = "office" }}

[jobs.sync]
sync = ["office", "advo"]
"#,
        advo = einklang_testkit::advoware_connector("advo", base, token),
    )
}

#[test]
fn a_field_the_remote_ignores_never_comes_back_as_a_change() {
    let emu = Emulator::start(Options::default());
    let advo = emu.advoware();
    let token = advo.issue_token();
    let mut hub = Hub::new(
        &config(&advo.base_url(), &token),
        &[("office", MemoryOptions::default())],
    );
    let office = hub.remote("office").insert(raw(
        json!({"name": "Weiß", "first": "Jürgen", "birth": "Schmitz"}),
    ));
    let r = hub.sync("sync");
    assert_eq!(count(&r, "created"), 1, "{:#?}", r.counters);
    let created = advo.all();
    assert_eq!(created.len(), 1);
    assert_eq!(created[0]["geburtsname"], "Schmitz", "a POST keeps it");
    assert!(
        created[0]["rowId"].is_number() || created[0]["rowId"].is_string(),
        "{created:?}"
    );
    // the create was read again: the link has the rowId, so the next
    // listing finds nothing changed
    let r = hub.sync("sync");
    assert_eq!(remote_writes(&r), 0, "{:#?}", r.counters);
    assert_eq!(count(&r, "updated"), 0, "{:#?}", r.counters);
    assert_eq!(
        count(&r, "writes"),
        0,
        "nothing to store either: {:#?}",
        r.counters
    );

    // the office changes the birth name: Advoware's PUT ignores it
    let mut rec = hub.remote("office").get(&office).unwrap();
    rec.insert("birth".into(), json!("Schulze"));
    rec.insert("first".into(), json!("Jürgen Karl"));
    hub.remote("office").update(&office, rec);
    let r = hub.sync("sync");
    assert_eq!(count(&r, "fields_not_kept"), 1, "{:#?}", r.counters);
    let notes: Vec<&String> = r.steps.iter().flat_map(|s| &s.notes).collect();
    assert!(
        notes
            .iter()
            .any(|n| n.contains("did not keep field `birth_name`") && n.contains("Schulze")),
        "{notes:#?}"
    );
    let held = &advo.all()[0];
    assert_eq!(
        (&held["vorname"], &held["geburtsname"]),
        (&json!("Jürgen Karl"), &json!("Schmitz"))
    );

    // the next syncs read Advoware's old value as no change: the hub and
    // the office keep the new one, and nothing is written
    for _ in 0..2 {
        let r = hub.sync("sync");
        assert_eq!(remote_writes(&r), 0, "{:#?}", r.counters);
        let rec = hub.remote("office").get(&office).unwrap();
        assert_eq!(rec["birth"], "Schulze", "the old value came back: {rec:?}");
    }
}

/// A value the remote assigns (Advoware's `betNr`), read again after the
/// create, reaches the hub and the other side in the same run: the second
/// sync writes nothing (issue 11: it made 10 PUTs).
#[test]
fn a_value_the_remote_assigns_reaches_every_side_in_the_same_run() {
    let emu = Emulator::start(Options::default());
    let advo = emu.advoware();
    let token = advo.issue_token();
    let text = config(&advo.base_url(), &token)
        .replace(
            "birth_name = \"text\"\n",
            "birth_name = \"text\"\nadvo_nr = \"text\"\n",
        )
        .replace(
            "fields = {{ last_name = \"name\", first_name = \"first\", birth_name = \"birth\" }}",
            "",
        )
        .replace(
            "fields = { last_name = \"name\", first_name = \"first\", birth_name = \"birth\" }",
            "fields = { last_name = \"name\", first_name = \"first\", birth_name = \"birth\", advo_nr = \"advoware_nr\" }",
        )
        .replace(
            "fields = { last_name = \"name\", first_name = \"vorname\", birth_name = \"geburtsname\" }",
            "fields = { last_name = \"name\", first_name = \"vorname\", birth_name = \"geburtsname\", advo_nr = { from = \"betNr\", direction = \"pull\" } }",
        );
    assert!(text.contains("advo_nr = { from"), "{text}");
    let mut hub = Hub::new(&text, &[("office", MemoryOptions::default())]);
    let ids: Vec<String> = ["Weiß", "Novak", "Horvat"]
        .iter()
        .map(|n| hub.remote("office").insert(raw(json!({ "name": n }))))
        .collect();
    let r = hub.sync("sync");
    assert_eq!(count(&r, "answers_into_hub"), 3, "{:#?}", r.counters);
    for id in &ids {
        let rec = hub.remote("office").get(id).unwrap();
        let nr = rec
            .get("advoware_nr")
            .and_then(|v| v.as_str())
            .unwrap_or("");
        assert!(
            !nr.is_empty(),
            "the betNr did not reach the office: {rec:?}"
        );
        let held = advo.get(nr.parse().unwrap()).unwrap();
        assert_eq!(held["name"], rec["name"]);
    }
    let r = hub.sync("sync");
    assert_eq!(remote_writes(&r), 0, "{:#?}", r.counters);
    assert_eq!(count(&r, "writes"), 0, "{:#?}", r.counters);
}
