//! Changes a connector reports itself (a `postgres_table` with
//! `change_log`: PostgreSQL `NOTIFY` from the change log's trigger). Each
//! report queues a run — source `notify`, `triggered_by`
//! `notify:<connector>` — of every job reading the connector, unless the
//! job already has a run waiting in the queue: that one starts after the
//! change was committed, so it reads it, and a burst of reports makes one
//! run, not one each.
//!
//! A listener whose connection fails is opened again after a pause; the
//! runs it missed meanwhile are the schedule's and the sweep's to catch.
//! [`job_connectors`] and [`listeners`] are shared with `einklang sync
//! --watch`, which waits on the same listeners in the foreground.

use crate::Kick;
use einklang_config::Config;
use einklang_connectors::{ChangeListener, ConnectorError};
use einklang_store::{HubStore, NewRun, QueuedRun, RunId, RunSource, StoreError};
use std::time::{Duration, Instant};

/// The connectors a job's steps name, once each.
pub fn job_connectors(config: &Config, job: &str) -> Vec<String> {
    let Some(j) = config.jobs.get(job) else {
        return Vec::new();
    };
    let mut names: Vec<String> = j
        .steps
        .iter()
        .flat_map(crate::webhooks::step_connectors)
        .collect();
    names.sort();
    names.dedup();
    names
}

/// A named change listener.
pub type Listener = (String, Box<dyn ChangeListener>);

/// Listeners of those of `names` that can report changes.
pub fn listeners(config: &Config, names: &[String]) -> Result<Vec<Listener>, ConnectorError> {
    let mut out = Vec::new();
    for name in names {
        let Some(cc) = config.connectors.get(name) else {
            continue;
        };
        let connector =
            einklang_connectors::open(&cc.name, &cc.kind, &cc.settings, &config.base_dir)?;
        if let Some(l) = connector.listener()? {
            out.push((name.clone(), l));
        }
    }
    Ok(out)
}

/// Every connector some job of `config` reads, once each.
fn all_connectors(config: &Config) -> Vec<String> {
    let mut names: Vec<String> = config
        .jobs
        .keys()
        .flat_map(|j| job_connectors(config, j))
        .collect();
    names.sort();
    names.dedup();
    names
}

/// Queue the runs a report of `connector` makes: one per job reading it
/// that has none waiting. Returns the runs queued.
pub fn wake(
    config: &Config,
    store: &mut dyn HubStore,
    connector: &str,
) -> Result<Vec<RunId>, StoreError> {
    let mut queued = Vec::new();
    for job in config.jobs.keys() {
        if !job_connectors(config, job).iter().any(|c| c == connector) {
            continue;
        }
        if store.waiting(&config.tenant, job)? {
            continue; // it starts after the change: it reads it
        }
        let run = QueuedRun {
            run: NewRun {
                job: job.clone(),
                source: RunSource::Notify,
                triggered_by: format!("notify:{connector}"),
            },
            targets: None,
            dedupe_key: None,
            scheduled_for: None,
            thorough: false,
            approves: None,
        };
        if let Some(id) = store.enqueue(&config.tenant, &run)? {
            tracing::info!(job = %job, connector, run = id, "a reported change queued a run");
            queued.push(id);
        }
    }
    Ok(queued)
}

/// How long a failed listener rests before it is opened again.
const REOPEN: Duration = Duration::from_secs(5);

/// Wait on the listeners of `config`'s connectors until `kick` says
/// stop, queueing runs as they report changes. Returns at once when no
/// connector can report changes.
pub fn run(config: &Config, store: &mut dyn HubStore, kick: &Kick) {
    let names = all_connectors(config);
    let mut live: Vec<Listener> = Vec::new();
    let mut resting: Vec<(String, Instant)> = Vec::new();
    for name in &names {
        match listeners(config, std::slice::from_ref(name)) {
            Ok(l) => live.extend(l),
            Err(e) => {
                tracing::warn!(connector = %name, error = %e, "cannot listen for changes (trying again)");
                resting.push((name.clone(), Instant::now() + REOPEN));
            }
        }
    }
    if live.is_empty() && resting.is_empty() {
        return;
    }
    tracing::info!(listeners = live.len(), "listening for reported changes");
    let slice = Duration::from_millis(250 / live.len().max(1) as u64 + 1);
    while !kick.stopping() {
        reopen(config, &mut live, &mut resting);
        if live.is_empty() {
            std::thread::sleep(Duration::from_millis(250));
            continue;
        }
        let mut failed = Vec::new();
        for (i, (name, l)) in live.iter_mut().enumerate() {
            match l.wait(slice) {
                Ok(false) => {}
                Ok(true) => match wake(config, store, name) {
                    Ok(ids) if !ids.is_empty() => kick.kick(),
                    Ok(_) => {}
                    Err(e) => {
                        tracing::warn!(connector = %name, error = %e, "a reported change could not be queued")
                    }
                },
                Err(e) => {
                    tracing::warn!(connector = %name, error = %e, "the change listener failed (opening it again)");
                    failed.push(i);
                }
            }
        }
        for i in failed.into_iter().rev() {
            let (name, _) = live.remove(i);
            resting.push((name, Instant::now() + REOPEN));
        }
    }
}

/// Open again the listeners whose rest is over.
fn reopen(config: &Config, live: &mut Vec<Listener>, resting: &mut Vec<(String, Instant)>) {
    let now = Instant::now();
    let (due, rest): (Vec<_>, Vec<_>) = resting.drain(..).partition(|(_, at)| *at <= now);
    *resting = rest;
    for (name, _) in due {
        match listeners(config, std::slice::from_ref(&name)) {
            Ok(l) => live.extend(l),
            Err(_) => resting.push((name, now + REOPEN)),
        }
    }
}
