//! Job schedules: a 5-field cron expression read in an IANA time zone
//! (`schedule = "0 3 * * *"`, `tz = "Europe/Berlin"`), and the one rule
//! the scheduler of `einklang serve` follows: **a job is due once for the
//! latest tick it has not run yet** — ticks missed while the service was
//! down, or while a long run held the job, collapse into one run, never
//! one per missed tick.
//!
//! Cron patterns are parsed and stepped by `croner` (POSIX/Vixie
//! semantics, time-zone aware through `chrono-tz`). Around daylight
//! saving changes a tick is a wall-clock time of the zone: a time the
//! spring change skips (02:30 in Berlin on the last Sunday of March) does
//! not happen that day, a time the autumn change repeats happens once.
//! The functions here take the time as an argument, so the scheduler's
//! clock can be injected in tests.

use chrono::{DateTime, Utc};
use chrono_tz::Tz;
use croner::Cron;
use std::str::FromStr;

/// A parsed schedule.
#[derive(Clone, Debug)]
pub struct Schedule {
    cron: Cron,
    tz: Tz,
}

/// Why a schedule was refused.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum ScheduleError {
    /// Not five fields, or a field cron does not read.
    #[error("schedule \"{pattern}\": {reason}")]
    Pattern {
        /// The expression.
        pattern: String,
        /// What croner said.
        reason: String,
    },
    /// Not an IANA zone name.
    #[error("\"{0}\" is no IANA time zone (such as \"Europe/Berlin\" or \"UTC\")")]
    Zone(String),
}

/// Searches for a tick give up after this many steps (a pattern such as
/// `0 0 31 2 *` never matches).
const HORIZON_DAYS: i64 = 366 * 5;

impl Schedule {
    /// Parse `pattern` (exactly five fields) in zone `tz`.
    pub fn parse(pattern: &str, tz: &str) -> Result<Schedule, ScheduleError> {
        let refuse = |reason: String| ScheduleError::Pattern {
            pattern: pattern.to_string(),
            reason,
        };
        if pattern.split_whitespace().count() != 5 {
            return Err(refuse(format!(
                "found {} fields, a cron expression has 5 (minute hour day month weekday)",
                pattern.split_whitespace().count()
            )));
        }
        let cron = Cron::from_str(pattern).map_err(|e| refuse(e.to_string()))?;
        let tz = tz
            .parse::<Tz>()
            .map_err(|_| ScheduleError::Zone(tz.to_string()))?;
        let schedule = Schedule { cron, tz };
        let now = Utc::now();
        if schedule.next_after(now).is_none() {
            return Err(refuse("it never matches a date".into()));
        }
        Ok(schedule)
    }

    /// The first tick strictly after `t`.
    pub fn next_after(&self, t: DateTime<Utc>) -> Option<DateTime<Utc>> {
        let local = t.with_timezone(&self.tz);
        let next = self.cron.find_next_occurrence(&local, false).ok()?;
        let next = next.with_timezone(&Utc);
        (next - t < chrono::Duration::days(HORIZON_DAYS)).then_some(next)
    }

    /// The last tick at or before `t`.
    pub fn last_at_or_before(&self, t: DateTime<Utc>) -> Option<DateTime<Utc>> {
        let local = t.with_timezone(&self.tz);
        let prev = self.cron.find_previous_occurrence(&local, true).ok()?;
        let prev = prev.with_timezone(&Utc);
        (t - prev < chrono::Duration::days(HORIZON_DAYS)).then_some(prev)
    }

    /// The tick a run is due for at `now`, given the last tick that was
    /// run (or queued) — `None` when nothing is due. Only the latest
    /// missed tick is returned: many missed ticks make one run. Without a
    /// last tick (`since` is when the scheduler first saw the job), ticks
    /// before `since` do not count.
    pub fn due(
        &self,
        last_run_tick: Option<DateTime<Utc>>,
        since: DateTime<Utc>,
        now: DateTime<Utc>,
    ) -> Option<DateTime<Utc>> {
        let tick = self.last_at_or_before(now)?;
        match last_run_tick {
            Some(last) if tick <= last => None,
            None if tick < since => None,
            _ => Some(tick),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn utc(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
    }

    fn berlin(pattern: &str) -> Schedule {
        Schedule::parse(pattern, "Europe/Berlin").unwrap()
    }

    #[test]
    fn a_daily_tick_is_wall_clock_time_in_its_zone_across_both_dst_changes() {
        let s = berlin("0 3 * * *");
        // winter: 03:00 CET = 02:00 UTC; summer: 03:00 CEST = 01:00 UTC
        assert_eq!(
            s.next_after(utc("2026-03-28T12:00:00Z")),
            Some(utc("2026-03-29T01:00:00Z"))
        );
        assert_eq!(
            s.next_after(utc("2026-03-27T12:00:00Z")),
            Some(utc("2026-03-28T02:00:00Z"))
        );
        assert_eq!(
            s.next_after(utc("2026-10-24T12:00:00Z")),
            Some(utc("2026-10-25T02:00:00Z"))
        );
    }

    #[test]
    fn a_time_repeated_in_autumn_ticks_once_and_one_skipped_in_spring_not_twice() {
        let s = berlin("30 2 * * *");
        // 2026-10-25: 02:30 happens twice (CEST, then CET); one tick
        let mut t = utc("2026-10-24T23:00:00Z");
        let mut ticks = Vec::new();
        while t < utc("2026-10-25T23:00:00Z") {
            match s.next_after(t) {
                Some(n) if n < utc("2026-10-25T23:00:00Z") => {
                    ticks.push(n);
                    t = n;
                }
                _ => break,
            }
        }
        assert_eq!(ticks.len(), 1, "{ticks:?}");
        // 2026-03-29: 02:30 does not exist; at most one tick that day
        let mut t = utc("2026-03-28T23:00:00Z");
        let mut spring = 0;
        while let Some(n) = s.next_after(t) {
            if n >= utc("2026-03-29T22:00:00Z") {
                break;
            }
            spring += 1;
            t = n;
        }
        assert!(spring <= 1, "{spring} ticks on the day 02:30 is skipped");
    }

    #[test]
    fn missed_ticks_make_one_run_for_the_latest_of_them() {
        let s = Schedule::parse("*/15 * * * *", "UTC").unwrap();
        let last = utc("2026-12-06T08:00:00Z");
        // down from 08:05 to 10:07: eight ticks missed, one run, for 10:00
        let now = utc("2026-12-06T10:07:00Z");
        assert_eq!(
            s.due(Some(last), last, now),
            Some(utc("2026-12-06T10:00:00Z"))
        );
        // that run queued: nothing more is due until 10:15
        let queued = utc("2026-12-06T10:00:00Z");
        assert_eq!(s.due(Some(queued), last, now), None);
        assert_eq!(
            s.due(Some(queued), last, utc("2026-12-06T10:15:00Z")),
            Some(utc("2026-12-06T10:15:00Z"))
        );
    }

    #[test]
    fn a_job_never_run_waits_for_its_first_tick_after_the_scheduler_saw_it() {
        let s = Schedule::parse("0 * * * *", "UTC").unwrap();
        let since = utc("2026-12-06T10:20:00Z");
        assert_eq!(s.due(None, since, utc("2026-12-06T10:59:00Z")), None);
        assert_eq!(
            s.due(None, since, utc("2026-12-06T11:00:30Z")),
            Some(utc("2026-12-06T11:00:00Z"))
        );
    }

    #[test]
    fn a_run_longer_than_the_interval_leaves_one_run_due_not_a_backlog() {
        let s = Schedule::parse("* * * * *", "UTC").unwrap();
        let started = utc("2026-12-06T10:00:00Z");
        // the run for 10:00 took 7 minutes: one run due, for 10:07
        let now = Utc.with_ymd_and_hms(2026, 12, 6, 10, 7, 10).unwrap();
        assert_eq!(
            s.due(Some(started), started, now),
            Some(utc("2026-12-06T10:07:00Z"))
        );
    }

    #[test]
    fn bad_patterns_and_zones_are_refused_with_the_reason() {
        let e = Schedule::parse("0 3 * *", "UTC").unwrap_err();
        assert!(e.to_string().contains("found 4 fields"), "{e}");
        assert!(Schedule::parse("0 25 * * *", "UTC").is_err());
        assert!(
            Schedule::parse("0 0 31 2 *", "UTC").is_err(),
            "never matches"
        );
        assert_eq!(
            Schedule::parse("0 3 * * *", "Europe/Bonn").unwrap_err(),
            ScheduleError::Zone("Europe/Bonn".into())
        );
    }
}
