//! `http` against a real Directus 12 on SQLite (started by scripts/test;
//! required when `CI=true`): the compliance kit on a collection of its
//! own, and the change feed — changes since a time by the
//! `date_updated`/`date_created` filter (updates leave `date_created`,
//! creates leave `date_updated` null), deletes from `/activity` (Directus
//! shows them nowhere else; a deleted item answers 403, not 404). Directus
//! has no conditional writes, so the connector declares none.

use crate::settings;
use einklang_connectors::{open, Connector};
use serde_json::{json, Value};
use std::path::Path;

/// Another client of Directus: the REST API with the admin token.
pub struct Admin {
    pub url: String,
    pub token: String,
    agent: ureq::Agent,
}

impl Admin {
    pub fn new() -> Option<Admin> {
        let einklang_testkit::env::Directus { url, token } = einklang_testkit::directus()?;
        let agent: ureq::Agent = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .build()
            .into();
        Some(Admin { url, token, agent })
    }

    pub fn call(&self, method: &str, path: &str, body: Option<Value>) -> (u16, Value) {
        let req = ureq::http::Request::builder()
            .method(method)
            .uri(format!("{}{path}", self.url))
            .header("Authorization", format!("Bearer {}", self.token))
            .header("Content-Type", "application/json")
            .body(body.map(|b| b.to_string()).unwrap_or_default())
            .unwrap();
        let mut res = self.agent.run(req).unwrap();
        let text = res.body_mut().read_to_string().unwrap_or_default();
        (
            res.status().as_u16(),
            serde_json::from_str(&text).unwrap_or(Value::Null),
        )
    }

    /// A fresh collection with text fields, a marker and the timestamps.
    pub fn collection(&self, name: &str, fields: &[&str]) {
        self.call("DELETE", &format!("/collections/{name}"), None);
        let mut all = vec![
            json!({"field": "id", "type": "integer", "meta": {"hidden": true, "readonly": true}, "schema": {"is_primary_key": true, "has_auto_increment": true}}),
        ];
        for f in fields.iter().chain(&["einklang_marker"]) {
            all.push(json!({"field": f, "type": "string"}));
        }
        all.push(json!({"field": "date_created", "type": "timestamp", "meta": {"special": ["date-created"], "readonly": true}}));
        all.push(json!({"field": "date_updated", "type": "timestamp", "meta": {"special": ["date-updated"], "readonly": true}}));
        let (status, body) = self.call("POST", "/collections", Some(json!({"collection": name, "meta": {"accountability": "all"}, "schema": {}, "fields": all})));
        assert_eq!(status, 200, "{body}");
    }

    /// The `http` settings for a collection.
    pub fn settings(&self, name: &str, writable: &[&str]) -> Value {
        let mut writable: Vec<&str> = writable.to_vec();
        writable.push("einklang_marker");
        json!({
            "base_url": self.url,
            "auth": {"bearer": self.token},
            "version": ["date_updated", "date_created"],
            "list": {"path": format!("/items/{name}"), "params": {"sort": "id"}, "records": "/data", "paginate": "page", "size": 2},
            "changes": {"params": {"sort": "id", "limit": -1, "filter": {"_or": [{"date_updated": {"_gte": "{since}"}}, {"date_created": {"_gte": "{since}"}}]}}, "overlap_s": 2},
            "deletes": {"path": "/activity", "params": {"filter[collection][_eq]": name, "filter[action][_eq]": "delete", "filter[timestamp][_gte]": "{since}", "fields": "item", "limit": -1}, "records": "/data", "id": "item"},
            "get": {"path": format!("/items/{name}/{{id}}"), "record": "/data", "missing": [403, 404]},
            "create": {"path": format!("/items/{name}"), "record": "/data"},
            "update": {"path": format!("/items/{name}/{{id}}"), "record": "/data"},
            "delete": {"path": format!("/items/{name}/{{id}}")},
            "marker_field": "einklang_marker",
            "writable": writable,
            "retry": {"attempts": 2, "base_ms": 50},
        })
    }
}

fn connector(s: Value) -> Box<dyn Connector> {
    open("directus", "http", &settings(s), Path::new(".")).unwrap()
}

#[test]
fn kit_directus() {
    let Some(admin) = Admin::new() else { return };
    let name = format!("kit_{}", std::process::id());
    admin.collection(&name, &["fn", "note", "title"]);
    admin.call(
        "POST",
        &format!("/items/{name}"),
        Some(json!({"fn": "Bestand"})),
    );
    let mut c = connector(admin.settings(&name, &["fn", "note", "title"]));
    let shape = crate::kit::Shape {
        redelete_succeeds: true, // Directus: DELETE of a deleted item → 204
        ..crate::kit::Shape::default()
    };
    crate::kit::run_with(c.as_mut(), "id", shape);
    assert!(
        !c.capabilities().conditional_writes,
        "Directus ignores If-Match"
    );
}

#[test]
fn directus_feed_sees_creates_updates_and_deletes_of_another_client() {
    let Some(admin) = Admin::new() else { return };
    let name = format!("feed_{}", std::process::id());
    admin.collection(&name, &["email", "full_name"]);
    let items = format!("/items/{name}");
    let (_, a) = admin.call("POST", &items, Some(json!({"email": "a@example.org"})));
    let (_, b) = admin.call("POST", &items, Some(json!({"email": "b@example.org"})));
    let mut c = connector(admin.settings(&name, &["email", "full_name"]));
    // past the overlap (2 s), the second the window reaches back before
    // the server's Date, and that header's whole seconds
    std::thread::sleep(std::time::Duration::from_millis(4200));
    let cursor = c.cursor().unwrap();
    let quiet = c.changes(&cursor).unwrap().unwrap();
    assert!(
        quiet.changed.is_empty() && quiet.deleted.is_empty(),
        "{quiet:?}"
    );
    let (_, d) = admin.call("POST", &items, Some(json!({"email": "d@example.org"})));
    let id = |v: &Value| v["data"]["id"].to_string();
    admin.call(
        "PATCH",
        &format!("{items}/{}", id(&a)),
        Some(json!({"full_name": "Ann"})),
    );
    let (status, _) = admin.call("DELETE", &format!("{items}/{}", id(&b)), None);
    assert_eq!(status, 204);
    let feed = c.changes(&cursor).unwrap().unwrap();
    let mut changed: Vec<String> = feed.changed.iter().map(|l| l.id.clone()).collect();
    changed.sort();
    let mut want = vec![id(&a), id(&d)];
    want.sort();
    assert_eq!((changed, feed.deleted.clone()), (want, vec![id(&b)]));
    // a deleted item answers 403, which the settings say is "not there"
    assert!(c.fetch(&[id(&b)]).unwrap().is_empty());
}

#[test]
fn kit_graphql_on_directus() {
    let Some(admin) = Admin::new() else { return };
    let name = format!("gql_{}", std::process::id());
    admin.collection(&name, &["fn", "note", "title"]);
    admin.call(
        "POST",
        &format!("/items/{name}"),
        Some(json!({"fn": "Bestand"})),
    );
    let fields = "id fn note title einklang_marker date_created date_updated";
    let s = json!({
        "url": format!("{}/graphql", admin.url),
        "auth": {"bearer": admin.token},
        "version": ["date_updated", "date_created"],
        "list": {"query": format!("query($page: Int, $limit: Int){{ {name}(page: $page, limit: $limit, sort: [\"id\"]){{ {fields} }} }}"),
                 "records": format!("/data/{name}"), "paginate": "page", "size": 2},
        "get": {"query": format!("query($id: ID!){{ {name}_by_id(id: $id){{ {fields} }} }}"), "variables": {"id": "{id}"}, "record": format!("/data/{name}_by_id")},
        "create": {"query": format!("mutation($data: create_{name}_input!){{ create_{name}_item(data: $data){{ {fields} }} }}"),
                   "variables": {"data": "{record}"}, "record": format!("/data/create_{name}_item")},
        "update": {"query": format!("mutation($id: ID!, $data: update_{name}_input!){{ update_{name}_item(id: $id, data: $data){{ {fields} }} }}"),
                   "variables": {"id": "{id}", "data": "{record}"}, "record": format!("/data/update_{name}_item")},
        "delete": {"query": format!("mutation($id: ID!){{ delete_{name}_item(id: $id){{ id }} }}"), "variables": {"id": "{id}"}, "record": format!("/data/delete_{name}_item")},
        "marker_field": "einklang_marker",
        "writable": ["fn", "note", "title", "einklang_marker"],
    });
    let mut c = open("directus-gql", "graphql", &settings(s), Path::new(".")).unwrap();
    let shape = crate::kit::Shape {
        redelete_succeeds: true,
        ..crate::kit::Shape::default()
    };
    crate::kit::run_with(c.as_mut(), "id", shape);
}

#[test]
fn directus_pages_by_offset_and_by_page_alike() {
    let Some(admin) = Admin::new() else { return };
    let name = format!("pages_{}", std::process::id());
    admin.collection(&name, &["email"]);
    for i in 0..5 {
        admin.call(
            "POST",
            &format!("/items/{name}"),
            Some(json!({"email": format!("p{i}@example.org")})),
        );
    }
    let mut by_page = admin.settings(&name, &["email"]);
    let mut by_offset = by_page.clone();
    by_offset["list"]["paginate"] = json!("offset");
    by_page["list"]["size"] = json!(2);
    by_offset["list"]["size"] = json!(2);
    let emails = |s: Value| -> Vec<Value> {
        let mut c = connector(s);
        let items: Vec<_> = c.read().unwrap().collect();
        items
            .into_iter()
            .map(|i| match i {
                einklang_connectors::ReadItem::Record(r) => r.fields["email"].clone(),
                other => panic!("{other:?}"),
            })
            .collect()
    };
    let want: Vec<Value> = (0..5).map(|i| json!(format!("p{i}@example.org"))).collect();
    assert_eq!(emails(by_page), want);
    assert_eq!(emails(by_offset), want);
}
