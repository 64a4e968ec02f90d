//! einklang-store: the hub store.
//!
//! Owns everything einklang persists: hub records, links (with their base
//! values, version token, content hash and sync status), field-level change
//! history, runs, quarantine and per-source fingerprints. One trait,
//! [`HubStore`], with two implementations: embedded SQLite (the default,
//! [`sqlite::SqliteStore`]) and PostgreSQL ([`postgres::PgStore`]). Both run
//! the same versioned, checksummed migrations and pass the same test suite.
//!
//! Concerns beside the core trait have small traits of their own:
//! [`Leases`] (exclusive runs) and [`Integrity`] (`einklang doctor`).
//!
//! The trait is synchronous and batch-oriented: the engine hands it a batch
//! of [`Change`]s that are applied in one transaction, so a crash never
//! leaves a record without its link or history.
#![deny(missing_docs)]

pub mod history;
mod identity;
pub mod ignored;
pub mod integrity;
pub mod lease;
pub mod listings;
pub mod migrate;
mod model;
mod overview;
pub mod postgres;
pub mod queue;
pub mod sqlite;
pub mod staging;
pub mod steps;
mod sync;
pub mod tokens;

pub use history::{EntityChange, HistoryLog};
pub use identity::{
    MergeMember, MergeRow, MergeStep, MergeWrite, MergesDone, NewReview, ReviewRow, ReviewStatus,
    Survive,
};
pub use ignored::{IgnoredField, IgnoredFields};
pub use integrity::{Check, Finding, Integrity, IntegrityOptions};
pub use lease::{Fence, LeaseRequest, LeaseRow, Leases};
pub use listings::{Listings, RunsPage};
pub use model::*;
pub use overview::{Overview, Overviews, RecordSearch, OPEN_LINKS_COUNTED};
pub use queue::{release_dead_claims, Claimed, QueuedRun, RunQueue};
pub use staging::{StagedCount, StagedRecord, Staging};
pub use steps::{RunSteps, StepOutcome};
pub use sync::*;
pub use tokens::{ApiTokens, Role, TokenRow};

use einklang_core::{ContentHash, Fields};

/// Errors of the store. Any store error stops a run (record errors do not).
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// SQLite failed.
    #[error("sqlite store {path}: {source}")]
    Sqlite {
        /// Database file.
        path: String,
        /// Driver error.
        #[source]
        source: rusqlite::Error,
    },
    /// PostgreSQL failed.
    #[error("postgres store: {0}")]
    Postgres(#[from] ::postgres::Error),
    /// The migration history in the database does not match this binary.
    #[error("migration {version} ({name}): {message}")]
    Migration {
        /// Migration version.
        version: i64,
        /// Migration name.
        name: String,
        /// What is wrong (modified after applying, half-applied, newer than this binary).
        message: String,
    },
    /// A stored value could not be decoded.
    #[error("corrupt {what} in store: {message}")]
    Corrupt {
        /// Which row/column.
        what: String,
        /// Decoder message.
        message: String,
    },
    /// A compare-and-swap update of a link found it changed by someone else.
    #[error("link {link_id} was changed by another sync since it was read; run the sync again")]
    StaleLink {
        /// The link row.
        link_id: i64,
    },
    /// A merge found a record changed since its values were computed.
    #[error(
        "record {record} changed since it was read (version {expected}, now {found}); run again"
    )]
    Changed {
        /// The record.
        record: RecordId,
        /// The version the caller saw.
        expected: i64,
        /// The version in the store.
        found: i64,
    },
    /// A merge or unmerge that cannot be done, and why.
    #[error("{0}")]
    Refused(String),
    /// This handle's run no longer holds its leases (see [`lease`]).
    #[error("this run no longer holds its lease (it expired and another run took over); it wrote nothing more — run it again")]
    LeaseLost,
    /// The location string is not a store this build can open.
    #[error(
        "unsupported store location `{0}`: use a file path, `sqlite:PATH` or `postgres://...`"
    )]
    Location(String),
}

/// Result alias for store calls.
pub type Result<T, E = StoreError> = std::result::Result<T, E>;

/// The hub store. Every call is scoped to one tenant; nothing crosses
/// tenants. Leases (exclusive runs) are a trait of their own, [`Leases`],
/// and so are the checks of the store's invariants, [`Integrity`].
pub trait HubStore:
    Leases
    + Integrity
    + IgnoredFields
    + RunQueue
    + ApiTokens
    + Overviews
    + Listings
    + RecordSearch
    + Staging
    + HistoryLog
    + RunSteps
    + Send
{
    /// Apply pending migrations (idempotent). Refuses a modified or newer history.
    fn migrate(&mut self) -> Result<()>;

    /// Record the start of a run; returns its id.
    fn start_run(&mut self, tenant: &str, run: &NewRun) -> Result<RunId>;
    /// Record a run's end: status, counters, errors, finished_at.
    fn finish_run(&mut self, tenant: &str, run: RunId, outcome: &RunOutcome) -> Result<()>;

    /// For each external id (same order), the link of (connector, entity,
    /// external id) with its record id and content hash, if one exists.
    /// Cheap: does not load values.
    fn find_links(
        &mut self,
        tenant: &str,
        connector: &str,
        entity: &str,
        external_ids: &[&str],
    ) -> Result<Vec<Option<LinkKey>>>;

    /// Current values of the hub records and the link bases needed to update them.
    /// Same order as `links`; `None` when the record is gone.
    fn load_for_update(
        &mut self,
        tenant: &str,
        links: &[LinkKey],
    ) -> Result<Vec<Option<LinkedRecord>>>;

    /// Apply a batch of changes in one transaction: creates get fresh record
    /// ids (returned in order, for creates and updates alike), links are
    /// inserted or updated, one history entry is written per change.
    fn apply(&mut self, tenant: &str, run: RunId, changes: &[Change]) -> Result<Vec<RecordId>>;

    /// Store rejected records.
    fn quarantine(&mut self, tenant: &str, run: RunId, items: &[NewQuarantine]) -> Result<()>;

    /// Fingerprint of a source as of its last complete read (None: never read).
    fn source_fingerprint(
        &mut self,
        tenant: &str,
        connector: &str,
        entity: &str,
    ) -> Result<Option<String>>;
    /// Remember a source's fingerprint after a complete read.
    fn set_source_fingerprint(
        &mut self,
        tenant: &str,
        connector: &str,
        entity: &str,
        fingerprint: &str,
    ) -> Result<()>;

    /// One hub record.
    fn record(&mut self, tenant: &str, entity: &str, id: RecordId) -> Result<Option<HubRecord>>;
    /// Links of a hub record.
    fn links_of(&mut self, tenant: &str, record: RecordId) -> Result<Vec<Link>>;
    /// Change history of a hub record, oldest first.
    fn history_of(&mut self, tenant: &str, record: RecordId) -> Result<Vec<HistoryEntry>>;
    /// The latest runs, newest first.
    fn runs(&mut self, tenant: &str, limit: usize) -> Result<Vec<Run>>;
    /// One run.
    fn run(&mut self, tenant: &str, id: RunId) -> Result<Option<Run>>;
    /// The latest quarantined items, newest first (optionally of one run).
    fn quarantined(
        &mut self,
        tenant: &str,
        run: Option<RunId>,
        limit: usize,
    ) -> Result<Vec<QuarantineItem>>;
    /// Number of live (not deleted, not merged) records of an entity.
    fn count_records(&mut self, tenant: &str, entity: &str) -> Result<u64>;

    // ---- two-way sync ----

    /// Hub records with all their links and open conflicts (same order;
    /// `None` when the record does not exist).
    fn load_records(&mut self, tenant: &str, ids: &[RecordId]) -> Result<Vec<Option<RecordState>>>;
    /// Number of live links of (connector, entity): not pending, not gone.
    fn count_links(&mut self, tenant: &str, connector: &str, entity: &str) -> Result<u64>;
    /// Visit every link of (connector, entity) in byte order of external id
    /// (for merge-joins with a remote's sorted listing, and for finding the
    /// records a complete read did not see), without an allocation per link.
    fn scan_links(
        &mut self,
        tenant: &str,
        connector: &str,
        entity: &str,
        visit: &mut dyn FnMut(LinkView<'_>),
    ) -> Result<()>;
    /// Up to `limit` links of (connector, entity) that may need a write
    /// (status other than `clean`), with a link id after `after`, by id.
    fn links_to_push(
        &mut self,
        tenant: &str,
        connector: &str,
        entity: &str,
        after: i64,
        limit: usize,
    ) -> Result<Vec<LinkRef>>;
    /// Up to `limit` live records of `entity` with an id after `after` that
    /// have no link to `connector`, by id.
    fn unlinked_records(
        &mut self,
        tenant: &str,
        entity: &str,
        connector: &str,
        after: RecordId,
        limit: usize,
    ) -> Result<Vec<RecordId>>;
    /// The highest record id of `entity` (0 when it has none).
    fn max_record_id(&mut self, tenant: &str, entity: &str) -> Result<RecordId>;
    /// A named cursor of (connector, entity).
    fn cursor(
        &mut self,
        tenant: &str,
        connector: &str,
        entity: &str,
        name: &str,
    ) -> Result<Option<String>>;
    /// Set a named cursor.
    fn set_cursor(
        &mut self,
        tenant: &str,
        connector: &str,
        entity: &str,
        name: &str,
        value: &str,
    ) -> Result<()>;
    /// The outbox entries of (connector, entity), oldest first.
    fn outbox(&mut self, tenant: &str, connector: &str, entity: &str) -> Result<Vec<OutboxEntry>>;
    /// Commit a sync batch in one transaction; returns the ids of the
    /// batch's created records, in order. A compare-and-swap link update
    /// that finds the link changed fails the whole batch with
    /// [`StoreError::StaleLink`].
    fn apply_sync(&mut self, tenant: &str, run: RunId, batch: &SyncBatch) -> Result<Vec<RecordId>>;
    /// Conflicts, newest first (only open ones when `open_only`).
    fn conflicts(
        &mut self,
        tenant: &str,
        open_only: bool,
        limit: usize,
    ) -> Result<Vec<ConflictRow>>;
    /// One conflict.
    fn conflict(&mut self, tenant: &str, id: i64) -> Result<Option<ConflictRow>>;

    // ---- identity resolution ----

    /// Up to `limit` live (not deleted, not merged) records of `entity`
    /// with an id after `after`, by id, with their values.
    fn live_records(
        &mut self,
        tenant: &str,
        entity: &str,
        after: RecordId,
        limit: usize,
    ) -> Result<Vec<(RecordId, Fields)>>;
    /// Up to `limit` records of `entity` merged into another (not
    /// deleted) with an id after `after`, by id, with their values as they
    /// were merged: matching counts the e-mails and phones they carried.
    fn merged_away(
        &mut self,
        tenant: &str,
        entity: &str,
        after: RecordId,
        limit: usize,
    ) -> Result<Vec<(RecordId, Fields)>>;
    /// Merge one record into another in one transaction: the survivor
    /// takes the new values, every link, open conflict and outbox entry of
    /// the merged record moves to it, the merged record is deactivated with
    /// `merged_into`; both get a history entry, and a merge row keeps a
    /// snapshot for [`HubStore::unmerge`]. Returns the merge id.
    fn merge(&mut self, tenant: &str, run: RunId, merge: &MergeWrite) -> Result<i64>;
    /// Many merges of `entity` in one transaction, in order, each doing
    /// exactly what [`HubStore::merge`] does; the survivor's values of
    /// each are `survive` of both records as they are at that step (read
    /// in the transaction, so no step finds a record changed). A step
    /// that is refused (a record gone, merged or deleted meanwhile) stops
    /// the batch there: the steps before it are committed, its error is
    /// returned in [`MergesDone::stopped`], and the rest are not tried.
    fn merge_many(
        &mut self,
        tenant: &str,
        run: RunId,
        entity: &str,
        steps: &[MergeStep],
        survive: &Survive<'_>,
    ) -> Result<MergesDone>;
    /// Undo a merge: both records, their links, conflicts and outbox rows
    /// as they were before it (a link a sync has written since is left
    /// `dirty` so the restored values are pushed). Refused when the
    /// survivor changed after the merge.
    fn unmerge(&mut self, tenant: &str, run: RunId, merge_id: i64) -> Result<MergeRow>;
    /// Merges, newest first: all, or those a record took part in.
    fn merges(
        &mut self,
        tenant: &str,
        record: Option<RecordId>,
        limit: usize,
    ) -> Result<Vec<MergeRow>>;
    /// Queue pairs for review; a pair already known (open, accepted,
    /// rejected) is not queued again. Returns how many were new.
    fn queue_reviews(&mut self, tenant: &str, run: RunId, pairs: &[NewReview]) -> Result<u64>;
    /// Review pairs, oldest first (only open ones when `open_only`).
    fn reviews(&mut self, tenant: &str, open_only: bool, limit: usize) -> Result<Vec<ReviewRow>>;
    /// One review pair.
    fn review(&mut self, tenant: &str, id: i64) -> Result<Option<ReviewRow>>;
    /// Record a person's (or the engine's) decision on a pair.
    fn decide_review(
        &mut self,
        tenant: &str,
        id: i64,
        status: ReviewStatus,
        by: &str,
    ) -> Result<()>;
    /// Pairs (lower id first) of an entity that were rejected: never proposed again.
    fn rejected_pairs(&mut self, tenant: &str, entity: &str) -> Result<Vec<(RecordId, RecordId)>>;

    /// The match keys' state of an entity: the signature of the settings
    /// they were made with, and the history id they are current up to.
    fn match_state(&mut self, tenant: &str, entity: &str) -> Result<Option<(String, i64)>>;
    /// Replace the match keys of these records (with `rebuild`, of every
    /// record of the entity first), remember the version of each record
    /// they were made at, and set the state when given; one transaction.
    fn set_match_keys(
        &mut self,
        tenant: &str,
        entity: &str,
        keys: &[(RecordId, Vec<i64>)],
        rebuild: bool,
        state: Option<(&str, i64)>,
    ) -> Result<()>;
    /// The live records sharing one of `keys`, with their values; a key
    /// carried by more than `max_block` records is skipped.
    fn match_candidates(
        &mut self,
        tenant: &str,
        entity: &str,
        keys: &[i64],
        max_block: usize,
    ) -> Result<Vec<(RecordId, Fields)>>;
    /// How many records carry each key (same order).
    fn key_counts(&mut self, tenant: &str, entity: &str, keys: &[i64]) -> Result<Vec<u64>>;
    /// Up to `limit` (history id, record id, stale) after history id
    /// `after`, by history id: which records changed since, and whether
    /// their match keys are older than the record (made at another
    /// version, or never made).
    fn history_after(
        &mut self,
        tenant: &str,
        after: i64,
        limit: usize,
    ) -> Result<Vec<(i64, RecordId, bool)>>;
    /// The highest history id (0 when there is none).
    fn last_history_id(&mut self, tenant: &str) -> Result<i64>;
    /// Up to `limit` live records of `entity` whose id is a multiple of
    /// `every`: a sample spread over the whole hub.
    fn sample_records(
        &mut self,
        tenant: &str,
        entity: &str,
        every: i64,
        limit: usize,
    ) -> Result<Vec<(RecordId, Fields)>>;

    /// Start a dry run: everything written until [`HubStore::end_dry_run`]
    /// is thrown away (one transaction that is rolled back).
    fn begin_dry_run(&mut self) -> Result<()>;
    /// End a dry run, discarding its writes.
    fn end_dry_run(&mut self) -> Result<()>;
}

/// Open the store at `location`: a file path or `sqlite:PATH` for SQLite,
/// `postgres://...` / `postgresql://...` for PostgreSQL. Runs migrations.
pub fn open(location: &str) -> Result<Box<dyn HubStore>> {
    let mut store: Box<dyn HubStore> =
        if location.starts_with("postgres://") || location.starts_with("postgresql://") {
            Box::new(postgres::PgStore::connect(location)?)
        } else {
            let path = location.strip_prefix("sqlite:").unwrap_or(location);
            if path.contains("://") {
                return Err(StoreError::Location(location.to_string()));
            }
            return sqlite::SqliteStore::open_migrated(path).map(|s| Box::new(s) as _);
        };
    store.migrate()?;
    Ok(store)
}

#[allow(dead_code)]
fn _assert_types(_: ContentHash, _: Fields) {}
