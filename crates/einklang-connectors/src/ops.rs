//! What every connector's `write` shares: naming an operation in messages,
//! building [`WriteError`]s that name connector, operation and id, merging
//! a partial update into a record (a JSON null removes the field), and the
//! version check of a conditional write.

use crate::{RawFields, WriteError, WriteErrorKind, WriteOp, WriteOutcome, WriteResult};
use serde_json::Value;
use std::fmt::Display;

/// `create`, `update` or `delete`.
pub(crate) fn verb(op: &WriteOp) -> &'static str {
    match op {
        WriteOp::Create { .. } => "create",
        WriteOp::Update { .. } => "update",
        WriteOp::Delete { .. } => "delete",
    }
}

/// A failed op: "connector `crm`: update of `K-17`: {detail}".
pub(crate) fn op_error(
    connector: &str,
    op: &WriteOp,
    kind: WriteErrorKind,
    detail: impl Display,
) -> WriteError {
    WriteError {
        kind,
        message: format!(
            "connector `{connector}`: {} of `{}`: {detail}",
            verb(op),
            op.target()
        ),
    }
}

/// The op's target does not exist: "no record with {key_field} = {id}".
pub(crate) fn not_found(connector: &str, op: &WriteOp, key_field: &str) -> WriteError {
    let detail = format!("no record with {key_field} = {}", op.target());
    op_error(connector, op, WriteErrorKind::NotFound, detail)
}

/// A successful op on `id`.
pub(crate) fn done(id: &str, version: Option<String>) -> WriteResult {
    Ok(WriteOutcome {
        id: id.to_string(),
        version,
        record: None,
        complete: false,
        unwritten: Vec::new(),
    })
}

/// Merge `fields` into `record`: given fields replace, a null removes.
pub(crate) fn merge(record: &mut RawFields, fields: &RawFields) {
    for (key, value) in fields {
        if value.is_null() {
            record.remove(key);
        } else {
            record.insert(key.clone(), value.clone());
        }
    }
}

/// A record's id as text: a string as is, a number in its JSON form.
pub(crate) fn key_text(value: Option<&Value>) -> Option<String> {
    match value? {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

/// The conditional-write check: `Conflict` when `expected` is given and
/// differs from the record's `current` version.
pub(crate) fn check_version(
    connector: &str,
    op: &WriteOp,
    current: &str,
) -> Result<(), WriteError> {
    let expected = match op {
        WriteOp::Update {
            expected_version, ..
        }
        | WriteOp::Delete {
            expected_version, ..
        } => expected_version.as_deref(),
        WriteOp::Create { .. } => None,
    };
    match expected {
        Some(v) if v != current => Err(op_error(
            connector,
            op,
            WriteErrorKind::Conflict,
            format!("the record changed meanwhile (expected version {v}, found {current})"),
        )),
        _ => Ok(()),
    }
}
