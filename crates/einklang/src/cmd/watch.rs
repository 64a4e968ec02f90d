//! `einklang sync --watch`: between runs, wait for a connector of the job
//! to report a change (PostgreSQL `NOTIFY` from the change log's trigger)
//! or for the interval to pass, whichever comes first.

use anyhow::Context;
use einklang_config::{Config, Step};
use einklang_connectors::ChangeListener;
use std::time::{Duration, Instant};

/// Listeners of the job's connectors that can report changes.
pub fn listeners(
    config: &Config,
    job: &str,
) -> anyhow::Result<Vec<(String, Box<dyn ChangeListener>)>> {
    let Some(j) = config.jobs.get(job) else {
        return Ok(Vec::new()); // the run reports the unknown job
    };
    let mut names: Vec<&String> = Vec::new();
    for step in &j.steps {
        match step {
            Step::Pull { connector, .. } | Step::Push { connector, .. } => names.push(connector),
            Step::Sync { connectors, .. } => names.extend(connectors),
        }
    }
    names.dedup();
    let mut out = Vec::new();
    for name in names {
        let Some(cc) = config.connectors.get(name) else {
            continue;
        };
        let connector =
            einklang_connectors::open(&cc.name, &cc.kind, &cc.settings, &config.base_dir)?;
        let listener = connector
            .listener()
            .with_context(|| format!("watching connector `{name}`"))?;
        if let Some(l) = listener {
            out.push((name.clone(), l));
        }
    }
    Ok(out)
}

/// Wait for a change or the interval; says which.
pub fn wait(
    listeners: &mut [(String, Box<dyn ChangeListener>)],
    interval: Duration,
) -> anyhow::Result<String> {
    if listeners.is_empty() {
        std::thread::sleep(interval);
        return Ok(format!("{}s passed", interval.as_secs()));
    }
    let until = Instant::now() + interval;
    let slice = Duration::from_millis(250 / listeners.len().max(1) as u64 + 1);
    while Instant::now() < until {
        for (name, l) in listeners.iter_mut() {
            if l.wait(slice)? {
                return Ok(format!("connector `{name}` reported a change"));
            }
        }
    }
    Ok(format!("{}s passed", interval.as_secs()))
}
