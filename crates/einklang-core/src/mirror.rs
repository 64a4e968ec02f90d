//! Values einklang writes of itself: the time of a write and the state of
//! the link, for the fields a business keeps them in (seed 002 writes
//! `syncStatus`, `advowareLastSync` and an error message into EspoCRM),
//! and for soft deletes (`deleted_at = "{now:%Y-%m-%d}"`).
//!
//! A template is a string with placeholders:
//!
//! | placeholder | value |
//! | --- | --- |
//! | `{now}`, `{now:FORMAT}` | the time of the write, RFC 3339 UTC or a chrono format |
//! | `{link.status}` | `synced` — the state the link has once the write went through |
//! | `{link.synced_at}`, `{link.synced_at:FORMAT}` | the same time as `{now}` |
//! | `{link.last_error}` | the error of the link's last failed write (empty after a success) |
//! | `{record.id}` | the hub record's id |
//!
//! A template that is only `{link.last_error}` with no error gives null
//! (the field is cleared). Pure: the caller passes the time.

use chrono::{DateTime, Utc};
use serde_json::Value;

/// What a template can name.
#[derive(Clone, Copy, Debug)]
pub struct Vars<'a> {
    /// The time of the write.
    pub now: DateTime<Utc>,
    /// The link's last error, if its last write failed.
    pub last_error: Option<&'a str>,
    /// The hub record's id.
    pub record: i64,
}

/// The placeholders a template may hold (for `check`).
pub const NAMES: [&str; 5] = [
    "now",
    "link.status",
    "link.synced_at",
    "link.last_error",
    "record.id",
];

/// The first placeholder of `text` that is not one of [`NAMES`] (or
/// whose format cannot be written), for `check` to report.
pub fn unknown(text: &str) -> Option<String> {
    placeholders(text).into_iter().find_map(|(name, format)| {
        let known = NAMES.contains(&name);
        let timed = matches!(name, "now" | "link.synced_at");
        match (known, format) {
            (false, _) => Some(name.to_string()),
            (true, Some(f)) if !timed => Some(format!("{name}:{f}")),
            (true, Some(f)) if !format_ok(f) => Some(format!("{name}:{f}")),
            _ => None,
        }
    })
}

/// The first `{now:FORMAT}` of `text` whose format cannot be written
/// (request templates, where other placeholders are the template's own).
pub fn bad_now(text: &str) -> Option<String> {
    placeholders(text)
        .into_iter()
        .find_map(|(name, format)| match format {
            Some(f) if name == "now" && !format_ok(f) => Some(format!("now:{f}")),
            _ => None,
        })
}

/// chrono understands the format and it writes a date-time (see
/// [`crate::transform::format::writes_datetime`]).
fn format_ok(format: &str) -> bool {
    crate::transform::format::writes_datetime(format, chrono_tz::UTC)
}

/// `(name, format)` of each `{…}` in `text`.
fn placeholders(text: &str) -> Vec<(&str, Option<&str>)> {
    let mut out = Vec::new();
    let mut rest = text;
    while let Some(open) = rest.find('{') {
        let Some(close) = rest[open..].find('}') else {
            break;
        };
        let inner = &rest[open + 1..open + close];
        out.push(match inner.split_once(':') {
            Some((n, f)) => (n.trim(), Some(f)),
            None => (inner.trim(), None),
        });
        rest = &rest[open + close + 1..];
    }
    out
}

/// `value` with its placeholders filled (strings only; other values as
/// they are).
pub fn render(value: &Value, vars: &Vars<'_>) -> Value {
    let Value::String(text) = value else {
        return value.clone();
    };
    if text.trim() == "{link.last_error}" {
        return vars
            .last_error
            .map_or(Value::Null, |e| Value::String(e.into()));
    }
    Value::String(replace(text, |name, format| fill(name, format, vars)))
}

/// `text` with only `{now}` and `{now:FORMAT}` filled, for request
/// templates of the http connector; other placeholders are left as they
/// are for the template's own pass.
pub fn render_now(text: &str, now: DateTime<Utc>) -> String {
    if !text.contains("{now") {
        return text.to_string();
    }
    replace(text, |name, format| {
        (name == "now").then(|| timestamp(now, format))
    })
}

/// Each `{name}` / `{name:format}` of `text` replaced by `value`, or kept
/// when it gives nothing.
fn replace(text: &str, value: impl Fn(&str, Option<&str>) -> Option<String>) -> String {
    let mut out = String::new();
    let mut rest = text;
    while let Some(open) = rest.find('{') {
        let Some(close) = rest[open..].find('}') else {
            break;
        };
        out.push_str(&rest[..open]);
        let inner = &rest[open + 1..open + close];
        let (name, format) = match inner.split_once(':') {
            Some((n, f)) => (n.trim(), Some(f)),
            None => (inner.trim(), None),
        };
        out.push_str(&value(name, format).unwrap_or_else(|| format!("{{{inner}}}")));
        rest = &rest[open + close + 1..];
    }
    out.push_str(rest);
    out
}

fn timestamp(now: DateTime<Utc>, format: Option<&str>) -> String {
    match format {
        Some(f) => crate::transform::format::write_datetime(now, f, chrono_tz::UTC)
            .unwrap_or_else(|| now.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)),
        None => now.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
    }
}

fn fill(name: &str, format: Option<&str>, vars: &Vars<'_>) -> Option<String> {
    Some(match name {
        "now" | "link.synced_at" => timestamp(vars.now, format),
        "link.status" => "synced".into(),
        "link.last_error" => vars.last_error.unwrap_or_default().into(),
        "record.id" => vars.record.to_string(),
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn vars(error: Option<&str>) -> Vars<'_> {
        Vars {
            now: DateTime::parse_from_rfc3339("2026-12-06T09:30:00Z")
                .unwrap()
                .into(),
            last_error: error,
            record: 42,
        }
    }

    #[test]
    fn render_now_fills_only_the_time() {
        let now = vars(None).now;
        assert_eq!(
            render_now("{id} at {now:%Y-%m-%d %H:%M:%S} / {now}", now),
            "{id} at 2026-12-06 09:30:00 / 2026-12-06T09:30:00Z"
        );
        assert_eq!(render_now("plain {since}", now), "plain {since}");
        assert_eq!(bad_now("{id} {now:%Y} {now}"), None);
        assert_eq!(bad_now("{now:%Q}"), Some("now:%Q".into()));
        assert_eq!(
            bad_now("{now:%#z}"),
            Some("now:%#z".into()),
            "it only reads"
        );
        assert_eq!(
            render_now("{now:%#z}", now),
            "2026-12-06T09:30:00Z",
            "and never panics"
        );
    }

    #[test]
    fn placeholders_are_filled() {
        let v = vars(None);
        assert_eq!(render(&json!("{now}"), &v), json!("2026-12-06T09:30:00Z"));
        assert_eq!(
            render(&json!("{now:%Y-%m-%d %H:%M:%S}"), &v),
            json!("2026-12-06 09:30:00")
        );
        assert_eq!(render(&json!("{link.status}"), &v), json!("synced"));
        assert_eq!(render(&json!("hub #{record.id}"), &v), json!("hub #42"));
        assert_eq!(render(&json!(7), &v), json!(7));
    }

    #[test]
    fn an_error_alone_is_null_after_a_success() {
        assert_eq!(
            render(&json!("{link.last_error}"), &vars(None)),
            Value::Null
        );
        let failed = vars(Some("PUT → 500"));
        assert_eq!(
            render(&json!("{link.last_error}"), &failed),
            json!("PUT → 500")
        );
        assert_eq!(
            render(&json!("error: {link.last_error}"), &vars(None)),
            json!("error: ")
        );
    }

    #[test]
    fn unknown_placeholders_and_bad_formats_are_found() {
        assert_eq!(unknown("{now:%Y} {link.status}"), None);
        assert_eq!(unknown("{link.stauts}"), Some("link.stauts".into()));
        assert_eq!(unknown("{now:%Q}"), Some("now:%Q".into()));
        assert_eq!(unknown("{record.id:%Y}"), Some("record.id:%Y".into()));
    }
}
