//! Plain data types the store reads and writes.

use chrono::{DateTime, Utc};
use einklang_core::{ContentHash, Fields, Value};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// Id of a hub record (unique across entities within one store).
pub type RecordId = i64;
/// Id of a run.
pub type RunId = i64;

/// How a run was started.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum RunSource {
    /// From the command line or a "sync now" button.
    Manual,
    /// By the scheduler.
    Schedule,
    /// By a webhook.
    Webhook,
    /// Through the HTTP API.
    Api,
    /// By `sync --watch` when its interval passed.
    Interval,
    /// By `sync --watch` when a PostgreSQL `NOTIFY` woke it.
    Notify,
    /// By the sweep of `einklang serve`: the safety net behind webhooks.
    Sweep,
}

/// Status of a run.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum RunStatus {
    /// Waiting in the queue of `einklang serve` for a worker.
    Queued,
    /// Still going (or crashed without finishing).
    Running,
    /// Everything went through.
    Succeeded,
    /// Finished, but some records were rejected or failed.
    Partial,
    /// Stopped by an error.
    Failed,
    /// Stopped by a guardrail; a person must look.
    NeedsReview,
    /// Its process stopped without finishing (killed, crashed, lost its
    /// machine): its lease expired while it was still `running`.
    Abandoned,
}

impl RunStatus {
    /// Name as stored and printed.
    pub fn as_str(self) -> &'static str {
        match self {
            RunStatus::Queued => "queued",
            RunStatus::Running => "running",
            RunStatus::Succeeded => "succeeded",
            RunStatus::Partial => "partial",
            RunStatus::Failed => "failed",
            RunStatus::NeedsReview => "needs_review",
            RunStatus::Abandoned => "abandoned",
        }
    }
    /// Parse the stored name.
    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "queued" => RunStatus::Queued,
            "running" => RunStatus::Running,
            "succeeded" => RunStatus::Succeeded,
            "partial" => RunStatus::Partial,
            "failed" => RunStatus::Failed,
            "needs_review" => RunStatus::NeedsReview,
            "abandoned" => RunStatus::Abandoned,
            _ => return None,
        })
    }
}

impl RunSource {
    /// Name as stored and printed.
    pub fn as_str(self) -> &'static str {
        match self {
            RunSource::Manual => "manual",
            RunSource::Schedule => "schedule",
            RunSource::Webhook => "webhook",
            RunSource::Api => "api",
            RunSource::Interval => "interval",
            RunSource::Notify => "notify",
            RunSource::Sweep => "sweep",
        }
    }
    /// Parse the stored name.
    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "manual" => RunSource::Manual,
            "schedule" => RunSource::Schedule,
            "webhook" => RunSource::Webhook,
            "api" => RunSource::Api,
            "interval" => RunSource::Interval,
            "notify" => RunSource::Notify,
            "sweep" => RunSource::Sweep,
            _ => return None,
        })
    }
}

/// A run about to start.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NewRun {
    /// Job name.
    pub job: String,
    /// How it was started.
    pub source: RunSource,
    /// Who started it (user email, "cli", "scheduler").
    pub triggered_by: String,
}

/// Counters of a run, by name (`read`, `created`, `updated`, `unchanged`,
/// `filtered`, `quarantined`, ...).
pub type Counters = BTreeMap<String, u64>;

/// How a run ended.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RunOutcome {
    /// Final status.
    pub status: RunStatus,
    /// Counters.
    pub counters: Counters,
    /// Run-level error messages (never secrets).
    pub errors: Vec<String>,
}

/// A run as stored.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Run {
    /// Id.
    pub id: RunId,
    /// Job name.
    pub job: String,
    /// How it was started.
    pub source: RunSource,
    /// Who started it.
    pub triggered_by: String,
    /// Status.
    pub status: RunStatus,
    /// Counters.
    pub counters: Counters,
    /// Errors.
    pub errors: Vec<String>,
    /// Start time.
    pub started_at: DateTime<Utc>,
    /// End time (None while running).
    pub finished_at: Option<DateTime<Utc>>,
}

/// The identifying part of a link, as found by [`crate::HubStore::find_links`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LinkKey {
    /// Link row id.
    pub link_id: i64,
    /// The hub record it points at.
    pub record_id: RecordId,
    /// Content hash of the base.
    pub content_hash: ContentHash,
    /// Version token of the remote as of the base.
    pub version: Option<String>,
    /// Sync status.
    pub status: LinkStatus,
}

/// A hub record together with one link's base, for computing an update.
#[derive(Clone, Debug, PartialEq)]
pub struct LinkedRecord {
    /// The link.
    pub key: LinkKey,
    /// Entity of the record.
    pub entity: String,
    /// Current hub values.
    pub values: Fields,
    /// The link's base: the values both sides agreed on at the last sync.
    pub base: Fields,
}

/// Sync status of a link.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum LinkStatus {
    /// Waiting for its first sync.
    Pending,
    /// A write is in flight.
    Syncing,
    /// In agreement with the hub.
    Clean,
    /// Hub changed since base; needs a push.
    Dirty,
    /// Last attempt failed; will retry.
    Failed,
    /// Gave up after the retry schedule.
    PermanentlyFailed,
    /// A conflict waits for review.
    Conflict,
    /// The remote record is gone.
    DeletedRemote,
}

impl LinkStatus {
    /// Name as stored.
    pub fn as_str(self) -> &'static str {
        match self {
            LinkStatus::Pending => "pending",
            LinkStatus::Syncing => "syncing",
            LinkStatus::Clean => "clean",
            LinkStatus::Dirty => "dirty",
            LinkStatus::Failed => "failed",
            LinkStatus::PermanentlyFailed => "permanently_failed",
            LinkStatus::Conflict => "conflict",
            LinkStatus::DeletedRemote => "deleted_remote",
        }
    }
    /// Parse the stored name.
    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "pending" => LinkStatus::Pending,
            "syncing" => LinkStatus::Syncing,
            "clean" => LinkStatus::Clean,
            "dirty" => LinkStatus::Dirty,
            "failed" => LinkStatus::Failed,
            "permanently_failed" => LinkStatus::PermanentlyFailed,
            "conflict" => LinkStatus::Conflict,
            "deleted_remote" => LinkStatus::DeletedRemote,
            _ => return None,
        })
    }
}

/// A link as stored.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Link {
    /// Link row id.
    pub id: i64,
    /// Hub record.
    pub record_id: RecordId,
    /// Connector name.
    pub connector: String,
    /// Entity.
    pub entity: String,
    /// Id in the connector.
    pub external_id: String,
    /// Base values.
    #[cfg_attr(feature = "openapi", schema(value_type = Object))]
    pub base: Fields,
    /// Remote version token.
    pub version: Option<String>,
    /// Content hash of the base (hex).
    pub content_hash: String,
    /// Sync status.
    pub status: LinkStatus,
    /// Failed attempts so far.
    pub attempts: u32,
    /// Last error message.
    pub last_error: Option<String>,
    /// Not to be retried before this.
    pub next_attempt_at: Option<DateTime<Utc>>,
    /// Last change of the link.
    pub updated_at: DateTime<Utc>,
}

impl Link {
    /// The base's content hash.
    pub fn hash(&self) -> ContentHash {
        ContentHash(u128::from_str_radix(&self.content_hash, 16).unwrap_or(0))
    }
}

/// Old → new value of one field.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct FieldChange {
    /// Value before (null when the field was absent).
    pub old: Value,
    /// Value after (null when the field was removed).
    pub new: Value,
}

/// Field changes of one record in one step, by field name.
pub type FieldChanges = BTreeMap<String, FieldChange>;

/// A link to write with a change.
#[derive(Clone, Debug, PartialEq)]
pub struct LinkWrite {
    /// Connector name.
    pub connector: String,
    /// Id in the connector.
    pub external_id: String,
    /// New base values.
    pub base: Fields,
    /// Content hash of `base`.
    pub content_hash: ContentHash,
    /// Remote version token, if the connector has one.
    pub version: Option<String>,
}

/// One change the engine applies to the hub.
#[derive(Clone, Debug, PartialEq)]
pub enum Change {
    /// A new hub record with its first link.
    Create {
        /// Entity.
        entity: String,
        /// Values.
        values: Fields,
        /// Its link.
        link: LinkWrite,
        /// History: every field, old = null.
        history: FieldChanges,
    },
    /// New values for an existing record, and its link's new base.
    Update {
        /// The record.
        record_id: RecordId,
        /// The link row being updated.
        link_id: i64,
        /// The record's complete new values.
        values: Fields,
        /// The link's new base.
        link: LinkWrite,
        /// History of the fields that changed (may be empty when only the base moved).
        history: FieldChanges,
    },
}

/// One history entry: a set of field changes made by one run from one origin.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct HistoryEntry {
    /// Run that made the change.
    pub run_id: RunId,
    /// Where it came from (connector name, or `hub` / `merge` ...).
    pub origin: String,
    /// Field changes.
    #[cfg_attr(feature = "openapi", schema(value_type = std::collections::BTreeMap<String, FieldChange>))]
    pub changes: FieldChanges,
    /// When.
    pub at: DateTime<Utc>,
}

/// A hub (golden) record.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct HubRecord {
    /// Id.
    pub id: RecordId,
    /// Entity.
    pub entity: String,
    /// Values.
    #[cfg_attr(feature = "openapi", schema(value_type = Object))]
    pub values: Fields,
    /// Survivor this record was merged into.
    pub merged_into: Option<RecordId>,
    /// Tombstone time.
    pub deleted_at: Option<DateTime<Utc>>,
    /// Created.
    pub created_at: DateTime<Utc>,
    /// Last changed.
    pub updated_at: DateTime<Utc>,
}

/// A rejected record to store.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NewQuarantine {
    /// Connector it came from.
    pub connector: String,
    /// Entity it was meant for.
    pub entity: String,
    /// External id, when it could be read.
    pub external_id: Option<String>,
    /// Position in the source: `line 17`, `file anna.vcf`.
    pub position: String,
    /// The raw payload (shortened to a bounded size).
    pub raw: String,
    /// Why it was rejected.
    pub reason: String,
}

/// A quarantined record as stored.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct QuarantineItem {
    /// Row id.
    pub id: i64,
    /// Run that rejected it.
    pub run_id: RunId,
    /// Connector.
    pub connector: String,
    /// Entity.
    pub entity: String,
    /// External id, when known.
    pub external_id: Option<String>,
    /// Position in the source.
    pub position: String,
    /// Raw payload.
    pub raw: String,
    /// Reason.
    pub reason: String,
    /// When.
    pub created_at: DateTime<Utc>,
}
