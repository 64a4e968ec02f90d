//! Both sides changed the same field differently: each policy, and the
//! review cycle conflicts → resolve → sync. Plus field directions and the
//! first sync of a list field that matches equal values (seed's BUG-3).

use crate::harness::*;
use einklang_connectors::memory::MemoryOptions;
use einklang_engine::{resolve, Choice};
use einklang_store::{LinkStatus, RunStatus};
use serde_json::json;

fn hub_with(policies: &str) -> (Hub, String, String) {
    let config = TWO_WAY.replace(
        "[conflicts.contact]\ndefault = { authority = \"espo\" }\nphones = { authority = \"advo\" }\n",
        policies,
    );
    let mut hub = Hub::new(
        &config,
        &[
            ("espo", MemoryOptions::default()),
            ("advo", MemoryOptions::default()),
        ],
    );
    let espo = hub.remote("espo").insert(raw(json!({"name": "Anna Novak", "city": "Berlin", "phones": ["+49 30 1111111"], "changed": "2026-01-01T00:00:00Z"})));
    hub.sync("sync");
    let (advo, _) = hub.find("advo", "name", "Anna Novak");
    (hub, espo, advo)
}

fn city(hub: &Hub, connector: &str, id: &str) -> serde_json::Value {
    let field = if connector == "advo" { "ort" } else { "city" };
    hub.remote(connector).get(id).unwrap()[field].clone()
}

fn edit_city_on_both(hub: &Hub, espo: &str, advo: &str) {
    hub.remote("espo")
        .update(espo, raw(json!({"city": "Hamburg"})));
    hub.remote("advo").update(advo, raw(json!({"ort": "Köln"})));
}

const AUTHORITY: &str =
    "[conflicts.contact]\ndefault = { authority = \"espo\" }\nphones = { authority = \"advo\" }\n";

#[test]
fn espo_wins_master_data_as_its_authority() {
    let (mut hub, espo, advo) = hub_with(AUTHORITY);
    edit_city_on_both(&hub, &espo, &advo);
    let r = hub.sync("sync");
    assert_eq!(count(&r, "conflicts"), 1, "{:#?}", r.counters);
    assert_eq!(
        r.status,
        RunStatus::Succeeded,
        "decided conflicts need nobody"
    );
    assert_eq!(
        (city(&hub, "espo", &espo), city(&hub, "advo", &advo)),
        (json!("Hamburg"), json!("Hamburg"))
    );
    let audit = hub.store.conflicts("default", false, 10).unwrap();
    assert_eq!(
        (audit[0].status.as_str(), audit[0].policy.as_str()),
        ("auto", "authority:espo")
    );
    assert_quiet(&hub.sync("sync"));
}

#[test]
fn advo_wins_phone_numbers_as_their_authority() {
    let (mut hub, espo, advo) = hub_with(AUTHORITY);
    hub.remote("espo").update(
        &espo,
        raw(json!({"phones": ["+49 30 2222222", "+49 30 1111111"]})),
    );
    hub.remote("advo").update(
        &advo,
        raw(json!({"tel": ["+49 30 3333333", "+49 30 1111111"]})),
    );
    let r = hub.sync("sync");
    // both added a number and both chose it as the primary: the numbers
    // merge, the primary is advo's
    let expected = json!(["+49303333333", "+49302222222", "+49301111111"]);
    assert_eq!(
        hub.remote("espo").get(&espo).unwrap()["phones"],
        expected,
        "{:#?}",
        r.counters
    );
    assert_eq!(hub.remote("advo").get(&advo).unwrap()["tel"], expected);
    assert_quiet(&hub.sync("sync"));
}

#[test]
fn newest_takes_the_later_change() {
    let config = TWO_WAY.replace("ort\"\n\n[jobs", "ort\"\nchanged = \"changed\"\n\n[jobs");
    let config = config.replace(
        "[conflicts.contact]\ndefault = { authority = \"espo\" }\nphones = { authority = \"advo\" }\n",
        "[conflicts.contact]\ndefault = { newest = \"changed\" }\n",
    );
    let mut hub = Hub::new(
        &config,
        &[
            ("espo", MemoryOptions::default()),
            ("advo", MemoryOptions::default()),
        ],
    );
    let espo = hub.remote("espo").insert(raw(
        json!({"name": "Anna", "city": "Berlin", "changed": "2026-01-01T00:00:00Z"}),
    ));
    hub.sync("sync");
    let (advo, _) = hub.find("advo", "name", "Anna");
    hub.remote("espo").update(
        &espo,
        raw(json!({"city": "Hamburg", "changed": "2026-02-01T00:00:00Z"})),
    );
    hub.remote("advo").update(
        &advo,
        raw(json!({"ort": "Köln", "changed": "2026-03-01T00:00:00Z"})),
    );
    hub.sync("sync");
    assert_eq!(
        (city(&hub, "espo", &espo), city(&hub, "advo", &advo)),
        (json!("Köln"), json!("Köln"))
    );
    assert_eq!(
        hub.remote("espo").get(&espo).unwrap()["changed"],
        json!("2026-03-01T00:00:00Z")
    );
    assert_quiet(&hub.sync("sync"));
}

#[test]
fn review_holds_the_field_until_a_person_resolves_it() {
    let (mut hub, espo, advo) = hub_with("[conflicts.contact]\ndefault = \"review\"\n");
    edit_city_on_both(&hub, &espo, &advo);
    hub.remote("espo")
        .update(&espo, raw(json!({"name": "Anna Novak-Kos"})));
    let r = hub.sync("sync");
    assert_eq!(r.status, RunStatus::NeedsReview);
    assert_eq!(count(&r, "held"), 1);
    // the hub kept one side's value; nothing overwrote the other; the
    // unconflicted field went through
    let open = hub.store.conflicts("default", true, 10).unwrap();
    assert_eq!(open.len(), 1, "{open:#?}");
    let c = &open[0];
    assert_eq!(
        (
            c.field.as_str(),
            c.hub_value.clone(),
            c.remote_value.clone()
        ),
        ("city", json!("Hamburg"), json!("Köln"))
    );
    assert_eq!(
        (city(&hub, "espo", &espo), city(&hub, "advo", &advo)),
        (json!("Hamburg"), json!("Köln"))
    );
    assert_eq!(
        hub.remote("advo").get(&advo).unwrap()["name"],
        json!("Anna Novak-Kos")
    );
    assert_eq!(
        hub.record_of("advo", &advo).link_to("advo").unwrap().status,
        LinkStatus::Conflict
    );
    // syncing again neither writes nor records the conflict twice
    let again = hub.sync("sync");
    assert_quiet(&again);
    assert_eq!(hub.store.conflicts("default", false, 10).unwrap().len(), 1);
    let resolved = resolve(
        hub.store.as_mut(),
        "default",
        c.id,
        Choice::Value(json!("Bonn")),
        "anna@kanzlei.de",
    )
    .unwrap();
    assert_eq!(resolved.value, json!("Bonn"));
    let r = hub.sync("sync");
    assert_eq!(count(&r, "pushed_update"), 2, "{:#?}", r.counters);
    assert_eq!(
        (city(&hub, "espo", &espo), city(&hub, "advo", &advo)),
        (json!("Bonn"), json!("Bonn"))
    );
    assert!(hub.store.conflicts("default", true, 10).unwrap().is_empty());
    assert_eq!(
        hub.record_of("advo", &advo).link_to("advo").unwrap().status,
        LinkStatus::Clean
    );
    assert_quiet(&hub.sync("sync"));
}

#[test]
fn resolving_with_a_side_takes_that_sides_value() {
    let (mut hub, espo, advo) = hub_with("[conflicts.contact]\ndefault = \"review\"\n");
    edit_city_on_both(&hub, &espo, &advo);
    hub.sync("sync");
    let id = hub.store.conflicts("default", true, 1).unwrap()[0].id;
    resolve(
        hub.store.as_mut(),
        "default",
        id,
        Choice::Connector("advo".into()),
        "test",
    )
    .unwrap();
    let err = resolve(hub.store.as_mut(), "default", id, Choice::Hub, "test").unwrap_err();
    assert!(err.to_string().contains("resolved already"), "{err}");
    hub.sync("sync");
    assert_eq!(
        (city(&hub, "espo", &espo), city(&hub, "advo", &advo)),
        (json!("Köln"), json!("Köln"))
    );
    assert_quiet(&hub.sync("sync"));
}

#[test]
fn a_push_only_field_is_reverted_and_a_pull_only_field_is_never_written() {
    let config = TWO_WAY
        .replace(
            "city = \"city\"\nchanged",
            "city = \"city\"\nstatus = \"status\"\nchanged",
        )
        .replace(
            "ort\"\n\n[jobs",
            "ort\"\nstatus = { from = \"status\", direction = \"push\" }\n\n[jobs",
        )
        .replace(
            "city = \"ort\"",
            "city = { from = \"ort\", direction = \"pull\" }",
        );
    let mut hub = Hub::new(
        &config,
        &[
            ("espo", MemoryOptions::default()),
            ("advo", MemoryOptions::default()),
        ],
    );
    let espo = hub.remote("espo").insert(raw(
        json!({"name": "Anna", "city": "Berlin", "status": "active"}),
    ));
    hub.sync("sync");
    let (advo, rec) = hub.find("advo", "name", "Anna");
    assert_eq!(
        (rec["status"].clone(), rec.get("ort")),
        (json!("active"), None),
        "pull-only city not written"
    );
    // advo may not change status: its change is reverted
    hub.remote("advo")
        .update(&advo, raw(json!({"status": "archived"})));
    let r = hub.sync("sync");
    assert_eq!(
        hub.remote("advo").get(&advo).unwrap()["status"],
        json!("active"),
        "{:#?}",
        r.counters
    );
    assert_eq!(
        hub.remote("espo").get(&espo).unwrap()["status"],
        json!("active")
    );
    // advo's city (pull-only) flows into the hub and on to espo
    hub.remote("advo")
        .update(&advo, raw(json!({"ort": "Potsdam"})));
    hub.sync("sync");
    assert_eq!(
        hub.remote("espo").get(&espo).unwrap()["city"],
        json!("Potsdam")
    );
    // espo's city change does not go to advo
    hub.remote("espo")
        .update(&espo, raw(json!({"city": "Leipzig"})));
    hub.sync("sync");
    assert_eq!(
        hub.remote("advo").get(&advo).unwrap()["ort"],
        json!("Potsdam")
    );
    assert_quiet(&hub.sync("sync"));
}

#[test]
fn bug3_first_sync_of_a_list_field_matches_equal_values() {
    // phones were not synced at first: both sides have their own lists
    let without = TWO_WAY.replace("phones = \"tel\"\n", "");
    let mut hub = Hub::new(
        &without,
        &[
            ("espo", MemoryOptions::default()),
            ("advo", MemoryOptions::default()),
        ],
    );
    let espo = hub.remote("espo").insert(raw(
        json!({"name": "Anna", "phones": ["+49 30 1111111", "+49 30 2222222"]}),
    ));
    hub.sync("sync");
    let (advo, _) = hub.find("advo", "name", "Anna");
    hub.remote("advo").update(
        &advo,
        raw(json!({"tel": ["+49 30 2222222", "+49 30 3333333"]})),
    );
    // now phones are mapped: the first sync of the field matches the shared number
    hub.config =
        einklang_config::load_str(TWO_WAY, std::path::Path::new("einklang.toml"), &|_| None)
            .unwrap();
    let r = hub.sync("sync");
    // one of each number; both chose a different primary: advo, the
    // phones authority, decides it
    let expected = json!(["+49302222222", "+49301111111", "+49303333333"]);
    assert_eq!(count(&r, "conflicts"), 1, "the primary");
    assert_eq!(hub.remote("advo").get(&advo).unwrap()["tel"], expected);
    assert_eq!(hub.remote("espo").get(&espo).unwrap()["phones"], expected);
    assert_quiet(&hub.sync("sync"));
}
