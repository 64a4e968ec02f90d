//! Writes of a record with child lists: the parent's own request, then
//! the child requests, then one read of the record as the remote holds
//! it (the children's new versions are in no single answer). An update
//! that sends no child request takes the parent's answer as the truth,
//! its children as held: a changed title is one request, not two.
//!
//! - An update compares the parent's own fields with the record as held
//!   (fetched in this run, else read now) and sends the parent's request
//!   only when one of them differs: a change of a phone number is one
//!   child request and one read, not a rewrite of the party.
//! - A child request that fails does not fail the write once the
//!   parent's request went through (a create's id would be lost): it is
//!   reported in [`WriteOutcome::unwritten`], and the record read after
//!   the write is the truth of what the remote holds.

use super::io::Wanted;
use crate::http::spec::Call;
use crate::http::template::Vars;
use crate::http::Http;
use crate::ops::op_error;
use crate::{RawFields, ReadItem, WriteErrorKind, WriteOp, WriteOutcome, WriteResult};

impl Http {
    /// After a parent's create went through: its children, then the read.
    pub(in crate::http) fn children_after_create(
        &mut self,
        op: &WriteOp,
        id: String,
        answer: Option<RawFields>,
        wanted: Wanted,
    ) -> WriteOutcome {
        let current = answer.clone().unwrap_or_default();
        let mut unwritten = Vec::new();
        self.write_children(op, &id, &current, wanted, &mut unwritten);
        self.read_back(id, answer, None, unwritten)
    }

    /// An update of a record with child lists (see the module docs).
    pub(in crate::http) fn update_with_children(
        &mut self,
        op: &WriteOp,
        id: &str,
        call: &Call,
        own: RawFields,
        wanted: Wanted,
        expected: Option<&String>,
    ) -> WriteResult {
        let current = match self.held.remove(id) {
            Some(r) => r,
            None => self.held_now(op, id)?,
        };
        let mut answer = None;
        let mut etag = None;
        let differs = self.own_differs(&own, &current);
        if differs {
            let vars = Vars {
                record: Some(&own),
                id: Some(id),
                ..Vars::default()
            };
            let (reply, value) = self.send_write(op, call, &vars, expected)?;
            answer = self.answer_record(call, &value);
            etag = reply.etag.filter(|_| self.spec.conditional.is_some());
        }
        let mut unwritten = Vec::new();
        let sent = self.write_children(op, id, &current, wanted, &mut unwritten);
        if sent == 0 && unwritten.is_empty() {
            // no child request: the children are as held, the parent as
            // its answer shows it (or as just read, when nothing was sent)
            let record = match (differs, answer) {
                (false, _) => Some(current),
                (true, Some(answer)) => Some(self.with_children_of(answer, &current)),
                (true, None) => None,
            };
            if let Some(record) = record {
                return Ok(WriteOutcome {
                    id: id.to_string(),
                    version: self.version_of(&record),
                    record: Some(record),
                    complete: true,
                    unwritten,
                });
            }
            return Ok(self.read_back(id.to_string(), None, etag, unwritten));
        }
        Ok(self.read_back(id.to_string(), answer, etag, unwritten))
    }

    /// A parent's answer with the child lists it lacks taken from `held`
    /// (where no child request was sent, they are unchanged).
    fn with_children_of(&self, mut answer: RawFields, held: &RawFields) -> RawFields {
        for c in &self.spec.children {
            if !answer.contains_key(&c.field) {
                if let Some(list) = held.get(&c.field) {
                    answer.insert(c.field.clone(), list.clone());
                }
            }
        }
        answer
    }

    /// The record read after a write with child requests. Where that read
    /// fails, no record stands for the truth: the answer (if any) lacks
    /// the children's writes and would read as their removal.
    fn read_back(
        &mut self,
        id: String,
        answer: Option<RawFields>,
        etag: Option<String>,
        unwritten: Vec<String>,
    ) -> WriteOutcome {
        let (record, complete) = self.after_write(true, &id, answer);
        let record = record.filter(|_| complete);
        WriteOutcome {
            version: record.as_ref().and_then(|r| self.version_of(r)).or(etag),
            id,
            record,
            complete,
            unwritten,
        }
    }

    /// The record as the remote holds it now, for an update to compare with.
    fn held_now(&mut self, op: &WriteOp, id: &str) -> Result<RawFields, crate::WriteError> {
        match self.get(id) {
            Ok(Some(ReadItem::Record(r))) => Ok(r.fields),
            Ok(Some(ReadItem::Reject(r) | ReadItem::Broken(r))) => {
                Err(op_error(&self.name, op, WriteErrorKind::Rejected, r.reason))
            }
            Ok(None) => Err(crate::ops::not_found(&self.name, op, &self.spec.id)),
            Err(e) => Err(op_error(
                &self.name,
                op,
                WriteErrorKind::Transient,
                format!("reading the record to write its children onto: {e}"),
            )),
        }
    }

    /// Whether a field the parent's request would send differs from the
    /// record as held (only `writable` fields count where they are named).
    fn own_differs(&self, own: &RawFields, held: &RawFields) -> bool {
        own.iter().any(|(k, v)| {
            let counts = self.spec.writable.as_ref().is_none_or(|w| w.contains(k));
            counts && !super::same(held.get(k), Some(v))
        })
    }
}
