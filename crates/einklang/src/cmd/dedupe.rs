//! `einklang dedupe ENTITY [--dry-run]` and `einklang explain ENTITY A B`:
//! the batch pass of identity resolution over the hub's live records of
//! an entity (`einklang_core::identity::batch`) — clusters of records to
//! merge and pairs for review, with scores, merged and queued unless
//! `--dry-run` (`einklang_engine::identity::ops::dedupe`) — and one pair
//! explained field by field.

use crate::table::Table;
use anyhow::anyhow;
use einklang_config::{Config, Matching};
use einklang_core::identity::model::{Decision, Model};
use einklang_core::Fields;
use einklang_engine::identity::{ops, recorded};
use einklang_store::{HubStore, RecordId};
use std::collections::HashMap;
use std::path::Path;
use std::process::ExitCode;

/// Arguments of `dedupe`.
#[derive(clap::Args, Debug)]
pub struct Args {
    /// The entity (with a `[matching.ENTITY]` section).
    entity: String,
    /// Show the clusters and the review pairs; merge nothing.
    #[arg(long)]
    dry_run: bool,
    /// Print as JSON.
    #[arg(long)]
    json: bool,
    /// Show at most this many clusters and review pairs.
    #[arg(long, default_value_t = 50)]
    limit: usize,
}

/// Arguments of `explain`.
#[derive(clap::Args, Debug)]
pub struct ExplainArgs {
    /// The entity.
    entity: String,
    /// One hub record id.
    a: RecordId,
    /// The other.
    b: RecordId,
}

pub(crate) fn matching<'c>(config: &'c Config, entity: &str) -> anyhow::Result<&'c Matching> {
    config.matching.get(entity).ok_or_else(|| {
        anyhow!(
            "no [matching.{entity}] in {}: it says which fields to compare and how",
            config.path.display()
        )
    })
}

/// A short label of a record: its first text values.
fn label(f: &Fields) -> String {
    let texts: Vec<String> = f
        .values()
        .filter_map(|v| match v {
            serde_json::Value::String(s) if !s.is_empty() => Some(s.clone()),
            serde_json::Value::Array(a) => a.first().and_then(|x| x.as_str()).map(str::to_string),
            _ => None,
        })
        .take(3)
        .collect();
    texts.join(", ")
}

/// The labels of the records at these indices of `records`, their values
/// read from the store.
fn labels(
    store: &mut dyn HubStore,
    tenant: &str,
    records: &[RecordId],
    mut indices: Vec<usize>,
) -> anyhow::Result<HashMap<usize, String>> {
    indices.sort_unstable();
    indices.dedup();
    let ids: Vec<RecordId> = indices.iter().map(|&i| records[i]).collect();
    let states = store.load_records(tenant, &ids)?;
    Ok(indices
        .into_iter()
        .zip(states)
        .map(|(i, s)| (i, s.map(|s| label(&s.values)).unwrap_or_default()))
        .collect())
}

/// Run `dedupe`.
pub fn run(path: &Path, args: &Args) -> anyhow::Result<ExitCode> {
    let config = super::load_hub_config(path)?;
    let mut store = super::open_store(&config)?;
    let m = matching(&config, &args.entity)?;
    let tenant = config.tenant.as_str();
    if !args.dry_run {
        let by = super::resolve::default_by();
        let (run, applied) = ops::dedupe(store.as_mut(), (tenant, &by), (&args.entity, m))?;
        for failure in &applied.failed {
            println!("not merged: {failure}");
        }
        println!(
            "run {run}: {} records merged into others, {} pairs newly queued for review (einklang review), {} kept apart because a person rejected them{}",
            applied.merged,
            applied.queued,
            applied.kept_apart,
            if applied.failed.is_empty() { String::new() } else { format!(", {} not merged (above)", applied.failed.len()) }
        );
        return Ok(ExitCode::SUCCESS);
    }
    let (records, plan) = ops::plan(store.as_mut(), tenant, (&args.entity, m))?;
    let id = |i: usize| records[i];
    let reviews: Vec<_> = plan
        .pairs
        .iter()
        .filter(|p| p.decision == Decision::Review)
        .collect();
    if args.json {
        let clusters: Vec<Vec<RecordId>> = plan
            .clusters
            .iter()
            .map(|c| c.iter().map(|&i| id(i)).collect())
            .collect();
        let pairs: Vec<serde_json::Value> = plan
            .pairs
            .iter()
            .filter(|p| p.decision != Decision::Apart)
            .map(|p| serde_json::json!({"a": id(p.a), "b": id(p.b), "probability": p.probability, "decision": p.decision}))
            .collect();
        super::print_json(
            &serde_json::json!({"records": records.len(), "candidate_pairs": plan.pairs.len(), "clusters": clusters, "pairs": pairs, "trained_m": trained_m(&plan.trained_m)}),
        )?;
        return Ok(ExitCode::SUCCESS);
    }
    // the values of only the records shown
    let shown: Vec<usize> = plan
        .clusters
        .iter()
        .take(args.limit)
        .flatten()
        .copied()
        .chain(reviews.iter().take(args.limit).flat_map(|p| [p.a, p.b]))
        .collect();
    let labels = labels(store.as_mut(), tenant, &records, shown)?;
    let label = |i: usize| labels.get(&i).map_or("", String::as_str);
    let mut t = Table::new(&["cluster", "records", "lowest pair probability"]);
    for (n, c) in plan.clusters.iter().take(args.limit).enumerate() {
        let lowest = plan
            .pairs
            .iter()
            .filter(|p| p.decision == Decision::Merge && c.contains(&p.a))
            .map(|p| p.probability)
            .fold(1.0, f64::min);
        let members: Vec<String> = c
            .iter()
            .map(|&i| format!("{} ({})", id(i), label(i)))
            .collect();
        t.row(vec![
            (n + 1).to_string(),
            members.join("; "),
            format!("{lowest:.3}"),
        ]);
    }
    if !plan.clusters.is_empty() {
        print!("{t}");
    }
    let mut r = Table::new(&["review", "a", "b", "probability"]);
    for (n, p) in reviews.iter().take(args.limit).enumerate() {
        r.row(vec![
            (n + 1).to_string(),
            format!("{} ({})", id(p.a), label(p.a)),
            format!("{} ({})", id(p.b), label(p.b)),
            format!("{:.3}", p.probability),
        ]);
    }
    if !reviews.is_empty() {
        print!("{r}");
    }
    if !plan.trained_m.is_empty() {
        // what EM learned, as config lines: pinned in `compare`, matching
        // on ingest (which sees no candidate pairs to learn from) scores
        // with them too
        println!("m estimated by EM (estimate = \"em\"):");
        for (field, m) in &plan.trained_m {
            println!("  {field}: m = [{:.4}, {:.4}, {:.4}]", m[0], m[1], m[2]);
        }
    }
    let merged: usize = plan.clusters.iter().map(|c| c.len() - 1).sum();
    println!(
        "{} records, {} candidate pairs: {} clusters ({merged} records would merge into others), {} pairs for review — dry run, nothing merged",
        records.len(),
        plan.pairs.len(),
        plan.clusters.len(),
        reviews.len()
    );
    Ok(ExitCode::SUCCESS)
}

/// The `m` EM left per field, as JSON (`{"first_name": [..], …}`).
fn trained_m(m: &[(String, [f64; 3])]) -> serde_json::Value {
    m.iter()
        .map(|(f, m)| (f.clone(), serde_json::json!(m)))
        .collect::<serde_json::Map<_, _>>()
        .into()
}

/// Run `explain`: the pair as it is now, and — when either record has
/// absorbed others since — as it was before those merges, with the
/// decisions on record (merges, reviews) and what became of each record.
pub fn explain(path: &Path, args: &ExplainArgs) -> anyhow::Result<ExitCode> {
    let config = super::load_hub_config(path)?;
    let mut store = super::open_store(&config)?;
    let m = matching(&config, &args.entity)?;
    // the model as the pass prepares it, without pairing every record
    let model = ops::fitted_model(store.as_mut(), &config.tenant, (&args.entity, m))?;
    let tenant = config.tenant.as_str();
    let mut load = |id: RecordId| -> anyhow::Result<(Fields, Option<Fields>, Option<String>)> {
        let r = store
            .record(tenant, &args.entity, id)?
            .ok_or_else(|| anyhow!("no {} record {id}", args.entity))?;
        let note = match (r.merged_into, r.deleted_at) {
            (Some(s), _) => Some(format!(
                "record {id} was merged into {s}: scored with its values as they were then"
            )),
            (None, Some(at)) => Some(format!(
                "record {id} was deleted {}",
                at.format("%Y-%m-%d %H:%M")
            )),
            _ => None,
        };
        let history = store.history_of(tenant, id)?;
        let before = recorded::before_merges(id, &r.values, &history);
        Ok((r.values, before, note))
    };
    let (a, a_before, a_note) = load(args.a)?;
    let (b, b_before, b_note) = load(args.b)?;
    for note in a_note.iter().chain(&b_note) {
        println!("{note}");
    }
    print_explanation(&model, m, &a, &b);
    if a_before.is_some() || b_before.is_some() {
        let absorbed: Vec<String> = [(args.a, &a_before), (args.b, &b_before)]
            .iter()
            .filter(|(_, b)| b.is_some())
            .map(|(id, _)| id.to_string())
            .collect();
        let (a0, b0) = (a_before.unwrap_or(a), b_before.unwrap_or(b));
        let then = model.score(&a0, &b0);
        println!(
            "record {} absorbed other records since: before those merges the pair scored {:.4}",
            absorbed.join(" and "),
            then.probability
        );
    }
    let merges = store.merges(tenant, Some(args.a), 1000)?;
    let reviews = store.reviews(tenant, false, 100_000)?;
    let on_record = recorded::decisions(args.a, args.b, &merges, &reviews);
    if on_record.is_empty() {
        println!("no merge or review of this pair on record");
    }
    for line in on_record {
        println!("on record: {line}");
    }
    Ok(ExitCode::SUCCESS)
}

/// Print how `a` and `b` score, field by field, with the decision.
pub(crate) fn print_explanation(model: &Model, m: &Matching, a: &Fields, b: &Fields) {
    let score = model.score(a, b);
    let mut t = Table::new(&["field", "a", "b", "agreement", "weight", "tf", "counted"]);
    let show = |v: Option<&serde_json::Value>| v.map(|v| v.to_string()).unwrap_or_default();
    for (part, c) in score.parts.iter().zip(&model.comparisons) {
        t.row(vec![
            part.field.clone(),
            show(a.get(&c.field)),
            show(b.get(&c.field)),
            format!("{:?}", part.level).to_lowercase(),
            format!("{:+.2}", part.weight),
            match part.tf {
                0.0 => String::new(),
                tf => format!("{tf:+.2}"),
            },
            if part.counted {
                "yes".into()
            } else {
                format!("no (group {})", c.group.as_deref().unwrap_or(""))
            },
        ]);
    }
    print!("{t}");
    if model.different_people(&model.forms(a), &model.forms(b)) {
        println!("first names or birthdays disagree: two people, whatever they share — an e-mail or phone both carry is no evidence, and a pass never puts them into one record unless the pair itself scores a merge");
    }
    let decision =
        einklang_core::identity::model::decide(score.probability, m.auto_merge, m.review);
    println!(
        "prior {:+.2}, total {:+.2} (log2 odds): match probability {:.4} — {} (auto_merge {}, review {})",
        (model.prior / (1.0 - model.prior)).log2(),
        score.log2_odds,
        score.probability,
        match decision {
            Decision::Merge => "merge",
            Decision::Review => "review",
            Decision::Apart => "keep apart",
        },
        m.auto_merge,
        m.review
    );
}
