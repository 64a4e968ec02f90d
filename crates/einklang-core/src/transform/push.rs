//! The way back: hub values into a connector's raw fields ([`push_record`])
//! and the hub record as the connector would hold it ([`project`]).
//!
//! Each pull transform has an inverse where one exists: renames copy, value
//! maps look up the key of the hub value, dates and date-times are printed
//! in the source's format (and zone), epochs become numbers again, a name
//! split into `first` and `last` by two rules on one raw field is joined
//! back (as `First Last`, or `Last, First` where only that reads back as
//! the same two parts), and a list read from several raw fields (`phones` from `Telefon`
//! and `Mobil`) is spread over them in order. Constants, `join` and
//! `person_or_company` have no inverse: such fields are never pushed.
//!
//! A flag ([`super::flag`]) is written as the raw value it holds, through
//! no inverse: the source gets back exactly what it held. Dates are
//! written through [`super::format`], which never panics (a `date` format
//! with time specifiers writes midnight).
//!
//! The projection `pull(push(hub))`, normalised, is what the remote will
//! hold after a push (read as the engine reads, [`super::checked`]: a
//! flag's raw value reads back as that flag). Comparing it with a link's base (never the raw hub
//! values) is what makes lossy mappings echo-free: a third phone number a
//! two-column CSV cannot hold is not a change the CSV must be told about
//! again and again.

use super::flag::{is_flag, unflag};
use super::format::{write_date, write_datetime};
use super::values;
use crate::mapping::{Direction, EpochUnit, FieldRule, Mapping, NamePart, Source, Transform};
use crate::merge::FieldRole;
use crate::record::{Fields, Value};
use crate::schema::{is_empty, EntitySchema, NormaliseContext};
use chrono::{DateTime, NaiveDate, Utc};
use serde_json::Map;
use std::collections::BTreeMap;

/// Can this rule's value be written back to its raw field(s)?
pub fn invertible(rule: &FieldRule, mapping: &Mapping) -> bool {
    let transforms_invertible = rule.transforms.iter().all(|t| match t {
        Transform::Join { .. } | Transform::First | Transform::PersonOrCompany => false,
        Transform::SplitName { part } => name_partner(rule, *part, mapping).is_some(),
        _ => true,
    });
    transforms_invertible && !matches!(rule.source, Source::Constant(_))
}

/// The rule that keeps the other part of the same raw name field.
fn name_partner<'m>(
    rule: &FieldRule,
    part: NamePart,
    mapping: &'m Mapping,
) -> Option<&'m FieldRule> {
    let Source::Field(raw) = &rule.source else {
        return None;
    };
    mapping.fields.iter().find(|other| {
        other.source == Source::Field(raw.clone())
            && other.direction.pushes()
            && other
                .transforms
                .iter()
                .any(|t| matches!(t, Transform::SplitName { part: p } if *p != part))
    })
}

/// How each entity field of `mapping` takes part in a sync.
pub fn field_roles(mapping: &Mapping, schema: &EntitySchema) -> BTreeMap<String, FieldRole> {
    mapping
        .fields
        .iter()
        .map(|rule| {
            let list = schema.field(&rule.target).is_some_and(|f| f.ty.is_list());
            let role = FieldRole {
                pulls: rule.direction.pulls() && rule.direction != Direction::Push,
                pushes: rule.direction.pushes() && invertible(rule, mapping),
                list,
            };
            (rule.target.clone(), role)
        })
        .collect()
}

/// The raw fields to write for `values` (every pushable rule, or only
/// those of the entity fields in `only`; fields without a value are
/// written as null so the remote clears them). Writing through a path
/// builds the minimal structure: a keyed element with its key and the
/// written value, nothing of the fields not written.
pub fn push_record(
    mapping: &Mapping,
    values: &Fields,
    only: Option<&[&str]>,
) -> Map<String, Value> {
    let mut raw = Map::new();
    for rule in &mapping.fields {
        if !rule.direction.pushes() || !invertible(rule, mapping) {
            continue;
        }
        if only.is_some_and(|o| !o.contains(&rule.target.as_str())) {
            continue;
        }
        let value = values.get(&rule.target).cloned().unwrap_or(Value::Null);
        match &rule.source {
            Source::Field(path) => {
                if split_part(rule).is_some() {
                    let joined = join_name(mapping, values, path);
                    set_path(&mut raw, path, joined);
                } else if let Some(Transform::Each(e)) = rule.transforms.first() {
                    // a share of a list another rule may share too
                    let objects = invert(&rule.transforms, value);
                    let mut slot = lookup_owned(&raw, path);
                    super::each::merge_into(e, &mut slot, objects);
                    set_path(&mut raw, path, slot);
                } else {
                    set_path(&mut raw, path, unflag(invert(&rule.transforms, value)));
                }
            }
            Source::Fields(paths) => {
                // a flag of the whole list holds the raw values of the paths
                let value = match super::flag::flagged(&value) {
                    Some(f) => f.raw.clone(),
                    None => value,
                };
                let items = match value {
                    Value::Array(items) => items,
                    Value::Null => Vec::new(),
                    one => vec![one],
                };
                for (i, path) in paths.iter().enumerate() {
                    let item = items.get(i).cloned().unwrap_or(Value::Null);
                    set_path(&mut raw, path, unflag(invert(&rule.transforms, item)));
                }
            }
            Source::Constant(_) => {}
        }
    }
    raw
}

/// The hub record as the connector will hold it after a push: the pushable
/// fields of `pull(push(values))`, normalised by the schema. A value the
/// schema would reject stays as it is.
pub fn project(
    mapping: &Mapping,
    schema: &EntitySchema,
    ctx: &NormaliseContext,
    values: &Fields,
) -> Fields {
    let raw = push_record(mapping, values, None);
    let roles = field_roles(mapping, schema);
    let mut pulled = Fields::new();
    for rule in &mapping.fields {
        if !roles.get(&rule.target).is_some_and(|r| r.pushes) {
            continue;
        }
        let known: Vec<&Value> = match values.get(&rule.target) {
            Some(Value::Array(items)) => items.iter().filter(|v| is_flag(v)).collect(),
            Some(v) if is_flag(v) => vec![v],
            _ => Vec::new(),
        };
        let v = super::checked::rule(rule, schema, ctx, &raw, &known);
        if let Some(v) = super::drop_empty(v) {
            pulled.insert(rule.target.clone(), v);
        }
    }
    pulled
}

fn split_part(rule: &FieldRule) -> Option<NamePart> {
    rule.transforms.iter().find_map(|t| match t {
        Transform::SplitName { part } => Some(*part),
        _ => None,
    })
}

/// A full name split by two rules (`first`, `last`) of one raw field: the
/// raw field gets both parts joined again, the first name first — or, when
/// that would read back split elsewhere (`Maria de` + `Souza` reads as
/// `Maria` + `de Souza`), as `Last, First`, which reads back exactly
/// unless the last name holds a comma. A name of one part is written as
/// it is (and a last name alone reads back as a first name: lossy).
fn join_name(mapping: &Mapping, values: &Fields, path: &str) -> Value {
    let part_value = |part: NamePart| {
        mapping
            .fields
            .iter()
            .find(|r| r.source == Source::Field(path.to_string()) && split_part(r) == Some(part))
            .and_then(|r| values.get(&r.target))
            .and_then(|v| values::text(&unflag(v.clone())))
            .unwrap_or_default()
    };
    let (first, last) = (part_value(NamePart::First), part_value(NamePart::Last));
    let (first, last) = (first.trim(), last.trim());
    let natural: Vec<&str> = [first, last]
        .into_iter()
        .filter(|p| !p.is_empty())
        .collect();
    let natural = natural.join(" ");
    if natural.is_empty() {
        return Value::Null;
    }
    let reads_back = values::split_name(&natural) == (first.to_string(), last.to_string());
    if reads_back || first.is_empty() || last.is_empty() || last.contains(',') {
        Value::String(natural)
    } else {
        Value::String(format!("{last}, {first}").trim_end().to_string())
    }
}

/// The value at `path` in `raw` built so far (null when there is none).
fn lookup_owned(raw: &Map<String, Value>, path: &str) -> Value {
    crate::filter::eval::lookup(raw, path)
        .map(std::borrow::Cow::into_owned)
        .unwrap_or(Value::Null)
}

/// Set a path in a raw record (see [`crate::path`]), creating the way:
/// a plain key or dotted path as before, brackets and pointers through
/// [`Path`]. A text that is no valid path is taken as one key.
pub fn set_path(raw: &mut Map<String, Value>, path: &str, value: Value) {
    if path.contains('[') || path.starts_with('/') {
        match crate::path::Path::parse(path) {
            Ok(p) => return p.set(raw, value),
            Err(_) => {
                raw.insert(path.to_string(), value);
                return;
            }
        }
    }
    let mut parts: Vec<&str> = path.split('.').collect();
    let last = parts.pop().unwrap_or(path);
    let mut cur = raw;
    for part in parts {
        let entry = cur
            .entry(part.to_string())
            .or_insert_with(|| Value::Object(Map::new()));
        if !entry.is_object() {
            *entry = Value::Object(Map::new());
        }
        cur = entry.as_object_mut().expect("just made an object");
    }
    cur.insert(last.to_string(), value);
}

/// Undo the transforms of a rule, last first (a flag stays as it is).
fn invert(transforms: &[Transform], value: Value) -> Value {
    transforms.iter().rev().fold(value, |v, t| match (t, v) {
        (Transform::Each(e), v) => super::each::objects_of(e, unflag(v)),
        (_, v) => invert_each_element(t, v),
    })
}

/// Undo one transform: element by element in a list, not on empty values
/// or flags.
fn invert_each_element(t: &Transform, v: Value) -> Value {
    match v {
        Value::Array(items) => Value::Array(
            items
                .into_iter()
                .map(|i| match is_flag(&i) {
                    true => i,
                    false => invert_one(t, i),
                })
                .collect(),
        ),
        v if is_empty(&v) || is_flag(&v) => v,
        v => invert_one(t, v),
    }
}

fn invert_one(t: &Transform, v: Value) -> Value {
    match t {
        Transform::ValueMap { map, .. } => map
            .iter()
            .find(|(_, mapped)| **mapped == v)
            .map(|(k, _)| Value::String(k.clone()))
            .unwrap_or(v),
        Transform::Date { format } => match v.as_str().and_then(|s| s.parse::<NaiveDate>().ok()) {
            Some(d) => write_date(d, format).map_or(v, Value::String),
            None => v,
        },
        Transform::DateTime { format, tz } => match (instant(&v), tz.parse::<chrono_tz::Tz>()) {
            (Some(dt), Ok(zone)) => write_datetime(dt, format, zone).map_or(v, Value::String),
            _ => v,
        },
        Transform::Epoch { unit } => match instant(&v) {
            Some(dt) => Value::from(match unit {
                EpochUnit::Seconds => dt.timestamp(),
                EpochUnit::Millis => dt.timestamp_millis(),
            }),
            None => v,
        },
        _ => v,
    }
}

fn instant(v: &Value) -> Option<DateTime<Utc>> {
    DateTime::parse_from_rfc3339(v.as_str()?)
        .ok()
        .map(|d| d.with_timezone(&Utc))
}

#[cfg(test)]
mod tests;
