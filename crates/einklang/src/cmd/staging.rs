//! `einklang staging [RUN] [--drop]` and `einklang approve RUN`: the
//! snapshots refresh runs staged — listed, shown, dropped — and a held
//! refresh (more than `max_drop` fewer records than last time) applied
//! after a person looked (`einklang_engine` with `RunOptions::approve`).

use crate::table::Table;
use anyhow::bail;
use einklang_engine::{run_job, RunOptions};
use einklang_store::StagedCount;
use std::path::Path;
use std::process::ExitCode;

/// Arguments of `staging`.
#[derive(clap::Args, Debug)]
pub struct Args {
    /// A run: its staged records (without: every run with some).
    run: Option<i64>,
    /// Show at most this many records per entity.
    #[arg(long, default_value_t = 20)]
    limit: usize,
    /// Drop what the run staged.
    #[arg(long, requires = "run")]
    drop: bool,
    /// Print JSON.
    #[arg(long)]
    json: bool,
}

/// Arguments of `approve`.
#[derive(clap::Args, Debug)]
pub struct ApproveArgs {
    /// The held refresh run (`needs_review`).
    run: i64,
    /// Who approves (recorded on the run that applies it).
    #[arg(long, default_value = "cli")]
    by: String,
}

fn counts_table(counts: &[StagedCount]) -> Table {
    let mut t = Table::new(&["run", "entity", "records", "returned twice"]);
    for c in counts {
        t.row(vec![
            c.run.to_string(),
            c.entity.clone(),
            c.records.to_string(),
            c.duplicates.to_string(),
        ]);
    }
    t
}

/// Run `staging`.
pub fn run(path: &Path, args: &Args) -> anyhow::Result<ExitCode> {
    let config = super::load_hub_config(path)?;
    let mut store = super::open_store(&config)?;
    let tenant = config.tenant.as_str();
    let Some(run) = args.run else {
        let runs = store.staged_runs(tenant)?;
        match (args.json, runs.is_empty()) {
            (true, _) => super::print_json(&runs.iter().map(json_count).collect::<Vec<_>>())?,
            (false, true) => println!("no run has staged records"),
            (false, false) => print!("{}", counts_table(&runs)),
        }
        return Ok(ExitCode::SUCCESS);
    };
    if args.drop {
        let n = store.drop_staged(tenant, run)?;
        println!("run {run}: {n} staged records dropped");
        return Ok(ExitCode::SUCCESS);
    }
    let counts = store.staged_counts(tenant, run)?;
    if counts.is_empty() {
        bail!("run {run} has no staged records (an applied refresh drops them; see einklang runs)");
    }
    let mut shown = Vec::new();
    for c in &counts {
        let page = store.staged_page(tenant, run, &c.entity, "", args.limit)?;
        shown.extend(page.into_iter().map(|r| (c.entity.clone(), r)));
    }
    if args.json {
        let records: Vec<_> = shown
            .iter()
            .map(|(e, r)| serde_json::json!({"entity": e, "external_id": r.external_id, "values": r.values}))
            .collect();
        let counts: Vec<_> = counts.iter().map(json_count).collect();
        super::print_json(&serde_json::json!({"run": run, "counts": counts, "records": records}))?;
        return Ok(ExitCode::SUCCESS);
    }
    print!("{}", counts_table(&counts));
    let mut t = Table::new(&["entity", "external id", "values"]);
    for (e, r) in &shown {
        t.row(vec![
            e.clone(),
            r.external_id.clone(),
            serde_json::to_string(&r.values)?,
        ]);
    }
    print!("{t}");
    Ok(ExitCode::SUCCESS)
}

fn json_count(c: &StagedCount) -> serde_json::Value {
    serde_json::json!({"run": c.run, "entity": c.entity, "records": c.records, "duplicates": c.duplicates})
}

/// Run `approve`: apply a held refresh's staged snapshot as a new run of
/// its job.
pub fn approve(path: &Path, args: &ApproveArgs) -> anyhow::Result<ExitCode> {
    let config = super::load_config(path)?;
    let mut store = super::open_store(&config)?;
    let held = einklang_engine::approvable(&config, store.as_mut(), args.run)?;
    let options = RunOptions {
        approve: Some(held.id),
        triggered_by: format!("{} (approves run {})", args.by, held.id),
        ..RunOptions::default()
    };
    let report = run_job(
        &config,
        store.as_mut(),
        &held.job,
        &options,
        &einklang_engine::NoProgress,
    )?;
    super::sync::print_summary(&report);
    Ok(crate::exit::of_status(report.status))
}
