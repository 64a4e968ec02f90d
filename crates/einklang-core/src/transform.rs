//! Value transforms, record mapping and schema normalisation.
//!
//! Owns the functions behind [`crate::Mapping::pull`] (this file: filter,
//! external id, one value per field rule through its transforms — strict:
//! a value a transform cannot convert is an error),
//! [`crate::Mapping::pull_checked`] ([`checked`]: the same, with each
//! value also checked against its field's type, and a value that fails
//! either kept as a flag — the way the engine reads) and
//! [`crate::EntitySchema::normalise`] ([`normalise`]). The single-value
//! conversions both share (dates, phones, names) live in [`values`], flags
//! in [`flag`], the per-record phone region in [`region`], chrono formats
//! in [`format`].

mod checked;
pub mod each;
mod email;
pub mod flag;
pub mod format;
mod normalise;
pub(crate) mod phone;
pub mod push;
pub mod rebase;
pub(crate) mod region;
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
    pull_with(mapping, raw, filtered, |rule| {
        apply_rule(rule, raw).map_err(|message| MapError::Transform {
            target: rule.target.clone(),
            source_desc: source_desc(&rule.source),
            message,
        })
    })
}

/// See [`Mapping::pull_checked`]; `filtered` false maps a record the
/// filter does not take (one out of scope, read on with set values).
pub fn pull_checked(
    mapping: &Mapping,
    schema: &EntitySchema,
    ctx: &NormaliseContext,
    raw: &serde_json::Map<String, Value>,
    filtered: bool,
) -> Result<Pulled, MapError> {
    let pulled = pull_with(mapping, raw, filtered, |rule| {
        Ok(checked::rule(rule, schema, ctx, raw, &[]))
    })?;
    match pulled {
        Pulled::Record {
            external_id,
            fields,
        } => match normalise::finish(schema, fields, ctx) {
            Ok(fields) => Ok(Pulled::Record {
                external_id,
                fields,
            }),
            Err(errors) => Err(MapError::Invalid {
                external_id,
                errors,
            }),
        },
        Pulled::Filtered => Ok(Pulled::Filtered),
    }
}

/// The filter (when `filtered`), the external id and every pulled field
/// rule's value by `value_of`.
fn pull_with(
    mapping: &Mapping,
    raw: &serde_json::Map<String, Value>,
    filtered: bool,
    mut value_of: impl FnMut(&FieldRule) -> Result<Value, MapError>,
) -> Result<Pulled, MapError> {
    if let Some(filter) = mapping.filter.as_ref().filter(|_| filtered) {
        if !filter.eval(raw).map_err(MapError::Filter)? {
            return Ok(Pulled::Filtered);
        }
    }
    let external_id = external_id(&mapping.id_field, lookup(raw, &mapping.id_field).as_deref())?;
    let mut fields = Fields::new();
    for rule in mapping.fields.iter().filter(|r| r.direction.pulls()) {
        if let Some(v) = drop_empty(value_of(rule)?) {
            fields.insert(rule.target.clone(), v);
        }
    }
    Ok(Pulled::Record {
        external_id,
        fields,
    })
}

/// See [`Mapping::observed`].
pub fn observed(
    mapping: &Mapping,
    schema: &EntitySchema,
    ctx: &NormaliseContext,
    raw: &serde_json::Map<String, Value>,
) -> Fields {
    let present = |rule: &FieldRule| rule.source.paths().iter().any(|f| lookup(raw, f).is_some());
    let mut out = Fields::new();
    for rule in mapping
        .fields
        .iter()
        .filter(|r| r.direction.pulls() && present(r))
    {
        let v = checked::rule(rule, schema, ctx, raw, &[]);
        out.insert(rule.target.clone(), drop_empty(v).unwrap_or(Value::Null));
    }
    out
}

/// See [`EntitySchema::normalise`] (`keep_invalid` false) and
/// [`EntitySchema::normalise_or_flag`] (true).
pub fn normalise_record(
    schema: &EntitySchema,
    fields: Fields,
    ctx: &NormaliseContext,
    keep_invalid: bool,
) -> Result<Fields, Vec<FieldError>> {
    normalise::record(schema, fields, ctx, keep_invalid)
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
    chain(&transforms_for(rule, raw), source_value(rule, raw))
}

/// The value a rule starts from: its raw field, its raw fields as a list
/// (fields that are lists themselves, two e-mail columns of an API each a
/// list, make one list), or its constant.
fn source_value(rule: &FieldRule, raw: &serde_json::Map<String, Value>) -> Value {
    match &rule.source {
        Source::Field(f) => lookup(raw, f).map(Cow::into_owned).unwrap_or(Value::Null),
        Source::Fields(fs) => {
            let items: Vec<Value> = fs
                .iter()
                .map(|f| lookup(raw, f).map(Cow::into_owned).unwrap_or(Value::Null))
                .collect();
            match items.iter().any(Value::is_array) {
                true => Value::Array(items.into_iter().flat_map(flatten).collect()),
                false => Value::Array(items),
            }
        }
        Source::Constant(v) => v.clone(),
    }
}

/// A rule's transforms for one record: a phone rule with `region_from`
/// takes the region this record's field names (else its default).
fn transforms_for<'r>(
    rule: &'r FieldRule,
    raw: &serde_json::Map<String, Value>,
) -> Cow<'r, [Transform]> {
    let per_record = |t: &Transform| {
        matches!(
            t,
            Transform::Phone {
                region_from: Some(_),
                ..
            }
        )
    };
    if !rule.transforms.iter().any(per_record) {
        return Cow::Borrowed(&rule.transforms);
    }
    let resolved = rule.transforms.iter().map(|t| match t {
        Transform::Phone {
            region,
            region_from: Some(field),
        } => Transform::Phone {
            region: lookup(raw, field)
                .and_then(|v| region::region_of(&v))
                .unwrap_or_else(|| region.clone()),
            region_from: None,
        },
        t => t.clone(),
    });
    Cow::Owned(resolved.collect())
}

/// Run `value` through `transforms`, in order.
fn chain(transforms: &[Transform], mut value: Value) -> Result<Value, String> {
    for t in transforms {
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
        (Transform::First, Value::Array(items)) => Ok(items
            .into_iter()
            .find(|v| !is_empty(v))
            .unwrap_or(Value::Null)),
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
#[cfg(test)]
mod tests_roundtrip;
