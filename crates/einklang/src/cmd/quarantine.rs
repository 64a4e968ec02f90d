//! `einklang quarantine`: records rejected by runs, with their reasons.

use crate::table::Table;
use std::path::Path;
use std::process::ExitCode;

/// Arguments of `quarantine`.
#[derive(clap::Args, Debug)]
pub struct Args {
    /// Only this run's rejects.
    #[arg(long)]
    run: Option<i64>,
    /// How many to list.
    #[arg(long, default_value_t = 50)]
    limit: usize,
    /// Print JSON (includes the raw payloads).
    #[arg(long)]
    json: bool,
}

/// List quarantined records, newest first.
pub fn run(path: &Path, args: &Args) -> anyhow::Result<ExitCode> {
    let config = super::load_hub_config(path)?;
    let mut store = super::open_store(&config)?;
    let items = store.quarantined(&config.tenant, args.run, args.limit)?;
    if args.json {
        super::print_json(&items)?;
        return Ok(ExitCode::SUCCESS);
    }
    let mut t = Table::new(&[
        "id",
        "run",
        "connector",
        "entity",
        "position",
        "external id",
        "reason",
    ]);
    for q in &items {
        t.row(vec![
            q.id.to_string(),
            q.run_id.to_string(),
            q.connector.clone(),
            q.entity.clone(),
            q.position.clone(),
            q.external_id.clone().unwrap_or_default(),
            q.reason.clone(),
        ]);
    }
    print!("{t}");
    Ok(ExitCode::SUCCESS)
}
