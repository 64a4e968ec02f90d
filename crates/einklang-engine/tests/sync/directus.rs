//! A Directus collection (started by scripts/test; required when
//! `CI=true`) as a two-way peer of a CRM through the `http` connector:
//! server-assigned ids with einklang's marker kept in a field, edits both
//! ways read through the `date_updated`/`date_created` filter, a deletion
//! found in `/activity`, and quiet syncs in between.

use crate::harness::*;
use einklang_connectors::memory::MemoryOptions;
use serde_json::{json, Value};

fn call(url: &str, token: &str, method: &str, path: &str, body: Option<Value>) -> Value {
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .build()
        .into();
    let req = ureq::http::Request::builder()
        .method(method)
        .uri(format!("{url}{path}"))
        .header("Authorization", format!("Bearer {token}"))
        .header("Content-Type", "application/json")
        .body(body.map(|b| b.to_string()).unwrap_or_default())
        .unwrap();
    let mut res = agent.run(req).unwrap();
    serde_json::from_str(&res.body_mut().read_to_string().unwrap_or_default())
        .unwrap_or(Value::Null)
}

fn config(url: &str, token: &str, c: &str) -> String {
    format!(
        r#"
[entities.contact]
name = "text"
email = "email"

[connectors.crm]
kind = "jsonl"
path = "memory-crm.jsonl"

[connectors.directus]
kind = "http"
base_url = "{url}"
auth = {{ bearer = "{token}" }}
version = ["date_updated", "date_created"]
list = {{ path = "/items/{c}", params = {{ sort = "id" }}, records = "/data", paginate = "page", size = 100 }}
changes = {{ params = {{ sort = "id", limit = -1, filter = {{ _or = [{{ date_updated = {{ _gte = "{{since}}" }} }}, {{ date_created = {{ _gte = "{{since}}" }} }}] }} }}, overlap_s = 2 }}
deletes = {{ path = "/activity", params = {{ "filter[collection][_eq]" = "{c}", "filter[action][_eq]" = "delete", "filter[timestamp][_gte]" = "{{since}}", fields = "item", limit = -1 }}, records = "/data", id = "item" }}
get = {{ path = "/items/{c}/{{id}}", record = "/data", missing = [403, 404] }}
create = {{ path = "/items/{c}", record = "/data" }}
update = {{ path = "/items/{c}/{{id}}", record = "/data" }}
delete = {{ path = "/items/{c}/{{id}}" }}
marker_field = "einklang_marker"
writable = ["full_name", "email", "einklang_marker"]

[map.crm.contact]
id = "id"
fields = {{ name = "name", email = "email" }}

[map.directus.contact]
id = "id"
fields = {{ name = "full_name", email = "email" }}

[jobs.sync]
sync = ["crm", "directus"]

[conflicts.contact]
default = {{ authority = "directus" }}
"#
    )
}

#[test]
fn a_directus_collection_syncs_both_ways_with_a_crm() {
    let Some(einklang_testkit::env::Directus { url, token }) = einklang_testkit::directus() else {
        return;
    };
    let c = format!("people_{}", std::process::id());
    call(&url, &token, "DELETE", &format!("/collections/{c}"), None);
    let fields = json!([
        {"field": "id", "type": "integer", "meta": {"hidden": true}, "schema": {"is_primary_key": true, "has_auto_increment": true}},
        {"field": "full_name", "type": "string"}, {"field": "email", "type": "string"},
        {"field": "einklang_marker", "type": "string"},
        {"field": "date_created", "type": "timestamp", "meta": {"special": ["date-created"]}},
        {"field": "date_updated", "type": "timestamp", "meta": {"special": ["date-updated"]}},
    ]);
    call(
        &url,
        &token,
        "POST",
        "/collections",
        Some(
            json!({"collection": c, "meta": {"accountability": "all"}, "schema": {}, "fields": fields}),
        ),
    );
    let items = format!("/items/{c}");
    let ann = call(
        &url,
        &token,
        "POST",
        &items,
        Some(json!({"full_name": "Ann Directus", "email": "ann@example.org"})),
    );
    let ann_id = ann["data"]["id"].to_string();
    let mut hub = Hub::new(
        &config(&url, &token, &c),
        &[("crm", MemoryOptions::default())],
    );
    let bob = hub
        .remote("crm")
        .insert(raw(json!({"name": "Bob CRM", "email": "bob@example.org"})));
    let r = hub.sync("sync");
    assert_eq!(count(&r, "created"), 2, "{:#?}", r.counters);
    let listed = call(&url, &token, "GET", &format!("{items}?sort=id"), None);
    let rows = listed["data"].as_array().unwrap().clone();
    assert_eq!(rows.len(), 2, "{rows:?}");
    assert_eq!(rows[1]["full_name"], json!("Bob CRM"));
    let marker = rows[1]["einklang_marker"].as_str().unwrap_or_default();
    assert!(marker.starts_with("ek-"), "the marker is kept: {rows:?}");
    let (ann_crm, _) = hub.find("crm", "name", "Ann Directus");
    std::thread::sleep(std::time::Duration::from_millis(1100));
    assert_quiet(&hub.sync("sync"));

    // edits on both sides
    call(
        &url,
        &token,
        "PATCH",
        &format!("{items}/{ann_id}"),
        Some(json!({"email": "ann@new.example"})),
    );
    hub.remote("crm")
        .update(&bob, raw(json!({"name": "Bob B. CRM"})));
    let r = hub.sync("sync");
    assert_eq!(count(&r, "pushed_update"), 2, "{:#?}", r.counters);
    assert_eq!(
        hub.remote("crm").get(&ann_crm).unwrap()["email"],
        json!("ann@new.example")
    );
    let bob_row = call(
        &url,
        &token,
        "GET",
        &format!("{items}/{}", rows[1]["id"]),
        None,
    );
    assert_eq!(bob_row["data"]["full_name"], json!("Bob B. CRM"));
    assert_quiet(&hub.sync("sync"));

    // deleted in Directus: seen in /activity, deleted in the CRM
    call(&url, &token, "DELETE", &format!("{items}/{ann_id}"), None);
    let r = hub.sync("sync");
    assert_eq!(count(&r, "deleted"), 1, "{:#?}", r.counters);
    assert!(hub.remote("crm").get(&ann_crm).is_none());
    assert_quiet(&hub.sync("sync"));
}
