//! The ops of one write call to a row file (csv, jsonl), indexed by the id
//! they address, applied while the old file streams past.
//!
//! The writer copies each existing row; when [`RowOps::wants`] its id, it
//! hands the row to [`RowOps::apply`] and writes what comes back (nothing
//! for a delete). Ops on ids the file does not hold are applied last, by
//! [`RowOps::rest`]: creates become new rows, updates and deletes answer
//! `NotFound`. Ops on one id apply in op order, so a create followed by an
//! update of the same record in one call works. When the file holds an id
//! twice, the ops apply to its first row only.

use crate::ops::{done, merge, not_found};
use crate::{RawFields, WriteOp, WriteResult};
use serde_json::Value;
use std::collections::HashMap;

/// The pending ops of one write call and the results so far.
pub(crate) struct RowOps<'a> {
    connector: &'a str,
    key_field: &'a str,
    ops: &'a [WriteOp],
    pending: HashMap<&'a str, Vec<usize>>,
    results: Vec<Option<WriteResult>>,
}

impl<'a> RowOps<'a> {
    /// Index `ops` by the id they address.
    pub(crate) fn new(connector: &'a str, key_field: &'a str, ops: &'a [WriteOp]) -> Self {
        let mut pending: HashMap<&str, Vec<usize>> = HashMap::with_capacity(ops.len());
        for (i, op) in ops.iter().enumerate() {
            pending.entry(op.target()).or_default().push(i);
        }
        RowOps {
            connector,
            key_field,
            ops,
            pending,
            results: vec![None; ops.len()],
        }
    }

    /// The field names the ops write, in op order (the key field first when
    /// there is a create), for a file with a header.
    pub(crate) fn columns(&self) -> Vec<&'a str> {
        let mut names = Vec::new();
        let mut add = |name: &'a str| {
            if !names.contains(&name) {
                names.push(name);
            }
        };
        for op in self.ops {
            if let WriteOp::Create { .. } = op {
                add(self.key_field);
            }
            if let WriteOp::Create { fields, .. } | WriteOp::Update { fields, .. } = op {
                fields
                    .iter()
                    .filter(|(_, v)| !v.is_null())
                    .for_each(|(k, _)| add(k));
            }
        }
        names
    }

    /// The raw field holding a record's id.
    pub(crate) fn key_field(&self) -> &'a str {
        self.key_field
    }

    /// Do ops still wait for the record with this id?
    pub(crate) fn wants(&self, id: &str) -> bool {
        self.pending.contains_key(id)
    }

    /// Apply the ops addressing `id` to its existing record; the record as
    /// it is to be written, `None` when deleted.
    pub(crate) fn apply(&mut self, id: &str, row: RawFields) -> Option<RawFields> {
        let indices = self.pending.remove(id).unwrap_or_default();
        self.run(indices, Some(row))
    }

    /// Apply the ops whose ids the file did not hold: the new records, in
    /// the order of their first op.
    pub(crate) fn rest(&mut self) -> Vec<RawFields> {
        let mut left: Vec<Vec<usize>> = self.pending.drain().map(|(_, v)| v).collect();
        left.sort_unstable_by_key(|indices| indices[0]);
        let mut rows = Vec::new();
        for indices in left {
            rows.extend(self.run(indices, None));
        }
        rows
    }

    /// One result per op, in op order.
    pub(crate) fn results(self) -> Vec<WriteResult> {
        self.results
            .into_iter()
            .map(|r| r.expect("every op is applied by `apply` or `rest`"))
            .collect()
    }

    /// Apply the ops `indices` in order, starting from `state` (a record
    /// deleted by one op can be created again by a later one).
    fn run(&mut self, indices: Vec<usize>, mut state: Option<RawFields>) -> Option<RawFields> {
        for i in indices {
            state = self.apply_one(i, state);
        }
        state
    }

    fn apply_one(&mut self, i: usize, state: Option<RawFields>) -> Option<RawFields> {
        let op = &self.ops[i];
        let (result, state) = match (op, state) {
            (WriteOp::Create { marker, fields }, None) => {
                let mut row = RawFields::new();
                merge(&mut row, fields);
                row.insert(self.key_field.to_string(), Value::String(marker.clone()));
                (done(marker, None), Some(row))
            }
            (WriteOp::Create { fields, .. } | WriteOp::Update { fields, .. }, Some(mut row)) => {
                merge(&mut row, fields);
                (done(op.target(), None), Some(row))
            }
            (WriteOp::Delete { .. }, Some(_)) => (done(op.target(), None), None),
            (WriteOp::Update { .. } | WriteOp::Delete { .. }, None) => {
                (Err(not_found(self.connector, op, self.key_field)), None)
            }
        };
        self.results[i] = Some(result);
        state
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn fields(v: Value) -> RawFields {
        v.as_object().unwrap().clone()
    }

    #[test]
    fn ops_on_one_id_apply_in_order_and_missing_ids_are_not_found() {
        let ops = [
            WriteOp::Create {
                marker: "n".into(),
                fields: fields(json!({"a": "1"})),
            },
            WriteOp::Update {
                id: "n".into(),
                fields: fields(json!({"b": "2"})),
                expected_version: None,
            },
            WriteOp::Delete {
                id: "x".into(),
                expected_version: None,
            },
            WriteOp::Update {
                id: "old".into(),
                fields: fields(json!({"a": null})),
                expected_version: None,
            },
        ];
        let mut plan = RowOps::new("c", "id", &ops);
        assert_eq!(plan.columns(), ["id", "a", "b"]);
        assert!(plan.wants("old") && !plan.wants("other"));
        let old = plan.apply("old", fields(json!({"id": "old", "a": "x", "c": "y"})));
        assert_eq!(old, Some(fields(json!({"id": "old", "c": "y"}))));
        assert_eq!(
            plan.rest(),
            [fields(json!({"id": "n", "a": "1", "b": "2"}))]
        );
        let results = plan.results();
        assert!(results[0].is_ok() && results[1].is_ok() && results[3].is_ok());
        assert_eq!(
            results[2].as_ref().unwrap_err().message,
            "connector `c`: delete of `x`: no record with id = x"
        );
    }
}
