//! `GET /metrics` in the Prometheus text format (viewer token; a scraper
//! sends it as `authorization: credentials`):
//!
//! - from the hub store at each scrape, for the token's tenant:
//!   `einklang_records{entity}`, `einklang_links{connector, status}`,
//!   `einklang_conflicts_open`, `einklang_review_pairs_open`,
//!   `einklang_runs{job, status}` (all runs on record), `einklang_queue_depth`;
//! - from this process since it started, through the `metrics` facade and
//!   its Prometheus exporter: `einklang_runs_finished_total{job, status}`
//!   (the workers), `einklang_remote_calls_total{connector, method, status}`
//!   and `einklang_remote_call_seconds{connector}` (every connector's
//!   remote calls, `einklang_connectors::calls`) — shown when the process
//!   serves one tenant, to that tenant's tokens (with several, a counter
//!   would mix them).

use crate::auth::Caller;
use crate::{ApiError, Shared};
use axum::extract::State;
use axum::http::header;
use axum::response::{IntoResponse, Response};
use einklang_store::{Overview, Role};
use metrics_exporter_prometheus::{PrometheusBuilder, PrometheusHandle};
use std::fmt::Write;
use std::sync::{Arc, OnceLock};

/// The process's recorder, installed on first use (once per process).
pub fn recorder() -> Option<&'static PrometheusHandle> {
    static HANDLE: OnceLock<Option<PrometheusHandle>> = OnceLock::new();
    HANDLE
        .get_or_init(|| match PrometheusBuilder::new().install_recorder() {
            Ok(h) => Some(h),
            Err(e) => {
                tracing::warn!(error = %e, "no metrics recorder: /metrics shows the store's counts only");
                None
            }
        })
        .as_ref()
}

/// The route.
#[utoipa::path(get, path = "/metrics", tag = "service", security(("token" = [])), responses((status = 200, description = "Prometheus text format", content_type = "text/plain"), (status = 401, body = crate::answers::ErrorAnswer, description = "no token, or an unknown or revoked one"), (status = 403, body = crate::answers::ErrorAnswer, description = "the token's role is too low")))]
pub async fn metrics(State(s): State<Arc<Shared>>, caller: Caller) -> Result<Response, ApiError> {
    caller.needs(Role::Viewer)?;
    let tenant = caller.tenant().to_string();
    let overview = s.with_store(move |st| st.overview(&tenant)).await?;
    let mut text = store_gauges(&overview);
    // the process's counters are its tenant's only when it serves one
    let alone = s.configs.len() == 1 && s.configs.contains_key(caller.tenant());
    if let Some(h) = recorder().filter(|_| alone) {
        text.push_str(&h.render());
    }
    Ok((
        [(
            header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        text,
    )
        .into_response())
}

/// A label value escaped as the text format wants it.
fn label(v: &str) -> String {
    v.replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

fn store_gauges(o: &Overview) -> String {
    let mut t = String::new();
    let mut gauge = |name: &str, help: &str, rows: Vec<(String, u64)>| {
        let _ = writeln!(t, "# HELP {name} {help}\n# TYPE {name} gauge");
        for (labels, n) in rows {
            let _ = writeln!(t, "{name}{labels} {n}");
        }
    };
    gauge(
        "einklang_records",
        "Live hub records by entity.",
        o.records
            .iter()
            .map(|(e, n)| (format!("{{entity=\"{}\"}}", label(e)), *n))
            .collect(),
    );
    gauge(
        "einklang_links",
        "Links by connector and status.",
        o.links
            .iter()
            .map(|(c, st, n)| {
                (
                    format!("{{connector=\"{}\",status=\"{}\"}}", label(c), label(st)),
                    *n,
                )
            })
            .collect(),
    );
    gauge(
        "einklang_conflicts_open",
        "Conflicts waiting for a decision.",
        vec![(String::new(), o.open_conflicts)],
    );
    gauge(
        "einklang_review_pairs_open",
        "Possible duplicates waiting for a person.",
        vec![(String::new(), o.open_reviews)],
    );
    gauge(
        "einklang_runs",
        "Runs on record by job and status.",
        o.runs
            .iter()
            .map(|(j, st, n)| {
                (
                    format!("{{job=\"{}\",status=\"{}\"}}", label(j), label(st)),
                    *n,
                )
            })
            .collect(),
    );
    gauge(
        "einklang_queue_depth",
        "Runs waiting for or held by a worker.",
        vec![(String::new(), o.queued)],
    );
    t
}

/// A finished run, counted for `/metrics`.
pub(crate) fn run_finished(job: &str, status: &str) {
    metrics::counter!("einklang_runs_finished_total", "job" => job.to_string(), "status" => status.to_string()).increment(1);
}
