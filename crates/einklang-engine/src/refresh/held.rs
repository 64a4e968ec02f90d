//! Which runs can be approved: a refresh held for review
//! (`needs_review`) whose job is still configured with a refresh step and
//! whose staged snapshot is still there. `einklang approve`, `plan
//! --approve` and `POST /api/runs/{id}/approve` ask the same.

use einklang_config::{Config, Step};
use einklang_store::{HubStore, Run, RunId, RunStatus, StoreError};

/// Why a run cannot be approved.
#[derive(Debug, thiserror::Error)]
pub enum Unapprovable {
    /// There is no such run (of this tenant).
    #[error("no run {0}")]
    NoRun(RunId),
    /// It is not a held refresh, or its staging is gone.
    #[error("{0}")]
    Refused(String),
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Run `run` when it is a held refresh that can be approved.
pub fn approvable(
    config: &Config,
    store: &mut dyn HubStore,
    run: RunId,
) -> Result<Run, Unapprovable> {
    let tenant = config.tenant.as_str();
    let held = store.run(tenant, run)?.ok_or(Unapprovable::NoRun(run))?;
    let refused = |why: String| Err(Unapprovable::Refused(why));
    if held.status != RunStatus::NeedsReview {
        return refused(format!(
            "run {} is {}, not needs_review: only a held refresh is approved",
            held.id,
            held.status.as_str()
        ));
    }
    let Some(job) = config.jobs.get(&held.job) else {
        return refused(format!(
            "run {}: job `{}` is no longer in the config",
            held.id, held.job
        ));
    };
    if !job.steps.iter().any(|s| matches!(s, Step::Refresh { .. })) {
        return refused(format!(
            "run {}: job `{}` has no refresh step: nothing to approve",
            held.id, held.job
        ));
    }
    if store.staged_counts(tenant, held.id)?.is_empty() {
        return refused(format!(
            "run {} has no staged records left (dropped with einklang staging --drop?)",
            held.id
        ));
    }
    Ok(held)
}
