//! Taking calls from the internet: the parts `einklang serve` and
//! `einklang sync JOB --watch --listen` share.
//!
//! - [`conn`]: connections served one by one under a cap, with header
//!   timeouts and small heads, so that idle or slow sockets cannot starve
//!   the process;
//! - [`body`]: a request body read within a size cap and a deadline;
//! - [`check`]: a webhook call verified by its connector's `webhook`
//!   settings, a Microsoft Graph handshake told apart, and a copy of a
//!   call accepted within its window ([`replay`]) recognised, so that a
//!   sender's retries never make a second run.

pub mod body;
pub mod conn;
pub mod replay;

use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use einklang_connectors::{Connector, Delivery};
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// The limits of a port that takes calls from the internet.
#[derive(Clone, Debug)]
pub struct Limits {
    /// Connections served at once ([`conn`]).
    pub max_connections: usize,
    /// Time for a request's headers (and the longest idle keep-alive).
    pub header_timeout: Duration,
    /// The largest body and the time for it ([`body`]).
    pub body: body::Limits,
}

impl Default for Limits {
    /// A quarter of the open-file limit (16 to 1024) connections, 10 s
    /// for headers and for a body, 1 MiB bodies.
    fn default() -> Self {
        Limits {
            max_connections: conn::default_max_connections(),
            header_timeout: Duration::from_secs(10),
            body: body::Limits {
                max: 1 << 20,
                timeout: Duration::from_secs(10),
            },
        }
    }
}

/// What a webhook call is, once checked.
#[derive(Debug)]
pub enum Verdict {
    /// The connector takes no webhooks.
    NotHere,
    /// Its scheme refused the call (bad signature, old timestamp, …).
    Refused(String),
    /// Microsoft Graph's subscription validation: answer the token.
    Handshake(String),
    /// A copy of a call accepted within its window: answered, never run.
    Copy,
    /// A new call naming these records.
    Accepted(Delivery),
}

/// Check a call for `connector` (`None`: none of that name takes calls
/// here); `key` names it among the copies remembered (the connector, with
/// its tenant in a service of several).
pub fn check(
    connector: Option<&dyn Connector>,
    key: &str,
    (query, headers, body): (&str, &HeaderMap, &[u8]),
    replay: &Mutex<replay::Replay>,
) -> Verdict {
    let Some(connector) = connector else {
        return Verdict::NotHere;
    };
    let headers: Vec<(String, String)> = headers
        .iter()
        .filter_map(|(k, v)| Some((k.as_str().to_string(), v.to_str().ok()?.to_string())))
        .collect();
    let delivery = match connector.webhook(query, &headers, body) {
        None => return Verdict::NotHere,
        Some(Err(reason)) => return Verdict::Refused(reason),
        Some(Ok(d)) => d,
    };
    if let Some(token) = delivery.handshake {
        return Verdict::Handshake(token);
    }
    let mut replay = replay.lock().unwrap_or_else(|p| p.into_inner());
    match replay.first(key, &delivery, Instant::now()) {
        true => Verdict::Accepted(delivery),
        false => Verdict::Copy,
    }
}

/// The answer to a handshake: the token as plain text.
pub fn handshake(token: String) -> Response {
    let text = [(header::CONTENT_TYPE, "text/plain; charset=utf-8")];
    (StatusCode::OK, text, token).into_response()
}

/// The answer to a copy: 2xx, so that the sender does not retry it.
pub fn copy() -> Response {
    let answer = crate::answers::Duplicate {
        duplicate: true,
        ignored: true,
    };
    (StatusCode::OK, Json(answer)).into_response()
}
