//! `einklang runs`: the latest runs, with their counters (`failed`: the
//! writes that failed, whose links wait for their retry). A `running` run whose process is
//! gone (no live lease) is marked `abandoned` first. `einklang runs RUN`
//! shows one run with each step's result.

use crate::table::Table;
use einklang_store::Run;
use std::path::Path;
use std::process::ExitCode;

/// Arguments of `runs`.
#[derive(clap::Args, Debug)]
pub struct Args {
    /// One run: its steps, each with its counters, error and notes.
    run: Option<i64>,
    /// How many runs to list.
    #[arg(long, default_value_t = 20)]
    limit: usize,
    /// Print JSON.
    #[arg(long)]
    json: bool,
}

/// List runs, newest first.
pub fn run(path: &Path, args: &Args) -> anyhow::Result<ExitCode> {
    let config = super::load_hub_config(path)?;
    let mut store = super::open_store(&config)?;
    // a run whose process died without a lease to show for it is over
    let grace = einklang_engine::LeaseOptions::default().ttl;
    store.reap_abandoned(&config.tenant, grace)?;
    if let Some(id) = args.run {
        let run = store.run(&config.tenant, id)?;
        let run = run.ok_or_else(|| anyhow::anyhow!("no run {id}"))?;
        let steps = store.steps_of(&config.tenant, id)?;
        if args.json {
            super::print_json(&serde_json::json!({"run": run, "steps": steps}))?;
        } else {
            print!("{}", table(std::slice::from_ref(&run)));
            print!("\n{}", steps_table(&steps));
            for e in &run.errors {
                println!("{e}");
            }
        }
        return Ok(ExitCode::SUCCESS);
    }
    let runs = store.runs(&config.tenant, args.limit)?;
    if args.json {
        super::print_json(&runs)?;
    } else {
        print!("{}", table(&runs));
    }
    Ok(ExitCode::SUCCESS)
}

fn steps_table(steps: &[einklang_store::StepOutcome]) -> Table {
    let mut t = Table::new(&["step", "counters", "seconds", "error"]);
    for s in steps {
        let counters: Vec<String> = (s.counters.iter())
            .filter(|(_, n)| **n > 0)
            .map(|(k, n)| format!("{k} {n}"))
            .collect();
        let error = match (&s.error, s.needs_review) {
            (Some(e), _) => e.clone(),
            (None, true) => "held for review".into(),
            (None, false) => String::new(),
        };
        t.row(vec![
            format!("{} {} → {}", s.action, s.connector, s.entity),
            counters.join(", "),
            format!("{:.2}", s.seconds),
            error,
        ]);
    }
    t
}

fn table(runs: &[Run]) -> Table {
    let mut t = Table::new(&[
        "run",
        "job",
        "source",
        "by",
        "status",
        "started",
        "seconds",
        "read",
        "created",
        "updated",
        "quarantined",
        "failed",
    ]);
    for r in runs {
        let c = |k: &str| r.counters.get(k).copied().unwrap_or(0).to_string();
        let seconds = r
            .finished_at
            .map(|f| {
                format!(
                    "{:.2}",
                    (f - r.started_at).num_milliseconds() as f64 / 1000.0
                )
            })
            .unwrap_or_default();
        t.row(vec![
            r.id.to_string(),
            r.job.clone(),
            r.source.as_str().into(),
            r.triggered_by.clone(),
            r.status.as_str().into(),
            super::short_time(&r.started_at),
            seconds,
            c("read"),
            c("created"),
            c("updated"),
            c("quarantined"),
            c("push_failed"),
        ]);
    }
    t
}
