//! Each connector's health as this process saw it: when a remote call
//! last answered well, its last few failures (method, path, status or
//! error — paths and errors come free of secrets, as for [`crate::calls`]),
//! how often the server asked us to slow down (429, 503) and how often
//! and how long a request waited for the connector's own `rate_limit`
//! ([`crate::limit`]). Kept in
//! memory by [`record`] from every remote call; `einklang serve` shows it
//! (`GET /api/connectors`, the dashboard's overview). It starts empty
//! with the process: a connector no run has used since shows nothing.

use chrono::{DateTime, Utc};
use std::collections::{BTreeMap, VecDeque};
use std::sync::Mutex;

/// How many failures each connector keeps.
pub const RECENT: usize = 5;

/// One failed call.
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
pub struct Failure {
    /// When it ended.
    pub at: DateTime<Utc>,
    /// HTTP method (or the operation).
    pub method: String,
    /// The path called (no query secrets).
    pub path: String,
    /// The status it answered, or the error when it did not answer.
    pub error: String,
}

/// What this process saw of one connector's calls.
#[derive(Clone, Debug, Default, PartialEq, serde::Serialize)]
pub struct Health {
    /// Calls made.
    pub calls: u64,
    /// The last call answered with success.
    pub last_success: Option<DateTime<Utc>>,
    /// Calls that failed (an error status or no answer).
    pub failures: u64,
    /// The last [`RECENT`] failures, newest first.
    pub recent_failures: Vec<Failure>,
    /// Answers asking to slow down (429 Too Many Requests, 503).
    pub throttled: u64,
    /// Requests that waited for the connector's `rate_limit` first.
    pub rate_limit_waits: u64,
    /// How long they waited, in all (ms).
    pub rate_limit_wait_ms: u64,
}

#[derive(Default)]
struct Seen {
    health: Health,
    recent: VecDeque<Failure>,
}

static SEEN: Mutex<BTreeMap<String, Seen>> = Mutex::new(BTreeMap::new());

/// Note one call of `connector`: its status code (`"200"`) or `"error"`.
pub(crate) fn record(connector: &str, method: &str, path: &str, code: &str, error: Option<&str>) {
    let mut seen = SEEN.lock().unwrap_or_else(|p| p.into_inner());
    let s = seen.entry(connector.to_string()).or_default();
    s.health.calls += 1;
    let status: u16 = code.parse().unwrap_or(0);
    if status == 429 || status == 503 {
        s.health.throttled += 1;
    }
    if (200..400).contains(&status) {
        s.health.last_success = Some(Utc::now());
        return;
    }
    s.health.failures += 1;
    if s.recent.len() == RECENT {
        s.recent.pop_back();
    }
    s.recent.push_front(Failure {
        at: Utc::now(),
        method: method.to_string(),
        path: path.chars().take(300).collect(),
        error: error.unwrap_or(code).chars().take(300).collect(),
    });
}

/// A request of `connector` waited `wait` for its rate limit (a wait
/// under a millisecond is no wait).
pub(crate) fn waited(connector: &str, wait: std::time::Duration) {
    if wait < std::time::Duration::from_millis(1) {
        return;
    }
    let mut seen = SEEN.lock().unwrap_or_else(|p| p.into_inner());
    let s = seen.entry(connector.to_string()).or_default();
    s.health.rate_limit_waits += 1;
    s.health.rate_limit_wait_ms += wait.as_millis() as u64;
}

/// What this process saw of `connector` (empty when nothing).
pub fn of(connector: &str) -> Health {
    let seen = SEEN.lock().unwrap_or_else(|p| p.into_inner());
    seen.get(connector)
        .map(|s| Health {
            recent_failures: s.recent.iter().cloned().collect(),
            ..s.health.clone()
        })
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn successes_failures_and_throttling_are_told_apart() {
        let c = "health-test-connector";
        record(c, "GET", "/a", "200", None);
        assert!(of(c).last_success.is_some());
        record(c, "GET", "/b", "429", None);
        record(c, "PUT", "/c", "error", Some("connection refused"));
        for i in 0..RECENT {
            record(c, "GET", &format!("/x{i}"), "500", None);
        }
        let h = of(c);
        assert_eq!(h.calls, 3 + RECENT as u64);
        assert_eq!(h.failures, 2 + RECENT as u64);
        assert_eq!(h.throttled, 1);
        assert_eq!(h.recent_failures.len(), RECENT);
        assert_eq!(h.recent_failures[0].path, format!("/x{}", RECENT - 1));
        assert_eq!(of("nobody"), Health::default());
        waited(c, std::time::Duration::from_micros(10));
        waited(c, std::time::Duration::from_millis(250));
        assert_eq!((of(c).rate_limit_waits, of(c).rate_limit_wait_ms), (1, 250));
    }
}
