//! `einklang connectors`: the connector kinds this build knows, their
//! settings and what they can do.

use crate::table::Table;
use std::process::ExitCode;

/// Print the kinds with their settings.
pub fn run() -> anyhow::Result<ExitCode> {
    let mut table = Table::new(&["kind", "settings", "what", "can"]);
    for k in einklang_connectors::kinds() {
        table.row(vec![
            k.kind.to_string(),
            k.settings.join(", "),
            k.summary.to_string(),
            k.can.to_string(),
        ]);
    }
    print!("{table}");
    Ok(ExitCode::SUCCESS)
}
