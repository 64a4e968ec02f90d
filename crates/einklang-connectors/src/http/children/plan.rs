//! The requests that turn a parent's child list as the remote holds it
//! (`current`) into the list a write wants (`wanted`): pure, no I/O.
//!
//! - A wanted child with the id of a current one is updated when a field
//!   other than its id, version and `read_only` fields differs.
//! - A wanted child without a known id takes the place of a current child
//!   of the same `read_only` values that is going (no wanted child names
//!   it): one update instead of a blank and a create — a changed phone
//!   number stays the entry it was (the seed's Var5). Else it goes into an
//!   empty slot (a current child holding the `blank` values, same
//!   `read_only` values), else it is created.
//! - A current child no wanted child names and no new one took is deleted
//!   or blanked; one that is blank already is left alone.
//!
//! Order: removals, then updates, then creates.

use super::{same, Children};
use serde_json::{Map, Value};
use std::collections::HashSet;

/// One request on a child.
#[derive(Clone, Debug, PartialEq)]
pub enum ChildOp {
    /// Create a child with these fields.
    Create(Map<String, Value>),
    /// Update child `id` with these fields (a change, or a reused slot).
    Update(String, Map<String, Value>),
    /// Write the blank values into child `id`.
    Blank(String, Map<String, Value>),
    /// Delete child `id`.
    Delete(String),
}

/// Why a wanted list cannot be written.
#[derive(Debug, PartialEq, Eq)]
pub struct BadChild(pub String);

fn id_of(ch: &Children, v: &Map<String, Value>) -> Option<String> {
    match v.get(&ch.id)? {
        Value::String(s) if !s.is_empty() => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

/// The fields of a child an update sends: all but id, version and the
/// read-only ones.
fn writable(ch: &Children, v: &Map<String, Value>) -> Map<String, Value> {
    v.iter()
        .filter(|(k, _)| {
            **k != ch.id && Some(k.as_str()) != ch.version.as_deref() && !ch.read_only.contains(k)
        })
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect()
}

/// The fields a create sends: all but id and version.
fn creatable(ch: &Children, v: &Map<String, Value>) -> Map<String, Value> {
    v.iter()
        .filter(|(k, _)| **k != ch.id && Some(k.as_str()) != ch.version.as_deref())
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect()
}

fn objects<'a>(list: &'a [Value], what: &str) -> Result<Vec<&'a Map<String, Value>>, BadChild> {
    list.iter()
        .enumerate()
        .map(|(i, v)| {
            v.as_object()
                .ok_or_else(|| BadChild(format!("{what} entry {} is not an object but {v}", i + 1)))
        })
        .collect()
}

/// The requests from `current` to `wanted` (see the module docs).
pub fn plan(ch: &Children, current: &[Value], wanted: &[Value]) -> Result<Vec<ChildOp>, BadChild> {
    let current = objects(current, "the remote's")?;
    let wanted = objects(wanted, "a written")?;
    let named: HashSet<String> = wanted.iter().filter_map(|w| id_of(ch, w)).collect();
    let by_id = |id: &str| current.iter().find(|c| id_of(ch, c).as_deref() == Some(id));
    // current children no wanted one names: going, unless a new one takes them
    let mut going: Vec<&Map<String, Value>> = current
        .iter()
        .filter(|c| id_of(ch, c).is_some_and(|id| !named.contains(&id)) && !ch.is_blank(c))
        .copied()
        .collect();
    let mut updates = Vec::new();
    let mut creates = Vec::new();
    let mut claimed: HashSet<String> = named.clone();
    let same_kind = |c: &Map<String, Value>, w: &Map<String, Value>| {
        ch.read_only.iter().all(|k| same(c.get(k), w.get(k)))
    };
    for w in &wanted {
        if let Some(c) = id_of(ch, w).as_deref().and_then(by_id) {
            let send = writable(ch, w);
            if send.iter().any(|(k, v)| !same(c.get(k), Some(v))) {
                updates.push(ChildOp::Update(id_of(ch, w).unwrap_or_default(), send));
            }
            continue;
        }
        let replaced = going.iter().position(|c| same_kind(c, w));
        let slot = match replaced {
            Some(i) => Some(going.remove(i)),
            None => current.iter().copied().find(|c| {
                id_of(ch, c).is_some_and(|id| !claimed.contains(&id))
                    && ch.is_blank(c)
                    && same_kind(c, w)
            }),
        };
        match slot.and_then(|s| id_of(ch, s)) {
            Some(id) => {
                claimed.insert(id.clone());
                let send = writable(ch, w);
                let held = slot.map(|c| send.iter().all(|(k, v)| same(c.get(k), Some(v))));
                if held != Some(true) {
                    updates.push(ChildOp::Update(id, send));
                }
            }
            None => creates.push(ChildOp::Create(creatable(ch, w))),
        }
    }
    let removals = going
        .iter()
        .filter_map(|c| id_of(ch, c))
        .map(|id| match &ch.blank {
            Some(b) => ChildOp::Blank(id, b.clone()),
            None => ChildOp::Delete(id),
        });
    Ok(removals.chain(updates).chain(creates).collect())
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use serde_json::json;

    fn komm() -> Children {
        Children {
            field: "kommunikation".into(),
            id: "id".into(),
            version: Some("rowId".into()),
            key: None,
            list: None,
            create: None,
            update: None,
            delete: None,
            blank: Some(
                json!({"tlf": "", "bemerkung": ""})
                    .as_object()
                    .unwrap()
                    .clone(),
            ),
            read_only: vec!["kommKz".into()],
        }
    }

    fn k(id: u64, kz: u64, tlf: &str) -> Value {
        json!({"id": id, "kommKz": kz, "tlf": tlf, "bemerkung": "", "rowId": format!("r{id}")})
    }

    fn obj(v: Value) -> Map<String, Value> {
        v.as_object().unwrap().clone()
    }

    #[test]
    fn the_same_list_takes_no_request() {
        let now = vec![k(1, 4, "a@x.de"), k(2, 3, "0171")];
        assert_eq!(plan(&komm(), &now, &now).unwrap(), vec![]);
    }

    #[test]
    fn a_changed_value_is_one_update_without_read_only_fields() {
        let now = vec![k(1, 4, "a@x.de"), k(2, 3, "0171")];
        let mut want = now.clone();
        want[1]["tlf"] = json!("0172");
        assert_eq!(
            plan(&komm(), &now, &want).unwrap(),
            vec![ChildOp::Update(
                "2".into(),
                obj(json!({"tlf": "0172", "bemerkung": ""}))
            )]
        );
    }

    #[test]
    fn a_replaced_value_is_written_into_the_entry_it_replaces() {
        let now = vec![k(1, 4, "a@x.de"), k(2, 3, ""), k(3, 4, "")];
        // the e-mail replaced by another, a mobile added
        let want = vec![
            json!({"kommKz": 3, "tlf": "0171"}),
            json!({"kommKz": 4, "tlf": "b@x.de"}),
        ];
        assert_eq!(
            plan(&komm(), &now, &want).unwrap(),
            vec![
                ChildOp::Update("2".into(), obj(json!({"tlf": "0171"}))),
                ChildOp::Update("1".into(), obj(json!({"tlf": "b@x.de"}))),
            ]
        );
    }

    #[test]
    fn a_removed_entry_is_blanked_and_a_new_one_reuses_an_empty_slot_of_its_kind() {
        let now = vec![k(1, 4, "a@x.de"), k(2, 3, "")];
        let want = vec![json!({"kommKz": 3, "tlf": "0171"})];
        assert_eq!(
            plan(&komm(), &now, &want).unwrap(),
            vec![
                ChildOp::Blank("1".into(), obj(json!({"tlf": "", "bemerkung": ""}))),
                ChildOp::Update("2".into(), obj(json!({"tlf": "0171"}))),
            ]
        );
    }

    #[test]
    fn without_a_slot_of_its_kind_an_entry_is_created_with_its_read_only_fields() {
        let now = vec![k(2, 3, "")];
        let want = vec![json!({"kommKz": 4, "tlf": "b@x.de"})];
        assert_eq!(
            plan(&komm(), &now, &want).unwrap(),
            vec![ChildOp::Create(obj(json!({"kommKz": 4, "tlf": "b@x.de"})))]
        );
    }

    #[test]
    fn without_blank_values_a_removal_deletes() {
        let mut ch = komm();
        ch.blank = None;
        let now = vec![k(1, 4, "a@x.de")];
        assert_eq!(
            plan(&ch, &now, &[]).unwrap(),
            vec![ChildOp::Delete("1".into())]
        );
    }

    #[test]
    fn an_entry_that_is_not_an_object_is_refused() {
        let err = plan(&komm(), &[], &[json!("a@x.de")]).unwrap_err();
        assert!(err.0.contains("entry 1"), "{}", err.0);
    }

    /// Applying a plan to the current list gives the wanted values: every
    /// wanted value is held once, and no other non-blank entry remains.
    fn apply(ch: &Children, now: &[Value], ops: &[ChildOp]) -> Vec<Value> {
        let mut list: Vec<Value> = now.to_vec();
        let mut next = 1000;
        for op in ops {
            match op {
                ChildOp::Create(f) => {
                    next += 1;
                    let mut v = Value::Object(f.clone());
                    v["id"] = json!(next);
                    list.push(v);
                }
                ChildOp::Update(id, f) | ChildOp::Blank(id, f) => {
                    let e = list
                        .iter_mut()
                        .find(|e| id_of(ch, e.as_object().unwrap()).as_deref() == Some(id))
                        .expect("an update of a child that is there");
                    for (k, v) in f {
                        e[k] = v.clone();
                    }
                }
                ChildOp::Delete(id) => {
                    list.retain(|e| id_of(ch, e.as_object().unwrap()).as_deref() != Some(id))
                }
            }
        }
        list
    }

    fn held(list: &[Value]) -> Vec<(u64, String)> {
        let mut v: Vec<(u64, String)> = list
            .iter()
            .filter(|e| !e["tlf"].as_str().unwrap_or("").is_empty())
            .map(|e| {
                (
                    e["kommKz"].as_u64().unwrap(),
                    e["tlf"].as_str().unwrap().into(),
                )
            })
            .collect();
        v.sort();
        v
    }

    proptest! {
        #[test]
        fn a_plan_applied_gives_the_wanted_entries(
            now in prop::collection::vec((1u64..4, prop::option::of("[a-c]")), 0..6),
            keep in prop::collection::vec(any::<bool>(), 6),
            edits in prop::collection::vec(prop::option::of("[a-d]"), 6),
            new in prop::collection::vec((1u64..4, "[d-f]"), 0..4),
        ) {
            let ch = komm();
            let now: Vec<Value> = now.iter().enumerate()
                .map(|(i, (kz, t))| k(i as u64 + 1, *kz, t.as_deref().unwrap_or("")))
                .collect();
            // the wanted list: kept entries (maybe edited), then new ones
            let mut want = Vec::new();
            for (i, e) in now.iter().enumerate() {
                if e["tlf"] == "" || !keep[i] { continue; }
                let mut w = e.clone();
                if let Some(t) = &edits[i] { w["tlf"] = json!(t); }
                want.push(w);
            }
            for (kz, t) in &new {
                want.push(json!({"kommKz": kz, "tlf": t}));
            }
            let ops = plan(&ch, &now, &want).unwrap();
            let after = apply(&ch, &now, &ops);
            prop_assert_eq!(held(&after), held(&want));
            // a second plan against the result asks nothing more of the
            // entries that were there (ids are known now)
            let creates = ops.iter().filter(|o| matches!(o, ChildOp::Create(_))).count();
            prop_assert!(creates <= new.len());
        }
    }
}
