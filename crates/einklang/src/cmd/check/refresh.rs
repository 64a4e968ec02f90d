//! What `check` says about refresh jobs: a connector that sends webhooks
//! and is refreshed by a job makes every webhook (one run per window) a
//! full read and swap of everything — a refresh is for a schedule or
//! "Sync now"; a webhook wants a pull.

use einklang_config::{Config, Step};

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
