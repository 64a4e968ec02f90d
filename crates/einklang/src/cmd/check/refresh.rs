//! What `check` says about refresh jobs: a connector that sends webhooks
//! and is refreshed by a job makes every webhook (one run per window) a
//! full read and swap of everything — a refresh is for a schedule or
//! "Sync now"; a webhook wants a pull. And `ref` fields: only a refresh
//! resolves the source's id into the hub id of the record it names; a
//! pull, push or sync of a mapping with a ref field would read the
//! source's id as it is, or write the hub id.

use einklang_config::{Config, Step};
use einklang_core::FieldType;

/// One warning per refresh job whose connector has a `webhook`.
pub fn warnings(config: &Config) -> Vec<String> {
    let mut out = Vec::new();
    for (name, job) in &config.jobs {
        for step in &job.steps {
            let Step::Refresh { connector, .. } = step else {
                continue;
            };
            let hooked = (config.connectors.get(connector))
                .is_some_and(|c| c.settings.get("webhook").is_some_and(|w| !w.is_null()));
            if hooked {
                out.push(format!(
                    "warning: job `{name}` refreshes connector `{connector}`, which has a `webhook`: each webhook call reads and swaps all of `{connector}` again — refresh on a `schedule` or by hand, and let a job that pulls `{connector}` take the webhooks"
                ));
            }
        }
    }
    out
}

/// One warning per pull, push or sync step whose mapping has a `ref` field.
pub fn ref_warnings(config: &Config) -> Vec<String> {
    let mut out = Vec::new();
    for (name, job) in &config.jobs {
        for step in &job.steps {
            let (connectors, entity) = match step {
                Step::Pull { connector, entity } | Step::Push { connector, entity } => {
                    (vec![connector.clone()], entity)
                }
                Step::Sync { connectors, entity } => (connectors.clone(), entity),
                Step::Refresh { .. } => continue,
            };
            for connector in &connectors {
                let mappings = config.mappings_of(connector);
                for m in mappings.filter(|m| entity.as_ref().is_none_or(|e| *e == m.entity)) {
                    let Some(schema) = config.entities.get(&m.entity) else {
                        continue;
                    };
                    for rule in &m.fields {
                        let is_ref = (schema.field(&rule.target))
                            .is_some_and(|f| matches!(f.ty, FieldType::Ref(_)));
                        if is_ref {
                            out.push(format!(
                                "warning: job `{name}` moves `{}.{}` (a ref) through connector `{connector}` outside a refresh: only a refresh step turns a source's id into the hub id of the record it names — here the value is read as the source has it and written as the hub holds it",
                                m.entity, rule.target
                            ));
                        }
                    }
                }
            }
        }
    }
    out
}
