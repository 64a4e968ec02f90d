//! einklang-connectors: talking to external systems.
//!
//! Owns the [`Connector`] trait every kind implements, the capabilities a
//! connector declares, the registry that builds a connector from its config
//! `kind`, and one module per kind. Kinds so far: `csv`, `jsonl` and `vcard`
//! (a vdir folder with one `.vcf` per contact), all in [`file`](mod@file). For tests
//! and benchmarks, [`memory`] is an in-process remote system with the
//! traits of a web API (server ids, version tokens, faults on demand); it
//! is no config kind.
//!
//! A connector reads raw records (JSON objects of source fields) and writes
//! them back; it knows nothing about entities or mappings, which the engine
//! applies. Bad input never aborts a read: it comes out of the iterator as a
//! [`ReadItem::Reject`] with its position and reason.
#![deny(missing_docs)]

pub mod caldav;
mod calls;
pub mod carddav;
mod dav;
pub mod file;
pub mod health;
pub mod http;
pub mod limit;
pub mod memory;
mod ops;
pub mod postgres_table;
mod registry;
mod retries;

pub use registry::{kinds, open, validate_settings, KindInfo, SettingProblem, Settings};

use serde_json::{Map, Value};

/// A raw record as read from a connector: source field names to JSON values.
pub type RawFields = Map<String, Value>;

/// What a connector can do. The engine plans by these and never asks a
/// connector for more.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct Capabilities {
    /// Can it read?
    pub read: bool,
    /// Can it create and update records?
    pub write: bool,
    /// Can it delete records? (When not, a mapping's `on_delete` soft
    /// delete is written instead, or nothing.)
    pub delete: bool,
    /// Does it give a cheap fingerprint of the whole source (so an unchanged source costs nothing)?
    pub fingerprint: bool,
    /// Does each record carry a version token (etag, rowId)?
    pub version_tokens: bool,
    /// Can it list ids and version tokens without the records
    /// ([`Connector::list`]) and fetch records by id ([`Connector::fetch`])?
    /// Then only new and changed records are fetched.
    pub list_versions: bool,
    /// Can it fetch any record by id ([`Connector::fetch`]), also without
    /// `list_versions` (an `http` connector with a `get` request)? An
    /// update that writes a list of objects is then written onto the
    /// record as the remote holds it.
    pub fetch: bool,
    /// Can it tell what changed since a cursor ([`Connector::changes`], like
    /// CardDAV's sync-collection or a table's change log)? Then an
    /// incremental read costs what changed, not the size of the remote.
    pub change_feed: bool,
    /// The raw field that holds a record's id when the connector itself
    /// decides it (it lists by it); `None` when the mapping's `id` names it.
    pub key_field: Option<String>,
    /// Does a create use the marker it is given as the record's id? (Then
    /// re-sending a create is harmless.) Otherwise the connector assigns
    /// ids and must find a record by its marker ([`Connector::find_created`]).
    pub client_ids: bool,
    /// Can [`Connector::find_created`] tell whether a create landed (a
    /// marker field, a marker column, an item named after the marker)?
    pub finds_created: bool,
    /// Does an update change only the fields it is given? (Otherwise every
    /// mapped field is sent.)
    pub partial_update: bool,
    /// Does it honour `expected_version` (If-Match) and answer
    /// [`WriteErrorKind::Conflict`] when the record changed meanwhile?
    pub conditional_writes: bool,
    /// Raw fields it can write (`None`: all). Others are never sent.
    pub writable: Option<Vec<String>>,
    /// Most operations per [`Connector::write`] call.
    pub batch_size: usize,
}

impl Capabilities {
    /// Read-only defaults: reads everything, writes nothing, no extras.
    pub fn read_only() -> Self {
        Capabilities {
            read: true,
            write: false,
            delete: false,
            fingerprint: false,
            version_tokens: false,
            list_versions: false,
            fetch: false,
            change_feed: false,
            key_field: None,
            client_ids: false,
            finds_created: false,
            partial_update: false,
            conditional_writes: false,
            writable: None,
            batch_size: 1,
        }
    }
}

/// One record read from a connector.
#[derive(Clone, Debug, PartialEq)]
pub struct RawRecord {
    /// Where it sits in the source: `line 17`, `file anna.vcf`.
    pub position: String,
    /// Its fields.
    pub fields: RawFields,
    /// Version token, when the source has one (a vCard file's content hash).
    pub version: Option<String>,
}

/// A record that could not even be read (malformed line, invalid UTF-8, bad vCard).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Rejected {
    /// Where it sits in the source.
    pub position: String,
    /// The raw text (lossily decoded, shortened to at most 4 KiB).
    pub raw: String,
    /// Why it was rejected.
    pub reason: String,
}

/// An item of a read: a record or a rejected piece of input.
#[derive(Clone, Debug, PartialEq)]
pub enum ReadItem {
    /// A readable record.
    Record(RawRecord),
    /// An unreadable one, for the quarantine.
    Reject(Rejected),
    /// The read broke off here (a page that failed, a connection that
    /// dropped): the rest of the source was not read. The last item.
    Broken(Rejected),
}

/// One entry of [`Connector::list`]: a record's id and version token.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct Listed {
    /// The record's id (value of [`Capabilities::key_field`]).
    pub id: String,
    /// Its version token.
    pub version: Option<String>,
}

/// What changed on a remote since a cursor ([`Connector::changes`]).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ChangeFeed {
    /// Records created or changed since: ids and current version tokens
    /// (fetched with [`Connector::fetch`] when the version is not known).
    pub changed: Vec<Listed>,
    /// Ids of records deleted since.
    pub deleted: Vec<String>,
    /// The cursor to ask from next time.
    pub cursor: String,
}

/// One write to a connector.
#[derive(Clone, Debug, PartialEq)]
pub enum WriteOp {
    /// Create a record. `marker` is einklang's correlation key for it
    /// (`ek-42`): a connector with [`Capabilities::client_ids`] uses it as
    /// the record's id (writing it into the key field); others keep it where
    /// [`Connector::find_created`] can find it again, so a create whose
    /// answer was lost is never repeated.
    Create {
        /// Correlation key (unique per hub record).
        marker: String,
        /// The fields to write (raw names).
        fields: RawFields,
    },
    /// Change fields of an existing record; with `partial_update` only the
    /// fields given change, the record's other fields (and, for vCard,
    /// unknown properties) stay as they are.
    Update {
        /// The external id.
        id: String,
        /// The fields to write (raw names; null clears a field).
        fields: RawFields,
        /// Write only if the record's version is still this one.
        expected_version: Option<String>,
    },
    /// Remove the record.
    Delete {
        /// The external id.
        id: String,
        /// Delete only if the record's version is still this one.
        expected_version: Option<String>,
    },
}

impl WriteOp {
    /// The id the op addresses (the marker for a create).
    pub fn target(&self) -> &str {
        match self {
            WriteOp::Create { marker, .. } => marker,
            WriteOp::Update { id, .. } | WriteOp::Delete { id, .. } => id,
        }
    }
}

/// The result of one successful write.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct WriteOutcome {
    /// External id written (for a create: the id the record got).
    pub id: String,
    /// New version token, when the connector has them (taken from the
    /// write's answer, or a read right after it where configured).
    pub version: Option<String>,
    /// The record as the remote holds it after the write, when the
    /// connector knows it (the answer carried it, or it was read again):
    /// the engine takes it as the truth for the link's base, and a field
    /// the remote did not keep as sent is found out.
    pub record: Option<RawFields>,
    /// `record` is the whole record, read after the write (not an answer
    /// that may carry only part of it): the engine may read it into the
    /// hub like a read would (server-assigned values).
    pub complete: bool,
    /// Parts of the record whose writes failed while the record's own
    /// went through (a sub-resource's request), each a message naming
    /// the field and the part. The engine takes `record` as the truth
    /// for them, reports them, and leaves the link to be written again.
    pub unwritten: Vec<String>,
}

/// Why one write failed; the engine branches on the kind.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum WriteErrorKind {
    /// The record does not exist (404): the link becomes `deleted_remote`.
    NotFound,
    /// The record changed since the version given (412): re-read, re-plan.
    Conflict,
    /// Too many requests (429): retry later, not before `retry_after_secs`.
    RateLimited {
        /// The server's Retry-After, when it sent one.
        retry_after_secs: Option<u64>,
    },
    /// Not allowed (403), e.g. a DELETE the remote forbids.
    Forbidden,
    /// A temporary failure (5xx, timeout, connection lost): retry later.
    Transient,
    /// The remote refused the record itself (400, 422): retrying the same
    /// write will not help until the record changes.
    Rejected,
}

/// What [`Connector::find_created`] found.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Lookup {
    /// The record the create made.
    Found(WriteOutcome),
    /// The connector looked, and there is no such record: the create did
    /// not land.
    Absent,
    /// The connector cannot find a record by its marker.
    CannotTell,
}

impl Lookup {
    /// The record, when it was found.
    pub fn found(self) -> Option<WriteOutcome> {
        match self {
            Lookup::Found(o) => Some(o),
            _ => None,
        }
    }
}

/// One failed write, with a message naming connector, operation and id.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct WriteError {
    /// What kind of failure.
    pub kind: WriteErrorKind,
    /// Plain-language message (never a secret).
    pub message: String,
}

/// The result of one operation of a [`Connector::write`] call.
pub type WriteResult = Result<WriteOutcome, WriteError>;

/// Errors of a connector as a whole (record-level problems are [`Rejected`] items).
#[derive(Debug, thiserror::Error)]
pub enum ConnectorError {
    /// Reading or writing a file failed.
    #[error("connector `{connector}`: {path}: {source}")]
    Io {
        /// Connector name.
        connector: String,
        /// File or folder.
        path: String,
        /// OS error.
        #[source]
        source: std::io::Error,
    },
    /// The connector's settings are wrong.
    #[error("connector `{connector}`: setting `{key}`: {message}")]
    Setting {
        /// Connector name.
        connector: String,
        /// Setting key.
        key: String,
        /// What is wrong.
        message: String,
    },
    /// The kind does not support this operation.
    #[error("connector `{connector}` ({kind}) cannot {operation}")]
    Unsupported {
        /// Connector name.
        connector: String,
        /// Kind.
        kind: String,
        /// Operation.
        operation: String,
    },
    /// Unknown connector kind.
    #[error("unknown connector kind `{0}`")]
    UnknownKind(String),
    /// Anything else, with a message naming connector and item.
    #[error("connector `{connector}`: {message}")]
    Other {
        /// Connector name.
        connector: String,
        /// What happened.
        message: String,
    },
}

/// A connection to one external system.
pub trait Connector: Send {
    /// Configured name.
    fn name(&self) -> &str;
    /// Kind (`csv`, `jsonl`, `vcard`).
    fn kind(&self) -> &'static str;
    /// What it can do.
    fn capabilities(&self) -> Capabilities;
    /// A cheap fingerprint of the whole source's current state (for files: a
    /// content hash); `None` when the kind has none. Equal fingerprints mean
    /// an unchanged source.
    fn fingerprint(&mut self) -> Result<Option<String>, ConnectorError>;
    /// A cheap stamp of the source's state now (for files: each file's
    /// length, modification time and inode), or `None` when the kind has
    /// none. The engine takes one before and one after a read: a stamp that
    /// moved means a writer changed the source during the read, and such a
    /// read decides no deletes.
    fn stamp(&mut self) -> Result<Option<String>, ConnectorError> {
        Ok(None)
    }
    /// Read every record, streaming (never the whole source in memory).
    fn read(&mut self) -> Result<Box<dyn Iterator<Item = ReadItem> + '_>, ConnectorError>;
    /// Ids and version tokens of every record, without the records (only
    /// with [`Capabilities::list_versions`]).
    fn list(&mut self) -> Result<Vec<Listed>, ConnectorError> {
        Err(self.unsupported("list ids and versions"))
    }
    /// The records with these ids (only with [`Capabilities::list_versions`]);
    /// ids that no longer exist are left out.
    fn fetch(&mut self, ids: &[String]) -> Result<Vec<ReadItem>, ConnectorError> {
        let _ = ids;
        Err(self.unsupported("fetch records by id"))
    }
    /// The remote's position now, to ask [`Connector::changes`] from after
    /// a full read (taken before the read, so what changes during it is
    /// seen next time). Only with [`Capabilities::change_feed`].
    fn cursor(&mut self) -> Result<String, ConnectorError> {
        Err(self.unsupported("tell its change cursor"))
    }
    /// What changed since `cursor`; `None` when the remote no longer knows
    /// that cursor (then read in full). Only with [`Capabilities::change_feed`].
    fn changes(&mut self, cursor: &str) -> Result<Option<ChangeFeed>, ConnectorError> {
        let _ = cursor;
        Err(self.unsupported("list changes since a cursor"))
    }
    /// Apply writes. `key_field` is the raw field holding the external id
    /// (the mapping's id field). Returns one result per op, in order: a
    /// failed op does not stop the others. `Err` only when the connector as
    /// a whole failed (nothing or an unknown part was written).
    fn write(
        &mut self,
        key_field: &str,
        ops: &[WriteOp],
    ) -> Result<Vec<WriteResult>, ConnectorError>;
    /// The record created with `marker`, for a create whose answer was
    /// lost: [`Lookup::Found`], [`Lookup::Absent`] when the connector looked
    /// and there is none, or [`Lookup::CannotTell`] when it has no way to
    /// find a record by its marker (then the engine holds the create until
    /// a read settles it). Connectors with [`Capabilities::client_ids`]
    /// need not implement it: their record's id is the marker.
    fn find_created(&mut self, key_field: &str, marker: &str) -> Result<Lookup, ConnectorError> {
        let _ = (key_field, marker);
        Ok(Lookup::CannotTell)
    }
    /// How the connector names the record a create makes when it names
    /// it after the create's marker by itself (client ids aside): the text
    /// before and after the marker — a DAV item `ek-7.vcf` is
    /// `("", ".vcf")`. A read that meets a record so named while the
    /// create's link still waits for its id (an answer lost, a look-up
    /// that said absent) takes it for that create's record, not for
    /// someone new. `None`: the connector does not name records so.
    fn named_after_marker(&self) -> Option<(String, String)> {
        None
    }
    /// Set up what the connector needs on the remote side (e.g. a change
    /// log and its trigger), idempotently; returns what it set up.
    fn install(&mut self) -> Result<Vec<String>, ConnectorError> {
        Err(self.unsupported("install anything on the remote"))
    }
    /// A listener that wakes when the remote reports a change (PostgreSQL
    /// `LISTEN`), for `einklang sync --watch`; `None` when the kind cannot
    /// tell (the watch then polls).
    fn listener(&self) -> Result<Option<Box<dyn ChangeListener>>, ConnectorError> {
        Ok(None)
    }
    /// Check an incoming webhook call (its query string without `?`, its
    /// headers and body) against the connector's `webhook` settings
    /// (signature, timestamp, secret); what it names and what a copy of
    /// it would repeat. `None`: the connector takes no webhooks.
    fn webhook(
        &self,
        query: &str,
        headers: &[(String, String)],
        body: &[u8],
    ) -> Option<Result<Delivery, String>> {
        let _ = (query, headers, body);
        None
    }
    /// Reach the remote with the configured credentials, cheaply (one
    /// request, one query, a file's metadata): what `einklang check
    /// --connect` runs. Returns what was reached, for the operator.
    fn probe(&mut self) -> Result<String, ConnectorError> {
        self.fingerprint()?;
        Ok("readable".into())
    }
    /// The error for an operation this kind does not support.
    fn unsupported(&self, operation: &str) -> ConnectorError {
        ConnectorError::Unsupported {
            connector: self.name().to_string(),
            kind: self.kind().to_string(),
            operation: operation.to_string(),
        }
    }
}

/// A verified webhook call.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Delivery {
    /// Ids of the records it names.
    pub ids: Vec<String>,
    /// The sender's delivery id (a header the settings name), if any.
    pub id: Option<String>,
    /// What a copy of this call repeats: its signature (the MAC einklang
    /// computed, so a re-encoded signature is the same key) and, with a
    /// delivery id, that id. A call sharing any key with one accepted
    /// within [`Self::remember`] is a copy. Kept in memory only.
    pub keys: Vec<String>,
    /// How long a copy is refused: the replay window, and with a signed
    /// timestamp at least as long as that timestamp is accepted.
    pub remember: std::time::Duration,
    /// A subscription handshake rather than a notification (Microsoft
    /// Graph's `validationToken`): the text to answer with `200
    /// text/plain`. Names no records and starts no run.
    pub handshake: Option<String>,
}

/// Waits for a remote's change notifications.
pub trait ChangeListener: Send {
    /// Wait up to `timeout` for a notification; `true` when one came
    /// (all that queued meanwhile are taken with it).
    fn wait(&mut self, timeout: std::time::Duration) -> Result<bool, ConnectorError>;
}

/// Shorten raw text for quarantine and messages: at most `max` bytes, cut at a char boundary, with `…` when cut.
pub fn excerpt(text: &str, max: usize) -> String {
    if text.len() <= max {
        return text.to_string();
    }
    let mut end = max;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}…", &text[..end])
}
