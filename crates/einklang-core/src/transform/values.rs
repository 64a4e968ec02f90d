//! Single-value conversions shared by mapping transforms and normalisation:
//! dates and date-times, epochs, names, value maps and text helpers (phones
//! are in [`super::phone`]).

use crate::mapping::{EpochUnit, NamePart, Transform};
use crate::record::Value;
use crate::schema::is_empty;
use chrono::{DateTime, NaiveDate, NaiveDateTime, SecondsFormat, TimeZone, Utc};

/// A short description of a value for error messages.
pub(crate) fn describe(v: &Value) -> String {
    match v {
        Value::Null => "null".into(),
        Value::Bool(b) => b.to_string(),
        Value::Number(n) => format!("the number {n}"),
        Value::String(s) if s.chars().count() > 60 => {
            format!("'{}…'", s.chars().take(60).collect::<String>())
        }
        Value::String(s) => format!("'{s}'"),
        Value::Array(_) => "a list".into(),
        Value::Object(_) => "an object".into(),
    }
}

/// Parse the usual ways of writing a boolean (English and German).
pub(crate) fn parse_bool(s: &str) -> Option<bool> {
    match s.trim().to_lowercase().as_str() {
        "true" | "yes" | "y" | "1" | "ja" | "j" | "on" | "x" | "wahr" => Some(true),
        "false" | "no" | "n" | "0" | "nein" | "off" | "falsch" | "" => Some(false),
        _ => None,
    }
}

/// Text of a scalar: strings as they are, numbers and bools printed.
pub(crate) fn text(v: &Value) -> Option<String> {
    match v {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

fn need_text(v: &Value) -> Result<String, String> {
    text(v).ok_or_else(|| format!("expected text, found {}", describe(v)))
}

/// Apply a scalar transform to one non-null, non-list value.
pub(super) fn scalar(t: &Transform, v: Value) -> Result<Value, String> {
    Ok(match t {
        Transform::Trim => match v {
            Value::String(s) => Value::String(s.trim().to_string()),
            v => v,
        },
        Transform::Lowercase => Value::String(need_text(&v)?.to_lowercase()),
        Transform::Uppercase => Value::String(need_text(&v)?.to_uppercase()),
        Transform::ValueMap {
            map,
            default,
            passthrough,
        } => {
            let key = need_text(&v)?;
            match map.get(key.trim()) {
                Some(mapped) => mapped.clone(),
                None if is_empty(&v) => v,
                None if *passthrough => v,
                None => match default {
                    Some(d) => d.clone(),
                    None => {
                        let known: Vec<&str> = map.keys().map(String::as_str).collect();
                        return Err(format!(
                            "{} is not in the value map (known: {})",
                            describe(&v),
                            known.join(", ")
                        ));
                    }
                },
            }
        }
        Transform::Date { format } => {
            let s = need_text(&v)?;
            Value::String(
                parse_date_with(s.trim(), format)?
                    .format("%Y-%m-%d")
                    .to_string(),
            )
        }
        Transform::DateTime { format, tz } => {
            let s = need_text(&v)?;
            Value::String(rfc3339(parse_datetime_with(s.trim(), format, tz)?))
        }
        Transform::Epoch { unit } => Value::String(rfc3339(epoch(&v, *unit)?)),
        Transform::SplitName { part } => {
            let (first, last) = split_name(&need_text(&v)?);
            Value::String(match part {
                NamePart::First => first,
                NamePart::Last => last,
            })
        }
        Transform::Phone { region, .. } => {
            Value::String(super::phone::e164(&need_text(&v)?, region)?)
        }
        // Join, First, PersonOrCompany on a single value: nothing to combine.
        Transform::Join { .. }
        | Transform::First
        | Transform::PersonOrCompany
        | Transform::Default(_)
        | Transform::Each(_) => v,
    })
}

/// `2025-01-31T09:30:00Z`.
pub(crate) fn rfc3339(dt: DateTime<Utc>) -> String {
    dt.to_rfc3339_opts(SecondsFormat::Secs, true)
}

pub(super) fn parse_date_with(s: &str, format: &str) -> Result<NaiveDate, String> {
    NaiveDate::parse_from_str(s, format)
        .or_else(|_| NaiveDateTime::parse_from_str(s, format).map(|d| d.date()))
        .map_err(|_| format!("'{s}' does not match the date format `{format}`"))
}

pub(super) fn parse_datetime_with(
    s: &str,
    format: &str,
    tz: &str,
) -> Result<DateTime<Utc>, String> {
    // Only a format with a zone can give an offset-aware date-time.
    let zoned = ["%z", "%Z", "%:z", "%::z", "%#z", "%+", "%s"]
        .iter()
        .any(|z| format.contains(z));
    if zoned {
        if let Ok(dt) = DateTime::parse_from_str(s, format) {
            return Ok(dt.with_timezone(&Utc));
        }
    }
    let naive = NaiveDateTime::parse_from_str(s, format)
        .map_err(|_| format!("'{s}' does not match the date-time format `{format}`"))?;
    let zone: chrono_tz::Tz = tz
        .parse()
        .map_err(|_| format!("unknown time zone `{tz}`"))?;
    zone.from_local_datetime(&naive)
        .earliest()
        .map(|d| d.with_timezone(&Utc))
        .ok_or_else(|| format!("'{s}' does not exist in time zone {tz}"))
}

fn epoch(v: &Value, unit: EpochUnit) -> Result<DateTime<Utc>, String> {
    let n = match v {
        Value::Number(n) => n.as_f64(),
        Value::String(s) => s.trim().parse::<f64>().ok(),
        _ => None,
    }
    .ok_or_else(|| format!("{} is not an epoch number", describe(v)))?;
    let millis = match unit {
        EpochUnit::Seconds => n * 1000.0,
        EpochUnit::Millis => n,
    };
    DateTime::from_timestamp_millis(millis as i64)
        .ok_or_else(|| format!("epoch {n} is out of range"))
}

const NAME_PARTICLES: [&str; 12] = [
    "von", "van", "de", "der", "den", "zu", "di", "da", "del", "le", "la", "ten",
];

/// Split a full name into (first, last). "Last, First" is understood; name
/// particles (von, van, de, ...) belong to the last name.
pub(crate) fn split_name(full: &str) -> (String, String) {
    if let Some((last, first)) = full.split_once(',') {
        return (first.trim().to_string(), last.trim().to_string());
    }
    let words: Vec<&str> = full.split_whitespace().collect();
    if words.len() < 2 {
        return (words.join(" "), String::new());
    }
    let mut cut = words.len() - 1;
    while cut > 1 && NAME_PARTICLES.contains(&words[cut - 1].to_lowercase().as_str()) {
        cut -= 1;
    }
    (words[..cut].join(" "), words[cut..].join(" "))
}

pub(super) fn join(items: &[Value], sep: &str) -> Value {
    let parts: Vec<String> = items
        .iter()
        .filter(|v| !is_empty(v))
        .filter_map(text)
        .map(|s| s.trim().to_string())
        .collect();
    if parts.is_empty() {
        Value::Null
    } else {
        Value::String(parts.join(sep))
    }
}

/// From `[company, first, last]`: a person when a first or last name is
/// present, a company when only the company is.
pub(super) fn person_or_company(items: &[Value]) -> Value {
    let present = |i: usize| items.get(i).is_some_and(|v| !is_empty(v));
    if present(1) || present(2) {
        Value::String("person".into())
    } else if present(0) {
        Value::String("company".into())
    } else {
        Value::Null
    }
}
