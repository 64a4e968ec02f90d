//! Tracing of remote calls, the same for every connector that talks to a
//! server (`dav`, `http`, `postgres_table`): one `debug` event per call —
//! connector, method, path, status and duration in ms, or the error of a
//! call that got no answer — and one `debug` span per connector operation
//! (read, list, fetch, changes, write, …). Callers pass paths and errors
//! already free of secrets: no credentials, no API keys, no passwords.
//!
//! Each call is also counted through the `metrics` facade —
//! `einklang_remote_calls_total{connector, method, status}` and
//! `einklang_remote_call_seconds{connector}` — which records nothing
//! unless a process installs a recorder (`einklang serve` does, for
//! `/metrics`). The path is no label: it holds record ids.

use std::fmt::Display;
use std::time::Instant;

/// The event of one remote call that started at `started`: its status,
/// or the error when there was no answer.
pub(crate) fn remote_call(
    connector: &str,
    method: &str,
    path: &str,
    status: Result<&dyn Display, &str>,
    started: Instant,
) {
    let elapsed = started.elapsed();
    let ms = elapsed.as_millis() as u64;
    let code = match &status {
        // "200 OK" → "200"
        Ok(s) => s.to_string().split(' ').next().unwrap_or("").to_string(),
        Err(_) => "error".to_string(),
    };
    crate::health::record(
        connector,
        method,
        path,
        &code,
        status.as_ref().err().copied(),
    );
    metrics::counter!("einklang_remote_calls_total", "connector" => connector.to_string(), "method" => method.to_string(), "status" => code).increment(1);
    metrics::histogram!("einklang_remote_call_seconds", "connector" => connector.to_string())
        .record(elapsed.as_secs_f64());
    match status {
        Ok(status) => tracing::debug!(connector, method, path, %status, ms, "remote call"),
        Err(error) => tracing::debug!(connector, method, path, error, ms, "remote call failed"),
    }
}

/// The span of one operation of a connector, entered until dropped.
pub(crate) fn span(connector: &str, kind: &str, op: &'static str) -> tracing::span::EnteredSpan {
    tracing::debug_span!("connector", name = connector, kind, op).entered()
}
