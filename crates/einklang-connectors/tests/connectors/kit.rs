//! The compliance kit: one sequence of writes and reads, run for every
//! connector (csv, jsonl, vcard, memory here; the server kinds in their
//! files, the `http` kind against each seed-system emulator in
//! `emulated.rs`). Each step writes through `Connector::write` and checks
//! what a later `read` sees; records that were there before the kit ran
//! must come out unchanged. Steps a connector's capabilities rule out are
//! left out (deletes where it cannot delete, conditional writes, re-sent
//! creates); a connector without partial updates gets whole records.
//!
//! The answer is the truth: the record a write hands back
//! (`WriteOutcome::record`) agrees with what a read shows, every field of
//! it when it says it is `complete`; against a server that ignores a field
//! on update ([`Shape::ignored`], Advoware's `PUT`) it holds the kept
//! value, never the one sent.

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
    /// The kit fields of the record as last written (an update of a
    /// connector without partial updates sends them all).
    current: RawFields,
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
    /// A raw field the server keeps on create (from `required`) and
    /// ignores on update, and a value to send it in an update.
    pub ignored: Option<(&'static str, Value)>,
    /// Whether the server checks the expected version of a delete too (the
    /// Graph emulator honours `If-Match` on `PATCH` only).
    pub conditional_deletes: bool,
}

impl Default for Shape {
    fn default() -> Self {
        Shape {
            names: ["fn", "note", "title"],
            required: json!({}),
            redelete_succeeds: false,
            ignored: None,
            conditional_deletes: true,
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
    assert!(caps.read && caps.write);
    let key = caps.key_field.clone().unwrap_or(key_field.to_string());
    let mut s = Subject {
        c,
        key,
        caps,
        shape,
        current: RawFields::new(),
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
    s.answer_is_the_truth(&id);
    s.null_clears(&id);
    s.missing_ids_are_not_found();
    if s.caps.client_ids {
        s.resent_create_does_not_duplicate(&id);
    }
    if s.caps.conditional_writes {
        s.stale_versions_conflict(&id);
    }
    s.failed_op_does_not_stop_the_others(&id);
    if s.caps.delete {
        s.delete_removes(&id);
    } else {
        let key = s.key.clone();
        let others = s
            .all()
            .into_iter()
            .filter(|(f, _)| f.get(&key) != Some(&json!(id)));
        assert_eq!(
            others.collect::<Vec<_>>(),
            before,
            "records the kit did not address changed"
        );
        return;
    }
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
            ReadItem::Reject(r) | ReadItem::Broken(r) => {
                panic!("reject at {}: {}", r.position, r.reason)
            }
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

    /// The fields an update of these kit fields sends: only them, or with
    /// the rest of the record when the connector writes whole records.
    fn fields(&self, changes: Value) -> RawFields {
        let changes = self.o(changes);
        if self.caps.partial_update {
            return changes;
        }
        let mut all = self.current.clone();
        all.extend(changes);
        all
    }

    fn update(&mut self, id: &str, fields: Value) -> WriteResult {
        let fields = self.fields(fields);
        let result = self.write_one(WriteOp::Update {
            id: id.into(),
            fields: fields.clone(),
            expected_version: None,
        });
        if result.is_ok() {
            self.current.extend(fields);
        }
        result
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
        self.current = fields.clone();
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

    /// The record a write answers with is the record as the remote holds
    /// it: what a read shows (all of it when `complete`), and for a field
    /// the server ignores, the value it kept.
    fn answer_is_the_truth(&mut self, id: &str) {
        let mut changes = self.fields(json!({"note": "truth"}));
        if let Some((field, sent)) = self.shape.ignored.clone() {
            changes.insert(field.into(), sent);
        }
        let outcome = self
            .write_one(WriteOp::Update {
                id: id.into(),
                fields: changes,
                expected_version: None,
            })
            .unwrap();
        self.current.extend(self.o(json!({"note": "truth"})));
        let read = self.one(id, &outcome);
        assert_eq!(read.fields[self.n("note")], json!("truth"));
        if let Some((field, sent)) = &self.shape.ignored {
            let held = &self.shape.required[field];
            assert_eq!(
                read.fields.get(*field),
                Some(held),
                "the server ignored {field}"
            );
            let answer = outcome
                .record
                .as_ref()
                .expect("the record as the remote holds it");
            assert_eq!(
                answer.get(*field),
                Some(held),
                "{field} as held, not as sent ({sent})"
            );
        }
        let Some(answer) = outcome.record else {
            return;
        };
        for (k, v) in &answer {
            if *k != self.key && read.fields.contains_key(k) {
                assert_eq!(&read.fields[k], v, "field {k} of the write's answer");
            }
        }
        if outcome.complete {
            let keys = |f: &RawFields| {
                f.keys()
                    .filter(|k| **k != self.key)
                    .cloned()
                    .collect::<Vec<_>>()
            };
            assert_eq!(
                keys(&answer),
                keys(&read.fields),
                "a complete answer has every field"
            );
        }
    }

    fn null_clears(&mut self, id: &str) {
        let outcome = self.update(id, json!({"title": null})).unwrap();
        let record = self.one(id, &outcome);
        assert!(
            is_cleared(record.fields.get(self.n("title"))),
            "{:?}",
            record.fields
        );
        assert_eq!(record.fields[self.n("note")], json!("truth"));
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
        if self.caps.delete {
            let delete = self.write_one(WriteOp::Delete {
                id: "nope".into(),
                expected_version: None,
            });
            assert_eq!(delete.unwrap_err().kind, WriteErrorKind::NotFound);
        }
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
        let mut ops = vec![WriteOp::Update {
            id: id.into(),
            fields: self.fields(json!({"note": "stale"})),
            expected_version: stale.clone(),
        }];
        if self.shape.conditional_deletes {
            ops.push(WriteOp::Delete {
                id: id.into(),
                expected_version: stale,
            });
        }
        for result in self.write(&ops) {
            assert_eq!(result.unwrap_err().kind, WriteErrorKind::Conflict);
        }
        let current = self.find(id).remove(0);
        assert_ne!(current.fields[self.n("note")], json!("stale"));
        let outcome = self
            .write_one(WriteOp::Update {
                id: id.into(),
                fields: self.fields(json!({"note": "current"})),
                expected_version: current.version,
            })
            .unwrap();
        self.current.extend(self.o(json!({"note": "current"})));
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
                fields: self.fields(json!({"note": "batch"})),
                expected_version: None,
            },
        ]);
        self.current.extend(self.o(json!({"note": "batch"})));
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
