//! Filling request templates and finding values in answers.
//!
//! A template is JSON (from TOML): a string that is exactly `"{record}"`
//! becomes the record's fields as an object, exactly `"{id}"` the id; in
//! other strings `{id}`, `{since}`, `{marker}`, `{parent}`, `{key}` and `{now}` /
//! `{now:FORMAT}` (the time of the request, see `einklang_core::mirror`)
//! are replaced as text.
//! Structural replacement means a value is never pasted into JSON text, so
//! quotes in a name cannot break a body.

use serde_json::{Map, Value};
use std::borrow::Cow;

/// The values a template may use.
#[derive(Default)]
pub struct Vars<'a> {
    /// The fields to send.
    pub record: Option<&'a Map<String, Value>>,
    /// The record's id.
    pub id: Option<&'a str>,
    /// The start of a change window.
    pub since: Option<&'a str>,
    /// A create's marker.
    pub marker: Option<&'a str>,
    /// A child's parent id (`children`).
    pub parent: Option<&'a str>,
    /// A child's key looked up before an update (`children.*.key`).
    pub key: Option<&'a str>,
}

/// Fill a body or parameter template.
pub fn fill(template: &Value, vars: &Vars<'_>) -> Value {
    match template {
        Value::String(s) if s == "{record}" => {
            Value::Object(vars.record.cloned().unwrap_or_default())
        }
        Value::String(s) if s == "{id}" => Value::String(vars.id.unwrap_or_default().into()),
        Value::String(s) => Value::String(text(s, vars)),
        Value::Array(a) => Value::Array(a.iter().map(|v| fill(v, vars)).collect()),
        Value::Object(m) => {
            Value::Object(m.iter().map(|(k, v)| (k.clone(), fill(v, vars))).collect())
        }
        other => other.clone(),
    }
}

/// Replace the placeholders in a text (`{id}` percent-encoded when `path`).
pub fn text(s: &str, vars: &Vars<'_>) -> String {
    let mut out = einklang_core::mirror::render_now(s, chrono::Utc::now());
    for (name, value) in [
        ("{id}", vars.id),
        ("{since}", vars.since),
        ("{marker}", vars.marker),
        ("{parent}", vars.parent),
        ("{key}", vars.key),
    ] {
        if let Some(v) = value {
            out = out.replace(name, v);
        }
    }
    out
}

/// A path with `{id}`, `{parent}` and `{key}` percent-encoded.
pub fn path(s: &str, vars: &Vars<'_>) -> String {
    let id = vars.id.map(crate::dav::percent_encode);
    let parent = vars.parent.map(crate::dav::percent_encode);
    let key = vars.key.map(crate::dav::percent_encode);
    text(
        s,
        &Vars {
            id: id.as_deref(),
            parent: parent.as_deref(),
            key: key.as_deref(),
            ..*vars
        },
    )
}

/// `?k=v&…` from parameters, each value filled and form-encoded (objects
/// and arrays as JSON text, Directus-style filters).
pub fn query(params: &Map<String, Value>, vars: &Vars<'_>) -> String {
    let mut parts = Vec::new();
    for (k, v) in params {
        let v = match fill(v, vars) {
            Value::String(s) => s,
            Value::Null => continue,
            other => other.to_string(),
        };
        parts.push(format!(
            "{}={}",
            crate::dav::percent_encode(k),
            crate::dav::percent_encode(&v)
        ));
    }
    parts.join("&")
}

/// The value at a JSON pointer (`""`: the whole value).
pub fn at<'v>(v: &'v Value, pointer: &str) -> Option<&'v Value> {
    if pointer.is_empty() {
        Some(v)
    } else {
        v.pointer(pointer)
    }
}

/// A field of a record: a name, or a path (`a.b`, `items[id=3].v`, or a
/// JSON pointer when it starts with `/`; see `einklang_core::path`). A key
/// spelled exactly so wins.
pub fn field<'v>(record: &'v Map<String, Value>, name: &str) -> Option<Cow<'v, Value>> {
    if let Some(v) = record.get(name) {
        return Some(Cow::Borrowed(v));
    }
    if !(name.starts_with('/') || name.contains('[') || name.contains('.')) {
        return None;
    }
    einklang_core::Path::parse(name).ok()?.get(record)
}

/// A scalar as id or version text (numbers as written, `null` and empty
/// text as none).
pub fn scalar(v: Option<&Value>) -> Option<String> {
    match v? {
        Value::String(s) if s.is_empty() => None,
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn fills_structurally() {
        let rec = json!({"name": "O\"Brien, \"Grace\""});
        let vars = Vars {
            record: rec.as_object(),
            id: Some("7 / 8"),
            since: Some("2026-12-01T00:00:00Z"),
            ..Vars::default()
        };
        let body = fill(
            &json!([{"data": "{record}", "id": "{id}", "note": "id {id}"}]),
            &vars,
        );
        assert_eq!(
            body,
            json!([{"data": rec, "id": "7 / 8", "note": "id 7 / 8"}])
        );
        assert_eq!(path("/items/{id}", &vars), "/items/7%20%2F%208");
        let q = query(
            json!({"filter[updated_at][from]": "{since}", "f": {"_gte": "{since}"}, "n": null})
                .as_object()
                .unwrap(),
            &vars,
        );
        assert_eq!(q, "f=%7B%22_gte%22%3A%222026-12-01T00%3A00%3A00Z%22%7D&filter%5Bupdated_at%5D%5Bfrom%5D=2026-12-01T00%3A00%3A00Z");
    }

    #[test]
    fn the_time_of_the_request_fills_now() {
        let vars = Vars {
            id: Some("7"),
            ..Vars::default()
        };
        let before = chrono::Utc::now().format("%Y-%m-%d").to_string();
        let body = fill(&json!({"stamp": "{now:%Y-%m-%d}", "id": "{id}"}), &vars);
        let after = chrono::Utc::now().format("%Y-%m-%d").to_string();
        let stamp = body["stamp"].as_str().unwrap();
        assert!(stamp == before || stamp == after, "{stamp}");
        assert_eq!(body["id"], json!("7"));
    }

    #[test]
    fn finds_values() {
        let v = json!({"_embedded": {"leads": [{"id": 5, "meta": {"v": "x"}}]}});
        assert_eq!(at(&v, "/_embedded/leads/0/id"), Some(&json!(5)));
        let rec = v["_embedded"]["leads"][0].as_object().unwrap();
        assert_eq!(scalar(field(rec, "id").as_deref()), Some("5".into()));
        assert_eq!(scalar(field(rec, "meta.v").as_deref()), Some("x".into()));
        assert_eq!(scalar(field(rec, "/meta/v").as_deref()), Some("x".into()));
        assert_eq!(scalar(Some(&json!(""))), None);
    }
}
