//! References between entities: a `ref<contact>` field of a booking.
//!
//! A source names the referenced record by its own id (a Kommo lead's
//! main contact is `_embedded.contacts[is_main=true].id`); the hub holds
//! the referenced record's **hub id** (as text), so a reference does not
//! depend on which system the record came from, and a merge needs no
//! rewrite: the merged-away record keeps `merged_into`, readers follow it
//! to the survivor (and an unmerge restores the reference as it was).
//!
//! This module is the pure part of resolving them, used by a refresh's
//! swap: [`ref_fields`] of an entity, the [`order`] in which a step's
//! entities are applied (a record's targets before it), the source ids a
//! record [`wanted`], and [`resolve`], which puts the hub id in place of
//! each, or — for an id the hub does not know and whose field does not
//! `create` — keeps the value flagged (`no contact record has this id`),
//! so nothing is lost and a later refresh that finds it resolves it.

use crate::record::{Fields, Value};
use crate::schema::{EntitySchema, FieldType};
use crate::transform::flag::{flag, flagged};

/// One `ref` field of an entity.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RefField {
    /// The field (`client`).
    pub field: String,
    /// The entity it refers to (`contact`).
    pub target: String,
    /// Create an empty target record for an id the hub does not know.
    pub create: bool,
}

/// The `ref` fields of `schema`, in declaration order.
pub fn ref_fields(schema: &EntitySchema) -> Vec<RefField> {
    schema
        .fields
        .iter()
        .filter_map(|f| match &f.ty {
            FieldType::Ref(target) => Some(RefField {
                field: f.name.clone(),
                target: target.clone(),
                create: f.create,
            }),
            _ => None,
        })
        .collect()
}

/// The order in which to apply `schemas`: every entity after the entities
/// among them its refs name, otherwise as given. Entities in a cycle of
/// refs keep their given order among themselves (the later one's refs to
/// the earlier resolve; the earlier one's refs see the hub as it was).
pub fn order(schemas: &[&EntitySchema]) -> Vec<usize> {
    let targets: Vec<Vec<usize>> = schemas
        .iter()
        .map(|s| {
            let refs = ref_fields(s);
            (0..schemas.len())
                .filter(|&j| refs.iter().any(|r| r.target == schemas[j].name))
                .filter(|&j| schemas[j].name != s.name)
                .collect()
        })
        .collect();
    let mut done = vec![false; schemas.len()];
    let mut out = Vec::with_capacity(schemas.len());
    while out.len() < schemas.len() {
        // the first not done whose targets are done, else the first on a cycle
        let pending = |i: usize| !done[i];
        let ready = (0..schemas.len()).find(|&i| pending(i) && targets[i].iter().all(|&j| done[j]));
        let next = ready
            .or_else(|| (0..schemas.len()).find(|&i| pending(i) && on_cycle(i, &targets, &done)))
            .unwrap_or_else(|| (0..schemas.len()).find(|&i| pending(i)).unwrap_or(0));
        done[next] = true;
        out.push(next);
    }
    out
}

/// Whether `start` reaches itself through targets not yet done.
fn on_cycle(start: usize, targets: &[Vec<usize>], done: &[bool]) -> bool {
    let mut seen = vec![false; targets.len()];
    let mut stack: Vec<usize> = targets[start]
        .iter()
        .copied()
        .filter(|&j| !done[j])
        .collect();
    while let Some(i) = stack.pop() {
        if i == start {
            return true;
        }
        if !std::mem::replace(&mut seen[i], true) {
            stack.extend(targets[i].iter().copied().filter(|&j| !done[j]));
        }
    }
    false
}

/// The source id a ref field's value names: its text (a flag names none).
fn source_id(v: &Value) -> Option<String> {
    if flagged(v).is_some() {
        return None;
    }
    match v {
        Value::String(s) if !s.trim().is_empty() => Some(s.trim().to_string()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

/// The (target entity, source id) pairs `values` refers to.
pub fn wanted<'r>(values: &Fields, refs: &'r [RefField]) -> Vec<(&'r RefField, String)> {
    refs.iter()
        .filter_map(|r| values.get(&r.field).and_then(source_id).map(|id| (r, id)))
        .collect()
}

/// `values` as the hub keeps them: each ref field's source id replaced by
/// the hub id `lookup(target, id)` gives, and one it does not know kept
/// flagged. Other fields, and values already flagged, are unchanged.
pub fn resolve(
    values: &Fields,
    refs: &[RefField],
    lookup: impl Fn(&str, &str) -> Option<i64>,
) -> Fields {
    let mut out = values.clone();
    for (r, id) in wanted(values, refs) {
        let v = match lookup(&r.target, &id) {
            Some(hub) => Value::String(hub.to_string()),
            None => flag(
                Value::String(id),
                format!("no {} record has this id", r.target),
            ),
        };
        out.insert(r.field.clone(), v);
    }
    out
}

#[cfg(test)]
mod tests;
