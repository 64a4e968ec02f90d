//! A refresh run's staged snapshot: every record the connector returned
//! for the run, mapped, kept per run and entity before anything in the
//! hub changes. The pre-checks count it, the swap reads it a page at a
//! time, a failed or held run keeps it for inspection (`einklang staging
//! RUN`) and for `approve`, and the snapshots a job keeps are what
//! `einklang changes` compares. Nothing here is hub data: staging a record
//! changes no record, link, history row or outbox row.

use crate::{Result, RunId};
use einklang_core::Fields;

/// One staged record.
#[derive(Clone, Debug, PartialEq)]
pub struct StagedRecord {
    /// The hub entity it maps to.
    pub entity: String,
    /// Its id in the source (a Kommo lead id, an employee number).
    pub external_id: String,
    /// Its values, mapped and normalised.
    pub values: Fields,
}

/// How many records a run staged for one entity.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StagedCount {
    /// The run.
    pub run: RunId,
    /// The entity.
    pub entity: String,
    /// Distinct records (by external id).
    pub records: u64,
    /// Records the source returned more than once (paging while records
    /// change moves some onto a second page): each counted once above,
    /// its last copy kept.
    pub duplicates: u64,
}

/// Staged snapshots in the hub store.
pub trait Staging: Send {
    /// Stage records for `run` in one transaction. A record staged again
    /// under the same entity and external id replaces the earlier copy.
    fn stage(&mut self, tenant: &str, run: RunId, records: &[StagedRecord]) -> Result<()>;
    /// What `run` staged, per entity (sorted by entity).
    fn staged_counts(&mut self, tenant: &str, run: RunId) -> Result<Vec<StagedCount>>;
    /// Up to `limit` staged records of `run` and `entity` whose external
    /// ids sort after `after` (`""`: from the first), in that order.
    fn staged_page(
        &mut self,
        tenant: &str,
        run: RunId,
        entity: &str,
        after: &str,
        limit: usize,
    ) -> Result<Vec<StagedRecord>>;
    /// Every run with staged records, newest first, per entity.
    fn staged_runs(&mut self, tenant: &str) -> Result<Vec<StagedCount>>;
    /// Drop what `run` staged; returns how many records.
    fn drop_staged(&mut self, tenant: &str, run: RunId) -> Result<u64>;
    /// Put what `from` staged under run `to` (an approved snapshot
    /// becomes the snapshot of the run that applied it); returns how many
    /// records.
    fn move_staged(&mut self, tenant: &str, from: RunId, to: RunId) -> Result<u64>;
    /// Open the swap of a refresh: every store write until
    /// [`Staging::end_swap`] joins one transaction, kept or undone as a
    /// whole — a refresh applies its snapshot through the ordinary writes
    /// (records, links, history, deletes) inside it, so a failure or a
    /// crash halfway leaves the hub as it was. SQLite takes the write lock
    /// at once (other writers wait); PostgreSQL runs each write as a
    /// savepoint of the outer transaction.
    fn begin_swap(&mut self) -> Result<()>;
    /// Close the swap: keep everything written since
    /// [`Staging::begin_swap`] (`commit`), or none of it.
    fn end_swap(&mut self, commit: bool) -> Result<()>;
}
