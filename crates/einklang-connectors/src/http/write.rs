//! The writes of the `http` connector: one request per operation from the
//! `create`, `update` and `delete` templates, the status of the answer
//! mapped to a [`WriteErrorKind`], the new id and version taken from the
//! record in the answer.

use super::client::{Failure, Reply};
use super::spec::Call;
use super::template::{self, Vars};
use super::Http;
use crate::ops::op_error;
use crate::{RawFields, WriteError, WriteErrorKind, WriteOp, WriteOutcome, WriteResult};
use serde_json::Value;

impl Http {
    /// The configured request for an op, or why there is none.
    fn configured(&self, op: &WriteOp, call: &Option<Call>, key: &str) -> Result<Call, WriteError> {
        call.clone().ok_or_else(|| {
            let detail = format!("no `{key}` request is configured");
            op_error(&self.name, op, WriteErrorKind::Forbidden, detail)
        })
    }

    /// Send one write and read its JSON answer; status mapped to a kind.
    /// With an `expected` version and a configured `conditional` header
    /// (`If-Match` or the like), the request carries it.
    pub(super) fn send_write(
        &mut self,
        op: &WriteOp,
        call: &Call,
        vars: &Vars<'_>,
        expected: Option<&String>,
    ) -> Result<(Reply, Value), crate::WriteError> {
        let idempotent = !matches!(op, WriteOp::Create { .. }) || self.client_ids();
        let header = self.spec.conditional.clone().zip(expected.cloned());
        let headers: Vec<(&str, &str)> = header
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect();
        self.send_with(op, call, vars, &headers, idempotent)
    }

    /// [`Self::send_write`], saying whether a lost answer may be sent again.
    pub(super) fn send_with(
        &mut self,
        op: &WriteOp,
        call: &Call,
        vars: &Vars<'_>,
        headers: &[(&str, &str)],
        idempotent: bool,
    ) -> Result<(Reply, Value), crate::WriteError> {
        let url = self.client.url(
            &template::path(&call.path, vars),
            &template::query(&call.params, vars),
        );
        let body = call.body.as_ref().map(|b| template::fill(b, vars));
        let idempotent = idempotent && !self.spec.graphql;
        let reply = self
            .client
            .send(&call.method, &url, body.as_ref(), headers, idempotent)
            .map_err(|f| self.write_error(op, f))?;
        if !(200..300).contains(&reply.status) {
            let f = self.client.failure(&call.method, &url, Some(&reply), "");
            return Err(self.write_error(op, f));
        }
        let value = self
            .client
            .parse(&call.method, &url, &reply)
            .map_err(|f| self.write_error(op, f))?;
        if self.spec.graphql {
            if let Some(e) = value
                .get("errors")
                .and_then(Value::as_array)
                .filter(|e| !e.is_empty())
            {
                // an update or delete of a record that is not there: no
                // data at the selected field, with an error beside it
                let absent = template::at(&value, &call.select).is_none_or(Value::is_null);
                if absent && !matches!(op, WriteOp::Create { .. }) {
                    return Err(crate::ops::not_found(&self.name, op, &self.spec.id));
                }
                let first = e[0]
                    .get("message")
                    .and_then(Value::as_str)
                    .unwrap_or("(no message)");
                return Err(op_error(
                    &self.name,
                    op,
                    WriteErrorKind::Rejected,
                    format!("GraphQL error: {first}"),
                ));
            }
        }
        Ok((reply, value))
    }

    pub(super) fn write_error(&self, op: &WriteOp, f: Failure) -> crate::WriteError {
        let kind = match f.status {
            None => WriteErrorKind::Transient,
            Some(404 | 410) => WriteErrorKind::NotFound,
            // a status the config says means "not there" (Directus: 403)
            Some(s) if !matches!(op, WriteOp::Create { .. }) && self.spec.missing.contains(&s) => {
                WriteErrorKind::NotFound
            }
            Some(412) => WriteErrorKind::Conflict,
            Some(429) => WriteErrorKind::RateLimited {
                retry_after_secs: f.retry_after,
            },
            Some(401 | 403) => WriteErrorKind::Forbidden,
            Some(s) if s >= 500 => WriteErrorKind::Transient,
            Some(_) => WriteErrorKind::Rejected,
        };
        let prefix = format!("connector `{}`: ", self.name);
        let detail = f
            .message
            .strip_prefix(&prefix)
            .unwrap_or(&f.message)
            .to_string();
        op_error(&self.name, op, kind, detail)
    }

    /// The record in a write's answer (`None`: the answer has none).
    pub(super) fn answer_record(&self, call: &Call, value: &Value) -> Option<RawFields> {
        template::at(value, &call.select)
            .and_then(Value::as_object)
            .cloned()
    }

    pub(super) fn create(&mut self, op: &WriteOp, marker: &str, fields: &RawFields) -> WriteResult {
        let call = self.configured(op, &self.spec.create, "create")?;
        let (mut record, children) = self.split_children(fields);
        record.retain(|_, v| !v.is_null());
        if let Some(m) = &self.spec.marker_field {
            // a path too: `custom_fields_values[field_id=99].values[0].value`
            einklang_core::transform::push::set_path(&mut record, m, Value::String(marker.into()));
        }
        let client_ids = self.client_ids();
        if client_ids && !self.spec.id.starts_with('/') {
            record.insert(self.spec.id.clone(), Value::String(marker.into()));
        }
        let vars = Vars {
            record: Some(&record),
            id: Some(marker),
            marker: Some(marker),
            ..Vars::default()
        };
        let (_, value) = self.send_write(op, &call, &vars, None)?;
        let answer = self.answer_record(&call, &value);
        let id = answer
            .as_ref()
            .and_then(|r| self.id_of(r))
            .or_else(|| client_ids.then(|| marker.to_string()));
        let Some(id) = id else {
            let detail = format!(
                "the answer carries no id at `{}` in `{}`",
                self.spec.id,
                if call.select.is_empty() {
                    "/"
                } else {
                    &call.select
                }
            );
            return Err(op_error(&self.name, op, WriteErrorKind::Transient, detail));
        };
        if !children.is_empty() {
            return Ok(self.children_after_create(op, id, answer, children));
        }
        let (record, complete) = self.after_write(call.reread, &id, answer);
        Ok(WriteOutcome {
            version: record.as_ref().and_then(|r| self.version_of(r)),
            id,
            record,
            complete,
            unwritten: Vec::new(),
        })
    }

    /// The record as the remote holds it after a write: read again when
    /// the request says `reread`, else the record in the answer (maybe
    /// only part of one). A read that fails after a write that went
    /// through costs the truth, never the write: the answer stands.
    pub(super) fn after_write(
        &mut self,
        reread: bool,
        id: &str,
        answer: Option<RawFields>,
    ) -> (Option<RawFields>, bool) {
        if !reread {
            return (answer, false);
        }
        match self.get(id) {
            Ok(Some(crate::ReadItem::Record(r))) => (Some(r.fields), true),
            Ok(_) => (answer, false),
            Err(e) => {
                tracing::warn!(connector = self.name.as_str(), id, error = %e, "reading a written record again failed; its answer stands");
                (answer, false)
            }
        }
    }

    pub(super) fn update(
        &mut self,
        op: &WriteOp,
        id: &str,
        fields: &RawFields,
        expected: Option<&String>,
    ) -> WriteResult {
        let call = self.configured(op, &self.spec.update, "update")?;
        let (own, children) = self.split_children(fields);
        if !children.is_empty() {
            return self.update_with_children(op, id, &call, own, children, expected);
        }
        let vars = Vars {
            record: Some(fields),
            id: Some(id),
            ..Vars::default()
        };
        let (reply, value) = self.send_write(op, &call, &vars, expected)?;
        let answer = self.answer_record(&call, &value);
        if self.spec.graphql && answer.is_none() {
            return Err(crate::ops::not_found(&self.name, op, &self.spec.id));
        }
        let (record, complete) = self.after_write(call.reread, id, answer);
        let version = record
            .as_ref()
            .and_then(|r| self.version_of(r))
            .or(reply.etag.filter(|_| self.spec.conditional.is_some()));
        Ok(WriteOutcome {
            id: id.to_string(),
            version,
            record,
            complete,
            unwritten: Vec::new(),
        })
    }

    pub(super) fn delete(
        &mut self,
        op: &WriteOp,
        id: &str,
        expected: Option<&String>,
    ) -> WriteResult {
        let call = self.configured(op, &self.spec.delete, "delete")?;
        let vars = Vars {
            id: Some(id),
            ..Vars::default()
        };
        let (_, value) = self.send_write(op, &call, &vars, expected)?;
        if self.spec.graphql && template::at(&value, &call.select).is_none_or(Value::is_null) {
            return Err(crate::ops::not_found(&self.name, op, &self.spec.id));
        }
        Ok(WriteOutcome {
            id: id.to_string(),
            version: None,
            record: None,
            complete: false,
            unwritten: Vec::new(),
        })
    }
}
