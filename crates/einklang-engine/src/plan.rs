//! The pure decision of a pull: given what a connector sent and what the hub
//! holds, which change (if any) to apply. No I/O.

use einklang_core::{ContentHash, Fields, Value};
use einklang_store::{Change, FieldChange, FieldChanges, LinkWrite, LinkedRecord};

/// A record read, mapped and normalised, ready to be planned.
#[derive(Clone, Debug, PartialEq)]
pub struct Incoming {
    /// Connector it came from.
    pub connector: String,
    /// Its external id.
    pub external_id: String,
    /// Canonical values.
    pub values: Fields,
    /// Content hash of `values`.
    pub hash: ContentHash,
    /// Remote version token.
    pub version: Option<String>,
}

impl Incoming {
    fn link_write(&self) -> LinkWrite {
        LinkWrite {
            connector: self.connector.clone(),
            external_id: self.external_id.clone(),
            base: self.values.clone(),
            content_hash: self.hash,
            version: self.version.clone(),
        }
    }
}

/// A new record: every field is history with `old = null`.
pub fn plan_create(entity: &str, incoming: &Incoming) -> Change {
    let history = incoming
        .values
        .iter()
        .map(|(k, v)| {
            (
                k.clone(),
                FieldChange {
                    old: Value::Null,
                    new: v.clone(),
                },
            )
        })
        .collect();
    Change::Create {
        entity: entity.to_string(),
        values: incoming.values.clone(),
        link: incoming.link_write(),
        history,
    }
}

/// A known record whose content changed (or whose hub record must be checked):
/// the fields that differ between the link's base and the incoming values
/// changed on the remote, so they are taken into the hub; fields the remote
/// did not change keep the hub's value. Returns `None` when nothing at all
/// changes (same values and same base).
pub fn plan_update(current: &LinkedRecord, incoming: &Incoming) -> Option<Change> {
    let mut values = current.values.clone();
    let mut history = FieldChanges::new();
    for field in remote_changed_fields(&current.base, &incoming.values) {
        let new = incoming.values.get(&field).cloned().unwrap_or(Value::Null);
        let old = current.values.get(&field).cloned().unwrap_or(Value::Null);
        if old == new {
            continue;
        }
        if new.is_null() {
            values.remove(&field);
        } else {
            values.insert(field.clone(), new.clone());
        }
        history.insert(field, FieldChange { old, new });
    }
    let base_moves = current.base != incoming.values
        || current.key.content_hash != incoming.hash
        || current.key.version != incoming.version;
    if history.is_empty() && !base_moves {
        return None;
    }
    Some(Change::Update {
        record_id: current.key.record_id,
        link_id: current.key.link_id,
        values,
        link: incoming.link_write(),
        history,
    })
}

/// Field names whose value differs between `base` and `remote` (added, removed or changed), sorted.
pub fn remote_changed_fields(base: &Fields, remote: &Fields) -> Vec<String> {
    let mut out: Vec<String> = remote
        .iter()
        .filter(|(k, v)| base.get(*k) != Some(*v))
        .map(|(k, _)| k.clone())
        .collect();
    out.extend(base.keys().filter(|k| !remote.contains_key(*k)).cloned());
    out.sort();
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use einklang_core::content_hash;
    use einklang_store::LinkKey;
    use serde_json::json;

    fn fields(pairs: &[(&str, Value)]) -> Fields {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.clone()))
            .collect()
    }

    fn incoming(values: Fields) -> Incoming {
        Incoming {
            connector: "crm".into(),
            external_id: "42".into(),
            hash: content_hash(&values),
            values,
            version: None,
        }
    }

    fn linked(values: Fields, base: Fields) -> LinkedRecord {
        LinkedRecord {
            key: LinkKey {
                link_id: 7,
                record_id: 1,
                content_hash: content_hash(&base),
                version: None,
            },
            entity: "contact".into(),
            values,
            base,
        }
    }

    #[test]
    fn create_records_every_field_as_new() {
        let inc = incoming(fields(&[("a", json!("x")), ("b", json!(1))]));
        let Change::Create {
            history,
            values,
            link,
            ..
        } = plan_create("contact", &inc)
        else {
            panic!("expected create")
        };
        assert_eq!(values, inc.values);
        assert_eq!(link.base, inc.values);
        assert_eq!(
            history["a"],
            FieldChange {
                old: Value::Null,
                new: json!("x")
            }
        );
        assert_eq!(history.len(), 2);
    }

    #[test]
    fn remote_change_is_taken_and_hub_only_change_kept() {
        let base = fields(&[("name", json!("Anna")), ("city", json!("Wien"))]);
        // The hub changed city (e.g. from another source), the remote changed name.
        let hub = fields(&[("name", json!("Anna")), ("city", json!("Graz"))]);
        let inc = incoming(fields(&[
            ("name", json!("Anna Maria")),
            ("city", json!("Wien")),
        ]));
        let Some(Change::Update {
            values, history, ..
        }) = plan_update(&linked(hub, base), &inc)
        else {
            panic!("expected update")
        };
        assert_eq!(values["name"], json!("Anna Maria"));
        assert_eq!(values["city"], json!("Graz"));
        assert_eq!(history.keys().collect::<Vec<_>>(), vec!["name"]);
    }

    #[test]
    fn field_removed_remotely_is_removed_from_hub() {
        let base = fields(&[("name", json!("Anna")), ("phone", json!("+43123"))]);
        let inc = incoming(fields(&[("name", json!("Anna"))]));
        let Some(Change::Update {
            values, history, ..
        }) = plan_update(&linked(base.clone(), base), &inc)
        else {
            panic!("expected update")
        };
        assert!(!values.contains_key("phone"));
        assert_eq!(history["phone"].new, Value::Null);
    }

    #[test]
    fn identical_values_and_base_plan_nothing() {
        let base = fields(&[("name", json!("Anna"))]);
        let inc = incoming(base.clone());
        assert_eq!(plan_update(&linked(base.clone(), base), &inc), None);
    }

    #[test]
    fn base_moves_without_history_when_hub_already_agrees() {
        let base = fields(&[("name", json!("Anna"))]);
        let hub = fields(&[("name", json!("Anna Maria"))]);
        let inc = incoming(fields(&[("name", json!("Anna Maria"))]));
        let Some(Change::Update { history, link, .. }) = plan_update(&linked(hub, base), &inc)
        else {
            panic!("expected a base update")
        };
        assert!(history.is_empty());
        assert_eq!(link.base["name"], json!("Anna Maria"));
    }

    mod props {
        use super::*;
        use proptest::prelude::*;

        fn small_fields() -> impl Strategy<Value = Fields> {
            proptest::collection::btree_map("[a-d]", (0u8..3).prop_map(|n| json!(n)), 0..4)
        }

        proptest! {
            /// After a pull, every field the remote changed since base holds
            /// the remote value, every other field keeps the hub value, and
            /// the new base is exactly what the remote sent.
            #[test]
            fn remote_changes_win_and_hub_changes_survive(
                base in small_fields(), hub in small_fields(), remote in small_fields()
            ) {
                let current = linked(hub.clone(), base.clone());
                let inc = incoming(remote.clone());
                let changed = remote_changed_fields(&base, &remote);
                match plan_update(&current, &inc) {
                    None => {
                        prop_assert_eq!(&base, &remote);
                    }
                    Some(Change::Update { values, link, history, .. }) => {
                        prop_assert_eq!(&link.base, &remote);
                        for key in hub.keys().chain(remote.keys()) {
                            let expected = if changed.contains(key) { remote.get(key) } else { hub.get(key) };
                            prop_assert_eq!(values.get(key), expected, "field {}", key);
                        }
                        for (k, c) in &history {
                            prop_assert!(changed.contains(k));
                            prop_assert_ne!(&c.old, &c.new);
                        }
                    }
                    Some(other) => prop_assert!(false, "unexpected {:?}", other),
                }
            }

            /// Applying the same remote state twice changes nothing the second time.
            #[test]
            fn second_pull_is_a_no_op(base in small_fields(), hub in small_fields(), remote in small_fields()) {
                let inc = incoming(remote.clone());
                let after = match plan_update(&linked(hub.clone(), base.clone()), &inc) {
                    Some(Change::Update { values, link, .. }) => linked(values, link.base),
                    _ => linked(hub, base),
                };
                prop_assert_eq!(plan_update(&after, &inc), None);
            }
        }
    }
}
