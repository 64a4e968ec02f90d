//! The run queue of `einklang serve`: runs asked for (by the API, the
//! scheduler, a webhook) wait here as runs of status `queued` until a
//! worker claims one, so the caller gets a run id at once and any number
//! of workers — threads of one process, or processes sharing one
//! PostgreSQL — share the work.
//!
//! What einklang follows (after Oban, River and pg-boss):
//! - **Claiming** is one statement that picks the oldest waiting row and
//!   marks it claimed: PostgreSQL with `FOR UPDATE SKIP LOCKED` (workers
//!   never wait for each other, never take the same row), SQLite inside an
//!   immediate transaction (one writer at a time anyway).
//! - **A claim is a lease** (`claim_expires_at`), renewed by the worker's
//!   heartbeat ([`RunQueue::heartbeat`]) while the run goes on. A worker
//!   that dies stops renewing; once the claim expires any worker claims
//!   the row again (Oban's "rescue" of orphaned jobs, River's rescuer):
//!   the run is started again under the same id. That is safe because a
//!   run is idempotent against the hub and the outbox: the engine's own
//!   leases mark the dead attempt `abandoned` and the outbox settles what
//!   it left `sending`, so a unit of work takes effect once.
//! - **Unique keys** (`dedupe_key`): a schedule tick is enqueued with the
//!   key `schedule:<job>:<tick>`, so of several processes enqueuing the
//!   same tick one wins and the others get `None` (pg-boss's singleton
//!   keys; no leader needed).
//! - **Busy jobs wait**: a run whose job is already running elsewhere is
//!   put back with a `not_before` ([`RunQueue::postpone`]), never run
//!   twice at once (the engine's job lease decides).

use crate::{migrate, NewRun, Result, RunId, RunSource, StoreError};
use chrono::{DateTime, Utc};
use std::collections::BTreeMap;
use std::time::Duration;

/// A run to enqueue.
#[derive(Clone, Debug, PartialEq)]
pub struct QueuedRun {
    /// Job, source and who asked.
    pub run: NewRun,
    /// For a targeted run (a webhook's): the external ids to read, by
    /// connector.
    pub targets: Option<BTreeMap<String, Vec<String>>>,
    /// A key no other queued run may have (`schedule:<job>:<tick>`).
    pub dedupe_key: Option<String>,
    /// The schedule tick it runs for.
    pub scheduled_for: Option<DateTime<Utc>>,
    /// Compare every record, ignoring source fingerprints (the engine's
    /// `full`): the sweep's daily re-check, or a caller's full reconcile.
    pub thorough: bool,
    /// Apply the snapshot this held refresh run staged (the engine's
    /// `approve`), instead of reading the connector.
    pub approves: Option<RunId>,
}

/// A run a worker claimed.
#[derive(Clone, Debug, PartialEq)]
pub struct Claimed {
    /// The run's id (already recorded, status `queued` or, claimed again
    /// after a dead worker, whatever that attempt left).
    pub run_id: RunId,
    /// Job, source and who asked, as enqueued.
    pub run: NewRun,
    /// Targets, as enqueued.
    pub targets: Option<BTreeMap<String, Vec<String>>>,
    /// How many times it was claimed, this claim included.
    pub attempts: u32,
    /// Compare every record, as enqueued.
    pub thorough: bool,
    /// The held refresh run it approves, as enqueued.
    pub approves: Option<RunId>,
}

/// The queue (see the module docs). Every method is scoped to a tenant.
pub trait RunQueue {
    /// Record a run as `queued` and put it in the queue, in one
    /// transaction. `None` when a run with the same `dedupe_key` was
    /// queued before (nothing recorded).
    fn enqueue(&mut self, tenant: &str, run: &QueuedRun) -> Result<Option<RunId>>;

    /// Queue a webhook's records of `connector` for a targeted run of
    /// `run.job`, coalesced: a webhook run of the job still waiting out
    /// its window takes the ids (the run becomes an ordinary one past
    /// [`MAX_TARGETS`] ids, or for a call that named none); otherwise a
    /// new run waits `window` for more. Committed before it returns, so an
    /// accepted call is never lost. Returns the run's id.
    fn enqueue_webhook(
        &mut self,
        tenant: &str,
        run: &NewRun,
        connector: &str,
        ids: &[String],
        window: Duration,
    ) -> Result<RunId>;

    /// Claim the oldest waiting run (queued and due, or claimed by a
    /// worker whose claim expired) for `worker`, for `ttl`.
    fn claim(&mut self, tenant: &str, worker: &str, ttl: Duration) -> Result<Option<Claimed>>;

    /// The workers holding claims now (`host:pid-N` names).
    fn claimers(&mut self, tenant: &str) -> Result<Vec<String>>;

    /// Give `worker`'s claims back to the queue at once (a worker whose
    /// process is gone: [`release_dead_claims`]).
    fn release_claims(&mut self, tenant: &str, worker: &str) -> Result<u64>;

    /// The engine starts claimed run `run`: `running` from now (again,
    /// when an earlier attempt died).
    fn begin_queued(&mut self, tenant: &str, run: RunId) -> Result<()>;

    /// Extend `worker`'s claims; false when it holds none any more.
    fn heartbeat(&mut self, tenant: &str, worker: &str, ttl: Duration) -> Result<bool>;

    /// Put a claimed run back, to be claimed again after `delay` (its job
    /// is busy).
    fn postpone(&mut self, tenant: &str, run: RunId, worker: &str, delay: Duration) -> Result<()>;

    /// The run is over (whatever its status): out of the queue.
    fn complete(&mut self, tenant: &str, run: RunId, worker: &str) -> Result<()>;

    /// When the latest thorough run of `job` was queued (the sweep's
    /// daily re-check looks here).
    fn last_thorough(&mut self, tenant: &str, job: &str) -> Result<Option<DateTime<Utc>>>;

    /// Whether `job` has a run queued and not yet claimed.
    fn waiting(&mut self, tenant: &str, job: &str) -> Result<bool>;

    /// Runs waiting or claimed.
    fn queue_depth(&mut self, tenant: &str) -> Result<u64>;

    /// The latest schedule tick ever enqueued for `job`.
    fn last_tick(&mut self, tenant: &str, job: &str) -> Result<Option<DateTime<Utc>>>;
}

/// Give back the claims of workers of this host whose process is gone
/// (killed, crashed), as leases are freed: their runs are claimed again
/// at once instead of after the claim's expiry. Worker names are
/// `<host>:<pid>-<n>`. Returns how many claims were given back.
pub fn release_dead_claims(store: &mut (impl RunQueue + ?Sized), tenant: &str) -> Result<u64> {
    let host = crate::lease::hostname();
    let mut released = 0;
    for worker in store.claimers(tenant)? {
        let Some((h, rest)) = worker.rsplit_once(':') else {
            continue;
        };
        let pid = rest.split('-').next().and_then(|p| p.parse::<u32>().ok());
        if h == host && pid.is_some_and(crate::lease::process_gone) {
            released += store.release_claims(tenant, &worker)?;
        }
    }
    Ok(released)
}

/// Record ids a webhook run reads at most; more make an ordinary run
/// (one listing is then cheaper than a request per record).
pub const MAX_TARGETS: usize = 500;

/// Targets: what a coalesced webhook run reads.
pub type Targets = BTreeMap<String, Vec<String>>;

/// `targets` with `ids` of `connector` added: `None` (read everything)
/// stays `None`, as does a call naming no id, or more than
/// [`MAX_TARGETS`] ids in all.
pub fn add_targets(targets: Option<Targets>, connector: &str, ids: &[String]) -> Option<Targets> {
    let mut targets = targets?;
    if ids.is_empty() {
        return None;
    }
    let list = targets.entry(connector.to_string()).or_default();
    for id in ids {
        if !list.contains(id) {
            list.push(id.clone());
        }
    }
    let n: usize = targets.values().map(Vec::len).sum();
    (n <= MAX_TARGETS).then_some(targets)
}

/// A queued run's targets as stored (JSON).
pub(crate) fn targets_json(t: &Option<BTreeMap<String, Vec<String>>>) -> Option<String> {
    t.as_ref().map(crate::migrate::json)
}

/// A claimed row as the queue hands it out.
pub(crate) fn claimed(
    run_id: RunId,
    job: String,
    targets: Option<&str>,
    source: &str,
    triggered_by: String,
    (attempts, thorough, approves): (u32, bool, Option<RunId>),
) -> Result<Claimed> {
    Ok(Claimed {
        run_id,
        run: NewRun {
            job,
            source: RunSource::parse(source).ok_or_else(|| StoreError::Corrupt {
                what: format!("run {run_id}"),
                message: format!("unknown source `{source}`"),
            })?,
            triggered_by,
        },
        targets: targets
            .map(|t| migrate::parse("run_queue targets", t))
            .transpose()?,
        attempts,
        thorough,
        approves,
    })
}
