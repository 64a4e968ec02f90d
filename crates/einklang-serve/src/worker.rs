//! A worker: a thread with a store handle of its own that claims queued
//! runs ([`einklang_store::RunQueue::claim`]) and runs them through the
//! engine under the run's id. While a run goes on, a heartbeat thread
//! (another store handle) renews the claim; a worker that dies stops
//! renewing and another one takes the run again once the claim expires —
//! at once when the dead worker was on this host (its process id is gone,
//! [`einklang_store::release_dead_claims`]).
//!
//! A run whose job (or an entity or connector of it) is held by another
//! run — the engine's leases — is put back for [`BUSY_DELAY`]: two runs
//! of one job never overlap, and nothing is lost.

use crate::live::{LiveRuns, RunProgress};
use crate::Kick;
use einklang_config::Config;
use einklang_engine::{run_job, EngineError, LeaseOptions, RunOptions};
use einklang_store::{Claimed, HubStore, RunOutcome, RunStatus};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

/// How long a claim lives without a heartbeat.
pub const CLAIM_TTL: Duration = Duration::from_secs(30);

/// How long a run whose job is busy waits before it is claimed again:
/// short, since a webhook storm's calls wait in that run (at 5 s a storm's
/// later calls waited ~5 s for their run, bench/RESULTS.md "After the
/// shared intake"); a claim of a waiting run is one store transaction.
pub const BUSY_DELAY: Duration = Duration::from_secs(1);

/// Work off the queue until `kick` says stop: claim, run, complete.
pub fn work(
    config: &Config,
    store: &mut dyn HubStore,
    (name, live): (&str, &Arc<LiveRuns>),
    kick: &Kick,
    poll: Duration,
) {
    let tenant = config.tenant.clone();
    let mut seen = 0;
    while !kick.stopping() {
        // a killed process's runs are taken again at once, not after the claim's expiry
        if let Err(e) = einklang_store::release_dead_claims(store, &tenant) {
            tracing::warn!(worker = name, error = %e, "looking for claims of dead workers failed");
        }
        match store.claim(&tenant, name, CLAIM_TTL) {
            Ok(Some(claimed)) => {
                let progress = live.start(claimed.run_id);
                run_claimed(config, store, (name, &progress), &claimed);
                live.end(claimed.run_id);
            }
            Ok(None) => {
                kick.wait(&mut seen, poll);
            }
            Err(e) => {
                tracing::warn!(worker = name, error = %e, "claiming a queued run failed");
                kick.wait(&mut seen, poll);
            }
        }
    }
    tracing::info!(worker = name, "worker stopped");
}

/// Run one claimed run, its claim renewed meanwhile.
fn run_claimed(
    config: &Config,
    store: &mut dyn HubStore,
    (worker, progress): (&str, &RunProgress),
    c: &Claimed,
) {
    let tenant = config.tenant.as_str();
    let _span = tracing::info_span!("queued run", run = c.run_id, job = %c.run.job, worker, attempt = c.attempts).entered();
    let options = RunOptions {
        source: c.run.source,
        triggered_by: c.run.triggered_by.clone(),
        targets: c.targets.clone(),
        full: c.thorough,
        approve: c.approves,
        queued: Some(c.run_id),
        lease: LeaseOptions::default(),
        ..RunOptions::default()
    };
    let done = AtomicBool::new(false);
    let result = std::thread::scope(|scope| {
        scope.spawn(|| heartbeat(config, worker, &done));
        let r = match dedupe_of(config, &c.run.job) {
            Some((entity, m)) => {
                let who = (tenant, c.run.triggered_by.as_str());
                let r = einklang_engine::identity::ops::dedupe_as(
                    store,
                    who,
                    (entity, m),
                    Some(c.run_id),
                );
                r.map(|_| RunStatus::Succeeded)
            }
            None => run_job(config, store, &c.run.job, &options, progress).map(|r| r.status),
        };
        done.store(true, Ordering::Release);
        r
    });
    let finished = match result {
        Ok(status) => {
            tracing::info!(status = status.as_str(), "queued run finished");
            crate::metrics::run_finished(&c.run.job, status.as_str());
            true
        }
        Err(EngineError::Busy { .. }) => {
            tracing::debug!("the job is busy: the run waits");
            if let Err(e) = store.postpone(tenant, c.run_id, worker, BUSY_DELAY) {
                tracing::warn!(error = %e, "putting a busy run back failed; its claim expires");
            }
            false
        }
        Err(e) => {
            tracing::warn!(error = %e, "queued run failed");
            // a run that failed before it started is still `queued`
            let failed = RunOutcome {
                status: RunStatus::Failed,
                counters: Default::default(),
                errors: vec![e.to_string()],
            };
            if let Ok(Some(run)) = store.run(tenant, c.run_id) {
                if run.status == RunStatus::Queued {
                    let _ = store.finish_run(tenant, c.run_id, &failed);
                }
                crate::metrics::run_finished(&c.run.job, "failed");
            }
            true
        }
    };
    if finished {
        if let Err(e) = store.complete(tenant, c.run_id, worker) {
            tracing::warn!(error = %e, "taking a finished run out of the queue failed");
        }
    }
}

/// A queued `dedupe ENTITY` (`POST /api/dedupe/{entity}`): the entity and
/// its matching — unless the config has a job of that name.
fn dedupe_of<'c>(
    config: &'c Config,
    job: &'c str,
) -> Option<(&'c str, &'c einklang_config::Matching)> {
    if config.jobs.contains_key(job) {
        return None;
    }
    let entity = job.strip_prefix("dedupe ")?;
    config.matching.get(entity).map(|m| (entity, m))
}

/// Renew `worker`'s claims every third of [`CLAIM_TTL`] until `done`.
fn heartbeat(config: &Config, worker: &str, done: &AtomicBool) {
    let mut store = match einklang_store::open(&config.store.as_open_str()) {
        Ok(s) => s,
        Err(e) => {
            tracing::warn!(error = %e, "the heartbeat has no store; the claim may expire");
            return;
        }
    };
    let step = Duration::from_millis(100);
    let every = CLAIM_TTL / 3;
    let mut waited = Duration::ZERO;
    while !done.load(Ordering::Acquire) {
        std::thread::sleep(step);
        waited += step;
        if waited >= every {
            waited = Duration::ZERO;
            if let Err(e) = store.heartbeat(&config.tenant, worker, CLAIM_TTL) {
                tracing::warn!(worker, error = %e, "renewing a claim failed");
            }
        }
    }
}

/// The workers of this process: `n` threads named `<prefix>-<i>`, each
/// with its own store handle. Joined by the caller.
pub fn spawn(
    config: Arc<Config>,
    prefix: &str,
    n: usize,
    (kick, live): (Arc<Kick>, Arc<LiveRuns>),
    poll: Duration,
) -> Result<Vec<std::thread::JoinHandle<()>>, einklang_store::StoreError> {
    let mut handles = Vec::new();
    for i in 0..n {
        let mut store = einklang_store::open(&config.store.as_open_str())?;
        let (config, kick, live) = (Arc::clone(&config), Arc::clone(&kick), Arc::clone(&live));
        let name = format!("{prefix}-{i}");
        handles.push(std::thread::spawn(move || {
            work(&config, store.as_mut(), (&name, &live), &kick, poll)
        }));
    }
    Ok(handles)
}
