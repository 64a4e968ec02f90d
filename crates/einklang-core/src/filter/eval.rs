//! Evaluating a parsed filter against one raw record.
//!
//! A missing or null field equals only `null`; `!=` holds for it, ordered
//! comparisons do not. Text that must be read as a number, date or date-time
//! and cannot be is an error, so the record goes to quarantine with a reason
//! instead of being silently skipped.

use super::{CmpOp, Expr, Literal};
use crate::path::Path;
use crate::record::Value;
use crate::schema::is_empty;
use chrono::{DateTime, NaiveDate, NaiveDateTime, TimeZone, Utc};
use serde_json::Map;
use std::borrow::Cow;
use std::cmp::Ordering;

pub(super) fn expr(e: &Expr, raw: &Map<String, Value>) -> Result<bool, String> {
    Ok(match e {
        Expr::And(a, b) => expr(a, raw)? && expr(b, raw)?,
        Expr::Or(a, b) => expr(a, raw)? || expr(b, raw)?,
        Expr::Not(a) => !expr(a, raw)?,
        Expr::Cmp { path, op, value } => compare(path, lookup(raw, path).as_deref(), *op, value)?,
        Expr::In { path, values } => {
            let v = lookup(raw, path);
            let v = v.as_deref();
            let mut any = false;
            for lit in values {
                any |= compare(path, v, CmpOp::Eq, lit)?;
            }
            any
        }
        Expr::IsEmpty { path, negated } => {
            lookup(raw, path).as_deref().is_none_or(is_empty) != *negated
        }
    })
}

/// The value at `path`: the key itself first (CSV headers may hold dots
/// and brackets), then the path read as a [`Path`] — a dotted walk into
/// nested objects, array steps, keyed elements, a JSON pointer. Plain
/// dotted paths are walked without parsing (the hot case of big files).
pub(crate) fn lookup<'a>(raw: &'a Map<String, Value>, path: &str) -> Option<Cow<'a, Value>> {
    if let Some(v) = raw.get(path) {
        return Some(Cow::Borrowed(v));
    }
    if path.contains('[') || path.starts_with('/') {
        return Path::parse(path).ok()?.get(raw);
    }
    let mut parts = path.split('.');
    let mut cur = raw.get(parts.next()?)?;
    for part in parts {
        cur = match cur {
            Value::Object(m) => m.get(part)?,
            Value::Array(a) => a.get(part.parse::<usize>().ok()?)?,
            _ => return None,
        };
    }
    Some(Cow::Borrowed(cur))
}

fn compare(path: &str, v: Option<&Value>, op: CmpOp, lit: &Literal) -> Result<bool, String> {
    let v = match v {
        None | Some(Value::Null) => return Ok(null_cmp(op, matches!(lit, Literal::Null))),
        Some(v) => v,
    };
    let ordering = match lit {
        Literal::Null => return Ok(null_cmp(op, false)),
        Literal::Number(n) => match as_number(v) {
            Some(x) => x.partial_cmp(n),
            None => return mismatch(path, v, op, "a number"),
        },
        Literal::Text(t) => Some(as_text(v).as_str().cmp(t.as_str())),
        Literal::Bool(b) => match as_bool(v) {
            Some(x) => Some(x.cmp(b)),
            None => return mismatch(path, v, op, "true or false"),
        },
        Literal::Date(d) => match as_datetime(v) {
            Some(x) => {
                Some(x.cmp(&Utc.from_utc_datetime(&d.and_hms_opt(0, 0, 0).unwrap_or_default())))
            }
            None => return mismatch(path, v, op, "a date"),
        },
        Literal::DateTime(d) => match as_datetime(v) {
            Some(x) => Some(x.cmp(d)),
            None => return mismatch(path, v, op, "a date-time"),
        },
    };
    Ok(ordering.is_some_and(|o| holds(op, o)))
}

fn null_cmp(op: CmpOp, lit_is_null: bool) -> bool {
    match op {
        CmpOp::Eq => lit_is_null,
        CmpOp::Ne => !lit_is_null,
        _ => false,
    }
}

fn mismatch(path: &str, v: &Value, op: CmpOp, expected: &str) -> Result<bool, String> {
    match op {
        CmpOp::Eq => Ok(false),
        CmpOp::Ne => Ok(true),
        _ => Err(format!(
            "field `{path}` holds {}, which is not {expected}",
            crate::transform::describe(v)
        )),
    }
}

fn holds(op: CmpOp, o: Ordering) -> bool {
    match op {
        CmpOp::Eq => o == Ordering::Equal,
        CmpOp::Ne => o != Ordering::Equal,
        CmpOp::Lt => o == Ordering::Less,
        CmpOp::Le => o != Ordering::Greater,
        CmpOp::Gt => o == Ordering::Greater,
        CmpOp::Ge => o != Ordering::Less,
    }
}

fn as_number(v: &Value) -> Option<f64> {
    match v {
        Value::Number(n) => n.as_f64(),
        Value::String(s) => s.trim().parse().ok(),
        Value::Bool(b) => Some(f64::from(u8::from(*b))),
        _ => None,
    }
}

fn as_text(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

fn as_bool(v: &Value) -> Option<bool> {
    match v {
        Value::Bool(b) => Some(*b),
        Value::Number(n) => n.as_f64().map(|x| x != 0.0),
        Value::String(s) => crate::transform::parse_bool(s),
        _ => None,
    }
}

/// A number is epoch seconds; text is a date, a `YYYY-MM-DD HH:MM:SS`
/// (UTC) or an RFC 3339 date-time.
fn as_datetime(v: &Value) -> Option<DateTime<Utc>> {
    match v {
        Value::Number(n) => DateTime::from_timestamp(n.as_f64()? as i64, 0),
        Value::String(s) => parse_datetime_text(s.trim()),
        _ => None,
    }
}

pub(crate) fn parse_datetime_text(s: &str) -> Option<DateTime<Utc>> {
    if let Ok(dt) = DateTime::parse_from_rfc3339(s) {
        return Some(dt.with_timezone(&Utc));
    }
    for fmt in ["%Y-%m-%d %H:%M:%S", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%d %H:%M"] {
        if let Ok(n) = NaiveDateTime::parse_from_str(s, fmt) {
            return Some(Utc.from_utc_datetime(&n));
        }
    }
    NaiveDate::parse_from_str(s, "%Y-%m-%d")
        .ok()
        .and_then(|d| d.and_hms_opt(0, 0, 0))
        .map(|n| Utc.from_utc_datetime(&n))
}
