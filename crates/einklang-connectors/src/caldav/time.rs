//! iCalendar dates and times (RFC 5545 §3.3.4–3.3.6) to and from the raw
//! values einklang exchanges: `YYYY-MM-DD` for a date (an all-day event),
//! RFC 3339 for an instant (`2026-12-01T10:00:00+01:00`, `…Z`), and
//! `YYYY-MM-DDTHH:MM:SS` for a floating local time. Zones come from
//! `chrono-tz` (the IANA database) by the `TZID` parameter; a TZID it does
//! not know (Windows names, custom ids) is read as floating and named in the
//! event's `timezone` field.

use chrono::{DateTime, Duration, NaiveDate, NaiveDateTime, TimeZone, Utc};
use chrono_tz::Tz;

/// A DTSTART/DTEND read from an event.
#[derive(Clone, Debug, PartialEq)]
pub enum Time {
    /// `VALUE=DATE`.
    Date(NaiveDate),
    /// An instant (UTC or a known zone).
    Instant(DateTime<Utc>, Option<Tz>),
    /// Local time without a zone (or in a zone chrono-tz does not know).
    Floating(NaiveDateTime),
}

const BASIC: &str = "%Y%m%dT%H%M%S";

/// Parse a property value with its `TZID` and `VALUE` parameters.
pub fn parse(value: &str, tzid: Option<&str>, value_type: Option<&str>) -> Result<Time, String> {
    let value = value.trim();
    let is_date = value_type.is_some_and(|v| v.eq_ignore_ascii_case("DATE"))
        || (value.len() == 8 && value.bytes().all(|b| b.is_ascii_digit()));
    if is_date {
        return NaiveDate::parse_from_str(value, "%Y%m%d")
            .map(Time::Date)
            .map_err(|_| format!("`{value}` is not a date (YYYYMMDD)"));
    }
    let bad = || format!("`{value}` is not a date-time (YYYYMMDDTHHMMSS[Z])");
    if let Some(utc) = value.strip_suffix(['Z', 'z']) {
        let n = NaiveDateTime::parse_from_str(utc, BASIC).map_err(|_| bad())?;
        return Ok(Time::Instant(Utc.from_utc_datetime(&n), None));
    }
    let n = NaiveDateTime::parse_from_str(value, BASIC).map_err(|_| bad())?;
    match tzid.and_then(zone) {
        Some(tz) => Ok(Time::Instant(local_to_utc(tz, n), Some(tz))),
        None => Ok(Time::Floating(n)),
    }
}

/// The IANA zone of a TZID (`Europe/Berlin`, also `/Europe/Berlin` and the
/// `/mozilla.org/…/Europe/Berlin` style of old clients).
pub fn zone(tzid: &str) -> Option<Tz> {
    let tzid = tzid.trim_matches('"');
    if let Ok(tz) = tzid.parse::<Tz>() {
        return Some(tz);
    }
    // a prefixed id: try its last two segments ("Europe/Berlin")
    let parts: Vec<&str> = tzid.rsplitn(3, '/').collect();
    (parts.len() >= 2)
        .then(|| format!("{}/{}", parts[1], parts[0]))
        .and_then(|t| t.parse().ok())
}

/// A local time in `tz` as an instant: in a DST gap the time is moved
/// forward by the gap (RFC 5545 §3.3.5), in an overlap the first is taken.
fn local_to_utc(tz: Tz, n: NaiveDateTime) -> DateTime<Utc> {
    let mut probe = n;
    for _ in 0..4 {
        if let Some(t) = tz.from_local_datetime(&probe).earliest() {
            return t.with_timezone(&Utc);
        }
        probe += Duration::minutes(30);
    }
    Utc.from_utc_datetime(&n)
}

impl Time {
    /// The raw value: `YYYY-MM-DD`, RFC 3339 (offset of its zone), or
    /// `YYYY-MM-DDTHH:MM:SS`.
    pub fn raw(&self) -> String {
        match self {
            Time::Date(d) => d.format("%Y-%m-%d").to_string(),
            Time::Instant(t, None) => t.format("%Y-%m-%dT%H:%M:%SZ").to_string(),
            Time::Instant(t, Some(tz)) => t
                .with_timezone(tz)
                .format("%Y-%m-%dT%H:%M:%S%:z")
                .to_string(),
            Time::Floating(n) => n.format("%Y-%m-%dT%H:%M:%S").to_string(),
        }
    }

    /// This time moved by `d` (a date stays a date when `d` is whole days).
    pub fn plus(&self, d: Duration) -> Time {
        match self {
            Time::Date(day) if d.num_seconds() % 86_400 == 0 => Time::Date(*day + d),
            Time::Date(day) => Time::Floating(day.and_hms_opt(0, 0, 0).unwrap_or_default() + d),
            Time::Instant(t, tz) => Time::Instant(*t + d, *tz),
            Time::Floating(n) => Time::Floating(*n + d),
        }
    }

    /// Whether this time is earlier than `other` (times of different kinds
    /// are not compared).
    pub fn before(&self, other: &Time) -> bool {
        match (self, other) {
            (Time::Date(a), Time::Date(b)) => a < b,
            (Time::Instant(a, _), Time::Instant(b, _)) => a < b,
            (Time::Floating(a), Time::Floating(b)) => a < b,
            _ => false,
        }
    }

    /// The content line `NAME;params:value` for this time.
    pub fn line(&self, name: &str) -> String {
        match self {
            Time::Date(d) => format!("{name};VALUE=DATE:{}", d.format("%Y%m%d")),
            Time::Instant(t, None) => format!("{name}:{}Z", t.format(BASIC)),
            Time::Instant(t, Some(tz)) => format!(
                "{name};TZID={}:{}",
                tz.name(),
                t.with_timezone(tz).format(BASIC)
            ),
            Time::Floating(n) => format!("{name}:{}", n.format(BASIC)),
        }
    }
}

/// A raw value to write. `all_day`: the event's `all_day` field if it was
/// given; `was_date`: whether the event's time was a date before (an
/// instant at midnight UTC written to an all-day event stays a date: that
/// is how a date round-trips through a hub `datetime` field); `tz`: the
/// zone to write local times in (the event's own, when it carries its
/// VTIMEZONE), else UTC.
pub fn from_raw(
    raw: &str,
    all_day: Option<bool>,
    was_date: bool,
    tz: Option<Tz>,
) -> Result<Time, String> {
    let raw = raw.trim();
    if let Ok(d) = NaiveDate::parse_from_str(raw, "%Y-%m-%d") {
        return Ok(match all_day {
            Some(false) => Time::Instant(
                Utc.from_utc_datetime(&d.and_hms_opt(0, 0, 0).unwrap_or_default()),
                tz,
            ),
            _ => Time::Date(d),
        });
    }
    if let Ok(t) = DateTime::parse_from_rfc3339(raw) {
        let t = t.with_timezone(&Utc);
        let midnight = t.time() == chrono::NaiveTime::MIN;
        let date = all_day.unwrap_or(was_date && midnight);
        return Ok(if date {
            Time::Date(t.date_naive())
        } else {
            Time::Instant(t, tz)
        });
    }
    for fmt in ["%Y-%m-%dT%H:%M:%S", "%Y-%m-%d %H:%M:%S", "%Y-%m-%dT%H:%M"] {
        if let Ok(n) = NaiveDateTime::parse_from_str(raw, fmt) {
            return Ok(match all_day {
                Some(true) => Time::Date(n.date()),
                _ => Time::Floating(n),
            });
        }
    }
    Err(format!(
        "`{raw}` is not a date (YYYY-MM-DD) or date-time (RFC 3339)"
    ))
}

/// An RFC 5545 duration (`PT1H30M`, `P1D`, `-P2W`).
pub fn duration(text: &str) -> Result<Duration, String> {
    let bad = || format!("`{text}` is not a duration (such as PT1H or P1D)");
    let t = text.trim();
    let (sign, t) = match t.as_bytes().first() {
        Some(b'-') => (-1, &t[1..]),
        Some(b'+') => (1, &t[1..]),
        _ => (1, t),
    };
    let t = t.strip_prefix(['P', 'p']).ok_or_else(bad)?;
    let (mut secs, mut num, mut in_time, mut any) = (0i64, String::new(), false, false);
    for c in t.chars() {
        match c.to_ascii_uppercase() {
            '0'..='9' => num.push(c),
            'T' if num.is_empty() => in_time = true,
            unit => {
                let n: i64 = num.parse().map_err(|_| bad())?;
                num.clear();
                any = true;
                secs += n * match (unit, in_time) {
                    ('W', false) => 604_800,
                    ('D', false) => 86_400,
                    ('H', true) => 3_600,
                    ('M', true) => 60,
                    ('S', true) => 1,
                    _ => return Err(bad()),
                };
            }
        }
    }
    if !any || !num.is_empty() {
        return Err(bad());
    }
    Ok(Duration::seconds(sign * secs))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        /// What is read comes back as the same line when written (the
        /// echo-free round trip), for instants in a zone, in UTC, floating
        /// local times and dates — also through a hub `datetime` (UTC).
        #[test]
        fn read_then_write_is_the_same_line(secs in 0i64..4_000_000_000, kind in 0u8..4) {
            let utc = DateTime::from_timestamp(secs, 0).unwrap();
            let berlin: Tz = "Europe/Berlin".parse().unwrap();
            let (value, tzid, vt) = match kind {
                0 => (utc.with_timezone(&berlin).format(BASIC).to_string(), Some("Europe/Berlin"), None),
                1 => (utc.format("%Y%m%dT%H%M%SZ").to_string(), None, None),
                2 => (utc.format(BASIC).to_string(), None, None),
                _ => (utc.format("%Y%m%d").to_string(), None, Some("DATE")),
            };
            let read = parse(&value, tzid, vt).unwrap();
            let tz = tzid.and_then(zone);
            let was_date = matches!(read, Time::Date(_));
            let again = from_raw(&read.raw(), None, was_date, tz).unwrap();
            prop_assert_eq!(again.line("DTSTART"), read.line("DTSTART"));
            // through the hub: UTC RFC 3339
            let hub = match &read {
                Time::Date(d) => Some(format!("{d}T00:00:00Z")),
                Time::Instant(t, _) => Some(t.format("%Y-%m-%dT%H:%M:%SZ").to_string()),
                Time::Floating(_) => None,
            };
            if let Some(hub) = hub {
                let back = from_raw(&hub, None, was_date, tz).unwrap();
                prop_assert_eq!(back.raw(), read.raw());
            }
        }
    }

    #[test]
    fn reads_each_form() {
        assert_eq!(
            parse("20261224", None, Some("DATE")).unwrap().raw(),
            "2026-12-24"
        );
        assert_eq!(
            parse("20261201T090000Z", None, None).unwrap().raw(),
            "2026-12-01T09:00:00Z"
        );
        let berlin = parse("20261201T100000", Some("Europe/Berlin"), None).unwrap();
        assert_eq!(berlin.raw(), "2026-12-01T10:00:00+01:00");
        let summer = parse(
            "20260701T100000",
            Some("/mozilla.org/20050126_1/Europe/Berlin"),
            None,
        );
        assert_eq!(summer.unwrap().raw(), "2026-07-01T10:00:00+02:00");
        let unknown = parse("20261201T100000", Some("W. Europe Standard Time"), None).unwrap();
        assert_eq!(unknown.raw(), "2026-12-01T10:00:00");
        assert!(parse("2026-12-01", None, None).is_err());
        assert!(parse("20261301", None, Some("DATE")).is_err());
    }

    #[test]
    fn a_dst_gap_moves_forward() {
        // 02:30 does not exist in Berlin on 2026-03-29
        let t = parse("20260329T023000", Some("Europe/Berlin"), None).unwrap();
        assert_eq!(t.raw(), "2026-03-29T03:00:00+02:00");
    }

    #[test]
    fn writes_dates_instants_and_local_times() {
        let berlin: Tz = "Europe/Berlin".parse().unwrap();
        let t = from_raw("2026-12-01T09:00:00Z", None, false, Some(berlin)).unwrap();
        assert_eq!(
            t.line("DTSTART"),
            "DTSTART;TZID=Europe/Berlin:20261201T100000"
        );
        let t = from_raw("2026-12-01T10:00:00+01:00", None, false, None).unwrap();
        assert_eq!(t.line("DTSTART"), "DTSTART:20261201T090000Z");
        assert_eq!(
            from_raw("2026-12-24", None, false, None)
                .unwrap()
                .line("DTSTART"),
            "DTSTART;VALUE=DATE:20261224"
        );
        // a date that went through a hub datetime field comes back a date
        let t = from_raw("2026-12-24T00:00:00Z", None, true, None).unwrap();
        assert_eq!(
            t,
            Time::Date(NaiveDate::from_ymd_opt(2026, 12, 24).unwrap())
        );
        let t = from_raw("2026-12-24T00:00:00Z", None, false, None).unwrap();
        assert!(matches!(t, Time::Instant(..)));
        let t = from_raw("2026-12-24T08:00:00Z", Some(true), false, None).unwrap();
        assert_eq!(t.raw(), "2026-12-24");
        assert_eq!(
            from_raw("2026-12-01T10:00:00", None, false, None)
                .unwrap()
                .line("DTEND"),
            "DTEND:20261201T100000"
        );
        assert!(from_raw("tomorrow", None, false, None)
            .unwrap_err()
            .contains("`tomorrow`"));
    }

    #[test]
    fn durations() {
        assert_eq!(duration("PT1H30M").unwrap(), Duration::minutes(90));
        assert_eq!(duration("P1D").unwrap(), Duration::days(1));
        assert_eq!(duration("-P2W").unwrap(), Duration::weeks(-2));
        assert_eq!(duration("P1DT12H").unwrap(), Duration::hours(36));
        for bad in ["", "P", "1H", "PT1", "P1H", "PTX"] {
            assert!(duration(bad).is_err(), "{bad}");
        }
        let day = Time::Date(NaiveDate::from_ymd_opt(2026, 12, 24).unwrap());
        assert_eq!(day.plus(Duration::days(1)).raw(), "2026-12-25");
    }
}
