//! `einklang conflicts`: fields that changed on two sides, held for review
//! (and, with `--all`, those already resolved or decided by a policy).

use crate::table::Table;
use einklang_core::Value;
use einklang_store::ConflictRow;
use std::path::Path;
use std::process::ExitCode;

/// Arguments of `conflicts`.
#[derive(clap::Args, Debug)]
pub struct Args {
    /// Include resolved and automatically decided conflicts.
    #[arg(long)]
    all: bool,
    /// How many to list.
    #[arg(long, default_value_t = 50)]
    limit: usize,
    /// Print JSON (values in full).
    #[arg(long)]
    json: bool,
}

/// Longest value shown in the table, in characters.
const VALUE_WIDTH: usize = 40;

/// List conflicts, newest first.
pub fn run(path: &Path, args: &Args) -> anyhow::Result<ExitCode> {
    let config = super::load_hub_config(path)?;
    let mut store = super::open_store(&config)?;
    let rows = store.conflicts(&config.tenant, !args.all, args.limit)?;
    if args.json {
        super::print_json(&rows)?;
    } else if rows.is_empty() {
        println!(
            "{}",
            if args.all {
                "no conflicts"
            } else {
                "no open conflicts"
            }
        );
    } else {
        print!("{}", table(&rows));
        if rows.iter().any(|c| c.status == "open") {
            println!("decide one with: einklang resolve ID --take hub|CONNECTOR or --value VALUE");
        }
    }
    Ok(ExitCode::SUCCESS)
}

fn table(rows: &[ConflictRow]) -> Table {
    let mut t = Table::new(&[
        "id",
        "record",
        "field",
        "connector",
        "hub value",
        "remote value",
        "policy",
        "status",
        "found",
    ]);
    for c in rows {
        t.row(vec![
            c.id.to_string(),
            format!("{} {}", c.entity, c.record_id),
            c.field.clone(),
            c.connector.clone(),
            short(&c.hub_value),
            short(&c.remote_value),
            c.policy.clone(),
            status(c),
            super::short_time(&c.created_at),
        ]);
    }
    t
}

/// `open`, `resolved: hub by alice`, `auto: espo`.
fn status(c: &ConflictRow) -> String {
    match (c.status.as_str(), &c.resolved_by) {
        ("open", _) => "open".into(),
        (status, Some(by)) => format!("{status}: {} by {by}", c.resolution),
        (status, None) => format!("{status}: {}", c.resolution),
    }
}

/// A value as JSON on one line, shortened to [`VALUE_WIDTH`] characters.
pub fn short(v: &Value) -> String {
    let s = match v {
        Value::Null => "∅".to_string(),
        other => other.to_string(),
    };
    if s.chars().count() > VALUE_WIDTH {
        format!("{}…", s.chars().take(VALUE_WIDTH - 1).collect::<String>())
    } else {
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn values_are_json_on_one_line_and_shortened() {
        assert_eq!(short(&json!("a@b.de")), "\"a@b.de\"");
        assert_eq!(short(&Value::Null), "∅");
        assert_eq!(short(&json!(["+4930", "+4989"])), "[\"+4930\",\"+4989\"]");
        let long = short(&json!("x".repeat(100)));
        assert_eq!(long.chars().count(), VALUE_WIDTH);
        assert!(long.ends_with('…'));
    }
}
