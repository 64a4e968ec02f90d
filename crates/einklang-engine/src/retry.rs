//! When a failed write is tried again: the configured schedule (default 1m,
//! 5m, 15m, 1h, 4h — one retry per entry, then `permanently_failed`), a
//! spread of ±jitter so many failed links do not all come back in the same
//! second, and a server's Retry-After when it asks for longer. The spread
//! is derived from the link id and the attempt, so a test sees the same
//! times every run. Pure functions of their inputs, including the time.

use chrono::{DateTime, Duration, Utc};
use einklang_config::RetryPolicy;
use einklang_store::{LinkChange, LinkStatus};

/// The link's state after one more failed attempt.
pub fn after_failure(
    policy: &RetryPolicy,
    link_id: i64,
    attempts_before: u32,
    retry_after_secs: Option<u64>,
    error: String,
    now: DateTime<Utc>,
) -> LinkChange {
    let attempts = attempts_before + 1;
    let Some(&delay) = policy.delays_secs.get(attempts as usize - 1) else {
        // given up: tried again from scratch once `reset_after` has passed
        let reset = Duration::seconds(policy.reset_after_secs as i64);
        return LinkChange::State {
            link_id,
            status: LinkStatus::PermanentlyFailed,
            attempts,
            next_attempt_at: Some(now + reset),
            last_error: Some(error),
        };
    };
    let spread = 1.0 + policy.jitter * (2.0 * unit(link_id, attempts) - 1.0);
    let wait = ((delay as f64 * spread).round() as u64).max(retry_after_secs.unwrap_or(0));
    LinkChange::State {
        link_id,
        status: LinkStatus::Failed,
        attempts,
        next_attempt_at: Some(now + Duration::seconds(wait as i64)),
        last_error: Some(error),
    }
}

/// May a link in this state be tried now? `Some(attempts)` to use (a
/// permanently failed link past its reset starts again from 0).
pub fn due(
    status: LinkStatus,
    attempts: u32,
    next_attempt_at: Option<DateTime<Utc>>,
    now: DateTime<Utc>,
) -> Option<u32> {
    let waiting = next_attempt_at.is_some_and(|t| t > now);
    match status {
        LinkStatus::Failed | LinkStatus::PermanentlyFailed if waiting => None,
        LinkStatus::PermanentlyFailed => Some(0),
        LinkStatus::DeletedRemote => None,
        _ => Some(attempts),
    }
}

/// A number in [0, 1) from the link and attempt.
fn unit(link_id: i64, attempt: u32) -> f64 {
    let mut bytes = link_id.to_le_bytes().to_vec();
    bytes.extend(attempt.to_le_bytes());
    (xxhash_rust::xxh3::xxh3_64(&bytes) % 10_000) as f64 / 10_000.0
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
    }

    fn next(change: &LinkChange) -> (LinkStatus, u32, Option<DateTime<Utc>>) {
        match change {
            LinkChange::State {
                status,
                attempts,
                next_attempt_at,
                ..
            } => (*status, *attempts, *next_attempt_at),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn the_schedule_is_followed_then_the_link_gives_up() {
        let policy = RetryPolicy {
            jitter: 0.0,
            ..RetryPolicy::default()
        };
        let now = at("2026-01-01T00:00:00Z");
        let waits: Vec<i64> = (0..5)
            .map(|a| {
                let (s, n, t) = next(&after_failure(&policy, 7, a, None, "503".into(), now));
                assert_eq!((s, n), (LinkStatus::Failed, a + 1));
                (t.unwrap() - now).num_seconds()
            })
            .collect();
        assert_eq!(waits, [60, 300, 900, 3600, 14400]);
        let (s, n, t) = next(&after_failure(&policy, 7, 5, None, "503".into(), now));
        assert_eq!((s, n), (LinkStatus::PermanentlyFailed, 6));
        assert_eq!((t.unwrap() - now).num_hours(), 24, "reset a day later");
    }

    #[test]
    fn jitter_spreads_within_bounds_and_retry_after_wins_when_longer() {
        let policy = RetryPolicy::default();
        let now = at("2026-01-01T00:00:00Z");
        let secs: Vec<i64> = (1..50)
            .map(|link| {
                let (_, _, t) = next(&after_failure(&policy, link, 0, None, "x".into(), now));
                (t.unwrap() - now).num_seconds()
            })
            .collect();
        assert!(secs.iter().all(|s| (54..=66).contains(s)), "{secs:?}");
        assert!(secs.iter().any(|s| *s != secs[0]), "jitter spreads");
        let (_, _, t) = next(&after_failure(&policy, 1, 0, Some(600), "429".into(), now));
        assert_eq!((t.unwrap() - now).num_seconds(), 600);
    }

    #[test]
    fn failed_links_wait_and_permanent_ones_reset_after_a_day() {
        let now = at("2026-01-02T00:00:00Z");
        let later = Some(at("2026-01-02T00:05:00Z"));
        assert_eq!(due(LinkStatus::Failed, 2, later, now), None);
        assert_eq!(due(LinkStatus::Failed, 2, Some(now), now), Some(2));
        assert_eq!(
            due(LinkStatus::PermanentlyFailed, 6, Some(now), now),
            Some(0)
        );
        assert_eq!(due(LinkStatus::PermanentlyFailed, 6, later, now), None);
        assert_eq!(due(LinkStatus::Dirty, 0, None, now), Some(0));
        assert_eq!(due(LinkStatus::DeletedRemote, 0, None, now), None);
    }
}
