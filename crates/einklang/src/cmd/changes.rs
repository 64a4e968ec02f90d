//! `einklang changes ENTITY`: what changed between the last two applied
//! snapshots of an entity (refresh jobs keep them, `keep_snapshots`) —
//! records new and gone, and field by field the values that changed, with
//! counts per field ("3 salary changed, 1 new"), as a table or for export
//! as CSV or JSON lines (seed 004's "Recent changes"); with `--since T`,
//! every change the hub's history holds from then on ([`since`]).

mod since;

use crate::table::Table;
use einklang_store::Run;
use serde_json::Value;
use std::collections::BTreeMap;
use std::path::Path;
use std::process::ExitCode;

/// Arguments of `changes`.
#[derive(clap::Args, Debug)]
pub struct Args {
    /// The entity.
    entity: String,
    /// Only changes of this field.
    #[arg(long)]
    field: Option<String>,
    /// Show at most this many changes (the table; exports list all).
    #[arg(long, default_value_t = 50)]
    limit: usize,
    /// Every change as CSV (change, external_id, field, old, new).
    #[arg(long, conflicts_with = "jsonl")]
    csv: bool,
    /// Every change as one JSON object a line.
    #[arg(long)]
    jsonl: bool,
    /// The changes the hub's history holds from T on, whatever made them,
    /// instead of those between the last two snapshots: a time
    /// (2026-12-01T08:00:00Z), a date (2026-12-01) or a span back (24h, 7d).
    #[arg(long, value_name = "T")]
    since: Option<String>,
}

/// One change between the two snapshots.
type Row = einklang_engine::snapshots::SnapshotChange;

/// Run `changes`.
pub fn run(path: &Path, args: &Args) -> anyhow::Result<ExitCode> {
    let config = super::load_hub_config(path)?;
    let mut store = super::open_store(&config)?;
    let tenant = config.tenant.clone();
    if let Some(t) = &args.since {
        let at = since::parse_since(t, chrono::Utc::now())?;
        let out = match (args.csv, args.jsonl) {
            (true, _) => since::Out::Csv,
            (_, true) => since::Out::Jsonl,
            _ => since::Out::Table(args.limit),
        };
        let what = (args.entity.as_str(), args.field.as_deref());
        since::print(store.as_mut(), &tenant, what, at, out)?;
        return Ok(ExitCode::SUCCESS);
    }
    let snapshots = einklang_engine::kept_snapshots(store.as_mut(), &tenant, &args.entity, None)?;
    let [newer, older, ..] = &snapshots[..] else {
        match snapshots.first() {
            None => println!(
                "no applied snapshot of {} is kept: a refresh job keeps them (keep_snapshots)",
                args.entity
            ),
            Some(r) => println!(
                "one snapshot of {} is kept (run {}): changes need the next one",
                args.entity, r.id
            ),
        }
        return Ok(ExitCode::SUCCESS);
    };
    let rows = einklang_engine::snapshots::diff(
        store.as_mut(),
        &tenant,
        &args.entity,
        (older.id, newer.id),
    )?;
    let rows: Vec<Row> = rows
        .into_iter()
        .filter(|r| args.field.as_ref().is_none_or(|f| r.field == *f))
        .collect();
    if args.csv {
        let mut w = csv::Writer::from_writer(std::io::stdout().lock());
        w.write_record(["change", "external_id", "field", "old", "new"])?;
        for r in &rows {
            let text = |v: &Option<Value>| v.as_ref().map(Value::to_string).unwrap_or_default();
            w.write_record([
                r.change,
                &r.external_id,
                &r.field,
                &text(&r.old),
                &text(&r.new),
            ])?;
        }
        w.flush()?;
    } else if args.jsonl {
        for r in &rows {
            println!("{}", serde_json::to_string(r)?);
        }
    } else {
        print_table(args, (older, newer), &rows);
    }
    Ok(ExitCode::SUCCESS)
}

fn print_table(args: &Args, (older, newer): (&Run, &Run), rows: &[Row]) {
    let mut per: BTreeMap<(&str, &str), u64> = BTreeMap::new();
    for r in rows {
        *per.entry((r.change, r.field.as_str())).or_default() += 1;
    }
    println!(
        "{} between run {} ({}) and run {} ({}):",
        args.entity,
        older.id,
        super::short_time(&older.started_at),
        newer.id,
        super::short_time(&newer.started_at)
    );
    let mut counts = Table::new(&["change", "field", "records"]);
    for ((change, field), n) in &per {
        counts.row(vec![change.to_string(), field.to_string(), n.to_string()]);
    }
    print!("{counts}");
    let shown = |v: &Option<Value>| v.as_ref().map(Value::to_string).unwrap_or_default();
    let mut t = Table::new(&["change", "external id", "field", "old", "new"]);
    for r in rows.iter().take(args.limit) {
        t.row(vec![
            r.change.into(),
            r.external_id.clone(),
            r.field.clone(),
            shown(&r.old),
            shown(&r.new),
        ]);
    }
    if !rows.is_empty() {
        print!("{t}");
    }
    if rows.len() > args.limit {
        println!(
            "… {} more (--limit, or --csv / --jsonl for all)",
            rows.len() - args.limit
        );
    }
}
