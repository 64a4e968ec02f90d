//! The scheduler: for every job with a `schedule`, queue one run for the
//! latest tick that has none ([`Schedule::due`]). The tick is the run's
//! unique key (`schedule:<tenant>:<job>:<tick>`), so several processes on
//! one PostgreSQL queue it once between them, with no leader. Ticks
//! missed while no process ran (or while a long run held the job) make
//! one run at the next look, not one per tick; a job that never ran waits
//! for its first tick after the service started.
//!
//! The **sweep** is the safety net behind webhooks: every
//! `[serve] sweep_minutes` (15) an ordinary run — source `sweep` — of each
//! job that reads a connector taking webhooks, so a lost call only delays
//! a change. It reads what changed and writes every pending, dirty or
//! failed link that is due, like any run. One per job and period, keyed
//! `sweep:<tenant>:<job>:<period start>` (several processes queue it once).
//! The first sweep `[serve] recheck_hours` (24) after the job's last
//! thorough run is thorough itself (the engine's `full`: every record
//! compared, fingerprints ignored, clean links checked against the hub),
//! so a change that no webhook and no source fingerprint reported is
//! found within a day.
//!
//! [`tick`] takes the time as an argument: tests drive it with their own
//! clock.

use crate::Kick;
use chrono::{DateTime, SecondsFormat, Utc};
use einklang_config::Config;
use einklang_core::schedule::Schedule;
use einklang_store::{HubStore, NewRun, QueuedRun, RunId, RunSource, StoreError};
use std::time::Duration;

/// Queue the runs due at `now`; `since` is when this scheduler started.
/// Returns the runs queued (by this call; another process may have
/// queued a tick first).
pub fn tick(
    config: &Config,
    store: &mut dyn HubStore,
    since: DateTime<Utc>,
    now: DateTime<Utc>,
) -> Result<Vec<RunId>, StoreError> {
    let tenant = &config.tenant;
    let mut queued = Vec::new();
    for job in config.jobs.values() {
        let Some(pattern) = &job.schedule else {
            continue;
        };
        let Ok(schedule) = Schedule::parse(pattern, &job.tz) else {
            continue; // refused by the config check already
        };
        let last = store.last_tick(tenant, &job.name)?;
        let Some(due) = schedule.due(last, since, now) else {
            continue;
        };
        let at = due.to_rfc3339_opts(SecondsFormat::Secs, true);
        let run = QueuedRun {
            run: NewRun {
                job: job.name.clone(),
                source: RunSource::Schedule,
                triggered_by: format!("schedule:{pattern} {}", job.tz),
            },
            targets: None,
            dedupe_key: Some(format!("schedule:{tenant}:{}:{at}", job.name)),
            scheduled_for: Some(due),
            thorough: false,
            approves: None,
        };
        if let Some(id) = store.enqueue(tenant, &run)? {
            tracing::info!(job = %job.name, tick = %at, run = id, "scheduled run queued");
            queued.push(id);
        }
    }
    queued.extend(sweep(config, store, now)?);
    Ok(queued)
}

/// Queue the sweep's runs of the period `now` falls in.
fn sweep(
    config: &Config,
    store: &mut dyn HubStore,
    now: DateTime<Utc>,
) -> Result<Vec<RunId>, StoreError> {
    let minutes = config.serve.sweep_minutes as i64;
    if minutes == 0 {
        return Ok(Vec::new());
    }
    let period = minutes * 60;
    let start =
        DateTime::from_timestamp(now.timestamp().div_euclid(period) * period, 0).unwrap_or(now);
    let at = start.to_rfc3339_opts(SecondsFormat::Secs, true);
    let mut queued = Vec::new();
    for job in config.jobs.values().filter(|j| takes_webhooks(config, j)) {
        let thorough = recheck_due(config, store, &job.name, now)?;
        let run = QueuedRun {
            run: NewRun {
                job: job.name.clone(),
                source: RunSource::Sweep,
                triggered_by: match thorough {
                    true => format!("sweep:{minutes}m recheck:{}h", config.serve.recheck_hours),
                    false => format!("sweep:{minutes}m"),
                },
            },
            targets: None,
            dedupe_key: Some(format!("sweep:{}:{}:{at}", config.tenant, job.name)),
            scheduled_for: None,
            thorough,
            approves: None,
        };
        if let Some(id) = store.enqueue(&config.tenant, &run)? {
            tracing::info!(job = %job.name, period = %at, run = id, "sweep run queued");
            queued.push(id);
        }
    }
    Ok(queued)
}

/// Whether this period's sweep of `job` is its re-check: the last
/// thorough run was queued `recheck_hours` ago or more (or never was).
fn recheck_due(
    config: &Config,
    store: &mut dyn HubStore,
    job: &str,
    now: DateTime<Utc>,
) -> Result<bool, StoreError> {
    let hours = config.serve.recheck_hours as i64;
    if hours == 0 {
        return Ok(false);
    }
    Ok(match store.last_thorough(&config.tenant, job)? {
        None => true,
        Some(at) => now - at >= chrono::Duration::hours(hours),
    })
}

/// Whether a step of `job` names a connector with `webhook` settings.
fn takes_webhooks(config: &Config, job: &einklang_config::JobConfig) -> bool {
    job.steps.iter().any(|s| {
        crate::webhooks::step_connectors(s).iter().any(|c| {
            config
                .connectors
                .get(c)
                .is_some_and(|cc| cc.settings.contains_key("webhook"))
        })
    })
}

/// Look at the clock every `poll` until `kick` says stop.
pub fn run(config: &Config, store: &mut dyn HubStore, kick: &Kick, poll: Duration) {
    let since = Utc::now();
    let mut seen = 0;
    loop {
        match tick(config, store, since, Utc::now()) {
            Ok(ids) if !ids.is_empty() => kick.kick(),
            Ok(_) => {}
            Err(e) => tracing::warn!(error = %e, "the scheduler could not queue its runs"),
        }
        if kick.wait(&mut seen, poll) {
            return;
        }
    }
}
