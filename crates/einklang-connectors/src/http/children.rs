//! Sub-resources (`children`): lists of a record that the API keeps at
//! endpoints of their own — Advoware's `Kommunikationen` (phones and
//! e-mails) and `Adressen` of a `Beteiligter` (seed 002). This module owns
//! their settings; [`plan`] decides the requests a change of such a list
//! takes (pure), [`io`] sends them and fills the lists in on reads.
//!
//! ```toml
//! [connectors.advo.children.kommunikation]
//! id = "id"
//! version = "rowId"                       # the parent's version includes a hash of these
//! create = { path = "/Beteiligte/{parent}/Kommunikationen" }
//! update = { method = "PUT", path = "/Beteiligte/{parent}/Kommunikationen/{id}" }
//! read_only = ["kommKz"]                  # sent on create, never on update
//! blank = { tlf = "", bemerkung = "" }    # no DELETE: a removed entry is emptied
//! ```
//!
//! - The list is a raw field of the parent (the table's name). Where the
//!   parent's answer does not carry it, `list` reads it per parent (one
//!   GET per record read).
//! - A child is matched by `id`. Where the API updates by another key that
//!   can move (Advoware's `reihenfolgeIndex` of an address), `key` names it
//!   and the update path uses `{key}`: it is looked up by listing the
//!   parent's children right before the update.
//! - A removal is `delete` where the API deletes, else `blank` (one of the
//!   two is required): the entry is written with the blank values, and an
//!   entry holding them is an empty slot that a new entry with the same
//!   `read_only` values reuses instead of a create (the seed's "REUSE Slot").
//! - `version`: a change of a child leaves the parent's own version alone
//!   (Advoware's `rowId`), so the parent's version becomes its own plus a
//!   hash of its children's versions, and a changed child reads as a
//!   changed record.

pub mod io;
pub mod plan;
mod write;

use super::spec::{Call, Check};
use serde_json::{Map, Value};

/// One child collection of a record.
#[derive(Clone, Debug, PartialEq)]
pub struct Children {
    /// The parent's raw field holding the list.
    pub field: String,
    /// The child's id field.
    pub id: String,
    /// The child's version field, if it has one.
    pub version: Option<String>,
    /// The key an update addresses, looked up first (`{key}`).
    pub key: Option<String>,
    /// Reads the list of one parent (`{parent}`), where the parent's
    /// answer does not carry it.
    pub list: Option<Call>,
    /// Creates a child of `{parent}`.
    pub create: Option<Call>,
    /// Updates child `{id}` (or `{key}`) of `{parent}`.
    pub update: Option<Call>,
    /// Deletes child `{id}` of `{parent}`.
    pub delete: Option<Call>,
    /// The values a removed child is written with instead of a delete.
    pub blank: Option<Map<String, Value>>,
    /// Fields sent on create only.
    pub read_only: Vec<String>,
}

const KEYS: &[&str] = &[
    "id",
    "version",
    "key",
    "list",
    "create",
    "update",
    "delete",
    "blank",
    "read_only",
];

/// The `children` table: one entry per raw field.
pub(super) fn settings(c: &mut Check, v: Option<&Value>, graphql: bool) -> Vec<Children> {
    let Some(t) = c.table("children", v) else {
        return Vec::new();
    };
    if graphql && !t.is_empty() {
        c.bad("children", "`children` is for `http` connectors");
        return Vec::new();
    }
    let mut out = Vec::new();
    for (field, v) in t {
        let key = format!("children.{field}");
        let Some(t) = c.table(&key, Some(v)) else {
            continue;
        };
        c.unknown(&key, t, KEYS);
        out.push(one(c, &key, field, t));
    }
    out
}

fn one(c: &mut Check, key: &str, field: &str, t: &Map<String, Value>) -> Children {
    let mut call = |name: &str, method: &str| {
        let t = c.table(&format!("{key}.{name}"), t.get(name))?;
        Some(c.nested_call(&format!("{key}.{name}"), name, t, method))
    };
    let list = call("list", "GET");
    let create = call("create", "POST");
    let update = call("update", "PUT");
    let delete = call("delete", "DELETE");
    let text = |c: &mut Check, name: &str| c.text(&format!("{key}.{name}"), t.get(name));
    let id = text(c, "id").unwrap_or_else(|| "id".into());
    let version = text(c, "version");
    let ckey = text(c, "key");
    let blank = c.table(&format!("{key}.blank"), t.get("blank")).cloned();
    let read_only = match t.get("read_only") {
        None => Vec::new(),
        Some(Value::Array(a)) if a.iter().all(Value::is_string) => a
            .iter()
            .filter_map(|s| s.as_str().map(str::to_string))
            .collect(),
        Some(_) => {
            c.bad(key, "`read_only` must be a list of field names");
            Vec::new()
        }
    };
    let children = Children {
        field: field.to_string(),
        id,
        version,
        key: ckey,
        list,
        create,
        update,
        delete,
        blank,
        read_only,
    };
    check_paths(c, key, &children);
    children
}

/// The placeholders each request needs, and a way to remove a child.
fn check_paths(c: &mut Check, key: &str, ch: &Children) {
    let needs = |call: &Option<Call>, what: &[&str]| {
        call.as_ref()
            .map(|call| {
                what.iter()
                    .filter(|p| !call.path.contains(*p))
                    .map(|p| p.to_string())
                    .collect::<Vec<_>>()
            })
            .unwrap_or_default()
    };
    let address = if ch.key.is_some() { "{key}" } else { "{id}" };
    for (name, call, what) in [
        ("list", &ch.list, vec!["{parent}"]),
        ("create", &ch.create, vec!["{parent}"]),
        ("update", &ch.update, vec!["{parent}", address]),
        ("delete", &ch.delete, vec!["{parent}", "{id}"]),
    ] {
        for p in needs(call, &what) {
            c.bad(
                &format!("{key}.{name}"),
                format!("`{key}.{name}` must use \"{p}\" in its path"),
            );
        }
    }
    if ch.update.is_none() && ch.create.is_none() {
        return;
    }
    if ch.delete.is_none() && ch.blank.is_none() {
        c.bad(
            key,
            format!("`{key}` is written, so it needs `delete` or `blank` (what a removed entry becomes where the API cannot delete one)"),
        );
    }
    if ch.blank.is_some() && ch.update.is_none() {
        c.bad(
            key,
            format!("`{key}.blank` writes through `update`, which is missing"),
        );
    }
    if ch.key.is_some() && ch.list.is_none() {
        c.bad(
            key,
            format!("`{key}.key` is looked up by listing the children: `{key}.list` is missing"),
        );
    }
}

impl Children {
    /// Whether a child holds the blank values (an empty slot); `null`, an
    /// absent field and `""` are the same emptiness.
    pub fn is_blank(&self, child: &Map<String, Value>) -> bool {
        let Some(blank) = &self.blank else {
            return false;
        };
        blank.iter().all(|(k, v)| same(child.get(k), Some(v)))
    }
}

/// Values equal, where `null`, absent and `""` are one.
pub(crate) fn same(a: Option<&Value>, b: Option<&Value>) -> bool {
    let empty = |v: Option<&Value>| match v {
        None | Some(Value::Null) => true,
        Some(Value::String(s)) => s.is_empty(),
        _ => false,
    };
    match (empty(a), empty(b)) {
        (true, true) => true,
        (false, false) => a == b,
        _ => false,
    }
}
