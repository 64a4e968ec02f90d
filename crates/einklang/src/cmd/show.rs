//! `einklang show ENTITY ID`: one hub record, its links and its history,
//! and the values einklang could not read (kept flagged, with the reason:
//! `einklang_core::transform::flag`).

use crate::table::Table;
use anyhow::bail;
use einklang_core::transform::flag::{flagged, flags_of, Flagged};
use einklang_core::Value;
use einklang_engine::refs::{shown_refs, ShownRef};
use einklang_store::{HistoryEntry, HubRecord, Link, LinkStatus};
use std::path::Path;
use std::process::ExitCode;

/// Arguments of `show`.
#[derive(clap::Args, Debug)]
pub struct Args {
    /// Entity name (`contact`).
    entity: String,
    /// Hub record id.
    id: i64,
    /// Print JSON.
    #[arg(long)]
    json: bool,
}

#[derive(serde::Serialize)]
struct Shown {
    record: HubRecord,
    /// The values kept as they were read because they could not be:
    /// field, raw value, reason.
    flagged: Vec<Flagged>,
    /// The records its `ref` fields lead to (through merges).
    refs: Vec<ShownRef>,
    links: Vec<Link>,
    history: Vec<HistoryEntry>,
    /// Fields a linked connector does not keep as written (left out of
    /// writes to it).
    not_kept: Vec<NotKept>,
}

#[derive(serde::Serialize)]
struct NotKept {
    connector: String,
    field: String,
    example: String,
    noticed_at: String,
}

/// The fields the record's connectors do not keep, for its entity.
fn not_kept_of(
    store: &mut dyn einklang_store::HubStore,
    tenant: &str,
    entity: &str,
    links: &[Link],
) -> anyhow::Result<Vec<NotKept>> {
    let mut out = Vec::new();
    let mut connectors: Vec<&str> = links.iter().map(|l| l.connector.as_str()).collect();
    connectors.dedup();
    for c in connectors {
        for f in store.ignored_fields(tenant, c, entity)? {
            out.push(NotKept {
                connector: f.connector,
                field: f.field,
                example: f.example,
                noticed_at: f.noticed_at,
            });
        }
    }
    Ok(out)
}

/// Print the record.
pub fn run(path: &Path, args: &Args) -> anyhow::Result<ExitCode> {
    let config = super::load_hub_config(path)?;
    let mut store = super::open_store(&config)?;
    let tenant = &config.tenant;
    let Some(record) = store.record(tenant, &args.entity, args.id)? else {
        bail!("no {} with id {} in the hub", args.entity, args.id);
    };
    let mut links = store.links_of(tenant, record.id)?;
    for link in &mut links {
        // a write in flight (its outbox entry is `sending`) shows as
        // `syncing`; a write that failed keeps its entry `sending` too,
        // for the next read to tell whether it landed, but that link is
        // `failed` (with its next try and error) as the store says
        let failed = matches!(
            link.status,
            LinkStatus::Failed | LinkStatus::PermanentlyFailed
        );
        let sending = !failed
            && store
                .outbox(tenant, &link.connector, &link.entity)?
                .iter()
                .any(|e| e.link_id == link.id && e.state == "sending");
        if sending {
            link.status = LinkStatus::Syncing;
        }
    }
    let not_kept = not_kept_of(&mut *store, tenant, &record.entity, &links)?;
    let refs = match config.entities.get(&record.entity) {
        Some(schema) => shown_refs(&mut *store, tenant, schema, &record.values)?,
        None => Vec::new(),
    };
    let shown = Shown {
        not_kept,
        refs,
        flagged: flags_of(&record.values),
        links,
        history: store.history_of(tenant, record.id)?,
        record,
    };
    if args.json {
        super::print_json(&shown)?;
    } else {
        print_text(&shown);
    }
    Ok(ExitCode::SUCCESS)
}

fn print_text(s: &Shown) {
    let r = &s.record;
    println!(
        "{} {} (created {}, updated {})",
        r.entity,
        r.id,
        super::short_time(&r.created_at),
        super::short_time(&r.updated_at)
    );
    if let Some(into) = r.merged_into {
        println!("merged into {into}");
    }
    if let Some(at) = r.deleted_at {
        println!("deleted at {}", super::short_time(&at));
    }
    let mut values = Table::new(&["field", "value"]);
    for (k, v) in &r.values {
        values.row(vec![k.clone(), shown_value(v)]);
    }
    print!("\n{values}");
    if !s.flagged.is_empty() {
        let mut flagged = Table::new(&["field", "value as read", "why it was kept as it is"]);
        for f in &s.flagged {
            flagged.row(vec![f.field.clone(), f.value.to_string(), f.reason.clone()]);
        }
        print!("\nflagged (kept as read, written back unchanged)\n{flagged}");
    }
    if !s.refs.is_empty() {
        let mut refs = Table::new(&["field", "refers to", "record now", "named"]);
        for r in &s.refs {
            let now = match (r.record, r.deleted) {
                (None, _) => "not in the hub".to_string(),
                (Some(id), true) => format!("{} {id} (deleted)", r.entity),
                (Some(id), false) if id != r.id => format!("{} {id} (merged)", r.entity),
                (Some(id), false) => format!("{} {id}", r.entity),
            };
            refs.row(vec![
                r.field.clone(),
                format!("{} {}", r.entity, r.id),
                now,
                r.label.clone(),
            ]);
        }
        print!("\nreferences\n{refs}");
    }
    if !s.not_kept.is_empty() {
        let mut t = Table::new(&["connector", "field", "what happened", "noticed"]);
        for n in &s.not_kept {
            t.row(vec![
                n.connector.clone(),
                n.field.clone(),
                n.example.clone(),
                n.noticed_at.clone(),
            ]);
        }
        print!("\nfields a connector did not keep as written (left out of writes to it)\n{t}");
    }
    let mut links = Table::new(&[
        "connector",
        "external id",
        "status",
        "version",
        "updated",
        "last error",
    ]);
    for l in &s.links {
        let status = match (l.status, l.next_attempt_at) {
            (LinkStatus::Failed, Some(t)) => {
                format!("failed ×{}, next try {}", l.attempts, super::short_time(&t))
            }
            (LinkStatus::PermanentlyFailed, Some(t)) => format!(
                "permanently_failed ×{}, tried again after {}",
                l.attempts,
                super::short_time(&t)
            ),
            (status, _) => status.as_str().to_string(),
        };
        links.row(vec![
            l.connector.clone(),
            l.external_id.clone(),
            status,
            l.version.clone().unwrap_or_default(),
            super::short_time(&l.updated_at),
            l.last_error.clone().unwrap_or_default(),
        ]);
    }
    print!("\nlinks\n{links}");
    let mut history = Table::new(&["at", "run", "origin", "field", "old", "new"]);
    for h in &s.history {
        for (field, c) in &h.changes {
            history.row(vec![
                super::short_time(&h.at),
                h.run_id.to_string(),
                h.origin.clone(),
                field.clone(),
                shown_value(&c.old),
                shown_value(&c.new),
            ]);
        }
    }
    print!("\nhistory\n{history}");
}

/// A value as JSON, a flag as its raw value marked `(flagged)` (in a list:
/// each flagged element).
fn shown_value(v: &Value) -> String {
    let one = |v: &Value| match flagged(v) {
        Some(f) => format!("{} (flagged)", f.raw),
        None => v.to_string(),
    };
    match v {
        Value::Array(items) if items.iter().any(|i| flagged(i).is_some()) => {
            let items: Vec<String> = items.iter().map(one).collect();
            format!("[{}]", items.join(","))
        }
        v => one(v),
    }
}
