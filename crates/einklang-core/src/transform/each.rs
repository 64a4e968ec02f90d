//! Lists of objects ↔ hub lists: Microsoft Graph's `emailAddresses`
//! (`[{name, address}]`), EspoCRM's `emailAddressData` (`[{emailAddress,
//! primary, optOut}]`), Advoware's `kommunikation` (`[{kommKz, tlf}]`, the
//! kind code deciding phone, mobile, fax or e-mail).
//!
//! Pull ([`values_of`]): the elements that match `when` (every element
//! when it is empty), the `primary` one first, each element's `value`
//! path read — a list of values for a hub `emails`/`phones` field.
//! Without `primary`, the order of the elements says nothing (Advoware
//! keeps them in the order they were created): the engine reads them in
//! the order of their values (`transform::checked`), so a write that
//! appended an element reads back as it was written.
//!
//! Push ([`objects_of`] and [`merge_into`]): each hub value becomes an
//! element holding it at `value`, the first of `when`'s values at each of
//! its keys, the `set` constants, and `primary` true for the first, false
//! for the others. Written into the raw array, the new elements replace
//! only the elements that match `when`: another rule's share of the same
//! array (the mobile numbers beside the e-mails in Advoware's list) stays.

use crate::mapping::Each;
use crate::path::Path;
use serde_json::{Map, Value};

/// Does `element` belong to the rule (matches every `when` key)?
pub fn matches(each: &Each, element: &Value) -> bool {
    each.when.iter().all(|(key, allowed)| {
        element
            .get(key)
            .is_some_and(|v| allowed.iter().any(|a| same(v, a)))
    })
}

fn same(a: &Value, b: &Value) -> bool {
    a == b || (a.to_string().trim_matches('"') == b.to_string().trim_matches('"'))
}

fn is_primary(each: &Each, element: &Value) -> bool {
    let Some(path) = each.primary.as_deref().and_then(|p| Path::parse(p).ok()) else {
        return false;
    };
    let Some(obj) = element.as_object() else {
        return false;
    };
    matches!(path.get(obj).as_deref(), Some(Value::Bool(true)))
}

/// The rule's values in `input` (an array of objects, or one object).
pub fn values_of(each: &Each, input: Value) -> Value {
    let items = match input {
        Value::Array(items) => items,
        Value::Null => return Value::Null,
        one => vec![one],
    };
    let mut mine: Vec<Value> = items.into_iter().filter(|e| matches(each, e)).collect();
    // the primary element first; the others keep their order
    mine.sort_by_key(|e| !is_primary(each, e));
    let Ok(path) = Path::parse(&each.value) else {
        return Value::Null;
    };
    let values: Vec<Value> = mine
        .iter()
        .filter_map(|e| path.get(e.as_object()?).map(|v| v.into_owned()))
        .filter(|v| !v.is_null())
        .collect();
    Value::Array(values)
}

/// The elements to write for hub `values` (a list, or one value).
pub fn objects_of(each: &Each, values: Value) -> Value {
    let items = match values {
        Value::Array(items) => items,
        Value::Null => Vec::new(),
        one => vec![one],
    };
    let Ok(path) = Path::parse(&each.value) else {
        return Value::Array(Vec::new());
    };
    let primary = each.primary.as_deref().and_then(|p| Path::parse(p).ok());
    let objects = items.into_iter().enumerate().map(|(i, v)| {
        let mut obj = Map::new();
        for (key, allowed) in &each.when {
            if let Some(first) = allowed.first() {
                obj.insert(key.clone(), first.clone());
            }
        }
        for (k, c) in &each.set {
            obj.insert(k.clone(), c.clone());
        }
        if let Some(p) = &primary {
            p.set(&mut obj, Value::Bool(i == 0));
        }
        path.set(&mut obj, v);
        Value::Object(obj)
    });
    Value::Array(objects.collect())
}

/// Write `objects` (from [`objects_of`]) into the array at `slot`: the
/// elements that match `when` are replaced, the others kept.
pub fn merge_into(each: &Each, slot: &mut Value, objects: Value) {
    let new = match objects {
        Value::Array(items) => items,
        other => vec![other],
    };
    let mut kept: Vec<Value> = match std::mem::take(slot) {
        Value::Array(items) if !each.when.is_empty() => {
            items.into_iter().filter(|e| !matches(each, e)).collect()
        }
        _ => Vec::new(),
    };
    kept.extend(new);
    *slot = Value::Array(kept);
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn each(value: &str, when: &[(&str, Vec<Value>)], primary: Option<&str>) -> Each {
        Each {
            value: value.into(),
            when: when
                .iter()
                .map(|(k, v)| (k.to_string(), v.clone()))
                .collect(),
            primary: primary.map(str::to_string),
            set: Map::new(),
        }
    }

    #[test]
    fn graph_addresses_become_a_list_and_back() {
        let e = each("address", &[], None);
        let graph =
            json!([{"name": "Anna", "address": "a@x.org"}, {"name": "", "address": "b@x.org"}]);
        assert_eq!(values_of(&e, graph), json!(["a@x.org", "b@x.org"]));
        assert_eq!(
            objects_of(&e, json!(["a@x.org"])),
            json!([{"address": "a@x.org"}])
        );
    }

    #[test]
    fn the_primary_element_comes_first_and_is_written_first() {
        let e = each("emailAddress", &[], Some("primary"));
        let espo = json!([
            {"emailAddress": "old@x.org", "primary": false},
            {"emailAddress": "main@x.org", "primary": true}
        ]);
        assert_eq!(values_of(&e, espo), json!(["main@x.org", "old@x.org"]));
        assert_eq!(
            objects_of(&e, json!(["main@x.org", "old@x.org"])),
            json!([
                {"emailAddress": "main@x.org", "primary": true},
                {"emailAddress": "old@x.org", "primary": false}
            ])
        );
    }

    #[test]
    fn a_kind_code_routes_elements_and_a_write_keeps_the_other_kinds() {
        let mobile = each("tlf", &[("kommKz", vec![json!(3)])], None);
        let emails = each("tlf", &[("kommKz", vec![json!(4), json!(8)])], None);
        let advo = json!([
            {"kommKz": 1, "tlf": "+49 30 1"},
            {"kommKz": 3, "tlf": "+49 170 2"},
            {"kommKz": "4", "tlf": "a@x.org", "bemerkung": "Kanzlei"},
            {"kommKz": 8, "tlf": "b@x.org"}
        ]);
        assert_eq!(values_of(&mobile, advo.clone()), json!(["+49 170 2"]));
        assert_eq!(
            values_of(&emails, advo.clone()),
            json!(["a@x.org", "b@x.org"])
        );
        let mut slot = advo;
        merge_into(
            &mobile,
            &mut slot,
            objects_of(&mobile, json!(["+49 171 9"])),
        );
        let kinds: Vec<Value> = slot
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["kommKz"].clone())
            .collect();
        assert_eq!(kinds, vec![json!(1), json!("4"), json!(8), json!(3)]);
        assert_eq!(values_of(&mobile, slot.clone()), json!(["+49 171 9"]));
        assert_eq!(values_of(&emails, slot), json!(["a@x.org", "b@x.org"]));
    }
}
