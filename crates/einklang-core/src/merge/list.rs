//! Element-wise 3-way merge of list fields (emails, phones, addresses).
//!
//! Elements are keyed by their normalised value ([`element_key`]): an
//! e-mail or phone is its own key (the schema has already lower-cased or
//! E.164-formatted it); an address is keyed by street, postcode, city and
//! country, compared without case and extra white space, so its `type` or
//! `region` may change without it becoming another address. The first
//! element is the primary one.
//!
//! Given the link's base, the remote's list and the hub's list:
//! - an element the remote added (not in base) is added to the hub, once
//!   (an element both sides hold is never duplicated: a first sync with an
//!   empty base matches equal values — the seed's BUG-3);
//! - an element the remote removed (in base, not in remote) is removed from
//!   the hub, unless the hub changed that element since the base (an edit
//!   beats a delete);
//! - an element the remote changed (same key, other attributes) replaces
//!   the hub's when the hub did not change it; both changed differently is
//!   an element conflict, decided by the field's policy;
//! - a new primary on the remote moves that element to the front, unless
//!   the hub also chose another primary (a primary conflict, same policy).
//!
//! When only one side changed, its list is taken as it is, order included.
//! Elements the hub holds and the remote never saw (outside a connector's
//! view, e.g. a third phone number a two-column CSV cannot hold) stay.

use crate::policy::Resolution;
use crate::record::Value;

/// The identity of a list element: its normalised value (a flag's: its
/// raw value, so a flag whose reason reads differently is the same element).
pub fn element_key(v: &Value) -> String {
    if let Some(f) = crate::transform::flag::flagged(v) {
        return format!("invalid:{}", f.raw);
    }
    match v {
        Value::String(s) => s.clone(),
        Value::Object(o) => ["street", "postcode", "city", "country"]
            .iter()
            .map(|k| {
                o.get(*k)
                    .and_then(Value::as_str)
                    .unwrap_or("")
                    .split_whitespace()
                    .collect::<Vec<_>>()
                    .join(" ")
                    .to_lowercase()
            })
            .collect::<Vec<_>>()
            .join("|"),
        other => other.to_string(),
    }
}

/// The result of merging one list field.
#[derive(Clone, Debug, PartialEq)]
pub struct ListMerge {
    /// The hub's new list.
    pub merged: Vec<Value>,
    /// Element or primary conflicts met (resolved by the `decide` callback).
    pub conflicts: usize,
    /// A conflict was held for review: the remote must not be overwritten.
    pub held: bool,
}

fn find<'a>(list: &'a [Value], key: &str) -> Option<&'a Value> {
    list.iter().find(|v| element_key(v) == key)
}

fn position(list: &[Value], key: &str) -> Option<usize> {
    list.iter().position(|v| element_key(v) == key)
}

/// Merge `remote`'s changes since `base` into `hub`. `decide` resolves an
/// element or primary conflict (it is the field's policy, called once per
/// conflict).
pub fn merge_list(
    base: &[Value],
    remote: &[Value],
    hub: &[Value],
    decide: &mut dyn FnMut() -> Resolution,
) -> ListMerge {
    let unchanged = |merged: &[Value]| ListMerge {
        merged: merged.to_vec(),
        conflicts: 0,
        held: false,
    };
    if remote == base {
        return unchanged(hub);
    }
    if hub == base {
        return unchanged(remote); // the remote's order included
    }
    let mut merged: Vec<Value> = hub.to_vec();
    let (mut conflicts, mut held) = (0, false);
    // removals and attribute changes of elements the base knew
    for b in base {
        let key = element_key(b);
        let in_hub = position(&merged, &key);
        match (find(remote, &key), in_hub) {
            (None, Some(i)) if merged[i] == *b => {
                merged.remove(i);
            }
            (Some(r), Some(i)) if r != b && merged[i] != *r => {
                if merged[i] == *b {
                    merged[i] = r.clone();
                } else {
                    conflicts += 1;
                    match decide() {
                        Resolution::TakeRemote => merged[i] = r.clone(),
                        Resolution::KeepHub => {}
                        Resolution::Held => held = true,
                    }
                }
            }
            _ => {}
        }
    }
    // additions: elements of the remote the base did not know
    for r in remote {
        let key = element_key(r);
        if find(base, &key).is_some() {
            continue;
        }
        match position(&merged, &key) {
            None => merged.push(r.clone()),
            Some(i) if merged[i] != *r => {
                conflicts += 1;
                match decide() {
                    Resolution::TakeRemote => merged[i] = r.clone(),
                    Resolution::KeepHub => {}
                    Resolution::Held => held = true,
                }
            }
            Some(_) => {}
        }
    }
    let primary = |l: &[Value]| l.first().map(element_key);
    let (pb, pr, ph) = (primary(base), primary(remote), primary(hub));
    if pr.is_some() && pr != pb && pr != primary(&merged) {
        let hub_kept_primary = ph == pb || ph.is_none();
        let take = hub_kept_primary || {
            conflicts += 1;
            match decide() {
                Resolution::TakeRemote => true,
                Resolution::KeepHub => false,
                Resolution::Held => {
                    held = true;
                    false
                }
            }
        };
        if let (true, Some(i)) = (take, pr.as_deref().and_then(|k| position(&merged, k))) {
            let element = merged.remove(i);
            merged.insert(0, element);
        }
    }
    ListMerge {
        merged,
        conflicts,
        held,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use serde_json::json;

    fn l(v: serde_json::Value) -> Vec<Value> {
        v.as_array().unwrap().clone()
    }

    fn merge(
        base: serde_json::Value,
        remote: serde_json::Value,
        hub: serde_json::Value,
    ) -> Vec<Value> {
        merge_list(&l(base), &l(remote), &l(hub), &mut || {
            Resolution::TakeRemote
        })
        .merged
    }

    #[test]
    fn a_flag_is_an_element_by_its_raw_text() {
        use crate::transform::flag::flag;
        let (a, b) = (
            flag(json!("0170 12"), "old reason"),
            flag(json!("0170 12"), "new reason"),
        );
        assert_eq!(element_key(&a), element_key(&b));
        assert_ne!(
            element_key(&a),
            element_key(&flag(json!("0170 13"), "old reason"))
        );
        assert_ne!(element_key(&a), element_key(&json!({"street": ""})));
        // two flags in one list stay two elements; one fixed at the remote replaces it
        let base = json!(["+491", a.clone(), flag(json!("x9"), "r")]);
        let remote = json!(["+491", "+49170", flag(json!("x9"), "r")]);
        assert_eq!(merge(base.clone(), remote.clone(), base.clone()), l(remote));
    }

    // The seed's six variants, seen from the hub: EspoCRM's side is the hub,
    // Advoware's is the remote (and the reverse for the push direction,
    // which is the same merge with the roles swapped).

    #[test]
    fn var1_new_on_the_hub_side_stays_and_reaches_the_remote_later() {
        assert_eq!(
            merge(json!(["+491"]), json!(["+491"]), json!(["+491", "+492"])),
            l(json!(["+491", "+492"]))
        );
    }

    #[test]
    fn var2_removed_on_the_hub_side_stays_removed() {
        assert_eq!(
            merge(
                json!(["+491", "+492"]),
                json!(["+491", "+492"]),
                json!(["+491"])
            ),
            l(json!(["+491"]))
        );
    }

    #[test]
    fn var3_removed_on_the_remote_is_removed_from_the_hub() {
        assert_eq!(
            merge(
                json!(["+491", "+492"]),
                json!(["+491"]),
                json!(["+491", "+492"])
            ),
            l(json!(["+491"]))
        );
    }

    #[test]
    fn var4_new_on_the_remote_is_added_to_the_hub() {
        assert_eq!(
            merge(json!(["+491"]), json!(["+491", "+493"]), json!(["+491"])),
            l(json!(["+491", "+493"]))
        );
    }

    #[test]
    fn var5_changed_on_the_hub_side_stays() {
        assert_eq!(
            merge(json!(["+491"]), json!(["+491"]), json!(["+499"])),
            l(json!(["+499"]))
        );
    }

    #[test]
    fn var6_changed_on_the_remote_replaces_the_element() {
        assert_eq!(
            merge(
                json!(["+491", "+492"]),
                json!(["+491", "+497"]),
                json!(["+491", "+492"])
            ),
            l(json!(["+491", "+497"]))
        );
    }

    #[test]
    fn bug3_first_sync_matches_equal_values_instead_of_duplicating() {
        let m = merge_list(
            &[],
            &l(json!(["a@x.de", "b@x.de"])),
            &l(json!(["b@x.de", "c@x.de"])),
            &mut || Resolution::KeepHub,
        );
        assert_eq!(m.merged, l(json!(["b@x.de", "c@x.de", "a@x.de"])));
        assert_eq!(
            m.conflicts, 1,
            "both sides chose a primary: one primary conflict"
        );
    }

    #[test]
    fn a_new_remote_primary_moves_to_the_front() {
        assert_eq!(
            merge(
                json!(["+491", "+492"]),
                json!(["+492", "+491"]),
                json!(["+491", "+492", "+493"])
            ),
            l(json!(["+492", "+491", "+493"]))
        );
    }

    #[test]
    fn primary_chosen_differently_on_both_sides_follows_the_policy() {
        let (base, remote, hub) = (
            l(json!(["a", "b", "c"])),
            l(json!(["b", "a", "c"])),
            l(json!(["c", "a", "b"])),
        );
        let keep = merge_list(&base, &remote, &hub, &mut || Resolution::KeepHub);
        assert_eq!(keep.merged, hub);
        let take = merge_list(&base, &remote, &hub, &mut || Resolution::TakeRemote);
        assert_eq!(take.merged, l(json!(["b", "c", "a"])));
        let held = merge_list(&base, &remote, &hub, &mut || Resolution::Held);
        assert!(held.held);
        assert_eq!(held.merged, hub);
    }

    #[test]
    fn an_address_changes_attributes_without_becoming_another_address() {
        let old =
            json!({"street": "Hauptstr. 1", "postcode": "10115", "city": "Berlin", "type": "home"});
        let new = json!({"street": "Hauptstr.  1", "postcode": "10115", "city": "berlin", "type": "work"});
        assert_eq!(element_key(&old), element_key(&new));
        assert_eq!(
            merge(json!([old.clone()]), json!([new.clone()]), json!([old])),
            vec![new]
        );
    }

    #[test]
    fn an_edit_beats_a_removal() {
        let old = json!({"street": "A 1", "city": "X", "type": "home"});
        let edited = json!({"street": "A 1", "city": "X", "type": "work"});
        assert_eq!(
            merge(json!([old]), json!([]), json!([edited.clone()])),
            vec![edited]
        );
    }

    #[test]
    fn element_changed_differently_on_both_sides_is_a_conflict() {
        let base = json!({"street": "A 1", "city": "X", "type": "home"});
        let hub = json!({"street": "A 1", "city": "X", "type": "work"});
        let remote = json!({"street": "A 1", "city": "X", "type": "other"});
        let m = merge_list(
            &[base],
            std::slice::from_ref(&remote),
            std::slice::from_ref(&hub),
            &mut || Resolution::KeepHub,
        );
        assert_eq!((m.merged, m.conflicts), (vec![hub], 1));
    }

    fn list() -> impl Strategy<Value = Vec<Value>> {
        prop::sample::subsequence(vec!["a", "b", "c", "d", "e"], 0..=5)
            .prop_shuffle()
            .prop_map(|v| v.into_iter().map(|s| json!(s)).collect())
    }

    proptest! {
        #[test]
        fn merged_lists_have_no_duplicates_and_keep_what_nobody_removed(
            base in list(), remote in list(), hub in list()
        ) {
            let m = merge_list(&base, &remote, &hub, &mut || Resolution::TakeRemote).merged;
            let mut keys: Vec<_> = m.iter().map(element_key).collect();
            let n = keys.len();
            keys.sort();
            keys.dedup();
            prop_assert_eq!(keys.len(), n, "duplicates in {:?}", m);
            for v in remote.iter().chain(&hub) {
                let removed_by_remote = base.contains(v) && !remote.contains(v);
                let removed_by_hub = base.contains(v) && !hub.contains(v);
                prop_assert_eq!(m.contains(v), !removed_by_remote && !removed_by_hub, "{:?}", v);
            }
        }

        #[test]
        fn an_unchanged_remote_leaves_the_hub_as_it_is(base in list(), hub in list()) {
            prop_assert_eq!(merge_list(&base, &base, &hub, &mut || Resolution::TakeRemote).merged, hub);
        }

        #[test]
        fn an_unchanged_hub_takes_the_remote(base in list(), remote in list()) {
            prop_assert_eq!(merge_list(&base, &remote, &base, &mut || Resolution::KeepHub).merged, remote);
        }
    }
}
