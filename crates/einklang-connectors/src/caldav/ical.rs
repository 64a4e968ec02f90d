//! Reading an iCalendar object (RFC 5545) as the raw fields of its event.
//!
//! The content-line format (folding, parameters, escapes) is vCard's, so the
//! lines come from [`crate::file::vcard::parse`]; this module knows the
//! component structure. A CalDAV resource holds one event: a master
//! `VEVENT` (no `RECURRENCE-ID`), perhaps overrides of single occurrences
//! (`VEVENT`s with a `RECURRENCE-ID`), the `VTIMEZONE`s its times refer to,
//! and alarms inside the events. Fields come from the master; everything
//! else is kept as it is when the event is written back.

use super::time::{self, Time};
use crate::file::vcard::parse::{components, unescape, Line};
use serde_json::{json, Map, Value};
use std::ops::Range;

/// An iCalendar object split into lines, with the master event located.
pub struct Calendar {
    /// All content lines.
    pub lines: Vec<Line>,
    /// Index range of the master VEVENT, BEGIN and END included.
    pub master: Range<usize>,
}

impl Calendar {
    /// Parse and check the structure: a VCALENDAR with exactly one master
    /// VEVENT (a VTODO or VJOURNAL is not an event).
    pub fn parse(text: &str) -> Result<Calendar, String> {
        let lines =
            crate::file::vcard::parse::lines(text).map_err(|e| format!("not iCalendar: {e}"))?;
        let begins = lines
            .first()
            .is_some_and(|l| l.name == "BEGIN" && l.value.eq_ignore_ascii_case("VCALENDAR"));
        if !begins {
            return Err("not iCalendar: expected BEGIN:VCALENDAR".into());
        }
        let mut stack: Vec<(String, usize)> = Vec::new();
        let (mut masters, mut others) = (Vec::new(), Vec::new());
        for (i, l) in lines.iter().enumerate() {
            match l.name.as_str() {
                "BEGIN" => stack.push((l.value.to_ascii_uppercase(), i)),
                "END" => {
                    let Some((name, start)) = stack.pop() else {
                        return Err(format!("END:{} without its BEGIN", l.value));
                    };
                    if !name.eq_ignore_ascii_case(&l.value) {
                        return Err(format!("BEGIN:{name} ended by END:{}", l.value));
                    }
                    if stack.len() == 1 {
                        match name.as_str() {
                            "VEVENT" if !has_own(&lines, start..i + 1, "RECURRENCE-ID") => {
                                masters.push(start..i + 1)
                            }
                            "VTODO" | "VJOURNAL" | "VFREEBUSY" => others.push(name),
                            _ => {}
                        }
                    }
                }
                _ => {}
            }
        }
        if let Some((name, _)) = stack.last() {
            return Err(format!(
                "not iCalendar: BEGIN:{name} is never ended (truncated?)"
            ));
        }
        match (masters.len(), others.first()) {
            (1, _) => Ok(Calendar {
                master: masters.remove(0),
                lines,
            }),
            (0, Some(other)) => Err(format!("a {other}, not an event (VEVENT)")),
            (0, None) => Err("no VEVENT in this calendar object".into()),
            (n, _) => Err(format!(
                "{n} events in one calendar object (CalDAV allows one)"
            )),
        }
    }

    /// The master event's own lines (not those of its alarms), with their
    /// indices.
    pub fn own(&self) -> impl Iterator<Item = (usize, &Line)> {
        own_lines(&self.lines, self.master.clone())
    }

    /// The master's first own property `name`.
    pub fn prop(&self, name: &str) -> Option<&Line> {
        self.own().map(|(_, l)| l).find(|l| l.name == name)
    }

    /// Whether the object carries a VTIMEZONE with this TZID.
    pub fn has_timezone(&self, tzid: &str) -> bool {
        let mut in_tz = false;
        self.lines.iter().any(|l| match l.name.as_str() {
            "BEGIN" if l.value.eq_ignore_ascii_case("VTIMEZONE") => {
                in_tz = true;
                false
            }
            "END" if l.value.eq_ignore_ascii_case("VTIMEZONE") => {
                in_tz = false;
                false
            }
            "TZID" => in_tz && l.value == tzid,
            _ => false,
        })
    }

    /// A time property of the master.
    pub fn time(&self, name: &str) -> Result<Option<Time>, String> {
        let Some(l) = self.prop(name) else {
            return Ok(None);
        };
        time::parse(&l.value, param(l, "TZID"), param(l, "VALUE"))
            .map(Some)
            .map_err(|e| format!("{name}: {e}"))
    }

    /// The master event's raw fields.
    pub fn fields(&self) -> Result<Map<String, Value>, String> {
        let mut f = Map::new();
        let mut text = |key: &str, prop: &str| {
            if let Some(l) = self.prop(prop) {
                f.insert(key.into(), Value::String(unescape(&l.value)));
            }
        };
        text("uid", "UID");
        text("summary", "SUMMARY");
        text("description", "DESCRIPTION");
        text("location", "LOCATION");
        text("status", "STATUS");
        text("url", "URL");
        text("class", "CLASS");
        if let Some(l) = self.prop("RRULE") {
            f.insert("rrule".into(), Value::String(l.value.clone()));
        }
        let start = self.time("DTSTART")?;
        let end = match self.time("DTEND")? {
            Some(end) => Some(end),
            None => match (self.prop("DURATION"), &start) {
                (Some(d), Some(s)) => {
                    Some(s.plus(time::duration(&d.value).map_err(|e| format!("DURATION: {e}"))?))
                }
                _ => None,
            },
        };
        if let Some(s) = &start {
            f.insert("start".into(), Value::String(s.raw()));
            f.insert("all_day".into(), Value::Bool(matches!(s, Time::Date(_))));
            if let Some(tzid) = self.prop("DTSTART").and_then(|l| param(l, "TZID")) {
                f.insert(
                    "timezone".into(),
                    Value::String(tzid.trim_matches('"').into()),
                );
            }
        }
        if let Some(e) = end {
            f.insert("end".into(), Value::String(e.raw()));
        }
        let categories: Vec<Value> = self
            .own()
            .filter(|(_, l)| l.name == "CATEGORIES")
            .flat_map(|(_, l)| components(&l.value, ','))
            .filter(|c| !c.trim().is_empty())
            .map(Value::String)
            .collect();
        if !categories.is_empty() {
            f.insert("categories".into(), Value::Array(categories));
        }
        if let Some(l) = self.prop("ORGANIZER") {
            f.insert("organizer".into(), json!(address(&l.value)));
        }
        let attendees: Vec<Value> = self
            .own()
            .filter(|(_, l)| l.name == "ATTENDEE")
            .map(|(_, l)| json!(address(&l.value)))
            .collect();
        if !attendees.is_empty() {
            f.insert("attendees".into(), Value::Array(attendees));
        }
        if let Some(n) = self
            .prop("SEQUENCE")
            .and_then(|l| l.value.trim().parse::<i64>().ok())
        {
            f.insert("sequence".into(), json!(n));
        }
        for (key, prop) in [("created", "CREATED"), ("last_modified", "LAST-MODIFIED")] {
            if let Some(Time::Instant(t, _)) = self.time(prop).ok().flatten() {
                f.insert(key.into(), Value::String(Time::Instant(t, None).raw()));
            }
        }
        Ok(f)
    }
}

/// The own lines of the component spanning `range` (nested components
/// skipped), with their indices.
pub fn own_lines(lines: &[Line], range: Range<usize>) -> impl Iterator<Item = (usize, &Line)> {
    let (start, end) = (range.start, range.end);
    let mut depth = 0usize;
    lines[start..end]
        .iter()
        .enumerate()
        .filter_map(move |(k, l)| {
            let i = start + k;
            match l.name.as_str() {
                "BEGIN" => {
                    depth += 1;
                    None
                }
                "END" => {
                    depth -= 1;
                    None
                }
                _ => (depth == 1).then_some((i, l)),
            }
        })
}

fn has_own(lines: &[Line], range: Range<usize>, name: &str) -> bool {
    own_lines(lines, range).any(|(_, l)| l.name == name)
}

/// A parameter's value.
pub fn param<'a>(l: &'a Line, key: &str) -> Option<&'a str> {
    l.params
        .iter()
        .find(|(k, _)| k == key)
        .map(|(_, v)| v.as_str())
}

/// `mailto:Ann@Example.org` → `Ann@Example.org`.
fn address(value: &str) -> String {
    let v = value.trim();
    match v.get(..7) {
        Some(p) if p.eq_ignore_ascii_case("mailto:") => v[7..].to_string(),
        _ => v.to_string(),
    }
}
