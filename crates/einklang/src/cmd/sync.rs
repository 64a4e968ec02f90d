//! `einklang sync JOB`: run a job once and print its summary.

use crate::progress::Bar;
use crate::table::Table;
use einklang_engine::{run_job, RunOptions, RunReport};
use einklang_store::{RunSource, RunStatus};
use std::path::Path;
use std::process::ExitCode;

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
}

/// Run the job; exit code 1 when the run failed.
pub fn run(path: &Path, args: &Args) -> anyhow::Result<ExitCode> {
    let config = super::load_config(path)?;
    let mut store = super::open_store(&config)?;
    let options = RunOptions {
        source: RunSource::Manual,
        triggered_by: args.triggered_by.clone(),
        full: args.full,
    };
    let bar = Bar::new(!args.json);
    let report = run_job(&config, store.as_mut(), &args.job, &options, &bar)?;
    if args.json {
        super::print_json(&report)?;
    } else {
        print_summary(&report);
    }
    Ok(if report.status == RunStatus::Failed {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    })
}

const COLUMNS: [&str; 6] = [
    "read",
    "created",
    "updated",
    "unchanged",
    "filtered",
    "quarantined",
];

fn print_summary(report: &RunReport) {
    let mut header = vec!["step"];
    header.extend(COLUMNS);
    header.push("seconds");
    let mut table = Table::new(&header);
    for s in &report.steps {
        let mut row = vec![format!("{} {} → {}", s.action, s.connector, s.entity)];
        if let Some(e) = &s.error {
            row.push(format!("failed: {e}"));
        } else if s.source_unchanged {
            row.push("source unchanged".into());
        } else {
            row.extend(
                COLUMNS
                    .iter()
                    .map(|c| s.counters.get(*c).copied().unwrap_or(0).to_string()),
            );
        }
        while row.len() < header.len() - 1 {
            row.push(String::new());
        }
        row.push(format!("{:.2}", s.seconds));
        table.row(row);
    }
    print!("{table}");
    let count = |k: &str| report.counters.get(k).copied().unwrap_or(0);
    println!(
        "run {}: {} in {:.2}s — {} created, {} updated, {} unchanged, {} quarantined",
        report.run_id,
        report.status.as_str(),
        report.seconds,
        count("created"),
        count("updated"),
        count("unchanged"),
        count("quarantined"),
    );
    if count("quarantined") > 0 {
        println!(
            "see the rejected records with: einklang quarantine --run {}",
            report.run_id
        );
    }
}
