//! What `check` says about change feeds: an `http` or `graphql` connector
//! read through `changes` that tells no deletions (no `deletes` request,
//! no `removed` marker of a delta feed) notices a deleted record only on a
//! full read (`einklang sync --full`) — a warning names the connector.

use einklang_config::{Config, Step};
use serde_json::Value;
use std::collections::BTreeSet;

/// One warning per read connector whose change feed tells no deletions.
pub fn warnings(config: &Config) -> Vec<String> {
    let mut read: BTreeSet<&str> = BTreeSet::new();
    for step in config.jobs.values().flat_map(|j| &j.steps) {
        match step {
            Step::Pull { connector, .. } => {
                read.insert(connector);
            }
            Step::Sync { connectors, .. } => read.extend(connectors.iter().map(String::as_str)),
            // a refresh reads everything every time: no feed to check
            Step::Push { .. } | Step::Refresh { .. } => {}
        }
    }
    let mut out = Vec::new();
    for name in read {
        let Some(c) = config.connectors.get(name) else {
            continue;
        };
        if !matches!(c.kind.as_str(), "http" | "graphql") {
            continue;
        }
        let Some(changes) = c.settings.get("changes") else {
            continue;
        };
        let removals = changes.get("removed").is_some_and(|v| !v.is_null());
        if c.settings.get("deletes").is_some_and(|v| !v.is_null()) || removals {
            continue;
        }
        let delta = changes.get("delta").is_some_and(|v| v != &Value::Null);
        let add = match delta {
            true => "give the delta feed `removed`",
            false => "add a `deletes` request",
        };
        out.push(format!(
            "warning: connector `{name}` reads changes without deletions: a record deleted there is noticed only by `einklang sync --full` ({add}, or run a full sync now and then)"
        ));
    }
    out
}
