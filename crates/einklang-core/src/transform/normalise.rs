//! Normalisation by field type: every pulled record is brought into the
//! canonical form of its entity's schema, or every field error is returned
//! at once. Applying it twice gives the same record (tested as a property).

use super::phone::e164;
use super::values::{describe, rfc3339, text};
use crate::filter::eval::parse_datetime_text;
use crate::record::{Fields, Value};
use crate::schema::{is_empty, EntitySchema, FieldError, FieldType, NormaliseContext};
use chrono::{DateTime, NaiveDate};
use serde_json::Map;
use unicode_normalization::UnicodeNormalization;

pub(super) fn record(
    schema: &EntitySchema,
    fields: Fields,
    ctx: &NormaliseContext,
) -> Result<Fields, Vec<FieldError>> {
    let mut out = Fields::new();
    let mut errors = Vec::new();
    for (name, value) in fields {
        let Some(spec) = schema.field(&name) else {
            continue; // not part of the entity: dropped
        };
        if is_empty(&value) {
            continue;
        }
        let result = field(&spec.ty, value, ctx).and_then(|v| check_size(v, ctx.max_field_bytes));
        match result {
            Ok(Some(v)) => {
                out.insert(name, v);
            }
            Ok(None) => {}
            Err(message) => errors.push(FieldError {
                field: name,
                message,
            }),
        }
    }
    for spec in schema.fields.iter().filter(|f| f.required) {
        if !out.contains_key(&spec.name) && !errors.iter().any(|e| e.field == spec.name) {
            errors.push(FieldError {
                field: spec.name.clone(),
                message: "required field is missing or empty".into(),
            });
        }
    }
    if errors.is_empty() {
        Ok(out)
    } else {
        Err(errors)
    }
}

fn check_size(v: Option<Value>, max: usize) -> Result<Option<Value>, String> {
    if let Some(value) = &v {
        let len = match value {
            Value::String(s) => s.len(),
            other => other.to_string().len(),
        };
        if len > max {
            return Err(format!(
                "value is {len} bytes, more than the limit of {max}"
            ));
        }
    }
    Ok(v)
}

/// Normalise one value; `Ok(None)` when it turns out empty.
fn field(ty: &FieldType, v: Value, ctx: &NormaliseContext) -> Result<Option<Value>, String> {
    Ok(Some(match ty {
        FieldType::Text | FieldType::Ref(_) => Value::String(clean_text(&v)?),
        FieldType::Email => Value::String(email(&v)?),
        FieldType::Phone => Value::String(e164(&scalar_text(&v)?, &ctx.region)?),
        FieldType::Date => Value::String(date(&v)?),
        FieldType::DateTime => Value::String(datetime(&v)?),
        FieldType::Number => number(&v)?,
        FieldType::Bool => Value::Bool(boolean(&v)?),
        FieldType::Enum(values) => Value::String(enumeration(&v, values)?),
        FieldType::Emails => return list(&v, true, |x| email(x).map(Value::String)),
        FieldType::Phones => {
            return list(&v, true, |x| {
                e164(&scalar_text(x)?, &ctx.region).map(Value::String)
            })
        }
        FieldType::Addresses => return list(&v, false, address),
    }))
}

fn scalar_text(v: &Value) -> Result<String, String> {
    text(v).ok_or_else(|| format!("expected a single value, found {}", describe(v)))
}

fn clean_text(v: &Value) -> Result<String, String> {
    let s = scalar_text(v)?;
    let trimmed = s.trim();
    // Most text is already NFC; the quick check avoids re-collecting it.
    if unicode_normalization::is_nfc_quick(trimmed.chars())
        == unicode_normalization::IsNormalized::Yes
    {
        return Ok(if trimmed.len() == s.len() {
            s
        } else {
            trimmed.to_string()
        });
    }
    Ok(trimmed.nfc().collect())
}

/// An e-mail address, lower-cased, without `mailto:` (see [`super::email`]).
fn email(v: &Value) -> Result<String, String> {
    let s = scalar_text(v)?.trim().to_lowercase();
    let s = s.strip_prefix("mailto:").unwrap_or(&s).to_string();
    if super::email::is_address(&s) {
        Ok(s)
    } else {
        Err(format!("{} is not an email address", describe(v)))
    }
}

/// `YYYY-MM-DD` exactly, without chrono's format interpreter (the common
/// case on every pull); anything else goes the general way.
fn iso_date(s: &str) -> Option<NaiveDate> {
    let b = s.as_bytes();
    if b.len() != 10 || b[4] != b'-' || b[7] != b'-' {
        return NaiveDate::parse_from_str(s, "%Y-%m-%d").ok();
    }
    let num = |r: std::ops::Range<usize>| -> Option<u32> {
        b[r].iter().try_fold(0u32, |n, c| {
            c.is_ascii_digit().then(|| n * 10 + u32::from(c - b'0'))
        })
    };
    NaiveDate::from_ymd_opt(num(0..4)? as i32, num(5..7)?, num(8..10)?)
}

fn date(v: &Value) -> Result<String, String> {
    let s = scalar_text(v)?;
    let s = s.trim();
    if let Some(d) = iso_date(s) {
        return Ok(d.format("%Y-%m-%d").to_string());
    }
    parse_datetime_text(s)
        .map(|d| d.format("%Y-%m-%d").to_string())
        .ok_or_else(|| format!("{} is not a date (YYYY-MM-DD)", describe(v)))
}

fn datetime(v: &Value) -> Result<String, String> {
    if let Value::Number(n) = v {
        let secs = n.as_f64().unwrap_or(f64::NAN);
        return DateTime::from_timestamp(secs as i64, 0)
            .filter(|_| secs.is_finite())
            .map(rfc3339)
            .ok_or_else(|| format!("{} is not a date-time", describe(v)));
    }
    parse_datetime_text(scalar_text(v)?.trim())
        .map(rfc3339)
        .ok_or_else(|| format!("{} is not a date-time (RFC 3339)", describe(v)))
}

fn number(v: &Value) -> Result<Value, String> {
    if let Value::Number(_) = v {
        return Ok(v.clone());
    }
    let s = scalar_text(v)?;
    let s = s.trim();
    // German decimal comma: "1,5" → 1.5 (only when there is no dot).
    let s = if s.contains(',') && !s.contains('.') {
        s.replace(',', ".")
    } else {
        s.to_string()
    };
    if let Ok(i) = s.parse::<i64>() {
        return Ok(Value::from(i));
    }
    s.parse::<f64>()
        .ok()
        .and_then(serde_json::Number::from_f64)
        .map(Value::Number)
        .ok_or_else(|| format!("{} is not a number", describe(v)))
}

fn boolean(v: &Value) -> Result<bool, String> {
    match v {
        Value::Bool(b) => Ok(*b),
        Value::Number(n) => Ok(n.as_f64() != Some(0.0)),
        Value::String(s) => {
            super::parse_bool(s).ok_or_else(|| format!("{} is not true or false", describe(v)))
        }
        _ => Err(format!("{} is not true or false", describe(v))),
    }
}

fn enumeration(v: &Value, values: &[String]) -> Result<String, String> {
    let s = scalar_text(v)?;
    let s = s.trim();
    values
        .iter()
        .find(|x| x.as_str() == s)
        .or_else(|| values.iter().find(|x| x.eq_ignore_ascii_case(s)))
        .cloned()
        .ok_or_else(|| format!("{} is not one of {}", describe(v), values.join(", ")))
}

/// A list field: a list, or one value (text may hold several separated by
/// `,` or `;` when `split`). Elements are normalised, empties dropped, duplicates removed.
fn list(
    v: &Value,
    split: bool,
    each: impl Fn(&Value) -> Result<Value, String>,
) -> Result<Option<Value>, String> {
    let items: Vec<Value> = match v {
        Value::Array(items) => items.clone(),
        Value::String(s) if split && s.contains([',', ';']) => s
            .split([',', ';'])
            .map(|p| Value::String(p.to_string()))
            .collect(),
        other => vec![other.clone()],
    };
    let mut out: Vec<Value> = Vec::new();
    for item in items.iter().filter(|i| !is_empty(i)) {
        let n = each(item)?;
        if !is_empty(&n) && !out.contains(&n) {
            out.push(n);
        }
    }
    Ok((!out.is_empty()).then_some(Value::Array(out)))
}

const ADDRESS_KEYS: [&str; 6] = ["street", "postcode", "city", "region", "country", "type"];

fn address(v: &Value) -> Result<Value, String> {
    let mut out = Map::new();
    match v {
        Value::Object(o) => {
            for (k, x) in o {
                if !ADDRESS_KEYS.contains(&k.as_str()) {
                    return Err(format!(
                        "unknown address part `{k}` (expected one of {})",
                        ADDRESS_KEYS.join(", ")
                    ));
                }
                if !is_empty(x) {
                    out.insert(k.clone(), Value::String(clean_text(x)?));
                }
            }
        }
        Value::String(_) => {
            out.insert("street".into(), Value::String(clean_text(v)?));
        }
        other => return Err(format!("{} is not an address", describe(other))),
    }
    Ok(Value::Object(out))
}
