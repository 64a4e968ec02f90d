//! `einklang check`: validate the config and every connector's settings;
//! report all problems at once. A valid config gets, per connector a job
//! writes, which guarantee keeps a create whose answer was lost from being
//! made twice, with a warning for the weakest (`creates`), and warnings for
//! change feeds without deletions (`feeds`) and name-only blocking
//! (`blocking`); warnings do not
//! fail the check. With `--connect`, then reach every
//! connector with its credentials (one cheap request or query each) and
//! say what answered or what failed: the URL, method, status and excerpt
//! from the connector's error, never a secret.

mod blocking;
mod creates;
mod feeds;
mod lists;
mod refresh;

use einklang_config::Config;
use std::path::Path;
use std::process::ExitCode;

/// Options of `check`.
#[derive(clap::Args, Debug)]
pub struct Args {
    /// Also connect to every connector and test its credentials.
    #[arg(long)]
    pub connect: bool,
}

/// Run the check; exit code 1 when there are problems.
pub fn run(path: &Path, args: &Args) -> anyhow::Result<ExitCode> {
    let config = match einklang_config::load_with(path, &super::settings_check) {
        Ok(config) => config,
        Err(errors) => {
            for d in &errors.0 {
                println!("{d}");
            }
            println!("{} problem(s) found", errors.0.len());
            return Ok(ExitCode::from(1));
        }
    };
    println!("{}: ok ({})", path.display(), summary(&config));
    let (lines, mut warnings) = creates::report(&config);
    warnings.extend(lists::warnings(&config));
    warnings.extend(feeds::warnings(&config));
    warnings.extend(blocking::warnings(&config));
    warnings.extend(refresh::warnings(&config));
    warnings.extend(refresh::ref_warnings(&config));
    if !lines.is_empty() {
        println!("creates whose answer was lost are never made twice, per written connector (1 strongest, 4 weakest):");
    }
    for line in lines.iter().chain(&warnings) {
        println!("{line}");
    }
    if args.connect {
        return Ok(connect(&config));
    }
    Ok(ExitCode::SUCCESS)
}

/// Probe each connector — per tenant when the config serves several
/// (`[tenants]`: each with its own credentials filled in); exit code 1
/// when one cannot be reached.
fn connect(config: &Config) -> ExitCode {
    let mut failed = 0;
    for tenant in config.tenant_names() {
        let Some(own) = config.for_tenant(&tenant) else {
            continue;
        };
        let who = match config.tenants.is_empty() {
            true => String::new(),
            false => format!("tenant `{tenant}`: "),
        };
        for c in own.connectors.values() {
            let probe = einklang_connectors::open(&c.name, &c.kind, &c.settings, &own.base_dir)
                .and_then(|mut connector| connector.probe());
            match probe {
                Ok(what) => println!("{who}connector `{}` ({}): ok — {what}", c.name, c.kind),
                Err(e) => {
                    failed += 1;
                    println!("{who}connector `{}` ({}): FAILED — {e}", c.name, c.kind);
                }
            }
        }
    }
    if failed > 0 {
        println!("{failed} connector(s) could not be reached");
        return ExitCode::from(1);
    }
    ExitCode::SUCCESS
}

fn summary(config: &Config) -> String {
    format!(
        "{} entities, {} connectors, {} mappings, {} jobs",
        config.entities.len(),
        config.connectors.len(),
        config.mappings.len(),
        config.jobs.len()
    )
}
