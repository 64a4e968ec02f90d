//! A full refresh, decided (pure): whether a staged snapshot may be
//! applied at all ([`precheck`]), and what applying it does to one hub
//! record ([`apply`]). The engine stages, the store swaps; the rules live
//! here so they are tested apart from both.
//!
//! **The snapshot is the truth for what its source changed.** A record
//! keeps, as its link's base, the values the source had at the last
//! refresh. A field the snapshot carries as the base had it was not
//! changed at the source, so the hub's value stays — another source may
//! have set it since. A field whose snapshot value differs from the base
//! (or that the snapshot no longer carries) was changed at the source,
//! and the hub takes it (or loses it). A record whose snapshot equals its
//! base is untouched: no write, no history.
//!
//! **A snapshot that shrank is a question, not an answer** (seed 003: an
//! API that answers half a list must not empty the hub). Nothing staged
//! aborts the run; more than `max_drop` fewer records than the last
//! applied refresh holds it for review.

use crate::record::Fields;
use serde_json::Value;
use std::collections::BTreeSet;

pub mod checks;
pub use checks::CountCheck;

/// What a staged snapshot may become.
#[derive(Clone, Debug, PartialEq)]
pub enum Verdict {
    /// Apply it.
    Apply,
    /// Apply nothing, the run fails: why.
    Abort(String),
    /// Apply nothing until a person approves: why.
    Hold(String),
}

/// The pre-check of a snapshot of `staged` records of `entity` against
/// the `last` applied refresh (its run and record count), with `max_drop`
/// the share of records it may lose (0.3: 30 %).
pub fn precheck(entity: &str, staged: u64, last: Option<(i64, u64)>, max_drop: f64) -> Verdict {
    if staged == 0 {
        return Verdict::Abort(format!(
            "the snapshot has no {entity} record: nothing applied (a source answering nothing is taken for a fault, not for every record deleted)"
        ));
    }
    match last {
        Some((run, before)) if before > 0 => {
            let lost = before.saturating_sub(staged) as f64 / before as f64;
            match lost > max_drop {
                true => Verdict::Hold(format!(
                    "{staged} {entity} records against {before} in the last applied refresh (run {run}): {:.0} % fewer, more than max_drop {:.0} % — nothing applied; `einklang approve` applies it",
                    lost * 100.0,
                    max_drop * 100.0
                )),
                false => Verdict::Apply,
            }
        }
        _ => Verdict::Apply,
    }
}

/// One field changed in the hub: its value before and after (`None`:
/// absent).
pub type Change = (String, Option<Value>, Option<Value>);

/// The hub record `hub` after a snapshot `snapshot` of a source whose
/// last refresh left `base`: its new values and the fields that changed
/// (in field order). `None`: the snapshot equals the base — nothing to
/// write, not even the base.
pub fn apply(hub: &Fields, base: &Fields, snapshot: &Fields) -> Option<(Fields, Vec<Change>)> {
    if snapshot == base {
        return None;
    }
    let fields: BTreeSet<&String> = base.keys().chain(snapshot.keys()).collect();
    let mut out = hub.clone();
    let mut changes = Vec::new();
    for f in fields {
        let (was, now) = (base.get(f), snapshot.get(f));
        if was == now {
            continue; // unchanged at the source: the hub's value stays
        }
        let old = hub.get(f).cloned();
        match now {
            Some(v) => drop(out.insert(f.clone(), v.clone())),
            None => drop(out.remove(f)),
        }
        if old.as_ref() != now {
            changes.push((f.clone(), old, now.cloned()));
        }
    }
    Some((out, changes))
}

/// The fields whose values differ between two snapshots of a record
/// (`None`: absent), in field order — what `einklang changes` lists.
pub fn compare(old: &Fields, new: &Fields) -> Vec<Change> {
    let fields: BTreeSet<&String> = old.keys().chain(new.keys()).collect();
    fields
        .into_iter()
        .filter(|f| old.get(*f) != new.get(*f))
        .map(|f| (f.clone(), old.get(f).cloned(), new.get(f).cloned()))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use serde_json::json;

    fn fields(v: Value) -> Fields {
        v.as_object().unwrap().clone().into_iter().collect()
    }

    #[test]
    fn an_empty_or_shrunken_snapshot_is_not_applied() {
        assert!(
            matches!(precheck("booking", 0, None, 0.3), Verdict::Abort(m) if m.contains("no booking record"))
        );
        assert!(matches!(
            precheck("booking", 0, Some((4, 3000)), 0.3),
            Verdict::Abort(_)
        ));
        assert_eq!(
            precheck("booking", 2100, Some((4, 3000)), 0.3),
            Verdict::Apply,
            "30 % is allowed"
        );
        match precheck("booking", 1800, Some((4, 3000)), 0.3) {
            Verdict::Hold(m) => assert!(
                m.contains("1800 booking records against 3000")
                    && m.contains("run 4")
                    && m.contains("40 % fewer"),
                "{m}"
            ),
            v => panic!("{v:?}"),
        }
        assert_eq!(
            precheck("booking", 5, None, 0.3),
            Verdict::Apply,
            "a first refresh"
        );
        assert_eq!(
            precheck("booking", 9000, Some((4, 3000)), 0.3),
            Verdict::Apply,
            "growth"
        );
    }

    #[test]
    fn the_source_wins_what_it_changed_and_leaves_the_rest() {
        let base = fields(json!({"status": "confirmed", "start": "2025-06-01", "price": 90}));
        // the hub has a note from another source and a price set by hand
        let hub = fields(
            json!({"status": "confirmed", "start": "2025-06-01", "price": 95, "note": "VIP"}),
        );
        // the source moved the start and dropped the price
        let snapshot = fields(json!({"status": "confirmed", "start": "2025-06-03"}));
        let (out, changes) = apply(&hub, &base, &snapshot).unwrap();
        assert_eq!(
            out,
            fields(json!({"status": "confirmed", "start": "2025-06-03", "note": "VIP"}))
        );
        assert_eq!(
            changes,
            vec![
                ("price".into(), Some(json!(95)), None),
                (
                    "start".into(),
                    Some(json!("2025-06-01")),
                    Some(json!("2025-06-03"))
                ),
            ]
        );
        assert_eq!(
            apply(&hub, &base, &base),
            None,
            "an unchanged record is untouched"
        );
        // a record the hub already holds as the source now has it: the base moves, nothing changes
        let caught_up = fields(json!({"status": "confirmed", "start": "2025-06-01", "price": 95}));
        let (out, changes) = apply(&caught_up, &base, &caught_up).unwrap();
        assert_eq!((out, changes.len()), (caught_up, 0));
    }

    #[test]
    fn two_snapshots_of_a_record_compare_field_by_field() {
        let old = fields(json!({"salary": "2845.50", "hours": 32, "function": "Groepshulp"}));
        let new = fields(json!({"salary": "2990.00", "hours": 32, "end": "2026-06-30"}));
        assert_eq!(
            compare(&old, &new),
            vec![
                ("end".into(), None, Some(json!("2026-06-30"))),
                ("function".into(), Some(json!("Groepshulp")), None),
                (
                    "salary".into(),
                    Some(json!("2845.50")),
                    Some(json!("2990.00"))
                ),
            ]
        );
        assert!(compare(&old, &old).is_empty());
    }

    fn small() -> impl Strategy<Value = Fields> {
        proptest::collection::btree_map("[a-d]", (0i64..3).prop_map(Value::from), 0..4)
    }

    proptest! {
        /// Applying a snapshot leaves the hub holding every value the
        /// source changed, keeps every field the source did not change,
        /// reports exactly the fields that differ, and applying it again
        /// (its base now the snapshot) does nothing.
        #[test]
        fn applying_is_faithful_and_idempotent(hub in small(), base in small(), snapshot in small()) {
            match apply(&hub, &base, &snapshot) {
                None => prop_assert_eq!(&snapshot, &base),
                Some((out, changes)) => {
                    for f in base.keys().chain(snapshot.keys()) {
                        if base.get(f) != snapshot.get(f) {
                            prop_assert_eq!(out.get(f), snapshot.get(f));
                        } else {
                            prop_assert_eq!(out.get(f), hub.get(f));
                        }
                    }
                    for (f, v) in &hub {
                        if !base.contains_key(f) && !snapshot.contains_key(f) {
                            prop_assert_eq!(out.get(f), Some(v));
                        }
                    }
                    let differing: Vec<&String> = out.keys().chain(hub.keys()).collect::<BTreeSet<_>>()
                        .into_iter().filter(|f| out.get(*f) != hub.get(*f)).collect();
                    let reported: Vec<&String> = changes.iter().map(|c| &c.0).collect();
                    prop_assert_eq!(reported, differing);
                    prop_assert_eq!(apply(&out, &snapshot, &snapshot), None);
                }
            }
        }
    }
}
