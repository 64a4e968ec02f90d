//! `einklang sync --watch`: between runs, wait for a connector of the job
//! to report a change (PostgreSQL `NOTIFY` from the change log's trigger),
//! for a verified webhook (`--listen`, see `hooks`), or for the interval
//! to pass, whichever comes first.

use super::hooks::Wake;
use anyhow::Context;
use einklang_config::{Config, Step};
use einklang_connectors::ChangeListener;
use einklang_store::RunSource;
use std::sync::mpsc::Receiver;
use std::time::{Duration, Instant};

/// The connectors a job's steps name, once each.
pub fn job_connectors(config: &Config, job: &str) -> Vec<String> {
    let Some(j) = config.jobs.get(job) else {
        return Vec::new(); // the run reports the unknown job
    };
    let mut names: Vec<String> = Vec::new();
    for step in &j.steps {
        match step {
            Step::Pull { connector, .. } | Step::Push { connector, .. } => {
                names.push(connector.clone())
            }
            Step::Sync { connectors, .. } => names.extend(connectors.iter().cloned()),
        }
    }
    names.sort();
    names.dedup();
    names
}

/// A named change listener.
pub type Listener = (String, Box<dyn ChangeListener>);

/// Listeners of the job's connectors that can report changes.
pub fn listeners(config: &Config, job: &str) -> anyhow::Result<Vec<Listener>> {
    let mut out = Vec::new();
    for name in job_connectors(config, job) {
        let Some(cc) = config.connectors.get(&name) else {
            continue;
        };
        let connector =
            einklang_connectors::open(&cc.name, &cc.kind, &cc.settings, &config.base_dir)?;
        let listener = connector
            .listener()
            .with_context(|| format!("watching connector `{name}`"))?;
        if let Some(l) = listener {
            out.push((name, l));
        }
    }
    Ok(out)
}

/// Wait for a change, a webhook or the interval; says which, and what
/// the next run counts as.
pub fn wait(
    listeners: &mut [Listener],
    hooks: Option<&Receiver<Wake>>,
    interval: Duration,
) -> anyhow::Result<(String, RunSource)> {
    let until = Instant::now() + interval;
    let slice = Duration::from_millis(250 / listeners.len().max(1) as u64 + 1);
    while Instant::now() < until {
        match hooks {
            Some(rx) => {
                let patience = match listeners.is_empty() {
                    true => Duration::from_millis(250),
                    false => Duration::ZERO,
                };
                if let Ok(w) = rx.recv_timeout(patience) {
                    let why = format!("a webhook for `{}` named {} record(s)", w.connector, w.ids);
                    return Ok((why, RunSource::Webhook));
                }
            }
            None if listeners.is_empty() => {
                std::thread::sleep(until.saturating_duration_since(Instant::now()));
                break;
            }
            None => {}
        }
        for (name, l) in listeners.iter_mut() {
            if l.wait(slice)? {
                let why = format!("connector `{name}` reported a change");
                return Ok((why, RunSource::Schedule));
            }
        }
    }
    Ok((
        format!("{}s passed", interval.as_secs()),
        RunSource::Schedule,
    ))
}
