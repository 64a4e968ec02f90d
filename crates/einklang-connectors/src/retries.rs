//! Waiting out a busy server, for every HTTP client of the crate (the
//! WebDAV client of `carddav`/`caldav` and the `http`/`graphql` client):
//! `Retry-After` read as seconds or as an HTTP date, the answers that say
//! "not processed, come back later" — `429`, and `503` with a
//! `Retry-After` — and how long and how often to wait for them in place.
//! A wait longer than the policy allows, or one attempt too many, hands
//! the answer back to the caller: a write then fails as rate limited (the
//! engine's retry schedule takes over), a read with the status.

use chrono::{DateTime, Utc};
use std::time::Duration;

/// The longest wait in place, whatever `max_wait_s` says.
pub const LONGEST_WAIT_S: u64 = 300;

/// Retries of one request.
#[derive(Clone, Debug, PartialEq)]
pub struct Retry {
    /// Attempts in all (1: no retry).
    pub attempts: u32,
    /// First backoff, doubled each time, with ±50 % jitter.
    pub base_ms: u64,
    /// The longest Retry-After waited for in place (at most 300 s,
    /// `LONGEST_WAIT_S`); a longer one is handed to the engine's retry
    /// schedule.
    pub max_wait_s: u64,
}

impl Default for Retry {
    fn default() -> Retry {
        Retry {
            attempts: 3,
            base_ms: 500,
            max_wait_s: 60,
        }
    }
}

impl Retry {
    /// Whether an answer says the server did not process the request and
    /// wants it again later: `429`, or `503` with a `Retry-After`.
    pub fn busy(status: u16, retry_after: Option<u64>) -> bool {
        status == 429 || (status == 503 && retry_after.is_some())
    }

    /// The wait before trying again after a [`busy`](Retry::busy) answer
    /// to attempt `attempt` (from 1): its `Retry-After`, or the backoff
    /// (at least a second) when a 429 names none. `None`: not busy, no
    /// attempts left, or a longer wait than allowed.
    pub fn wait_out(
        &self,
        status: u16,
        retry_after: Option<u64>,
        attempt: u32,
    ) -> Option<Duration> {
        if !Retry::busy(status, retry_after) || attempt >= self.attempts {
            return None;
        }
        let secs = retry_after.unwrap_or_else(|| self.backoff(attempt).as_secs().max(1));
        (secs <= self.max_wait_s.min(LONGEST_WAIT_S)).then(|| Duration::from_secs(secs))
    }

    /// The backoff after attempt `attempt`: `base_ms` doubled per
    /// attempt, ±50 % jitter.
    pub fn backoff(&self, attempt: u32) -> Duration {
        let base = self
            .base_ms
            .saturating_mul(1 << attempt.saturating_sub(1).min(10));
        Duration::from_millis((base as f64 * (0.5 + fastrand::f64())) as u64)
    }
}

/// A `Retry-After` value as whole seconds from now: delay-seconds, or an
/// HTTP date — counted from the answer's `Date` when it has one (the
/// server's clock), else from this machine's. A date in the past is 0.
pub fn retry_after(value: &str, date: Option<DateTime<Utc>>) -> Option<u64> {
    let value = value.trim();
    if let Ok(secs) = value.parse::<u64>() {
        return Some(secs);
    }
    let at = http_date(value)?;
    let ms = (at - date.unwrap_or_else(Utc::now))
        .num_milliseconds()
        .max(0);
    Some((ms as u64).div_ceil(1000))
}

/// An HTTP date (`Sun, 06 Nov 1994 08:49:37 GMT`, RFC 9110 §5.6.7).
pub fn http_date(value: &str) -> Option<DateTime<Utc>> {
    DateTime::parse_from_rfc2822(value.trim())
        .ok()
        .map(|d| d.with_timezone(&Utc))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retry_after_is_seconds_or_an_http_date() {
        let date = http_date("Sun, 06 Nov 1994 08:49:37 GMT").unwrap();
        assert_eq!(retry_after("120", None), Some(120));
        assert_eq!(retry_after(" 0 ", None), Some(0));
        assert_eq!(
            retry_after("Sun, 06 Nov 1994 08:50:07 GMT", Some(date)),
            Some(30)
        );
        assert_eq!(
            retry_after("Sun, 06 Nov 1994 08:49:00 GMT", Some(date)),
            Some(0)
        );
        let soon = (Utc::now() + chrono::Duration::seconds(5)).to_rfc2822();
        assert!(matches!(retry_after(&soon, None), Some(4..=5)), "{soon}");
        assert_eq!(retry_after("soon", None), None);
        assert_eq!(retry_after("-3", None), None);
    }

    #[test]
    fn only_a_busy_answer_is_waited_out_and_not_for_ever() {
        let r = Retry::default();
        assert_eq!(r.wait_out(429, Some(2), 1), Some(Duration::from_secs(2)));
        assert_eq!(r.wait_out(503, Some(2), 2), Some(Duration::from_secs(2)));
        assert_eq!(r.wait_out(503, None, 1), None, "a 503 without Retry-After");
        assert_eq!(r.wait_out(500, Some(2), 1), None);
        assert_eq!(r.wait_out(429, Some(2), 3), None, "no attempts left");
        assert_eq!(r.wait_out(429, Some(61), 1), None, "longer than max_wait_s");
        assert!(r.wait_out(429, None, 1).unwrap() >= Duration::from_secs(1));
        let patient = Retry {
            max_wait_s: 100_000,
            ..Retry::default()
        };
        assert_eq!(patient.wait_out(429, Some(LONGEST_WAIT_S + 1), 1), None);
        assert!(patient.wait_out(429, Some(LONGEST_WAIT_S), 1).is_some());
    }
}
