//! Data types of the two-way sync: what the engine loads per hub record,
//! the batch of writes it commits in one transaction, the outbox of remote
//! writes and the conflict records.

use crate::model::{Change, FieldChanges, Link, LinkStatus, RecordId, RunId};
use chrono::{DateTime, Utc};
use einklang_core::{ContentHash, Fields, Value};
use serde::Serialize;

/// A hub record with everything a sync decision needs.
#[derive(Clone, Debug, PartialEq)]
pub struct RecordState {
    /// Record id.
    pub id: RecordId,
    /// Entity.
    pub entity: String,
    /// Current values.
    pub values: Fields,
    /// Increases with every change of the record (for outbox idempotency keys).
    pub version: i64,
    /// Tombstoned.
    pub deleted: bool,
    /// Every link of the record.
    pub links: Vec<Link>,
    /// Conflicts under review: (link id, field, the remote's value then).
    pub open_conflicts: Vec<(i64, String, Value)>,
}

impl RecordState {
    /// The record's link to `connector`, if it has one.
    pub fn link_to(&self, connector: &str) -> Option<&Link> {
        self.links.iter().find(|l| l.connector == connector)
    }
}

/// A change of one existing hub record.
#[derive(Clone, Debug, PartialEq)]
pub struct RecordWrite {
    /// The record.
    pub record_id: RecordId,
    /// New values (None: values unchanged).
    pub values: Option<Fields>,
    /// Some(true): tombstone it; Some(false): bring it back; None: as it is.
    pub deleted: Option<bool>,
    /// Where the change came from (connector, `resolve`, `hub`).
    pub origin: String,
    /// Field changes for the history (may be empty).
    pub history: FieldChanges,
}

/// A change of one link row.
#[derive(Clone, Debug, PartialEq)]
pub enum LinkChange {
    /// Hub and remote agree on a new base (after a pull or a push).
    Synced {
        /// Link row.
        link_id: i64,
        /// Compare-and-swap: the update applies only while the stored hash
        /// is still this one (`None`: unconditionally).
        expect_hash: Option<ContentHash>,
        /// The remote id (it changes when a pending create got its real id).
        external_id: String,
        /// New base.
        base: Fields,
        /// Its hash.
        content_hash: ContentHash,
        /// The remote's version token.
        version: Option<String>,
        /// New status (`clean`, or `dirty` when the remote still needs a write).
        status: LinkStatus,
    },
    /// Only the sync state changes.
    State {
        /// Link row.
        link_id: i64,
        /// New status.
        status: LinkStatus,
        /// Failed attempts so far.
        attempts: u32,
        /// Not to be tried again before this.
        next_attempt_at: Option<DateTime<Utc>>,
        /// The last error, if any.
        last_error: Option<String>,
    },
    /// The link starts over as a pending create under a new marker (the
    /// remote record is gone but the hub record lives on: an edit beat a delete).
    Recreate {
        /// Link row.
        link_id: i64,
        /// The marker that stands in for the id until the create is done.
        marker: String,
    },
}

/// A new link: the record is to be created on a connector.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NewLink {
    /// Hub record.
    pub record_id: RecordId,
    /// Connector.
    pub connector: String,
    /// Entity.
    pub entity: String,
    /// Marker standing in for the external id until the create is done.
    pub marker: String,
}

/// A conflict to record.
#[derive(Clone, Debug, PartialEq)]
pub struct NewConflict {
    /// Hub record.
    pub record_id: RecordId,
    /// Entity.
    pub entity: String,
    /// The link whose remote conflicts.
    pub link_id: i64,
    /// Its connector.
    pub connector: String,
    /// The field.
    pub field: String,
    /// The hub's value.
    pub hub_value: Value,
    /// The remote's value.
    pub remote_value: Value,
    /// The policy that decided (`authority:espo`, `review`).
    pub policy: String,
    /// `held` (stays open until resolved), `take_remote` or `keep_hub`
    /// (decided by the policy, recorded for the audit trail).
    pub resolution: String,
}

/// How a person resolved a conflict.
#[derive(Clone, Debug, PartialEq)]
pub struct ConflictResolution {
    /// Conflict row.
    pub conflict_id: i64,
    /// What was chosen: `hub`, a connector name, or `value`.
    pub resolution: String,
    /// Who resolved it.
    pub by: String,
}

/// A conflict as stored.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ConflictRow {
    /// Id (for `einklang resolve`).
    pub id: i64,
    /// Hub record.
    pub record_id: RecordId,
    /// Entity.
    pub entity: String,
    /// Link.
    pub link_id: i64,
    /// Connector.
    pub connector: String,
    /// Field.
    pub field: String,
    /// Hub value when detected.
    pub hub_value: Value,
    /// Remote value when detected.
    pub remote_value: Value,
    /// Policy.
    pub policy: String,
    /// Resolution (`held` while open).
    pub resolution: String,
    /// `open`, `resolved` or `auto`.
    pub status: String,
    /// Run that found it.
    pub run_id: RunId,
    /// When found (or last seen again).
    pub created_at: DateTime<Utc>,
    /// When resolved.
    pub resolved_at: Option<DateTime<Utc>>,
    /// Who resolved it.
    pub resolved_by: Option<String>,
}

/// What an outbox entry does on the remote.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum OutboxOp {
    /// Create the record.
    Create,
    /// Update fields.
    Update,
    /// Delete it.
    Delete,
    /// Write the soft-delete fields.
    SoftDelete,
}

impl OutboxOp {
    /// Name as stored.
    pub fn as_str(self) -> &'static str {
        match self {
            OutboxOp::Create => "create",
            OutboxOp::Update => "update",
            OutboxOp::Delete => "delete",
            OutboxOp::SoftDelete => "soft_delete",
        }
    }
    /// Parse the stored name.
    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "create" => OutboxOp::Create,
            "update" => OutboxOp::Update,
            "delete" => OutboxOp::Delete,
            "soft_delete" => OutboxOp::SoftDelete,
            _ => return None,
        })
    }
}

/// One remote write waiting in (or going through) the outbox.
#[derive(Clone, Debug, PartialEq)]
pub struct OutboxEntry {
    /// Row id (0 before it is stored).
    pub id: i64,
    /// Link.
    pub link_id: i64,
    /// Hub record.
    pub record_id: RecordId,
    /// Connector.
    pub connector: String,
    /// Entity.
    pub entity: String,
    /// Operation.
    pub op: OutboxOp,
    /// `link:<id>:v<record version>:<op>`: the same write is queued once.
    pub idem_key: String,
    /// Raw fields to send.
    pub payload: serde_json::Map<String, Value>,
    /// The link's base once the write succeeded.
    pub new_base: Fields,
    /// The remote's id (the marker for a create).
    pub target: String,
    /// Version the remote must still have (conditional write).
    pub expected_version: Option<String>,
    /// `queued` or `sending` (an entry found `sending` at the start of a run
    /// may or may not have reached the remote: the run that sent it
    /// crashed, or its answer was lost), or `unknown`: a create that may
    /// have landed on a connector that cannot look it up, held until a read
    /// settles it.
    pub state: String,
}

/// The state an entry is queued in: `sending` or `unknown` when asked
/// for, else `queued`.
pub fn queue_state(e: &OutboxEntry) -> &'static str {
    match e.state.as_str() {
        "sending" => "sending",
        "unknown" => "unknown",
        _ => "queued",
    }
}

/// A change of the outbox.
#[derive(Clone, Debug, PartialEq)]
pub enum OutboxWrite {
    /// Queue an entry in its `state` (`queued`, or `sending` when its write
    /// goes out right after the commit); an entry with the same
    /// idempotency key keeps its content and takes the new state.
    Queue(OutboxEntry),
    /// Mark an entry `sending`: its write is about to go out.
    Sending(String),
    /// Remove an entry: done, or replaced by a newer plan.
    Remove(String),
}

/// Everything one step of a sync commits at once: a crash leaves all of it
/// or none of it.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct SyncBatch {
    /// New hub records with their first link ([`Change::Create`] only).
    pub creates: Vec<Change>,
    /// Changes of existing hub records.
    pub records: Vec<RecordWrite>,
    /// Link changes.
    pub links: Vec<LinkChange>,
    /// New (pending) links.
    pub new_links: Vec<NewLink>,
    /// Hub records whose changed values the other links must receive:
    /// every `clean` link of the record except the given one becomes `dirty`.
    pub dirty: Vec<(RecordId, Option<i64>)>,
    /// Conflicts to record (open ones replace an open one of the same link and field).
    pub conflicts: Vec<NewConflict>,
    /// Conflicts resolved by a person.
    pub resolved: Vec<ConflictResolution>,
    /// Outbox changes.
    pub outbox: Vec<OutboxWrite>,
    /// Cursors to set with the rest: (connector, entity, name, value).
    pub cursors: Vec<(String, String, String, String)>,
}

impl SyncBatch {
    /// Nothing to write.
    pub fn is_empty(&self) -> bool {
        self.creates.is_empty()
            && self.records.is_empty()
            && self.links.is_empty()
            && self.new_links.is_empty()
            && self.dirty.is_empty()
            && self.conflicts.is_empty()
            && self.resolved.is_empty()
            && self.outbox.is_empty()
            && self.cursors.is_empty()
    }

    /// Number of writes this batch makes (rows inserted, changed or removed).
    pub fn writes(&self) -> usize {
        self.creates.len()
            + self.records.len()
            + self.links.len()
            + self.new_links.len()
            + self.dirty.len()
            + self.conflicts.len()
            + self.resolved.len()
            + self.outbox.len()
            + self.cursors.len()
    }
}

/// A link as listed for deletion detection and pushes (no values).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LinkRef {
    /// Link row.
    pub link_id: i64,
    /// Hub record.
    pub record_id: RecordId,
    /// Remote id (the marker while pending).
    pub external_id: String,
    /// The remote's version token as of the base.
    pub version: Option<String>,
    /// Status.
    pub status: LinkStatus,
    /// Failed attempts.
    pub attempts: u32,
    /// Not before this.
    pub next_attempt_at: Option<DateTime<Utc>>,
}

/// A link as seen during a scan ([`crate::HubStore::scan_links`]): borrowed,
/// so visiting a million links allocates nothing.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LinkView<'a> {
    /// Link row.
    pub link_id: i64,
    /// Hub record.
    pub record_id: RecordId,
    /// Remote id (the marker while pending).
    pub external_id: &'a str,
    /// The remote's version token as of the base.
    pub version: Option<&'a str>,
    /// Status.
    pub status: LinkStatus,
    /// The remote has held the record: a create of it went through (the
    /// link has a base or a version). A link whose create never went
    /// through (it failed, or waits) is no record the remote could lose.
    pub held: bool,
}

impl LinkView<'_> {
    /// An owned [`LinkRef`] (for the few a scan keeps).
    pub fn to_ref(&self) -> LinkRef {
        LinkRef {
            link_id: self.link_id,
            record_id: self.record_id,
            external_id: self.external_id.to_string(),
            version: self.version.map(str::to_string),
            status: self.status,
            attempts: 0,
            next_attempt_at: None,
        }
    }
}
