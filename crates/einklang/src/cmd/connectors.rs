//! `einklang connectors`: the connector kinds this build knows, their
//! settings and what they can do, one block per kind (the lines are too
//! long for a table).

use std::process::ExitCode;

/// Print the kinds with their settings.
pub fn run() -> anyhow::Result<ExitCode> {
    for (i, k) in einklang_connectors::kinds().into_iter().enumerate() {
        if i > 0 {
            println!();
        }
        println!("{} — {}", k.kind, k.summary);
        println!("  settings: {}", k.settings.join(", "));
        println!("  can:      {}", k.can);
    }
    println!("\nSettings and raw field names of each kind: docs/CONFIG.md, \"Connectors\".");
    Ok(ExitCode::SUCCESS)
}
