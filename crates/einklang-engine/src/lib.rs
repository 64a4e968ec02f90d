//! einklang-engine: runs jobs against the hub store.
//!
//! Owns the data flow of a run: open the connectors a job names, read
//! their records, map, normalise and validate them, merge each into its hub
//! record field by field, decide records a source lost, and write the hub's
//! changes back to the connectors that take them — recording every field
//! change in the history, every rejected record in the quarantine and
//! every conflict for review.
//!
//! A step ([`step`]) has sides: connectors it reads, writes, or both (a
//! `pull` step reads one, a `push` step writes one, a `sync` step does both
//! for several). For one entity, in order:
//!
//! 1. **Recover** the writes a crashed run left `sending` in the outbox
//!    ([`outbound`]): a create the remote may have made is looked up by its
//!    marker before anything is read, so it is never made twice.
//! 2. **Read** each read side ([`pull`]). A source whose fingerprint did not
//!    change costs nothing. A connector that lists ids and version tokens
//!    is merge-joined with the links and only new and changed records are
//!    fetched; others are streamed whole and compared by content hash.
//!    Each record is mapped and normalised, then planned
//!    ([`inbound`], pure): no link → a new hub record; a changed remote →
//!    the 3-way per-field merge of remote, hub and the link's base
//!    ([`einklang_core::merge`]) under the entity's conflict policies, and
//!    the record's other links become `dirty`. Each batch commits in one
//!    transaction.
//! 3. **Decide the lost** ([`deletes`]): links the complete read did not
//!    see — an edit beats a delete, a read-only source forgets rather than
//!    deletes, and a guard stops a side that suddenly lost too much.
//! 4. **Write** each written side ([`outbound`]): records without a link get
//!    a pending one; links that are not clean are planned (pure: the
//!    projection of the hub record through the mapping against the link's
//!    base), queued in the durable outbox, written in batches, and settled
//!    with the ids and version tokens from the write answers — so the next
//!    read sees no change and a second sync writes nothing.
//!
//! Two error levels: a store error stops the run (`failed`); a record or
//! connector error is collected (quarantine, failed link, failed step) and
//! the run goes on (`partial`). Guards and held conflicts end a run
//! `needs_review`. A dry run ([`RunOptions::dry_run`]) does all of it inside
//! a transaction that is rolled back and writes no remote: its
//! [`RunReport::plan`] is what `einklang plan` prints.
#![deny(missing_docs)]

pub mod compare;
mod deletes;
pub mod doctor;
pub mod identity;
mod inbound;
pub mod invariant;
mod job;
pub mod lease;
mod listing;
mod outbound;
mod progress;
mod pull;
mod refresh;
pub mod refs;
pub mod report;
mod resolve;
mod retry;
mod side;
pub mod snapshots;
mod step;

pub use job::{
    lease_names, run_job, run_job_with, ConnectorSource, Registry, RunOptions, RunReport,
    StepReport,
};
pub use lease::{Holding, LeaseOptions};
pub use progress::{NoProgress, Progress};
pub use refresh::{approvable, kept_snapshots, Unapprovable};
pub use report::{FieldDiff, Plan, PlanItem};
pub use resolve::{resolve, typed_value, Choice, ResolveError, Resolved};

/// Errors that stop a run.
#[derive(Debug, thiserror::Error)]
pub enum EngineError {
    /// The job is not in the config.
    #[error("no job named `{0}` in the config")]
    UnknownJob(String),
    /// The hub store failed; the run was stopped.
    #[error(transparent)]
    Store(#[from] einklang_store::StoreError),
    /// Another run holds a lease this run needs (see [`lease`]).
    #[error("{}", lease::busy_message(held, *waited))]
    Busy {
        /// The lease, with its holder.
        held: Box<einklang_store::LeaseRow>,
        /// How long this run waited for it.
        waited: Option<std::time::Duration>,
    },
    /// Tests only: the run stopped as if the process had died.
    #[error("injected crash at {0:?}")]
    Crashed(CrashPoint),
}

/// Where a test may stop a run as if the process had died.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CrashPoint {
    /// After one side's read was committed.
    AfterInbound,
    /// After outbox entries were committed, before their write went out.
    BeforeRemoteWrite,
    /// After a write call returned, before its results were committed.
    AfterRemoteWrite,
    /// Inside a refresh's swap, after a page of its writes.
    InSwap,
}

/// Crash at the `nth` (1-based) time the run reaches `point`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CrashAt {
    /// The point.
    pub point: CrashPoint,
    /// Which time it is reached.
    pub nth: u32,
}

/// Counts the crash points a run passes and stops it at the chosen one.
pub(crate) struct CrashGuard {
    at: Option<CrashAt>,
    seen: u32,
}

impl CrashGuard {
    pub(crate) fn new(at: Option<CrashAt>) -> Self {
        CrashGuard { at, seen: 0 }
    }

    /// `Err(Crashed)` when this is the chosen point's nth passing.
    pub(crate) fn check(&mut self, point: CrashPoint) -> Result<(), EngineError> {
        match self.at {
            Some(at) if at.point == point => {
                self.seen += 1;
                if self.seen == at.nth {
                    return Err(EngineError::Crashed(point));
                }
                Ok(())
            }
            _ => Ok(()),
        }
    }
}
