//! `einklang check`: validate the config and every connector's settings;
//! report all problems at once. With `--connect`, then reach every
//! connector with its credentials (one cheap request or query each) and
//! say what answered or what failed: the URL, method, status and excerpt
//! from the connector's error, never a secret.

use einklang_config::{Config, Diagnostic};
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
    let mut problems = match einklang_config::load(path) {
        Ok(config) => {
            let problems = connector_problems(&config);
            if problems.is_empty() {
                println!("{}: ok ({})", path.display(), summary(&config));
                if args.connect {
                    return Ok(connect(&config));
                }
                return Ok(ExitCode::SUCCESS);
            }
            problems
        }
        Err(errors) => errors.0,
    };
    problems.sort();
    for d in &problems {
        println!("{d}");
    }
    println!("{} problem(s) found", problems.len());
    Ok(ExitCode::from(1))
}

/// Kind-specific setting problems, located at the setting (or the connector's table).
pub fn connector_problems(config: &Config) -> Vec<Diagnostic> {
    let mut out = Vec::new();
    for c in config.connectors.values() {
        for p in einklang_connectors::validate_settings(&c.kind, &c.settings) {
            let location = p
                .key
                .as_ref()
                .and_then(|k| c.setting_locations.get(k))
                .unwrap_or(&c.location)
                .clone();
            let message = format!("connector `{}`: {}", c.name, p.message);
            out.push(Diagnostic { location, message });
        }
    }
    out
}

/// Probe each connector; exit code 1 when one cannot be reached.
fn connect(config: &Config) -> ExitCode {
    let mut failed = 0;
    for c in config.connectors.values() {
        let probe = einklang_connectors::open(&c.name, &c.kind, &c.settings, &config.base_dir)
            .and_then(|mut connector| connector.probe());
        match probe {
            Ok(what) => println!("connector `{}` ({}): ok — {what}", c.name, c.kind),
            Err(e) => {
                failed += 1;
                println!("connector `{}` ({}): FAILED — {e}", c.name, c.kind);
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
