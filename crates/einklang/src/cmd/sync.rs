//! `einklang sync JOB`: run a job once and print its summary.

use crate::progress::Bar;
use crate::table::Table;
use einklang_engine::{run_job, EngineError, LeaseOptions, RunOptions, RunReport};
use einklang_store::RunStatus;
use std::path::Path;
use std::process::ExitCode;
use std::time::Duration;

/// Arguments of `sync`.
#[derive(clap::Args, Debug)]
pub struct Args {
    /// The job to run.
    job: String,
    /// Ignore source fingerprints: compare every record (a full reconcile).
    #[arg(long)]
    full: bool,
    /// Print the run report as JSON instead of a table.
    #[arg(long)]
    json: bool,
    /// Who started the run (recorded on the run).
    #[arg(long, default_value = "cli")]
    triggered_by: String,
    /// Keep running: sync again when a connector reports a change
    /// (postgres_table with change_log: LISTEN/NOTIFY), or after
    /// `--interval` seconds.
    #[arg(long)]
    watch: bool,
    /// Seconds between runs with `--watch` when nothing is reported.
    #[arg(long, default_value_t = 60)]
    interval: u64,
    /// With `--watch`: also take webhooks on this address
    /// (`POST /webhook/<connector>`, checked by the connector's `webhook`
    /// settings); a valid one syncs at once.
    #[arg(long, requires = "watch")]
    listen: Option<String>,
    /// When another run holds the job (or an entity or connector it
    /// needs), wait up to SECONDS for it (default 600) instead of
    /// refusing at once. `--watch` always waits, up to `--interval`.
    #[arg(long, value_name = "SECONDS", num_args = 0..=1, default_missing_value = "600")]
    wait: Option<u64>,
    #[command(flatten)]
    limits: super::hooks::Limits,
}

/// Run the job; the exit code tells its status (see `crate::exit`).
pub fn run(path: &Path, args: &Args) -> anyhow::Result<ExitCode> {
    let config = super::load_config(path)?;
    let mut store = super::open_store(&config)?;
    let mut listeners = match args.watch {
        true => super::watch::listeners(&config, &args.job)?,
        false => Vec::new(),
    };
    let connectors = super::watch::job_connectors(&config, &args.job);
    let hooks = match &args.listen {
        Some(addr) => {
            let hooks = super::hooks::start(addr, &config, &args.job, &connectors, &args.limits)?;
            Some(hooks)
        }
        None => None,
    };
    let mut trigger = super::watch::Trigger::first(&args.triggered_by);
    loop {
        let wait = match args.watch {
            true => Some(args.wait.unwrap_or(args.interval)),
            false => args.wait,
        };
        let options = RunOptions {
            source: trigger.source,
            triggered_by: trigger.by.clone(),
            full: args.full,
            targets: trigger.targets.clone(),
            lease: LeaseOptions {
                wait: wait.map(Duration::from_secs),
                ..LeaseOptions::default()
            },
            ..RunOptions::default()
        };
        let bar = Bar::new(!args.json && !args.watch);
        let status = match run_job(&config, store.as_mut(), &args.job, &options, &bar) {
            Ok(report) => {
                if let Some(hooks) = &hooks {
                    hooks.ran(&report, &trigger);
                }
                match args.json {
                    true => super::print_json(&Summary::of(&report))?,
                    false => print_summary(&report),
                }
                report.status
            }
            Err(e @ EngineError::Busy { .. }) if args.watch => {
                eprintln!("einklang: not this time: {e}");
                RunStatus::Failed
            }
            Err(e) => return Err(e.into()),
        };
        if !args.watch {
            return Ok(crate::exit::of_status(status));
        }
        let interval = std::time::Duration::from_secs(args.interval);
        let wakes = hooks.as_ref().map(|h| &h.wakes);
        trigger = super::watch::wait(&mut listeners, wakes, interval)?;
        eprintln!("einklang: {}: syncing {} again", trigger.why, args.job);
    }
}

/// What `sync --json` prints: the run's outcome without its plan (the
/// changes record by record are `einklang plan --json`'s; at 100,000
/// records they were megabytes a monitor had to read).
#[derive(serde::Serialize)]
struct Summary<'r> {
    run_id: i64,
    job: &'r str,
    status: RunStatus,
    counters: &'r einklang_store::Counters,
    steps: &'r [einklang_engine::StepReport],
    errors: &'r [String],
    seconds: f64,
}

impl<'r> Summary<'r> {
    fn of(r: &'r RunReport) -> Self {
        Summary {
            run_id: r.run_id,
            job: &r.job,
            status: r.status,
            counters: &r.counters,
            steps: &r.steps,
            errors: &r.errors,
            seconds: r.seconds,
        }
    }
}

/// Columns of the summary: always the first four, the others when a step has them.
const COLUMNS: [(&str, &str); 13] = [
    ("read", "read"),
    ("created", "created"),
    ("updated", "updated"),
    ("unchanged", "unchanged"),
    ("filtered", "filtered"),
    ("quarantined", "quarantined"),
    ("flagged", "flagged"),
    ("conflicts", "conflicts"),
    ("deleted", "deleted"),
    ("pushed_create", "pushed new"),
    ("pushed_update", "pushed changes"),
    ("pushed_delete", "pushed deletes"),
    ("push_failed", "failed writes"),
];

pub(crate) fn print_summary(report: &RunReport) {
    let columns: Vec<(&str, &str)> = COLUMNS
        .iter()
        .enumerate()
        .filter(|(i, (key, _))| *i < 4 || report.counters.get(*key).copied().unwrap_or(0) > 0)
        .map(|(_, c)| *c)
        .collect();
    let mut header = vec!["step"];
    header.extend(columns.iter().map(|(_, title)| *title));
    header.push("seconds");
    let mut table = Table::new(&header);
    for s in &report.steps {
        let arrow = if s.action == "push" {
            "←"
        } else if s.action == "sync" {
            "↔"
        } else {
            "→"
        };
        let mut row = vec![format!("{} {} {arrow} {}", s.action, s.connector, s.entity)];
        if let Some(e) = &s.error {
            row.push(format!("failed: {e}"));
        } else if s.source_unchanged && s.action == "pull" {
            row.push("source unchanged".into());
        } else {
            row.extend(
                columns
                    .iter()
                    .map(|(c, _)| s.counters.get(*c).copied().unwrap_or(0).to_string()),
            );
        }
        while row.len() < header.len() - 1 {
            row.push(String::new());
        }
        row.push(format!("{:.2}", s.seconds));
        table.row(row);
    }
    print!("{table}");
    for note in report.steps.iter().flat_map(|s| &s.notes) {
        println!("note: {note}");
    }
    let count = |k: &str| report.counters.get(k).copied().unwrap_or(0);
    let pushed = count("pushed_create")
        + count("pushed_update")
        + count("pushed_delete")
        + count("pushed_soft_delete");
    println!(
        "run {}: {} in {:.2}s — {} created, {} updated, {} unchanged, {} quarantined, {} written to connectors",
        report.run_id,
        report.status.as_str(),
        report.seconds,
        count("created"),
        count("updated"),
        count("unchanged"),
        count("quarantined"),
        pushed,
    );
    if count("merged") + count("review") > 0 {
        println!(
            "identity: {} new records merged into existing ones (einklang merges), {} pairs queued for review (einklang review)",
            count("merged"),
            count("review")
        );
    }
    if count("quarantined") > 0 {
        println!(
            "see the rejected records with: einklang quarantine --run {}",
            report.run_id
        );
    }
    if count("flagged") > 0 {
        println!(
            "{} record(s) hold a value einklang could not read, kept as read and flagged (einklang show marks it)",
            count("flagged")
        );
    }
    if count("held") > 0 {
        println!(
            "{} conflict(s) wait for review: einklang conflicts",
            count("held")
        );
    }
}
