//! `einklang plan JOB`: run the job as a dry run and print what a sync
//! would change in the hub and on each connector. Nothing is written: the
//! hub's changes are rolled back and no connector is touched. `--approve
//! RUN` plans what approving a held refresh would do, and `--jsonl`
//! exports every planned change with the values it replaces (an audit of
//! the records a refresh changes or deletes, before it is applied).

use crate::progress::Bar;
use einklang_engine::{run_job, RunOptions, RunReport};
use einklang_store::{RunSource, RunStatus};
use std::io::Write;
use std::path::Path;
use std::process::ExitCode;

/// Arguments of `plan`.
#[derive(clap::Args, Debug)]
pub struct Args {
    /// The job to plan.
    job: String,
    /// Ignore source fingerprints: compare every record (a full reconcile).
    #[arg(long)]
    full: bool,
    /// Print the whole dry-run report as JSON.
    #[arg(long)]
    json: bool,
    /// Show at most this many detailed changes (the counts stay complete;
    /// the engine keeps the first 1000).
    #[arg(long, default_value_t = 200)]
    limit: usize,
    /// Plan applying the snapshot held refresh run RUN staged (what
    /// `einklang approve RUN` would do).
    #[arg(long, value_name = "RUN")]
    approve: Option<i64>,
    /// Every planned change as one JSON object a line (connector,
    /// direction, action, record, id, fields with old and new values).
    #[arg(long, conflicts_with = "json")]
    jsonl: bool,
}

/// Plan the job; writes nothing.
pub fn run(path: &Path, args: &Args) -> anyhow::Result<ExitCode> {
    let config = super::load_config(path)?;
    let mut store = super::open_store(&config)?;
    if let Some(run) = args.approve {
        let held = einklang_engine::approvable(&config, store.as_mut(), run)?;
        if held.job != args.job {
            anyhow::bail!("run {run} is of job `{}`, not `{}`", held.job, args.job);
        }
    }
    let options = RunOptions {
        source: RunSource::Manual,
        full: args.full,
        dry_run: true,
        approve: args.approve,
        plan_all: args.jsonl,
        ..RunOptions::default()
    };
    let bar = Bar::new(!args.json && !args.jsonl);
    let mut report = run_job(&config, store.as_mut(), &args.job, &options, &bar)?;
    if args.jsonl {
        let mut out = std::io::stdout().lock();
        for item in &report.plan.items {
            serde_json::to_writer(&mut out, item)?;
            writeln!(out)?;
        }
        return Ok(ExitCode::SUCCESS);
    }
    report.plan.items.truncate(args.limit);
    if args.json {
        super::print_json(&report)?;
    } else {
        print_text(&report);
    }
    Ok(ExitCode::SUCCESS)
}

fn print_text(report: &RunReport) {
    println!(
        "plan for job `{}` (dry run: nothing was written)\n",
        report.job
    );
    print!("{}", report.plan);
    for s in &report.steps {
        let step = format!("{} {} ({})", s.action, s.connector, s.entity);
        if let Some(e) = &s.error {
            println!("{step} would fail: {e}");
        }
        for note in &s.notes {
            println!("note: {step}: {note}");
        }
    }
    let count = |k: &str| report.counters.get(k).copied().unwrap_or(0);
    if count("quarantined") > 0 {
        println!(
            "{} record(s) would go to the quarantine",
            count("quarantined")
        );
    }
    if count("held") > 0 {
        println!("{} conflict(s) would be held for review", count("held"));
    }
    if report.status != RunStatus::Succeeded {
        println!("a sync now would end {}", report.status.as_str());
    }
}
