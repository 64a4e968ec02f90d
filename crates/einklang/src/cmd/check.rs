//! `einklang check`: validate the config and every connector's settings; report all problems at once.

use einklang_config::{Config, Diagnostic};
use std::path::Path;
use std::process::ExitCode;

/// Run the check; exit code 1 when there are problems.
pub fn run(path: &Path) -> anyhow::Result<ExitCode> {
    let mut problems = match einklang_config::load(path) {
        Ok(config) => {
            let problems = connector_problems(&config);
            if problems.is_empty() {
                println!("{}: ok ({})", path.display(), summary(&config));
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

fn summary(config: &Config) -> String {
    format!(
        "{} entities, {} connectors, {} mappings, {} jobs",
        config.entities.len(),
        config.connectors.len(),
        config.mappings.len(),
        config.jobs.len()
    )
}
