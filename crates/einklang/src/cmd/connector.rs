//! `einklang connector install NAME`: set up on the remote what a
//! configured connector needs (for `postgres_table` with `change_log`: the
//! change log table and its trigger). Idempotent.

use anyhow::{anyhow, Context};
use std::path::Path;
use std::process::ExitCode;

/// What to do with a connector.
#[derive(clap::Subcommand, Debug)]
pub enum Action {
    /// Install what the connector needs on the remote (a change log, a trigger).
    Install {
        /// The connector's name in the config.
        name: String,
    },
}

/// Run the action.
pub fn run(path: &Path, action: &Action) -> anyhow::Result<ExitCode> {
    let Action::Install { name } = action;
    let config = super::load_config(path)?;
    let cc = config
        .connectors
        .get(name)
        .ok_or_else(|| anyhow!("no connector `{name}` in {}", path.display()))?;
    let mut connector =
        einklang_connectors::open(&cc.name, &cc.kind, &cc.settings, &config.base_dir)?;
    let done = connector
        .install()
        .with_context(|| format!("installing connector `{name}`"))?;
    for item in done {
        println!("installed: {item}");
    }
    Ok(ExitCode::SUCCESS)
}
