//! One module per subcommand, plus the helpers they share: loading the config and opening the store.

pub mod changes;
pub mod check;
pub mod conflicts;
pub mod connector;
pub mod connectors;
pub mod dedupe;
pub mod doctor;
pub mod hooks;
pub mod plan;
pub mod quarantine;
pub mod resolve;
pub mod review;
pub mod runs;
pub mod serve;
pub mod show;
pub mod staging;
pub mod sync;
pub mod watch;

use anyhow::Context;
use einklang_config::Config;
use einklang_store::HubStore;
use std::path::Path;

/// Each connector kind's check of its settings, for [`einklang_config::load_with`].
pub fn settings_check(
    kind: &str,
    settings: &einklang_connectors::Settings,
) -> Vec<(Option<String>, String)> {
    einklang_connectors::validate_settings(kind, settings)
        .into_iter()
        .map(|p| (p.key, p.message))
        .collect()
}

/// Load and validate the config, connector settings too; on problems print
/// every one and fail.
pub fn load_config(path: &Path) -> anyhow::Result<Config> {
    tenant_of(load_all_tenants(path)?)
}

/// Load and check the config with every tenant it serves (`einklang
/// serve` without `--tenant`).
pub fn load_all_tenants(path: &Path) -> anyhow::Result<Config> {
    match einklang_config::load_with(path, &settings_check) {
        Ok(config) => Ok(config),
        Err(errors) => {
            for d in &errors.0 {
                eprintln!("{d}");
            }
            let message = format!("{} problem(s) in {}", errors.0.len(), path.display());
            Err(crate::exit::ConfigProblems(message).into())
        }
    }
}

/// The config as the chosen tenant runs it (`--tenant`, `EINKLANG_TENANT`,
/// else the config's `tenant`): a tenant the config does not serve is a
/// usage error naming those it does.
pub fn tenant_of(config: Config) -> anyhow::Result<Config> {
    let name = std::env::var("EINKLANG_TENANT").unwrap_or_else(|_| config.tenant.clone());
    match config.for_tenant(&name) {
        Some(c) => Ok(c),
        None => Err(crate::exit::Usage(format!(
            "the config serves no tenant `{name}`; pick one with --tenant: {}",
            config.tenant_names().join(", ")
        ))
        .into()),
    }
}

/// Load the config for a command that reads or changes only the hub
/// (`show`, `explain`, `runs`, …): a connector's secret that is not set
/// is no problem — such a command never reaches a connector. A missing
/// variable the store's location needs still fails, naming it.
pub fn load_hub_config(path: &Path) -> anyhow::Result<Config> {
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("reading the config {}", path.display()))?;
    let missing = std::cell::RefCell::new(Vec::new());
    let env = |var: &str| {
        std::env::var(var).ok().or_else(|| {
            missing.borrow_mut().push(var.to_string());
            Some(format!("${{{var}}} (not set)"))
        })
    };
    let config = match einklang_config::load_str(&text, path, &env) {
        Ok(config) => config,
        Err(errors) => {
            for d in &errors.0 {
                eprintln!("{d}");
            }
            let message = format!("{} problem(s) in {}", errors.0.len(), path.display());
            return Err(crate::exit::ConfigProblems(message).into());
        }
    };
    let config = tenant_of(config)?;
    let store = config.store.as_open_str();
    if let Some(var) = missing
        .borrow()
        .iter()
        .find(|v| store.contains(&format!("${{{v}}}")))
    {
        let message = format!("the hub store's location needs ${{{var}}}, which is not set");
        return Err(crate::exit::ConfigProblems(message).into());
    }
    Ok(config)
}

/// Open (and migrate) the hub store the config names.
pub fn open_store(config: &Config) -> anyhow::Result<Box<dyn HubStore>> {
    let what = match &config.store {
        einklang_config::StoreLocation::Sqlite(p) => format!("SQLite hub store {}", p.display()),
        einklang_config::StoreLocation::Postgres(_) => "PostgreSQL hub store".to_string(),
    };
    einklang_store::open(&config.store.as_open_str()).with_context(|| format!("opening the {what}"))
}

/// Print `value` as pretty JSON on stdout.
pub fn print_json<T: serde::Serialize>(value: &T) -> anyhow::Result<()> {
    println!("{}", serde_json::to_string_pretty(value)?);
    Ok(())
}

/// A UTC timestamp without sub-seconds, for tables.
pub fn short_time(t: &chrono::DateTime<chrono::Utc>) -> String {
    t.format("%Y-%m-%d %H:%M:%S").to_string()
}
