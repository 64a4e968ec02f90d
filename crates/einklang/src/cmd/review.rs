//! `einklang review [accept|reject ID]`, `einklang unmerge RECORD` and
//! `einklang merges`: the person's side of identity resolution. The
//! review queue holds the pairs scored between `review` and `auto_merge`;
//! each is shown side by side with its explanation. Accepting merges the
//! pair as a run of its own; rejecting remembers the pair so it is never
//! proposed or merged again; unmerge restores both records and their
//! links (`einklang_engine::identity::ops`).

use super::dedupe::{matching, print_explanation};
use crate::table::Table;
use einklang_engine::identity::ops;
use einklang_store::RecordId;
use std::path::Path;
use std::process::ExitCode;

/// Arguments of `review`.
#[derive(clap::Args, Debug)]
pub struct Args {
    #[command(subcommand)]
    decision: Option<Decision>,
    /// Show at most this many pairs.
    #[arg(long, default_value_t = 20)]
    limit: usize,
    /// Who decided (recorded with the decision); default: $USER, else `cli`.
    #[arg(long, value_name = "WHO", global = true)]
    by: Option<String>,
}

/// A decision on a review pair.
#[derive(clap::Subcommand, Debug)]
enum Decision {
    /// The two records are one: merge them (the older one survives).
    Accept {
        /// The review pair (see `einklang review`).
        id: i64,
    },
    /// The two records are different: keep them apart, for good.
    Reject {
        /// The review pair.
        id: i64,
    },
}

/// Arguments of `unmerge`.
#[derive(clap::Args, Debug)]
pub struct UnmergeArgs {
    /// The record that was merged away (see `einklang merges`).
    record: RecordId,
}

/// Arguments of `merges`.
#[derive(clap::Args, Debug)]
pub struct MergesArgs {
    /// Only merges this record took part in.
    #[arg(long)]
    record: Option<RecordId>,
    /// Show at most this many.
    #[arg(long, default_value_t = 50)]
    limit: usize,
}

/// Run `review`.
pub fn run(path: &Path, args: &Args) -> anyhow::Result<ExitCode> {
    let config = super::load_hub_config(path)?;
    let mut store = super::open_store(&config)?;
    let tenant = config.tenant.as_str();
    let by = args.by.clone().unwrap_or_else(super::resolve::default_by);
    match &args.decision {
        Some(Decision::Accept { id }) => {
            let (run, merge) = ops::accept(store.as_mut(), (tenant, &by), &config.matching, *id)?;
            println!("run {run}: review pair {id} accepted, merged (merge {merge}); undo with einklang unmerge");
        }
        Some(Decision::Reject { id }) => {
            ops::reject(store.as_mut(), (tenant, &by), *id)?;
            println!(
                "review pair {id} rejected: the two records stay apart and are not proposed again"
            );
        }
        None => list(&config, store.as_mut(), args.limit)?,
    }
    Ok(ExitCode::SUCCESS)
}

fn list(
    config: &einklang_config::Config,
    store: &mut dyn einklang_store::HubStore,
    limit: usize,
) -> anyhow::Result<()> {
    let tenant = config.tenant.as_str();
    let (open, stale) = ops::open_reviews(store, tenant, limit)?;
    for r in &stale {
        println!(
            "review {}: {} {} or {} was merged or deleted meanwhile; the pair is dropped",
            r.id, r.entity, r.a, r.b
        );
    }
    if open.is_empty() {
        println!("no pairs wait for review");
        return Ok(());
    }
    let mut models = std::collections::BTreeMap::new();
    for (r, a, b) in &open {
        if !models.contains_key(&r.entity) {
            let m = matching(config, &r.entity)?;
            let model = ops::fitted_model(store, tenant, (&r.entity, m))?;
            models.insert(r.entity.clone(), (model, m));
        }
        let (model, m) = &models[&r.entity];
        println!(
            "review {}: {} {} and {} (proposed by run {} at {:.3})",
            r.id, r.entity, r.a, r.b, r.run_id, r.probability
        );
        print_explanation(model, m, a, b);
        println!(
            "decide with: einklang review accept {} | einklang review reject {}\n",
            r.id, r.id
        );
    }
    Ok(())
}

/// Run `unmerge`.
pub fn unmerge(path: &Path, args: &UnmergeArgs) -> anyhow::Result<ExitCode> {
    let config = super::load_hub_config(path)?;
    let mut store = super::open_store(&config)?;
    let by = super::resolve::default_by();
    let (run, m) = ops::unmerge(store.as_mut(), (&config.tenant, &by), args.record)?;
    println!(
        "run {run}: merge {} undone — records {} and {} are separate again with their own links; the pair will not be merged again",
        m.id, m.survivor, m.merged
    );
    Ok(ExitCode::SUCCESS)
}

/// Run `merges`.
pub fn merges(path: &Path, args: &MergesArgs) -> anyhow::Result<ExitCode> {
    let config = super::load_hub_config(path)?;
    let mut store = super::open_store(&config)?;
    let rows = store.merges(&config.tenant, args.record, args.limit)?;
    let mut t = Table::new(&[
        "merge",
        "entity",
        "survivor",
        "merged",
        "probability",
        "reason",
        "status",
        "run",
        "at",
    ]);
    for m in &rows {
        t.row(vec![
            m.id.to_string(),
            m.entity.clone(),
            m.survivor.to_string(),
            m.merged.to_string(),
            format!("{:.3}", m.probability),
            m.reason.clone(),
            match m.undone_run {
                Some(run) => format!("undone by run {run}"),
                None => m.status.clone(),
            },
            m.run_id.to_string(),
            super::short_time(&m.created_at),
        ]);
    }
    print!("{t}");
    Ok(ExitCode::SUCCESS)
}
