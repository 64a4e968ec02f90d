//! The compliance kit: one sequence of writes and reads, run for every
//! connector (csv, jsonl, vcard, memory). Each step writes through
//! `Connector::write` and checks what a later `read` sees; records that
//! were there before the kit ran must come out unchanged.

use crate::{connector, obj};
use einklang_connectors::memory::{MemoryOptions, MemoryRemote};
use einklang_connectors::{
    Capabilities, Connector, RawFields, RawRecord, ReadItem, WriteErrorKind, WriteOp, WriteOutcome,
    WriteResult,
};
use serde_json::{json, Value};

/// A connector under test and the raw field of its records' ids.
struct Subject<'a> {
    c: &'a mut dyn Connector,
    key: String,
    caps: Capabilities,
    shape: Shape,
}

/// The raw fields the kit writes: three text fields (named as a contact's
/// `fn`, `note` and `title` in the kit) and what else a create needs.
#[derive(Clone)]
pub struct Shape {
    /// The names standing for `fn`, `note` and `title`.
    pub names: [&'static str; 3],
    /// Further fields every create carries (an event's `start`).
    pub required: Value,
    /// Whether deleting a deleted record again succeeds (Directus answers
    /// 204) instead of "not found".
    pub redelete_succeeds: bool,
}

impl Default for Shape {
    fn default() -> Self {
        Shape {
            names: ["fn", "note", "title"],
            required: json!({}),
            redelete_succeeds: false,
        }
    }
}

/// Run the whole kit against `c`; `key_field` is the mapping's id field
/// (ignored when the connector names its own).
pub fn run(c: &mut dyn Connector, key_field: &str) {
    run_with(c, key_field, Shape::default())
}

/// [`run`] with other field names.
pub fn run_with(c: &mut dyn Connector, key_field: &str, shape: Shape) {
    let caps = c.capabilities();
    assert!(caps.read && caps.write && caps.delete && caps.partial_update);
    let key = caps.key_field.clone().unwrap_or(key_field.to_string());
    let mut s = Subject {
        c,
        key,
        caps,
        shape,
    };
    let before = s.all();
    let fingerprint = s.c.fingerprint().unwrap();
    let id = s.create_reads_back();
    if s.caps.fingerprint {
        assert_ne!(
            s.c.fingerprint().unwrap(),
            fingerprint,
            "fingerprint after a write"
        );
    }
    s.partial_update_keeps_other_fields(&id);
    s.null_clears(&id);
    s.missing_ids_are_not_found();
    if s.caps.client_ids {
        s.resent_create_does_not_duplicate(&id);
    }
    if s.caps.conditional_writes {
        s.stale_versions_conflict(&id);
    }
    s.failed_op_does_not_stop_the_others(&id);
    s.delete_removes(&id);
    assert_eq!(s.all(), before, "records the kit did not address changed");
}

fn is_cleared(v: Option<&Value>) -> bool {
    matches!(v, None | Some(Value::Null)) || v == Some(&json!(""))
}

impl Subject<'_> {
    /// The connector's name for a kit field.
    fn n(&self, kit: &str) -> &'static str {
        let i = ["fn", "note", "title"].iter().position(|k| *k == kit);
        self.shape.names[i.expect("a kit field")]
    }

    /// Kit fields renamed for the connector.
    fn o(&self, v: Value) -> RawFields {
        obj(v)
            .into_iter()
            .map(|(k, v)| (self.n(&k).to_string(), v))
            .collect()
    }

    fn write(&mut self, ops: &[WriteOp]) -> Vec<WriteResult> {
        let results = self.c.write(&self.key, ops).unwrap();
        assert_eq!(results.len(), ops.len(), "one result per op");
        results
    }

    fn write_one(&mut self, op: WriteOp) -> WriteResult {
        self.write(&[op]).remove(0)
    }

    /// Every record read, in read order (no rejects allowed).
    fn records(&mut self) -> Vec<RawRecord> {
        let items = self.c.read().unwrap();
        let record = |item| match item {
            ReadItem::Record(r) => r,
            ReadItem::Reject(r) => panic!("reject at {}: {}", r.position, r.reason),
        };
        items.map(record).collect()
    }

    /// Fields and version of every record (positions may move).
    fn all(&mut self) -> Vec<(RawFields, Option<String>)> {
        let records = self.records().into_iter();
        records.map(|r| (r.fields, r.version)).collect()
    }

    /// The records whose key is `id`.
    fn find(&mut self, id: &str) -> Vec<RawRecord> {
        let key = self.key.clone();
        let records = self.records().into_iter();
        records
            .filter(|r| r.fields.get(&key) == Some(&json!(id)))
            .collect()
    }

    /// The one record `id`; its version is the one the write answered.
    fn one(&mut self, id: &str, outcome: &WriteOutcome) -> RawRecord {
        let mut found = self.find(id);
        assert_eq!(found.len(), 1, "records with {} = {id}", self.key);
        let record = found.remove(0);
        if self.caps.version_tokens {
            assert!(record.version.is_some());
        }
        assert_eq!(
            outcome.version, record.version,
            "version of the write's answer"
        );
        record
    }

    fn update(&mut self, id: &str, fields: Value) -> WriteResult {
        self.write_one(WriteOp::Update {
            id: id.into(),
            fields: self.o(fields),
            expected_version: None,
        })
    }

    fn create_reads_back(&mut self) -> String {
        let fields = self.o(json!({"fn": "Anna Novak", "note": "first", "title": "Dr."}));
        let mut create = fields.clone();
        create.extend(obj(self.shape.required.clone()));
        let outcome = self
            .write_one(WriteOp::Create {
                marker: "ek-1".into(),
                fields: create,
            })
            .unwrap();
        if self.caps.client_ids {
            assert_eq!(outcome.id, "ek-1");
        }
        let record = self.one(&outcome.id, &outcome);
        for (k, v) in fields {
            assert_eq!(record.fields.get(&k), Some(&v), "field {k} after create");
        }
        outcome.id
    }

    fn partial_update_keeps_other_fields(&mut self, id: &str) {
        let outcome = self.update(id, json!({"note": "second"})).unwrap();
        assert_eq!(outcome.id, id);
        let record = self.one(id, &outcome);
        assert_eq!(record.fields[self.n("note")], json!("second"));
        assert_eq!(record.fields[self.n("fn")], json!("Anna Novak"));
        assert_eq!(record.fields[self.n("title")], json!("Dr."));
    }

    fn null_clears(&mut self, id: &str) {
        let outcome = self.update(id, json!({"title": null})).unwrap();
        let record = self.one(id, &outcome);
        assert!(
            is_cleared(record.fields.get(self.n("title"))),
            "{:?}",
            record.fields
        );
        assert_eq!(record.fields[self.n("note")], json!("second"));
    }

    fn missing_ids_are_not_found(&mut self) {
        let update = self.update("nope", json!({"note": "x"})).unwrap_err();
        assert_eq!(update.kind, WriteErrorKind::NotFound);
        assert!(
            update.message.starts_with("connector `"),
            "{}",
            update.message
        );
        assert!(
            update.message.contains("update of `nope`"),
            "{}",
            update.message
        );
        let delete = self.write_one(WriteOp::Delete {
            id: "nope".into(),
            expected_version: None,
        });
        assert_eq!(delete.unwrap_err().kind, WriteErrorKind::NotFound);
        assert!(self.find("nope").is_empty());
    }

    fn resent_create_does_not_duplicate(&mut self, id: &str) {
        let outcome = self
            .write_one(WriteOp::Create {
                marker: id.into(),
                fields: self.o(json!({"note": "third"})),
            })
            .unwrap();
        assert_eq!(outcome.id, id);
        let record = self.one(id, &outcome);
        assert_eq!(record.fields[self.n("note")], json!("third"));
        assert_eq!(record.fields[self.n("fn")], json!("Anna Novak"));
    }

    fn stale_versions_conflict(&mut self, id: &str) {
        let stale = Some("not-the-version".to_string());
        let ops = [
            WriteOp::Update {
                id: id.into(),
                fields: self.o(json!({"note": "stale"})),
                expected_version: stale.clone(),
            },
            WriteOp::Delete {
                id: id.into(),
                expected_version: stale,
            },
        ];
        for result in self.write(&ops) {
            assert_eq!(result.unwrap_err().kind, WriteErrorKind::Conflict);
        }
        let current = self.find(id).remove(0);
        assert_ne!(current.fields[self.n("note")], json!("stale"));
        let outcome = self
            .write_one(WriteOp::Update {
                id: id.into(),
                fields: self.o(json!({"note": "current"})),
                expected_version: current.version,
            })
            .unwrap();
        assert_eq!(
            self.one(id, &outcome).fields[self.n("note")],
            json!("current")
        );
    }

    fn failed_op_does_not_stop_the_others(&mut self, id: &str) {
        let results = self.write(&[
            WriteOp::Update {
                id: "nope".into(),
                fields: self.o(json!({"note": "x"})),
                expected_version: None,
            },
            WriteOp::Update {
                id: id.into(),
                fields: self.o(json!({"note": "batch"})),
                expected_version: None,
            },
        ]);
        assert_eq!(
            results[0].as_ref().unwrap_err().kind,
            WriteErrorKind::NotFound
        );
        let outcome = results[1].clone().unwrap();
        assert_eq!(
            self.one(id, &outcome).fields[self.n("note")],
            json!("batch")
        );
    }

    fn delete_removes(&mut self, id: &str) {
        let delete = || WriteOp::Delete {
            id: id.into(),
            expected_version: None,
        };
        assert_eq!(self.write_one(delete()).unwrap().id, id);
        assert!(self.find(id).is_empty());
        let again = self.write_one(delete());
        if !self.shape.redelete_succeeds {
            assert_eq!(again.unwrap_err().kind, WriteErrorKind::NotFound);
        }
    }
}

#[test]
fn kit_csv() {
    let dir = tempfile::tempdir().unwrap();
    let existing = "Kundennummer;fn;note;title;Extra\nK-1;Bestand;;;keep\n";
    std::fs::write(dir.path().join("crm.csv"), existing).unwrap();
    let settings = json!({"path": "crm.csv", "delimiter": ";"});
    run(
        connector(dir.path(), "csv", settings).as_mut(),
        "Kundennummer",
    );
}

#[test]
fn kit_jsonl() {
    let dir = tempfile::tempdir().unwrap();
    let existing = "{\"id\":7,\"fn\":\"Bestand\",\"x\":{\"deep\":[1,2]}}\n";
    std::fs::write(dir.path().join("d.jsonl"), existing).unwrap();
    run(
        connector(dir.path(), "jsonl", json!({"path": "d.jsonl"})).as_mut(),
        "id",
    );
}

#[test]
fn kit_vcard() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("anna-1.vcf"), crate::files::CARD).unwrap();
    run(
        connector(dir.path(), "vcard", json!({"path": "."})).as_mut(),
        "uid",
    );
}

#[test]
fn kit_memory() {
    for options in memory_options() {
        let remote = MemoryRemote::new(options.clone());
        remote.insert(obj(json!({"fn": "Bestand", "x": [1, 2]})));
        run(&mut remote.connector("mem"), "ignored");
        assert_eq!(remote.len(), 1, "{options:?}");
    }
}

/// The option sets the kit runs the memory connector with.
fn memory_options() -> Vec<MemoryOptions> {
    vec![
        MemoryOptions::default(),
        MemoryOptions {
            client_ids: true,
            fingerprint: true,
            ..MemoryOptions::default()
        },
        MemoryOptions {
            conditional_writes: false,
            ..MemoryOptions::default()
        },
    ]
}
