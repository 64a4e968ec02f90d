//! Normalisation by field type: every pulled record is brought into the
//! canonical form of its entity's schema. Strict ([`record`] without
//! `keep_invalid`) it returns every field error at once; keeping
//! (`keep_invalid`) an invalid value of an optional field — or one element
//! of a list — becomes a flag ([`super::flag`]) and only a required field
//! missing or invalid, or a value over the size limit, is an error. A
//! flag already in a record passes either way. Applying it twice gives the
//! same record (tested as a property).

use super::flag::{flag_as, flagged, is_flag};
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
    keep_invalid: bool,
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
        let keep = keep_invalid && !spec.required;
        let result = keeping(&spec.ty, value, ctx, keep);
        match result {
            Ok(v) if is_empty(&v) => {}
            Ok(v) => {
                out.insert(name, v);
            }
            Err(message) => errors.push(FieldError {
                field: name,
                message,
            }),
        }
    }
    match finish(schema, out, ctx) {
        Ok(out) if errors.is_empty() => Ok(out),
        Ok(_) => Err(errors),
        Err(more) => {
            let known: Vec<String> = errors.iter().map(|e| e.field.clone()).collect();
            errors.extend(more.into_iter().filter(|e| !known.contains(&e.field)));
            Err(errors)
        }
    }
}

/// The checks of a record whose values are canonical or flags: fields of
/// no entity dropped, none over the size limit, every required field
/// present and valid (a flag, or a list of nothing but flags, is not).
pub(super) fn finish(
    schema: &EntitySchema,
    mut fields: Fields,
    ctx: &NormaliseContext,
) -> Result<Fields, Vec<FieldError>> {
    fields.retain(|name, v| schema.field(name).is_some() && !is_empty(v));
    let mut errors = Vec::new();
    for (name, value) in &fields {
        if let Err(message) = check_size(value, ctx.max_field_bytes) {
            errors.push(FieldError {
                field: name.clone(),
                message,
            });
        }
    }
    for spec in schema.fields.iter().filter(|f| f.required) {
        if errors.iter().any(|e| e.field == spec.name) {
            continue;
        }
        let message = match fields.get(&spec.name) {
            None => "required field is missing or empty".to_string(),
            Some(v) => match invalid_only(v) {
                Some(reason) => reason,
                None => continue,
            },
        };
        errors.push(FieldError {
            field: spec.name.clone(),
            message,
        });
    }
    match errors.is_empty() {
        true => Ok(fields),
        false => Err(errors),
    }
}

/// The reason a value holds nothing valid: a flag, or a list of flags only.
fn invalid_only(v: &Value) -> Option<String> {
    let items = match v {
        Value::Array(items) => items.iter().collect(),
        v => vec![v],
    };
    let reasons: Option<Vec<&str>> = items.iter().map(|i| flagged(i).map(|f| f.reason)).collect();
    reasons.filter(|r| !r.is_empty()).map(|r| r.join("; "))
}

fn check_size(value: &Value, max: usize) -> Result<(), String> {
    let len = match value {
        Value::String(s) => s.len(),
        other => other.to_string().len(),
    };
    if len > max {
        return Err(format!(
            "value is {len} bytes, more than the limit of {max}"
        ));
    }
    Ok(())
}

/// Normalise one value, strictly ([`value`]) or keeping an invalid one
/// (or an invalid list element) as a flag.
fn keeping(ty: &FieldType, v: Value, ctx: &NormaliseContext, keep: bool) -> Result<Value, String> {
    if !keep {
        return value(ty, v, ctx);
    }
    if ty.is_list() {
        return Ok(list_keeping(ty, &v, ctx, true, |part, _| part.clone()));
    }
    Ok(value(ty, v.clone(), ctx).unwrap_or_else(|_| flag_as(ty, v)))
}

/// A list field's value with each element normalised; an element that is
/// invalid becomes the flag of `raw_of(part, parts)` (the text the part
/// came from).
pub(super) fn list_keeping(
    ty: &FieldType,
    v: &Value,
    ctx: &NormaliseContext,
    pass_flags: bool,
    raw_of: impl Fn(&Value, usize) -> Value,
) -> Value {
    let parts = parts(ty, v);
    let n = parts.len();
    let mut out: Vec<Value> = Vec::new();
    for part in parts.iter().filter(|p| !is_empty(p)) {
        let item = match pass_flags && is_flag(part) {
            true => Ok(part.clone()),
            false => element(ty, part, ctx),
        };
        let item = item.unwrap_or_else(|_| flag_as(ty, raw_of(part, n)));
        if !is_empty(&item) && !out.contains(&item) {
            out.push(item);
        }
    }
    match out.is_empty() {
        true => Value::Null,
        false => Value::Array(out),
    }
}

/// One value in its field type's canonical form, strictly (`Null` when it
/// turns out empty). A flag, and a flag in a list, passes as it is.
pub(super) fn value(ty: &FieldType, v: Value, ctx: &NormaliseContext) -> Result<Value, String> {
    if is_empty(&v) {
        return Ok(Value::Null);
    }
    if is_flag(&v) {
        return Ok(v);
    }
    Ok(field(ty, v, ctx, true)?.unwrap_or(Value::Null))
}

/// [`value`] for a value as a source holds it: an object that looks like a
/// flag is no flag there, only an object (which no type but an address
/// takes).
pub(super) fn raw_value(ty: &FieldType, v: Value, ctx: &NormaliseContext) -> Result<Value, String> {
    if is_empty(&v) {
        return Ok(Value::Null);
    }
    Ok(field(ty, v, ctx, false)?.unwrap_or(Value::Null))
}

/// Normalise one value; `Ok(None)` when it turns out empty.
fn field(
    ty: &FieldType,
    v: Value,
    ctx: &NormaliseContext,
    pass_flags: bool,
) -> Result<Option<Value>, String> {
    Ok(Some(match ty {
        FieldType::Text | FieldType::Ref(_) => Value::String(clean_text(&v)?),
        FieldType::Email => Value::String(email(&v)?),
        FieldType::Phone => Value::String(e164(&scalar_text(&v)?, &ctx.region)?),
        FieldType::Date => Value::String(date(&v)?),
        FieldType::DateTime => Value::String(datetime(&v)?),
        FieldType::Number => number(&v)?,
        FieldType::Bool => Value::Bool(boolean(&v)?),
        FieldType::Enum(values) => Value::String(enumeration(&v, values)?),
        FieldType::Emails | FieldType::Phones | FieldType::Addresses => {
            return list(ty, &v, ctx, pass_flags)
        }
    }))
}

/// One element of a list field, canonical.
pub(super) fn element(ty: &FieldType, v: &Value, ctx: &NormaliseContext) -> Result<Value, String> {
    match ty {
        FieldType::Emails => email(v).map(Value::String),
        FieldType::Phones => e164(&scalar_text(v)?, &ctx.region).map(Value::String),
        FieldType::Addresses => address(v),
        scalar => raw_value(scalar, v.clone(), ctx),
    }
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
        // RFC 3339 has four-digit years: an epoch outside 0000–9999 could
        // not be read back (found by the round-trip property test)
        return DateTime::from_timestamp(secs as i64, 0)
            .filter(|d| secs.is_finite() && (0..=9999).contains(&chrono::Datelike::year(d)))
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

/// The elements of a list field's value: a list, or one value (text of an
/// e-mail or phone list may hold several separated by `,` or `;`).
pub(super) fn parts(ty: &FieldType, v: &Value) -> Vec<Value> {
    let split = matches!(ty, FieldType::Emails | FieldType::Phones);
    match v {
        Value::Array(items) => items.clone(),
        Value::String(s) if split && s.contains([',', ';']) => s
            .split([',', ';'])
            .map(|p| Value::String(p.to_string()))
            .collect(),
        other => vec![other.clone()],
    }
}

/// A list field, strictly: elements normalised (flags pass), empties
/// dropped, duplicates removed.
fn list(
    ty: &FieldType,
    v: &Value,
    ctx: &NormaliseContext,
    pass_flags: bool,
) -> Result<Option<Value>, String> {
    let mut out: Vec<Value> = Vec::new();
    for item in parts(ty, v).iter().filter(|i| !is_empty(i)) {
        let n = match pass_flags && is_flag(item) {
            true => item.clone(),
            false => element(ty, item, ctx)?,
        };
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
