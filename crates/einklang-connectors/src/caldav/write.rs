//! Writing events: a new iCalendar object, or the fields merged into the
//! object read from the server.
//!
//! Only the master event's own properties that einklang owns are
//! replaced; the calendar's head (`PRODID`, `X-WR-…`), `VTIMEZONE`s,
//! overrides of single occurrences, alarms and every unknown property stay
//! as they were. `DTSTAMP` and `LAST-MODIFIED` are set to now, and
//! `SEQUENCE` goes up when the schedule (start, end, recurrence) changes,
//! as RFC 5546 asks, so calendar clients take the new time.

use super::ical::{param, Calendar};
use super::time::{self, Time};
use crate::file::vcard::parse::{escape, fold_into};
use serde_json::{Map, Value};
use std::collections::HashSet;

/// Raw fields einklang writes (the others are read only: `uid`,
/// `timezone`, `organizer`, `attendees`, `sequence`, `created`,
/// `last_modified`).
pub const WRITABLE: [&str; 11] = [
    "summary",
    "description",
    "location",
    "status",
    "url",
    "class",
    "categories",
    "rrule",
    "start",
    "end",
    "all_day",
];

/// Text fields and their properties (`rrule` is not escaped).
const TEXT: [(&str, &str); 7] = [
    ("summary", "SUMMARY"),
    ("description", "DESCRIPTION"),
    ("location", "LOCATION"),
    ("status", "STATUS"),
    ("url", "URL"),
    ("class", "CLASS"),
    ("rrule", "RRULE"),
];

/// A new calendar object holding one event with UID `uid`.
pub fn create(uid: &str, fields: &Map<String, Value>) -> Result<String, String> {
    if text(fields.get("start")).is_none() {
        return Err("an event needs a `start` (DTSTART)".into());
    }
    let template = format!(
        "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//einklang//einklang//EN\r\nBEGIN:VEVENT\r\nUID:{}\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n",
        escape(uid)
    );
    merge(&template, fields, true)
}

/// The object `text` with `fields` merged into its master event.
pub fn rewrite(text: &str, fields: &Map<String, Value>) -> Result<String, String> {
    merge(text, fields, false)
}

fn merge(text: &str, fields: &Map<String, Value>, creating: bool) -> Result<String, String> {
    let cal = Calendar::parse(text)?;
    let old = cal.fields()?;
    let mut drop: HashSet<&str> = HashSet::new();
    let mut add: Vec<String> = Vec::new();
    for (key, prop) in TEXT {
        if let Some(v) = fields.get(key) {
            drop.insert(prop);
            if let Some(t) = text_value(v) {
                let t = if key == "rrule" { t } else { escape(&t) };
                add.push(format!(
                    "{prop}:{}",
                    if key == "status" { t.to_uppercase() } else { t }
                ));
            }
        }
    }
    if let Some(v) = fields.get("categories") {
        drop.insert("CATEGORIES");
        let items: Vec<String> = list(v).iter().map(|c| escape(c)).collect();
        if !items.is_empty() {
            add.push(format!("CATEGORIES:{}", items.join(",")));
        }
    }
    let timed = ["start", "end", "all_day"]
        .iter()
        .any(|k| fields.contains_key(*k));
    if timed {
        drop.extend(["DTSTART", "DTEND", "DURATION"]);
        add.extend(times(&cal, &old, fields)?);
    }
    let schedule =
        |f: &Map<String, Value>| ["start", "end", "rrule"].map(|k| f.get(k).and_then(text_value));
    let mut new = old.clone();
    for (k, v) in fields {
        new.insert(k.clone(), v.clone());
    }
    if timed {
        // compare the times as they will be read back
        let back = Calendar::parse(&render(&cal, &drop, &add))?.fields()?;
        for k in ["start", "end"] {
            match back.get(k) {
                Some(v) => new.insert(k.into(), v.clone()),
                None => new.remove(k),
            };
        }
    }
    let sequence = cal
        .prop("SEQUENCE")
        .and_then(|l| l.value.trim().parse::<i64>().ok());
    if creating {
        add.push("SEQUENCE:0".into());
    } else if schedule(&old) != schedule(&new) {
        drop.insert("SEQUENCE");
        add.push(format!("SEQUENCE:{}", sequence.unwrap_or(0) + 1));
    }
    let now = chrono::Utc::now().format("%Y%m%dT%H%M%SZ");
    drop.extend(["DTSTAMP", "LAST-MODIFIED"]);
    add.push(format!("DTSTAMP:{now}"));
    add.push(format!("LAST-MODIFIED:{now}"));
    if creating {
        add.push(format!("CREATED:{now}"));
    }
    Ok(render(&cal, &drop, &add))
}

/// DTSTART and DTEND lines from the given fields over the old ones.
fn times(
    cal: &Calendar,
    old: &Map<String, Value>,
    fields: &Map<String, Value>,
) -> Result<Vec<String>, String> {
    let all_day = fields.get("all_day").and_then(boolish);
    let was_date = old.get("all_day") == Some(&Value::Bool(true));
    // local times are written in the event's own zone when the object
    // carries its definition; otherwise in UTC
    let tz = cal
        .prop("DTSTART")
        .and_then(|l| param(l, "TZID"))
        .filter(|id| cal.has_timezone(id))
        .and_then(time::zone);
    let pick = |key: &str| match fields.get(key) {
        Some(v) => text_value(v),
        None => old.get(key).and_then(text_value),
    };
    let start = pick("start").ok_or("`start` cannot be emptied: an event needs DTSTART")?;
    let start =
        time::from_raw(&start, all_day, was_date, tz).map_err(|e| format!("`start`: {e}"))?;
    let mut lines = vec![start.line("DTSTART")];
    if let Some(end) = pick("end") {
        // the end follows the start: a date when the start is one
        let as_date = all_day.or(Some(matches!(start, Time::Date(_))));
        let end = time::from_raw(&end, as_date, was_date, tz).map_err(|e| format!("`end`: {e}"))?;
        if end.before(&start) {
            return Err(format!(
                "`end` {} is before `start` {}",
                end.raw(),
                start.raw()
            ));
        }
        lines.push(end.line("DTEND"));
    }
    Ok(lines)
}

/// The object's lines with the master's `drop` properties left out and
/// `add` put in before the master's first sub-component or its END.
fn render(cal: &Calendar, drop: &HashSet<&str>, add: &[String]) -> String {
    let own: HashSet<usize> = cal.own().map(|(i, _)| i).collect();
    let insert_at = (cal.master.start + 1..cal.master.end)
        .find(|&i| matches!(cal.lines[i].name.as_str(), "BEGIN" | "END"))
        .unwrap_or(cal.master.end - 1);
    let mut out = String::new();
    for (i, l) in cal.lines.iter().enumerate() {
        if i == insert_at {
            for a in add {
                fold_into(&mut out, a);
            }
        }
        if own.contains(&i) && drop.contains(l.name.as_str()) {
            continue;
        }
        fold_into(&mut out, &l.raw);
    }
    out
}

fn text_value(v: &Value) -> Option<String> {
    match v {
        Value::Null => None,
        Value::String(s) if s.trim().is_empty() => None,
        Value::String(s) => Some(s.clone()),
        Value::Array(_) | Value::Object(_) => Some(v.to_string()),
        other => Some(other.to_string()),
    }
}

fn text(v: Option<&Value>) -> Option<String> {
    v.and_then(text_value)
}

fn list(v: &Value) -> Vec<String> {
    match v {
        Value::Array(items) => items.iter().filter_map(text_value).collect(),
        other => text_value(other)
            .map(|s| {
                s.split(',')
                    .map(|p| p.trim().to_string())
                    .filter(|p| !p.is_empty())
                    .collect()
            })
            .unwrap_or_default(),
    }
}

fn boolish(v: &Value) -> Option<bool> {
    match v {
        Value::Bool(b) => Some(*b),
        Value::String(s) => match s.trim().to_ascii_lowercase().as_str() {
            "true" | "1" | "yes" => Some(true),
            "false" | "0" | "no" => Some(false),
            _ => None,
        },
        _ => None,
    }
}
