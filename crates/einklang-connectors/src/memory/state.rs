//! The remote's state behind the [`MemoryRemote`](super::MemoryRemote)
//! handle: the records, the version clock, the id counter, the call
//! counters and pending faults, and how one write op changes them.

use super::{Calls, MemoryOptions};
use crate::ops::{check_version, done, merge, not_found, op_error};
use crate::{RawFields, WriteErrorKind, WriteOp, WriteResult};
use serde_json::Value;
use std::collections::BTreeMap;
use std::sync::{Mutex, MutexGuard};

/// The field that holds a record's id.
pub(super) const KEY: &str = "id";

/// One stored record.
#[derive(Debug)]
pub(super) struct Record {
    /// Its fields, `id` included.
    pub fields: RawFields,
    /// The clock at its last change.
    pub version: u64,
    /// The marker of the create that made it (hidden from its fields).
    pub marker: Option<String>,
}

/// Everything the remote holds.
#[derive(Debug, Default)]
pub(super) struct State {
    pub options: MemoryOptions,
    pub records: BTreeMap<String, Record>,
    pub calls: Calls,
    /// Fail the next n ops with this kind.
    pub failing: Option<(WriteErrorKind, usize)>,
    /// Lose the answers of the next n ops.
    pub losing: usize,
    /// Every change, in order: (clock, id, deleted?).
    pub log: Vec<(u64, String, bool)>,
    /// Ids the next `list` or `read` leaves out, and whether another
    /// client's write moves the stamp meanwhile (a listing that raced).
    pub skip_next: Option<(Vec<String>, bool)>,
    /// Moved by other clients' writes that the records do not show.
    pub foreign_writes: u64,
    /// Another client's change, carried out when the next write call
    /// arrives (between the engine's read and its write).
    pub racing: Option<(String, RawFields)>,
    clock: u64,
    last_id: u64,
}

/// Lock the state; a test that panicked while holding it leaves it usable.
pub(super) fn lock(state: &Mutex<State>) -> MutexGuard<'_, State> {
    state
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

impl State {
    pub fn new(options: MemoryOptions) -> Self {
        State {
            options,
            ..State::default()
        }
    }

    /// A token that changes with every change of the remote.
    pub fn fingerprint(&self) -> String {
        format!("memory:{}", self.clock)
    }

    /// Ids to leave out of this listing (taken once), and whether a
    /// writer moved the stamp meanwhile.
    pub fn take_skip(&mut self) -> Vec<String> {
        match self.skip_next.take() {
            Some((ids, moves)) => {
                self.foreign_writes += u64::from(moves);
                ids
            }
            None => Vec::new(),
        }
    }

    /// An id the remote has not given yet and no record has.
    pub fn fresh_id(&mut self) -> String {
        loop {
            self.last_id += 1;
            let id = format!("m-{}", self.last_id);
            if !self.records.contains_key(&id) {
                return id;
            }
        }
    }

    fn tick(&mut self) -> u64 {
        self.clock += 1;
        self.clock
    }

    /// Store `fields` as the record `id` (replacing it); its new version.
    pub fn put(&mut self, id: &str, mut fields: RawFields, marker: Option<String>) -> u64 {
        fields.insert(KEY.to_string(), Value::String(id.to_string()));
        let version = self.tick();
        let record = Record {
            fields,
            version,
            marker,
        };
        self.records.insert(id.to_string(), record);
        self.log.push((version, id.to_string(), false));
        version
    }

    /// Merge `fields` into the record `id` (its id stays); its new version.
    pub fn change(&mut self, id: &str, fields: &RawFields) -> Option<u64> {
        let version = self.clock + 1;
        let record = self.records.get_mut(id)?;
        merge(&mut record.fields, fields);
        record
            .fields
            .insert(KEY.to_string(), Value::String(id.to_string()));
        record.version = version;
        self.clock = version;
        self.log.push((version, id.to_string(), false));
        Some(version)
    }

    /// Remove the record `id`.
    pub fn remove(&mut self, id: &str) -> Option<RawFields> {
        let record = self.records.remove(id)?;
        let at = self.tick();
        self.log.push((at, id.to_string(), true));
        Some(record.fields)
    }

    /// The clock now (the change cursor).
    pub fn clock(&self) -> u64 {
        self.clock
    }

    /// What changed after `since`: each id once, as it is now.
    pub fn changes_since(&self, since: u64) -> (Vec<(String, Option<u64>)>, u64) {
        let start = self.log.partition_point(|(at, _, _)| *at <= since);
        let mut ids: Vec<&String> = self.log[start..].iter().map(|(_, id, _)| id).collect();
        ids.sort();
        ids.dedup();
        let out = ids
            .into_iter()
            .map(|id| (id.clone(), self.records.get(id).map(|r| r.version)))
            .collect();
        (out, self.clock)
    }

    /// Apply one op of a write call, with its faults.
    pub fn write(&mut self, connector: &str, op: &WriteOp) -> WriteResult {
        match op {
            WriteOp::Create { .. } => self.calls.creates += 1,
            WriteOp::Update { .. } => self.calls.updates += 1,
            WriteOp::Delete { .. } => self.calls.deletes += 1,
        }
        if let Some((id, fields)) = self.racing.take() {
            self.change(&id, &fields);
        }
        if let Some((kind, n)) = self.failing.take() {
            self.failing = (n > 1).then(|| (kind.clone(), n - 1));
            return Err(op_error(
                connector,
                op,
                kind,
                "injected failure, nothing written",
            ));
        }
        let result = match op {
            WriteOp::Create { marker, fields } => self.create(marker, fields),
            WriteOp::Update { id, fields, .. } => self.update(connector, op, id, fields),
            WriteOp::Delete { id, .. } => self.delete(connector, op, id),
        };
        if self.losing > 0 {
            self.losing -= 1;
            let detail = "the answer was lost (the write may have been carried out)";
            return Err(op_error(connector, op, WriteErrorKind::Transient, detail));
        }
        result
    }

    /// The fields of `fields` the remote writes.
    fn writable(&self, fields: &RawFields) -> RawFields {
        let keep = |name: &String| match &self.options.writable {
            Some(list) => list.contains(name),
            None => true,
        };
        let kept = fields.iter().filter(|(name, _)| keep(name));
        kept.map(|(k, v)| (k.clone(), v.clone())).collect()
    }

    fn create(&mut self, marker: &str, fields: &RawFields) -> WriteResult {
        let fields = self.writable(fields);
        let client_ids = self.options.client_ids;
        if client_ids && self.records.contains_key(marker) {
            let version = self.change(marker, &fields).expect("the record exists");
            return self.created(marker, version);
        }
        let id = match client_ids {
            true => marker.to_string(),
            false => self.fresh_id(),
        };
        let mut clean = RawFields::new();
        merge(&mut clean, &fields);
        let version = self.put(&id, clean, Some(marker.to_string()));
        self.created(&id, version)
    }

    fn created(&self, id: &str, version: u64) -> WriteResult {
        let answered = self.options.version_in_create_response;
        done(id, answered.then(|| version.to_string()))
    }

    /// The record `op` addresses exists and, for a conditional write, is
    /// still at the expected version.
    fn check(&self, connector: &str, op: &WriteOp, id: &str) -> Result<(), crate::WriteError> {
        let record = self
            .records
            .get(id)
            .ok_or_else(|| not_found(connector, op, KEY))?;
        if self.options.conditional_writes {
            check_version(connector, op, &record.version.to_string())?;
        }
        Ok(())
    }

    fn update(
        &mut self,
        connector: &str,
        op: &WriteOp,
        id: &str,
        fields: &RawFields,
    ) -> WriteResult {
        self.check(connector, op, id)?;
        let fields = self.writable(fields);
        let version = self.change(id, &fields).expect("checked");
        done(id, Some(version.to_string()))
    }

    fn delete(&mut self, connector: &str, op: &WriteOp, id: &str) -> WriteResult {
        if !self.options.deletes {
            let detail = "the remote does not allow deletes";
            return Err(op_error(connector, op, WriteErrorKind::Forbidden, detail));
        }
        self.check(connector, op, id)?;
        self.remove(id);
        done(id, None)
    }
}
