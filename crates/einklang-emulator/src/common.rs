//! What the emulated systems share: a clock tests can move, request
//! counters with a rate limit, queued failures and answers to lose after
//! the write ([`Gate`]; the losing itself is [`crate::lost`]), JSON answers
//! and time formats. Each system module keeps its own state and formats
//! its own error bodies; this module owns none of their behaviour.

use crate::rest::Answer;
use axum::http::HeaderMap;
use chrono::{DateTime, NaiveDateTime, SecondsFormat, Utc};
use serde_json::Value;
use std::collections::BTreeMap;
use std::time::{Duration, Instant, SystemTime};

/// Epoch seconds of the wall clock.
fn wall() -> i64 {
    SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
}

/// A system's clock: the wall clock plus an offset tests move forward.
#[derive(Clone, Copy, Debug, Default)]
pub struct Clock {
    /// Seconds added to the wall clock.
    pub offset: i64,
}

impl Clock {
    /// Epoch seconds now.
    pub fn now(&self) -> i64 {
        wall() + self.offset
    }
}

/// `2026-01-26T10:00:00Z` (Microsoft Graph, monday.com).
pub fn iso(secs: i64) -> String {
    DateTime::<Utc>::from_timestamp(secs, 0)
        .unwrap_or_default()
        .to_rfc3339_opts(SecondsFormat::Secs, true)
}

/// A point in time written as ISO 8601 with a zone (`Z` or `+01:00`), or
/// without one (read as UTC); epoch seconds.
pub fn parse_iso(text: &str) -> Option<i64> {
    let text = text.trim().trim_matches('\'');
    if let Ok(t) = DateTime::parse_from_rfc3339(text) {
        return Some(t.timestamp());
    }
    NaiveDateTime::parse_from_str(text, "%Y-%m-%dT%H:%M:%S%.f")
        .ok()
        .map(|t| t.and_utc().timestamp())
}

/// `2026-01-26 10:00:00`, UTC without a zone (EspoCRM).
pub fn espo_time(secs: i64) -> String {
    DateTime::<Utc>::from_timestamp(secs, 0)
        .unwrap_or_default()
        .format("%Y-%m-%d %H:%M:%S")
        .to_string()
}

/// An EspoCRM datetime (`2026-01-26 10:00:00`, or a date alone) as epoch
/// seconds, read as UTC.
pub fn parse_espo(text: &str) -> Option<i64> {
    let text = text.trim();
    NaiveDateTime::parse_from_str(text, "%Y-%m-%d %H:%M:%S")
        .or_else(|_| {
            NaiveDateTime::parse_from_str(&format!("{text} 00:00:00"), "%Y-%m-%d %H:%M:%S")
        })
        .ok()
        .map(|t| t.and_utc().timestamp())
}

/// Counters, a rate limit and queued failures of one emulated API.
#[derive(Debug, Default)]
pub struct Gate {
    /// API requests by method, and `429` for those refused by the limit.
    pub requests: BTreeMap<String, u64>,
    /// Requests per second before refusing (none: unlimited).
    pub rps: Option<u32>,
    recent: Vec<Instant>,
    faults: Vec<u16>,
    drops: u32,
}

impl Gate {
    /// A gate refusing past `rps` requests a second (none: unlimited).
    pub fn limited(rps: Option<u32>) -> Gate {
        Gate {
            rps,
            ..Gate::default()
        }
    }

    /// Count a request outside the rate limit (a token request).
    pub fn tally(&mut self, method: &str) {
        *self.requests.entry(method.to_string()).or_default() += 1;
    }

    /// Count a request; `false` when it is over the rate limit.
    pub fn enter(&mut self, method: &str) -> bool {
        self.tally(method);
        let now = Instant::now();
        self.recent
            .retain(|t| now.duration_since(*t) < Duration::from_secs(1));
        if self
            .rps
            .is_some_and(|rps| self.recent.len() >= rps as usize)
        {
            *self.requests.entry("429".to_string()).or_default() += 1;
            return false;
        }
        self.recent.push(now);
        true
    }

    /// The status the next request is to fail with, if one is queued.
    pub fn fault(&mut self) -> Option<u16> {
        (!self.faults.is_empty()).then(|| self.faults.remove(0))
    }

    /// Queue statuses for the next requests to fail with.
    pub fn fail_next(&mut self, statuses: &[u16]) {
        self.faults.extend_from_slice(statuses);
    }

    /// Requests of one method so far.
    pub fn count(&self, method: &str) -> u64 {
        self.requests.get(method).copied().unwrap_or(0)
    }

    /// Lose the answers of the next `n` writes that succeed: applied, then
    /// the connection closed without an answer (see [`crate::lost`]).
    pub fn drop_answers(&mut self, n: u32) {
        self.drops += n;
    }

    /// Whether the answer of a write just applied is to be lost (one of
    /// the queued drops is used up).
    pub fn take_drop(&mut self) -> bool {
        let drop = self.drops > 0;
        self.drops = self.drops.saturating_sub(1);
        drop
    }
}

/// A JSON answer with `Content-Type: application/json`.
pub fn json(status: u16, body: Value) -> Answer {
    json_with(status, body, &[])
}

/// A JSON answer with extra headers.
pub fn json_with(status: u16, body: Value, headers: &[(&str, &str)]) -> Answer {
    let mut all = vec![("Content-Type".to_string(), "application/json".to_string())];
    all.extend(headers.iter().map(|(k, v)| (k.to_string(), v.to_string())));
    Answer {
        status,
        headers: all,
        body: if status == 204 {
            String::new()
        } else {
            body.to_string()
        },
    }
}

/// An empty answer (`204`, or a status with no body).
pub fn empty(status: u16, headers: &[(&str, &str)]) -> Answer {
    Answer {
        status,
        headers: headers
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect(),
        body: String::new(),
    }
}

/// A header's value, or "".
pub fn header(headers: &HeaderMap, name: &str) -> String {
    headers
        .get(name)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_string()
}

/// `http://HOST` from the request's `Host` header, for absolute links.
pub fn origin(headers: &HeaderMap) -> String {
    match header(headers, "host") {
        h if h.is_empty() => "http://127.0.0.1".to_string(),
        h => format!("http://{h}"),
    }
}

/// Percent-encode a query value.
pub fn encode(value: &str) -> String {
    let mut out = String::new();
    for b in value.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                out.push(b as char)
            }
            _ => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}

/// The first value of a query parameter.
pub fn param<'a>(query: &'a [(String, String)], key: &str) -> Option<&'a str> {
    query
        .iter()
        .find(|(k, _)| k == key)
        .map(|(_, v)| v.as_str())
}

/// The controls every system's handle has over its state's `gate` and
/// `clock`: request counters, queued failures and time.
macro_rules! controls {
    ($handle:ty) => {
        impl $handle {
            /// Requests so far by method (`429`: refused by the rate
            /// limit; `TOKEN`: token requests, where the system has them).
            pub fn requests(&self) -> std::collections::BTreeMap<String, u64> {
                self.state.lock().unwrap().gate.requests.clone()
            }

            /// Requests of one method.
            pub fn count(&self, method: &str) -> u64 {
                self.state.lock().unwrap().gate.count(method)
            }

            /// Make the next API requests fail with these statuses.
            pub fn fail_next(&self, statuses: &[u16]) {
                self.state.lock().unwrap().gate.fail_next(statuses);
            }

            /// Apply the next `n` successful writes, then close their
            /// connections without an answer (see [`crate::lost`]).
            pub fn drop_answers(&self, n: u32) {
                self.state.lock().unwrap().gate.drop_answers(n);
            }

            /// Move the system's clock forward (modification times, token
            /// expiry).
            pub fn advance(&self, secs: i64) {
                self.state.lock().unwrap().clock.offset += secs;
            }
        }
    };
}
pub(crate) use controls;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_round_trip_in_both_formats() {
        let t = 1_769_421_600; // 2026-01-26 10:00:00 UTC
        assert_eq!(iso(t), "2026-01-26T10:00:00Z");
        assert_eq!(espo_time(t), "2026-01-26 10:00:00");
        assert_eq!(parse_iso("2026-01-26T10:00:00Z"), Some(t));
        assert_eq!(parse_iso("2026-01-26T11:00:00+01:00"), Some(t));
        assert_eq!(parse_iso("2026-01-26T10:00:00"), Some(t));
        assert_eq!(parse_espo("2026-01-26 10:00:00"), Some(t));
        assert_eq!(parse_espo("2026-01-26"), Some(t - 10 * 3600));
        assert_eq!(parse_espo("26.01.2026"), None);
    }

    #[test]
    fn a_gate_counts_limits_and_fails_in_order() {
        let mut g = Gate {
            rps: Some(2),
            ..Gate::default()
        };
        assert!(g.enter("GET") && g.enter("GET"));
        assert!(!g.enter("GET"), "the third in a second is over the limit");
        assert_eq!((g.count("GET"), g.count("429")), (3, 1));
        g.fail_next(&[500, 503]);
        assert_eq!(
            (g.fault(), g.fault(), g.fault()),
            (Some(500), Some(503), None)
        );
        assert!(!g.take_drop(), "no answer is lost unless asked");
        g.drop_answers(2);
        assert_eq!(
            (g.take_drop(), g.take_drop(), g.take_drop()),
            (true, true, false)
        );
    }

    #[test]
    fn encoding_keeps_unreserved_characters_only() {
        assert_eq!(encode("a b&c=d/é"), "a%20b%26c%3Dd%2F%C3%A9");
    }
}
