//! Tracing of remote calls, the same for every connector that talks to a
//! server (`dav`, `http`, `postgres_table`): one `debug` event per call —
//! connector, method, path, status and duration in ms, or the error of a
//! call that got no answer — and one `debug` span per connector operation
//! (read, list, fetch, changes, write, …). Callers pass paths and errors
//! already free of secrets: no credentials, no API keys, no passwords.

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
    let ms = started.elapsed().as_millis() as u64;
    match status {
        Ok(status) => tracing::debug!(connector, method, path, %status, ms, "remote call"),
        Err(error) => tracing::debug!(connector, method, path, error, ms, "remote call failed"),
    }
}

/// The span of one operation of a connector, entered until dropped.
pub(crate) fn span(connector: &str, kind: &str, op: &'static str) -> tracing::span::EnteredSpan {
    tracing::debug_span!("connector", name = connector, kind, op).entered()
}
