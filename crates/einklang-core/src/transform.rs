//! Value transforms, record mapping and schema normalisation.
//!
//! Owns the functions behind [`crate::Mapping::pull`] (this file: filter,
//! external id, one value per field rule through its transforms) and
//! [`crate::EntitySchema::normalise`] ([`normalise`]). The single-value
//! conversions both share (dates, phones, names) live in [`values`].

pub mod each;
mod email;
mod normalise;
pub(crate) mod phone;
pub mod push;
mod values;

use crate::filter::eval::lookup;
use crate::mapping::{FieldRule, MapError, Mapping, Pulled, Source, Transform};
use crate::record::{Fields, Value};
use crate::schema::{is_empty, EntitySchema, FieldError, NormaliseContext};
use std::borrow::Cow;

pub(crate) use values::{describe, parse_bool};

/// See [`Mapping::pull`].
pub fn pull_record(
    mapping: &Mapping,
    raw: &serde_json::Map<String, Value>,
    filtered: bool,
) -> Result<Pulled, MapError> {
    if let Some(filter) = mapping.filter.as_ref().filter(|_| filtered) {
        if !filter.eval(raw).map_err(MapError::Filter)? {
            return Ok(Pulled::Filtered);
        }
    }
    let external_id = external_id(&mapping.id_field, lookup(raw, &mapping.id_field).as_deref())?;
    let mut fields = Fields::new();
    for rule in mapping.fields.iter().filter(|r| r.direction.pulls()) {
        let value = apply_rule(rule, raw).map_err(|message| MapError::Transform {
            target: rule.target.clone(),
            source_desc: source_desc(&rule.source),
            message,
        })?;
        if let Some(v) = drop_empty(value) {
            fields.insert(rule.target.clone(), v);
        }
    }
    Ok(Pulled::Record {
        external_id,
        fields,
    })
}

/// See [`EntitySchema::normalise`].
pub fn normalise_record(
    schema: &EntitySchema,
    fields: Fields,
    ctx: &NormaliseContext,
) -> Result<Fields, Vec<FieldError>> {
    normalise::record(schema, fields, ctx)
}

/// See [`Mapping::external_id_of`].
pub fn external_id_of(mapping: &Mapping, raw: &serde_json::Map<String, Value>) -> Option<String> {
    external_id(&mapping.id_field, lookup(raw, &mapping.id_field).as_deref()).ok()
}

fn external_id(field: &str, v: Option<&Value>) -> Result<String, MapError> {
    match v {
        Some(Value::String(s)) if !s.trim().is_empty() => printable_id(field, s.trim()),
        Some(Value::Number(n)) => Ok(n.to_string()),
        None | Some(Value::Null) | Some(Value::String(_)) => {
            Err(MapError::MissingId(field.to_string()))
        }
        Some(other) => Err(MapError::BadId {
            field: field.to_string(),
            found: describe(other),
        }),
    }
}

/// An id holds no control character (a NUL, a tab or line break inside):
/// no system means one, and they break files, URLs and logs it goes to.
fn printable_id(field: &str, id: &str) -> Result<String, MapError> {
    match id.chars().position(char::is_control) {
        None => Ok(id.to_string()),
        Some(at) => Err(MapError::ControlInId {
            field: field.to_string(),
            found: format!(
                "U+{:04X}",
                u32::from(id.chars().nth(at).unwrap_or_default())
            ),
            at: at + 1,
        }),
    }
}

fn source_desc(source: &Source) -> String {
    match source {
        Source::Field(f) => format!("`{f}`"),
        Source::Fields(fs) => fs
            .iter()
            .map(|f| format!("`{f}`"))
            .collect::<Vec<_>>()
            .join(", "),
        Source::Constant(_) => "a constant".into(),
    }
}

fn apply_rule(rule: &FieldRule, raw: &serde_json::Map<String, Value>) -> Result<Value, String> {
    let mut value = match &rule.source {
        Source::Field(f) => lookup(raw, f).map(Cow::into_owned).unwrap_or(Value::Null),
        Source::Fields(fs) => {
            let items: Vec<Value> = fs
                .iter()
                .map(|f| lookup(raw, f).map(Cow::into_owned).unwrap_or(Value::Null))
                .collect();
            // fields that are lists themselves (two e-mail columns of an
            // API, each a list) make one list
            match items.iter().any(Value::is_array) {
                true => Value::Array(items.into_iter().flat_map(flatten).collect()),
                false => Value::Array(items),
            }
        }
        Source::Constant(v) => v.clone(),
    };
    for t in &rule.transforms {
        value = apply(t, value)?;
    }
    Ok(value)
}

/// Apply one transform. Scalar transforms apply to each element of a list;
/// `join` and `person_or_company` consume the list. Null and blank text pass
/// through all but `default`.
pub fn apply(t: &Transform, value: Value) -> Result<Value, String> {
    match (t, value) {
        (Transform::Default(d), v) => Ok(if is_empty(&v) { d.clone() } else { v }),
        (Transform::Each(e), v) => Ok(each::values_of(e, v)),
        (Transform::Join { sep }, Value::Array(items)) => Ok(values::join(&items, sep)),
        (Transform::PersonOrCompany, Value::Array(items)) => Ok(values::person_or_company(&items)),
        (_, v) if !v.is_array() && is_empty(&v) => Ok(v),
        (t, Value::Array(items)) => items
            .into_iter()
            .map(|v| apply(t, v))
            .collect::<Result<Vec<_>, _>>()
            .map(Value::Array),
        (t, v) => values::scalar(t, v),
    }
}

fn flatten(v: Value) -> Vec<Value> {
    match v {
        Value::Array(items) => items,
        one => vec![one],
    }
}

/// Drop nulls, empty strings and empty lists (recursively for list elements).
fn drop_empty(v: Value) -> Option<Value> {
    match v {
        Value::Array(items) => {
            let kept: Vec<Value> = items.into_iter().filter_map(drop_empty).collect();
            (!kept.is_empty()).then_some(Value::Array(kept))
        }
        v if is_empty(&v) => None,
        v => Some(v),
    }
}

#[cfg(test)]
mod tests;
