//! Writing a list of objects onto what the remote holds.
//!
//! An API such as EspoCRM's (`emailAddressData`, `phoneNumberData`) takes
//! a list of objects whole: a write replaces it. Built from the hub's
//! values alone ([`super::each::objects_of`]), every element would go out
//! in the hub's canonical form — `0170 1039595` rewritten as
//! `+491701039595`, an address lower-cased, an element's display name or
//! `optOut` flag dropped, and an element no rule maps (a phone of type
//! `Other`) lost. So before an update the engine fetches the record as
//! the remote holds it and [`rebase_lists`] writes the new list onto it:
//!
//! - an element whose value reads as the same hub value as a new one is
//!   kept verbatim (its formatting and other keys), only its primary flag
//!   set as the hub's order says;
//! - a new value gets a new element; an element whose value the hub no
//!   longer has is left out;
//! - an element no rule of the list takes stays as it is.
//!
//! "Reads as the same" is decided the way a read decides it
//! ([`super::checked`]): through the rule's transforms and the field
//! type's normalisation, flags included. Pure: the caller fetches.

use super::checked;
use super::each::matches;
use crate::filter::eval::lookup;
use crate::mapping::{Each, FieldRule, Mapping};
use crate::path::Path;
use crate::record::Value;
use crate::schema::{EntitySchema, NormaliseContext};
use serde_json::Map;

/// The lists of objects `fields` writes, rebased onto `current` (the
/// record as the remote holds it). Fields that are no such list, and
/// lists `current` does not hold, are left as they are.
pub fn rebase_lists(
    mapping: &Mapping,
    schema: &EntitySchema,
    ctx: &NormaliseContext,
    fields: &mut Map<String, Value>,
    current: &Map<String, Value>,
) {
    let mut paths: Vec<&str> = Vec::new();
    for (path, _, _) in mapping.pushed_lists() {
        if !paths.contains(&path) {
            paths.push(path);
        }
    }
    for path in paths {
        let rules: Vec<(&FieldRule, &Each)> = (mapping.pushed_lists())
            .filter(|(p, _, _)| *p == path)
            .map(|(_, rule, each)| (rule, each))
            .collect();
        let (Some(Value::Array(new)), Some(Value::Array(old))) = (
            lookup(fields, path).map(|v| v.into_owned()),
            lookup(current, path).map(|v| v.into_owned()),
        ) else {
            continue;
        };
        let reader = Reader { path, schema, ctx };
        let rebased = rebase(&reader, &rules, new, old);
        super::push::set_path(fields, path, Value::Array(rebased));
    }
}

/// Reads one element the way a pull reads the list it is in.
struct Reader<'a> {
    path: &'a str,
    schema: &'a EntitySchema,
    ctx: &'a NormaliseContext,
}

impl Reader<'_> {
    fn value(&self, rule: &FieldRule, element: &Value) -> Value {
        let mut raw = Map::new();
        super::push::set_path(&mut raw, self.path, Value::Array(vec![element.clone()]));
        checked::rule(rule, self.schema, self.ctx, &raw, &[])
    }
}

fn rebase(
    reader: &Reader<'_>,
    rules: &[(&FieldRule, &Each)],
    new: Vec<Value>,
    old: Vec<Value>,
) -> Vec<Value> {
    let mut used = vec![false; old.len()];
    let mut out = Vec::with_capacity(new.len());
    for element in new {
        let Some((rule, each)) = rules.iter().find(|(_, e)| matches(e, &element)) else {
            out.push(element);
            continue;
        };
        let wanted = reader.value(rule, &element);
        let same = (0..old.len())
            .find(|&i| !used[i] && matches(each, &old[i]) && reader.value(rule, &old[i]) == wanted);
        match same {
            Some(i) => {
                used[i] = true;
                out.push(with_primary_of(each, old[i].clone(), &element));
            }
            None => out.push(element),
        }
    }
    // what no rule of this list takes is not einklang's to change
    let untouched = old
        .into_iter()
        .zip(used)
        .filter(|(e, used)| !used && !rules.iter().any(|(_, each)| matches(each, e)));
    out.extend(untouched.map(|(e, _)| e));
    out
}

/// `kept` with the primary flag `new` carries (when the rule has one).
fn with_primary_of(each: &Each, mut kept: Value, new: &Value) -> Value {
    let Some(path) = each.primary.as_deref().and_then(|p| Path::parse(p).ok()) else {
        return kept;
    };
    let (Some(flag), Some(obj)) = (
        new.as_object()
            .and_then(|n| path.get(n))
            .map(|v| v.into_owned()),
        kept.as_object_mut(),
    ) else {
        return kept;
    };
    path.set(obj, flag);
    kept
}

#[cfg(test)]
mod tests;
