//! The connector tests, one binary: the compliance kit every connector
//! passes (`kit`), each file kind's own cases (`files`), the in-process
//! connector (`memory`), streaming writes of big files (`streaming`), the
//! server kinds against real servers (`postgres`, `carddav`, `caldav`,
//! `http`, `directus`), the kit against the seed-system emulators (`emulated`), monday.com cursors (`monday`), the kit through the fault proxy (`proxied`),
//! busy servers waited out (`busy`), rate limits that hold (`limits`), and remote calls traced without
//! secrets (`traces`).

mod busy;
mod caldav;
mod carddav;
mod children;
mod directus;
mod emulated;
mod feeds;
mod files;
mod http;
mod kit;
mod limits;
mod memory;
mod monday;
mod postgres;
mod proxied;
mod streaming;
mod traces;

use einklang_connectors::{open, Connector, RawFields, RawRecord, ReadItem, Settings, WriteOp};
use serde_json::Value;
use std::path::Path;

/// A JSON object literal as raw fields.
pub fn obj(v: Value) -> RawFields {
    v.as_object().expect("an object").clone()
}

/// Settings from a JSON object.
pub fn settings(v: Value) -> Settings {
    obj(v).into_iter().collect()
}

/// A registered connector named `src`, paths relative to `dir`.
pub fn connector(dir: &Path, kind: &str, s: Value) -> Box<dyn Connector> {
    open("src", kind, &settings(s), dir).unwrap()
}

/// Records read, and (position, reason) of each reject.
pub type Read = (Vec<RawRecord>, Vec<(String, String)>);

/// Read everything.
pub fn read_all(c: &mut dyn Connector) -> Read {
    let (mut ok, mut bad) = (Vec::new(), Vec::new());
    for item in c.read().unwrap() {
        match item {
            ReadItem::Record(r) => ok.push(r),
            ReadItem::Reject(r) | ReadItem::Broken(r) => bad.push((r.position, r.reason)),
        }
    }
    (ok, bad)
}

/// The fields of every record read (no rejects allowed).
pub fn read_fields(c: &mut dyn Connector) -> Vec<RawFields> {
    let (ok, bad) = read_all(c);
    assert_eq!(bad, [], "rejects");
    ok.into_iter().map(|r| r.fields).collect()
}

/// A create of `marker` with `fields`.
pub fn create(marker: &str, fields: Value) -> WriteOp {
    WriteOp::Create {
        marker: marker.into(),
        fields: obj(fields),
    }
}

/// An update of `id`, conditional on `expected_version` when given.
pub fn update_if(id: &str, fields: Value, expected_version: Option<String>) -> WriteOp {
    WriteOp::Update {
        id: id.into(),
        fields: obj(fields),
        expected_version,
    }
}

/// An unconditional update of `id`.
pub fn update(id: &str, fields: Value) -> WriteOp {
    update_if(id, fields, None)
}

/// A minimal vCard 3.0 with this UID (and FN).
pub fn card_text(uid: &str) -> String {
    format!("BEGIN:VCARD\r\nVERSION:3.0\r\nUID:{uid}\r\nFN:{uid}\r\nEND:VCARD\r\n")
}

/// An unconditional delete of `id`.
pub fn delete(id: &str) -> WriteOp {
    WriteOp::Delete {
        id: id.into(),
        expected_version: None,
    }
}
