//! The scheduler: for every job with a `schedule`, queue one run for the
//! latest tick that has none ([`Schedule::due`]). The tick is the run's
//! unique key (`schedule:<tenant>:<job>:<tick>`), so several processes on
//! one PostgreSQL queue it once between them, with no leader. Ticks
//! missed while no process ran (or while a long run held the job) make
//! one run at the next look, not one per tick; a job that never ran waits
//! for its first tick after the service started.
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
        };
        if let Some(id) = store.enqueue(tenant, &run)? {
            tracing::info!(job = %job.name, tick = %at, run = id, "scheduled run queued");
            queued.push(id);
        }
    }
    Ok(queued)
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
