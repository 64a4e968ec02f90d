//! `einklang resolve ID`: decide a conflict held for review — keep the
//! hub's value, take a connector's, or set a value of one's own. The hub
//! takes the value now; the next sync writes it to the connectors.

use crate::exit::Usage;
use einklang_config::Config;
use einklang_core::Value;
use einklang_engine::{Choice, ResolveError, Resolved};
use einklang_store::HubStore;
use std::path::Path;
use std::process::ExitCode;

/// Arguments of `resolve`.
#[derive(clap::Args, Debug)]
#[command(group(clap::ArgGroup::new("choice").required(true).args(["take", "value"])))]
pub struct Args {
    /// The conflict (see `einklang conflicts`).
    id: i64,
    /// Take the value of `hub` or of this connector.
    #[arg(long, value_name = "hub|CONNECTOR")]
    take: Option<String>,
    /// Set this value: JSON if it parses as JSON (numbers, true/false,
    /// arrays), otherwise text; normalised by the entity's schema.
    #[arg(long)]
    value: Option<String>,
    /// Who decided (recorded with the resolution); default: $USER, else `cli`.
    #[arg(long, value_name = "WHO")]
    by: Option<String>,
}

/// Resolve the conflict and say what the hub now holds.
pub fn run(path: &Path, args: &Args) -> anyhow::Result<ExitCode> {
    let config = super::load_hub_config(path)?;
    let mut store = super::open_store(&config)?;
    let choice = choice(&config, store.as_mut(), args)?;
    let by = args.by.clone().unwrap_or_else(default_by);
    let resolved = einklang_engine::resolve(store.as_mut(), &config.tenant, args.id, choice, &by)?;
    let connectors: Vec<String> = store
        .links_of(&config.tenant, resolved.record_id)?
        .into_iter()
        .map(|l| l.connector)
        .collect();
    report(&resolved, &connectors);
    Ok(ExitCode::SUCCESS)
}

/// Who decided: $USER, else `cli`.
pub(crate) fn default_by() -> String {
    std::env::var("USER")
        .ok()
        .filter(|u| !u.is_empty())
        .unwrap_or_else(|| "cli".into())
}

fn choice(config: &Config, store: &mut dyn HubStore, args: &Args) -> anyhow::Result<Choice> {
    match (&args.take, &args.value) {
        (Some(side), None) if side == "hub" => Ok(Choice::Hub),
        (Some(side), None) => Ok(Choice::Connector(side.clone())),
        (None, Some(text)) => {
            let conflict = store
                .conflict(&config.tenant, args.id)?
                .ok_or(ResolveError::Unknown(args.id))?;
            let value =
                einklang_engine::typed_value(config, &conflict.entity, &conflict.field, text)
                    .map_err(Usage)?;
            Ok(Choice::Value(value))
        }
        _ => Err(Usage("give exactly one of --take and --value".into()).into()),
    }
}

fn report(r: &Resolved, connectors: &[String]) {
    let value = match &r.value {
        Value::Null => "nothing (the field is cleared)".to_string(),
        v => v.to_string(),
    };
    println!(
        "conflict {} resolved: hub record {} field `{}` now holds {value} (run {})",
        r.conflict_id, r.record_id, r.field, r.run_id
    );
    if connectors.is_empty() {
        println!("no connector is linked to the record");
    } else {
        println!(
            "the next sync writes it to the linked connectors: {}",
            connectors.join(", ")
        );
    }
}
