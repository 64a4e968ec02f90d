//! The chrono `strftime` formats of `date` and `datetime` rules: writing a
//! value back in a source's format without ever panicking, and the check
//! `einklang check` runs on every format.
//!
//! chrono's `format(..).to_string()` panics ("a Display implementation
//! returned an error") when a format asks for something the value does
//! not have — `%H` of a date, `%z` of a zone-less date-time — or holds a
//! specifier that only parses (`%#z`). Here every value is written through
//! `write!`, so such a format gives `None`, never a panic; a date is
//! written as midnight UTC of its day, so a date format may carry time and
//! zone specifiers (`%Y-%m-%dT%H:%M:%S` writes `2025-01-31T00:00:00`).
//!
//! A format is accepted ([`check_date`], [`check_datetime`]) when chrono
//! understands every specifier, it can write a sample value, and reading
//! what it wrote gives a value it writes the same way — so every value the
//! hub holds can be written and read again. Formats that keep less than
//! the hub value are accepted and lossy by nature: `%y` (two-digit years
//! read as 1970–2069), a `datetime` without seconds or without an offset
//! in a zone with daylight saving time (the repeated hour of autumn reads
//! as its first occurrence).

use chrono::format::{Item, StrftimeItems};
use chrono::{DateTime, NaiveDate, TimeZone, Utc};
use std::fmt::Write;

/// Write `value` (any chrono date-time) with `format`; `None` when the
/// format has an error or asks for something the value lacks.
fn write_with<T>(format: &str, value: T) -> Option<String>
where
    T: FormatWith,
{
    let items: Vec<Item<'_>> = StrftimeItems::new(format).collect();
    if items.iter().any(|i| matches!(i, Item::Error)) {
        return None;
    }
    value.write(items)
}

/// Values chrono can format with parsed items.
trait FormatWith {
    fn write(self, items: Vec<Item<'_>>) -> Option<String>;
}

impl<Tz: TimeZone> FormatWith for DateTime<Tz>
where
    Tz::Offset: std::fmt::Display,
{
    fn write(self, items: Vec<Item<'_>>) -> Option<String> {
        let mut out = String::new();
        write!(out, "{}", self.format_with_items(items.into_iter())).ok()?;
        Some(out)
    }
}

/// A date in `format`, as midnight UTC of its day (`None`: the format
/// cannot write it).
pub fn write_date(date: NaiveDate, format: &str) -> Option<String> {
    let midnight = date.and_hms_opt(0, 0, 0)?;
    write_with(format, Utc.from_utc_datetime(&midnight))
}

/// An instant in `format`, in zone `tz` (`None`: the format cannot write it).
pub fn write_datetime(at: DateTime<Utc>, format: &str, tz: chrono_tz::Tz) -> Option<String> {
    write_with(format, at.with_timezone(&tz))
}

/// Can `format` write a date-time in zone `tz` at all: chrono understands
/// every specifier and none of them only reads (`%#z` would panic in
/// chrono's `format`)? Weaker than [`check_datetime`]: what it writes need
/// not read back (a stamp such as `%Y-%m-%d` is fine).
pub fn writes_datetime(format: &str, tz: chrono_tz::Tz) -> bool {
    let sample = DateTime::<Utc>::UNIX_EPOCH + chrono::Duration::days(11_000);
    write_datetime(sample, format, tz).is_some()
}

/// Is `format` a `date` format every hub date can be written in and read
/// back from? `Err` says why not.
pub fn check_date(format: &str) -> Result<(), String> {
    understood(format)?;
    let sample = NaiveDate::from_ymd_opt(2001, 2, 3).expect("a date");
    let written = write_date(sample, format).ok_or_else(|| cannot_write(format, "a date"))?;
    let read = super::values::parse_date_with(&written, format)
        .map_err(|_| cannot_read(format, "date", &written))?;
    match write_date(read, format) {
        Some(again) if again == written => Ok(()),
        _ => Err(cannot_read(format, "date", &written)),
    }
}

/// Is `format` (in zone `tz`) a `datetime` format every hub date-time can
/// be written in and read back from? `Err` says why not.
pub fn check_datetime(format: &str, tz: &str) -> Result<(), String> {
    understood(format)?;
    let zone: chrono_tz::Tz = tz
        .parse()
        .map_err(|_| format!("unknown time zone `{tz}`"))?;
    let sample = DateTime::parse_from_rfc3339("2001-02-03T04:05:06Z")
        .expect("an instant")
        .with_timezone(&Utc);
    let written =
        write_datetime(sample, format, zone).ok_or_else(|| cannot_write(format, "a date-time"))?;
    let read = super::values::parse_datetime_with(&written, format, tz)
        .map_err(|_| cannot_read(format, "date-time", &written))?;
    match write_datetime(read, format, zone) {
        Some(again) if again == written => Ok(()),
        _ => Err(cannot_read(format, "date-time", &written)),
    }
}

/// Every specifier of `format` is one chrono knows.
fn understood(format: &str) -> Result<(), String> {
    match StrftimeItems::new(format).any(|i| matches!(i, Item::Error)) {
        true => Err(format!(
            "\"{format}\" is not a valid date format (use chrono/strftime codes such as %d.%m.%Y)"
        )),
        false => Ok(()),
    }
}

fn cannot_write(format: &str, what: &str) -> String {
    format!("\"{format}\" cannot write {what}: it has a specifier that only reads, such as %#z")
}

fn cannot_read(format: &str, what: &str, written: &str) -> String {
    let needs = match what {
        "date" => "the year, month and day",
        _ => "the date and the time",
    };
    format!(
        "\"{format}\" cannot read back the {what} it writes (\"{written}\"): it must hold {needs}"
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn date(s: &str) -> NaiveDate {
        s.parse().unwrap()
    }

    #[test]
    fn a_date_is_written_as_midnight_when_the_format_has_time_and_zone() {
        let d = date("2025-01-31");
        assert_eq!(
            write_date(d, "%Y-%m-%dT%H:%M:%S").as_deref(),
            Some("2025-01-31T00:00:00")
        );
        assert_eq!(
            write_date(d, "%d.%m.%Y %H:%M %z").as_deref(),
            Some("31.01.2025 00:00 +0000")
        );
        assert_eq!(write_date(d, "%s").as_deref(), Some("1738281600"));
    }

    #[test]
    fn a_format_that_cannot_write_gives_none_not_a_panic() {
        let d = date("2025-01-31");
        assert_eq!(write_date(d, "%Y %#z"), None);
        assert_eq!(write_date(d, "%Q"), None);
        let at = DateTime::parse_from_rfc3339("2025-01-31T09:30:00Z")
            .unwrap()
            .with_timezone(&Utc);
        assert_eq!(write_datetime(at, "%Y %#z", chrono_tz::UTC), None);
    }

    #[test]
    fn a_stamp_format_writes_without_reading_back() {
        let berlin = chrono_tz::Europe::Berlin;
        for ok in ["%Y-%m-%d", "%d.%m.%Y %H:%M %z", "%+", "plain text"] {
            assert!(writes_datetime(ok, berlin), "{ok}");
        }
        for bad in ["%Y %#z", "%Q", "%"] {
            assert!(!writes_datetime(bad, chrono_tz::UTC), "{bad}");
        }
    }

    #[test]
    fn formats_are_checked_by_writing_and_reading_back() {
        for ok in [
            "%d.%m.%Y",
            "%Y-%m-%d",
            "%Y-%m-%dT%H:%M:%S",
            "%d.%m.%y",
            "%e %B %Y",
            "%F",
            "%Y%m%d",
        ] {
            assert_eq!(check_date(ok), Ok(()), "{ok}");
        }
        for bad in ["%Y-%m", "%H:%M", "%d.%m.", "%Y %#z", "%Q", "text"] {
            assert!(check_date(bad).is_err(), "{bad}");
        }
        for ok in [
            "%Y-%m-%d %H:%M:%S",
            "%Y-%m-%dT%H:%M:%S%z",
            "%d.%m.%Y %H:%M",
            "%+",
        ] {
            assert_eq!(check_datetime(ok, "Europe/Berlin"), Ok(()), "{ok}");
        }
        for bad in ["%d.%m.%Y", "%H:%M:%S", "%Y-%m-%d %H:%M:%S %#z"] {
            assert!(check_datetime(bad, "UTC").is_err(), "{bad}");
        }
    }
}
