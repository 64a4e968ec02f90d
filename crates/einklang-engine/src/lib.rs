//! einklang-engine: runs jobs against the hub store.
//!
//! Owns the data flow of a run: open the connectors a job names, read their
//! records, map, normalise and validate them, decide per record what changes
//! in the hub, and apply those changes in batches, recording every field
//! change in the history and every rejected record in the quarantine.
//!
//! A pull step, in order:
//! 1. Ask the connector for a fingerprint of the whole source. If it equals
//!    the fingerprint stored after the last complete read (and the run is not
//!    `--full`), the step is done: an unchanged source costs no record work.
//! 2. Stream the records in batches. Each record is mapped
//!    ([`einklang_core::Mapping::pull`]), normalised by the entity schema, and
//!    checked for a duplicate external id within this read; a failure at any
//!    point sends it to the quarantine with its position and reason.
//! 3. For a batch, look up the links of its external ids. No link: create a
//!    hub record and its link. Same content hash: nothing to do. Otherwise
//!    the fields that changed since the link's base are applied to the hub
//!    record and the base moves on ([`plan::plan_pull`], a pure function).
//! 4. Apply the batch's changes in one store transaction.
//! 5. After the whole read, store the new fingerprint.
//!
//! Two error levels: a store error stops the run (`failed`); a record error
//! is collected (quarantine, run `partial`); a connector error fails its step
//! and the job goes on with the next step.
#![deny(missing_docs)]

mod job;
pub mod plan;
mod progress;
mod pull;

pub use job::{run_job, RunOptions, RunReport, StepReport};
pub use progress::{NoProgress, Progress};

/// Errors that stop a run.
#[derive(Debug, thiserror::Error)]
pub enum EngineError {
    /// The job is not in the config.
    #[error("no job named `{0}` in the config")]
    UnknownJob(String),
    /// The hub store failed; the run was stopped.
    #[error(transparent)]
    Store(#[from] einklang_store::StoreError),
}
