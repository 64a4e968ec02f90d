//! einklang-connectors: talking to external systems.
//!
//! Owns the [`Connector`] trait every kind implements, the capabilities a
//! connector declares, the registry that builds a connector from its config
//! `kind`, and one module per kind. Kinds so far: `csv`, `jsonl` and `vcard`
//! (a vdir folder with one `.vcf` per contact), all in [`file`].
//!
//! A connector reads raw records (JSON objects of source fields) and writes
//! them back; it knows nothing about entities or mappings, which the engine
//! applies. Bad input never aborts a read: it comes out of the iterator as a
//! [`ReadItem::Reject`] with its position and reason.
#![deny(missing_docs)]

pub mod file;
mod registry;

pub use registry::{kinds, open, validate_settings, KindInfo, SettingProblem, Settings};

use serde_json::{Map, Value};

/// A raw record as read from a connector: source field names to JSON values.
pub type RawFields = Map<String, Value>;

/// What a connector can do.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct Capabilities {
    /// Can it read?
    pub read: bool,
    /// Can it create and update records?
    pub write: bool,
    /// Can it delete records?
    pub delete: bool,
    /// Does it give a cheap fingerprint of the whole source (so an unchanged source costs nothing)?
    pub fingerprint: bool,
    /// Does each record carry a version token (etag, rowId)?
    pub version_tokens: bool,
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
}

/// One write to a connector.
#[derive(Clone, Debug, PartialEq)]
pub enum WriteOp {
    /// Create or replace the record whose key field (see [`Connector::write`]) has this value.
    Upsert {
        /// The external id (value of the key field).
        id: String,
        /// The fields to write (raw field names). For vCard, unknown
        /// properties of an existing card are preserved.
        fields: RawFields,
    },
    /// Remove the record.
    Delete {
        /// The external id.
        id: String,
    },
}

/// The result of one successful write.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct WriteOutcome {
    /// External id written.
    pub id: String,
    /// New version token, when the connector has them.
    pub version: Option<String>,
}

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
    /// Read every record, streaming (never the whole source in memory).
    fn read(&mut self) -> Result<Box<dyn Iterator<Item = ReadItem> + '_>, ConnectorError>;
    /// Apply writes. `key_field` is the raw field holding the external id
    /// (the mapping's id field). Returns one outcome per op, in order.
    fn write(
        &mut self,
        key_field: &str,
        ops: &[WriteOp],
    ) -> Result<Vec<WriteOutcome>, ConnectorError>;
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
