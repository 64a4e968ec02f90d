//! `memory`: an in-process remote system, the connector for tests and
//! benchmarks (it is no config kind and the registry does not know it).
//!
//! It behaves like a small web API rather than a file: the remote assigns
//! ids (`m-1`, `m-2`, … unless [`MemoryOptions::client_ids`]), every record
//! has a version token from one global counter that moves on every change
//! (like Advoware's `rowId`), records can be listed as ids + versions and
//! fetched by id, writes may be conditional, and what the remote accepts is
//! set by [`MemoryOptions`] (no deletes, only some writable fields, no
//! version in a create's answer).
//!
//! A test keeps a [`MemoryRemote`] — a cheap handle to the shared state —
//! to change the "remote" between syncs, inspect it, count the calls made
//! through the connector ([`Calls`]) and inject faults: failures before a
//! write ([`MemoryRemote::fail_next`]) and lost answers after it
//! ([`MemoryRemote::lose_next_answers`], a crash between the remote write
//! and the hub's commit). [`MemoryRemote::connector`] gives the
//! [`Connector`](crate::Connector) the engine uses. Records are raw JSON
//! objects keyed by the field `id`; changes made through the handle count
//! as changes of the remote (they move the version counter) but not as
//! calls.

mod connector;
mod state;

pub use connector::MemoryConnector;

use crate::{RawFields, WriteErrorKind};
use state::{lock, State};
use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, MutexGuard};

/// How the remote behaves; set once, at [`MemoryRemote::new`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MemoryOptions {
    /// A create's marker becomes its id (default false: the remote assigns
    /// `m-1`, `m-2`, …, and a re-sent create makes a second record).
    pub client_ids: bool,
    /// Deletes are allowed (default true; false: every delete answers
    /// `Forbidden`, like a DELETE that returns 403, and the capabilities
    /// say `delete: false`).
    pub deletes: bool,
    /// [`Connector::list`](crate::Connector::list) and `fetch` work (default true).
    pub list_versions: bool,
    /// `fingerprint()` returns a token that changes with every change
    /// (default false: `None`).
    pub fingerprint: bool,
    /// A create's answer carries the new version (default true; false like
    /// a POST that answers without the `rowId`).
    pub version_in_create_response: bool,
    /// The fields the remote writes (default `None`: all); other fields of
    /// a create or update are silently dropped.
    pub writable: Option<Vec<String>>,
    /// Updates and deletes honour `expected_version` (default true).
    pub conditional_writes: bool,
    /// Most ops per write call (default 100); a bigger call is an error.
    pub batch_size: usize,
    /// `changes(cursor)` works, from a log of every change (default false).
    pub change_feed: bool,
    /// `find_created` can find a record by its create's marker (default
    /// true; false like an API with no field to keep a marker in).
    pub finds_created: bool,
    /// `stamp()` returns a token that moves with every write, the remote's
    /// own and other clients' (default false: `None`).
    pub stamp: bool,
}

impl Default for MemoryOptions {
    fn default() -> Self {
        MemoryOptions {
            client_ids: false,
            deletes: true,
            list_versions: true,
            fingerprint: false,
            version_in_create_response: true,
            writable: None,
            conditional_writes: true,
            batch_size: 100,
            change_feed: false,
            stamp: false,
            finds_created: true,
        }
    }
}

/// How often the connector was called since the remote was made or
/// [`MemoryRemote::reset_calls`]. Ops are counted when attempted, also
/// when they fail.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Calls {
    /// Calls of `list`.
    pub list: usize,
    /// Calls of `fetch`.
    pub fetch: usize,
    /// Records returned by `fetch`, all calls together.
    pub fetched: usize,
    /// Calls of `read`.
    pub read: usize,
    /// Calls of `write`.
    pub write_calls: usize,
    /// Create ops attempted.
    pub creates: usize,
    /// Update ops attempted.
    pub updates: usize,
    /// Delete ops attempted.
    pub deletes: usize,
    /// Calls of `find_created`.
    pub find_created: usize,
    /// Calls of `changes`.
    pub changes: usize,
}

/// A handle to the remote's state; clones share it.
#[derive(Clone, Debug, Default)]
pub struct MemoryRemote {
    state: Arc<Mutex<State>>,
}

impl MemoryRemote {
    /// An empty remote that behaves as `options` say.
    pub fn new(options: MemoryOptions) -> Self {
        MemoryRemote {
            state: Arc::new(Mutex::new(State::new(options))),
        }
    }

    /// A connector named `name` on this remote.
    pub fn connector(&self, name: &str) -> MemoryConnector {
        MemoryConnector::new(name, Arc::clone(&self.state))
    }

    /// The options it was made with.
    pub fn options(&self) -> MemoryOptions {
        self.lock().options.clone()
    }

    /// Add a record under a fresh remote id (`m-N`), which it returns.
    pub fn insert(&self, fields: RawFields) -> String {
        let mut state = self.lock();
        let id = state.fresh_id();
        state.put(&id, fields, None);
        id
    }

    /// Add or replace the record `id`.
    pub fn insert_with_id(&self, id: &str, fields: RawFields) {
        self.lock().put(id, fields, None);
    }

    /// Merge `fields` into the record `id` (null removes a field); false
    /// when there is no such record.
    pub fn update(&self, id: &str, fields: RawFields) -> bool {
        self.lock().change(id, &fields).is_some()
    }

    /// Remove the record `id`, returning its fields.
    pub fn remove(&self, id: &str) -> Option<RawFields> {
        self.lock().remove(id)
    }

    /// The record `id`'s fields (its `id` field included).
    pub fn get(&self, id: &str) -> Option<RawFields> {
        self.lock().records.get(id).map(|r| r.fields.clone())
    }

    /// The record `id`'s version token.
    pub fn version_of(&self, id: &str) -> Option<String> {
        self.lock().records.get(id).map(|r| r.version.to_string())
    }

    /// Every record, by id.
    pub fn records(&self) -> BTreeMap<String, RawFields> {
        let state = self.lock();
        let all = state.records.iter();
        all.map(|(id, r)| (id.clone(), r.fields.clone())).collect()
    }

    /// How many records it holds.
    pub fn len(&self) -> usize {
        self.lock().records.len()
    }

    /// Does it hold no record?
    pub fn is_empty(&self) -> bool {
        self.lock().records.is_empty()
    }

    /// The calls counted so far.
    pub fn calls(&self) -> Calls {
        self.lock().calls
    }

    /// Start counting calls from zero.
    pub fn reset_calls(&self) {
        self.lock().calls = Calls::default();
    }

    /// The next `n` write ops fail with `kind` and change nothing (replaces
    /// an earlier `fail_next` still pending).
    pub fn fail_next(&self, kind: WriteErrorKind, n: usize) {
        self.lock().failing = (n > 0).then_some((kind, n));
    }

    /// The next `list` or `read` leaves out `ids`, as a paged listing
    /// does when another client writes while it pages; with
    /// `moves_stamp`, that write shows in the stamp.
    pub fn skip_in_next_listing(&self, ids: &[&str], moves_stamp: bool) {
        let ids = ids.iter().map(|s| s.to_string()).collect();
        self.lock().skip_next = Some((ids, moves_stamp));
    }

    /// Another client merges `fields` into the record `id` just before the
    /// next write op is carried out: a change made between the engine's
    /// read and its write (an update of that record then answers
    /// `Conflict`, like a 412).
    pub fn change_before_next_write(&self, id: &str, fields: RawFields) {
        self.lock().racing = Some((id.to_string(), fields));
    }

    /// The next `n` write ops are carried out but answer `Transient`, as if
    /// the answer was lost on the way back (after any `fail_next`).
    pub fn lose_next_answers(&self, n: usize) {
        self.lock().losing = n;
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        lock(&self.state)
    }
}
