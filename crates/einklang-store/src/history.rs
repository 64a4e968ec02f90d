//! The history of an entity's records over time, for `einklang changes
//! ENTITY --since T` (seed 004's "Recent changes" as far back as the hub
//! remembers, not only between the last two snapshots): every history
//! entry of the entity's records written at or after an instant, oldest
//! first, paged by history id. History rows carry no entity, so each
//! store joins `records`; the rows are scanned by id from the start, so
//! a query reads the whole history once (no index on `at`: every write
//! would pay for it).

use crate::{FieldChanges, RecordId, Result, RunId};
use chrono::{DateTime, Utc};

/// One history entry of a record.
#[derive(Clone, Debug, PartialEq)]
pub struct EntityChange {
    /// The history row (the page key).
    pub history_id: i64,
    /// The record.
    pub record_id: RecordId,
    /// The run that wrote it.
    pub run_id: RunId,
    /// Where it came from (a connector, `hub`, `merge`, …).
    pub origin: String,
    /// The record's first entry (every field new).
    pub initial: bool,
    /// When.
    pub at: DateTime<Utc>,
    /// The fields it changed, old and new.
    pub changes: FieldChanges,
}

impl EntityChange {
    /// What the entry did to its record: `new` (its first entry), `gone`
    /// (every field emptied: a delete), else `changed`.
    pub fn change(&self) -> &'static str {
        match (self.initial, self.changes.values().all(|c| c.new.is_null())) {
            (true, _) => "new",
            (false, true) => "gone",
            (false, false) => "changed",
        }
    }
}

/// Reading history by entity and time.
pub trait HistoryLog {
    /// Up to `limit` history entries of records of `entity` written at
    /// or after `since`, with a history id above `after`, by history id.
    fn changes_since(
        &mut self,
        tenant: &str,
        entity: &str,
        since: DateTime<Utc>,
        after: i64,
        limit: usize,
    ) -> Result<Vec<EntityChange>>;
}
