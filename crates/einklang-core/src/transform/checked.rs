//! Reading a record the engine's way ([`crate::Mapping::pull_checked`]):
//! each field rule's value through its transforms *and* its field type's
//! normalisation, so that a value that fails either is kept as a flag
//! ([`super::flag`]) holding the value as the source holds it — not as
//! a transform left it (lower-cased, mapped): that is what a push writes
//! back, and reading it again gives the same flag.
//!
//! The common case costs one pass: the whole value converts. Only when it
//! does not is a list field taken element by element, so one bad phone
//! number of three is flagged and the other two are kept canonical.

use super::flag::{flag_as, flagged};
use super::normalise;
use super::{chain, source_value, transforms_for};
use crate::mapping::{FieldRule, Transform};
use crate::record::Value;
use crate::schema::{is_empty, EntitySchema, FieldType, NormaliseContext};

/// The canonical value of one rule for a raw record (`Null` when empty),
/// flags included. `known` are flags the value may come back as: a raw
/// value equal to one's raw value reads as that flag (the projection of a
/// hub record: a flag's raw value was written verbatim, and reading it
/// back must not depend on what the write could not carry, such as the
/// field `region_from` names).
pub(super) fn rule(
    rule: &FieldRule,
    schema: &EntitySchema,
    ctx: &NormaliseContext,
    raw: &serde_json::Map<String, Value>,
    known: &[&Value],
) -> Value {
    let v = rule_value(rule, schema, ctx, raw, known);
    match rule.transforms.first() {
        // a list of objects without a primary flag keeps its elements in
        // an order of its own (Advoware: the order they were created in),
        // which says nothing: read in the order of their values, so a
        // write that appends reads back as written
        Some(Transform::Each(e)) if e.primary.is_none() => in_value_order(v),
        _ => v,
    }
}

fn in_value_order(v: Value) -> Value {
    match v {
        Value::Array(mut items) => {
            items.sort_by_cached_key(crate::merge::list::element_key);
            Value::Array(items)
        }
        v => v,
    }
}

fn rule_value(
    rule: &FieldRule,
    schema: &EntitySchema,
    ctx: &NormaliseContext,
    raw: &serde_json::Map<String, Value>,
    known: &[&Value],
) -> Value {
    let transforms = transforms_for(rule, raw);
    // surrounding white space is no part of a value (every transform and
    // type ignores it), and a flag's raw value is kept without it
    let mut source = trimmed(source_value(rule, raw));
    // a list of objects gives its values first; an element's value is
    // what a flag keeps, and what a push puts back into its object
    let mut transforms: &[Transform] = &transforms;
    if let Some((Transform::Each(e), rest)) = transforms.split_first() {
        source = super::each::values_of(e, source);
        transforms = rest;
    }
    let Some(spec) = schema.field(&rule.target) else {
        // no field of the entity: dropped by the record's checks anyway
        return chain(transforms, source).unwrap_or(Value::Null);
    };
    if known.is_empty() {
        let whole =
            chain(transforms, source.clone()).and_then(|v| normalise::raw_value(&spec.ty, v, ctx));
        if let Ok(v) = whole {
            return v;
        }
    }
    by_element(transforms, source, &spec.ty, ctx, known)
}

fn trimmed(v: Value) -> Value {
    match v {
        Value::String(s) if s.trim().len() != s.len() => Value::String(s.trim().to_string()),
        Value::Array(items) => Value::Array(items.into_iter().map(trimmed).collect()),
        v => v,
    }
}

/// The known flag whose raw value `v` is.
fn known_as(v: &Value, known: &[&Value]) -> Option<Value> {
    // equal as text too: JSON's -0.0 equals 0.0, but a source told one
    // of them holds that one
    let text = |v: &Value| v.to_string();
    known
        .iter()
        .find(|k| flagged(k).is_some_and(|f| *f.raw == *v && text(f.raw) == text(v)))
        .map(|k| (*k).clone())
}

/// A value that did not convert as a whole: a list field element by
/// element, anything else flagged whole.
fn by_element(
    transforms: &[Transform],
    source: Value,
    ty: &FieldType,
    ctx: &NormaliseContext,
    known: &[&Value],
) -> Value {
    // transforms that work on the whole list (or fill it) cannot be taken apart
    let whole_list = transforms.iter().any(|t| {
        matches!(
            t,
            Transform::Join { .. }
                | Transform::First
                | Transform::PersonOrCompany
                | Transform::Default(_)
        )
    });
    if !ty.is_list() || whole_list {
        if let Some(k) = known_as(&source, known) {
            return k;
        }
        let checked =
            chain(transforms, source.clone()).and_then(|v| normalise::raw_value(ty, v, ctx));
        return checked.unwrap_or_else(|_| flag_as(ty, source));
    }
    let items = match source {
        Value::Array(items) => items,
        one => vec![one],
    };
    let mut out: Vec<Value> = Vec::new();
    let mut add = |v: Value| {
        if !is_empty(&v) && !out.contains(&v) {
            out.push(v);
        }
    };
    for item in items.into_iter().filter(|i| !is_empty(i)) {
        if let Some(k) = known_as(&item, known) {
            add(k);
            continue;
        }
        match chain(transforms, item.clone()) {
            Err(_) => add(flag_as(ty, item)),
            Ok(v) => {
                // one part: its raw value is the item; parts of a split text are their own
                let read = normalise::list_keeping(ty, &v, ctx, false, |part, parts| match parts {
                    1 => item.clone(),
                    _ => part.clone(),
                });
                match read {
                    Value::Array(elements) => elements.into_iter().for_each(&mut add),
                    other => add(other),
                }
            }
        }
    }
    match out.is_empty() {
        true => Value::Null,
        false => Value::Array(out),
    }
}

#[cfg(test)]
mod tests;
