use super::*;
use proptest::prelude::*;
use serde_json::json;

fn f(v: serde_json::Value) -> Fields {
    v.as_object().unwrap().clone().into_iter().collect()
}

fn both(list: bool) -> FieldRole {
    FieldRole {
        pulls: true,
        pushes: true,
        list,
    }
}

fn roles() -> BTreeMap<String, FieldRole> {
    BTreeMap::from([
        ("name".to_string(), both(false)),
        ("city".to_string(), both(false)),
        ("phones".to_string(), both(true)),
        (
            "notes".to_string(),
            FieldRole {
                pulls: true,
                pushes: false,
                list: false,
            },
        ),
        (
            "status".to_string(),
            FieldRole {
                pulls: false,
                pushes: true,
                list: false,
            },
        ),
        ("changed".to_string(), both(false)),
    ])
}

struct Case {
    hub: Fields,
    base: Fields,
    remote: Fields,
    others: Vec<(&'static str, Fields)>,
    held: BTreeSet<String>,
    policies: Policies,
}

impl Case {
    fn new(hub: serde_json::Value, base: serde_json::Value, remote: serde_json::Value) -> Self {
        Case {
            hub: f(hub),
            base: f(base),
            remote: f(remote),
            others: Vec::new(),
            held: BTreeSet::new(),
            policies: Policies::default(),
        }
    }
    fn policy(mut self, p: Policy) -> Self {
        self.policies.default = p;
        self
    }
    fn other(mut self, connector: &'static str, base: serde_json::Value) -> Self {
        self.others.push((connector, f(base)));
        self
    }
    fn run(&self) -> Inbound {
        let roles = roles();
        // the connector holds every pushable field as the hub does
        let projected: Fields = self
            .hub
            .iter()
            .filter(|(k, _)| roles.get(*k).is_some_and(|r| r.pushes))
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        let others: Vec<(&str, &Fields)> = self.others.iter().map(|(c, b)| (*c, b)).collect();
        merge_inbound(&InboundCase {
            connector: "advo",
            hub: &self.hub,
            projected_hub: &projected,
            base: &self.base,
            remote: &self.remote,
            others: &others,
            held: &self.held,
            roles: &roles,
            policies: &self.policies,
        })
    }
}

#[test]
fn a_field_changed_only_remotely_is_taken() {
    let out = Case::new(
        json!({"name": "Anna", "city": "Graz"}),
        json!({"name": "Anna", "city": "Graz"}),
        json!({"name": "Anna", "city": "Wien"}),
    )
    .run();
    assert_eq!(out.hub, f(json!({"name": "Anna", "city": "Wien"})));
    assert_eq!(out.base, out.hub);
    assert!(out.conflicts.is_empty());
}

#[test]
fn a_field_changed_only_in_the_hub_stays_and_the_base_does_not_move() {
    let out = Case::new(
        json!({"name": "Anna", "city": "Linz"}),
        json!({"name": "Anna", "city": "Graz"}),
        json!({"name": "Anna", "city": "Graz"}),
    )
    .run();
    assert_eq!(out.hub, f(json!({"name": "Anna", "city": "Linz"})));
    assert_eq!(
        out.base,
        f(json!({"name": "Anna", "city": "Graz"})),
        "the push will see Linz ≠ Graz"
    );
}

#[test]
fn changes_on_different_fields_both_survive() {
    let out = Case::new(
        json!({"name": "Anna B", "city": "Graz"}),
        json!({"name": "Anna", "city": "Graz"}),
        json!({"name": "Anna", "city": "Wien"}),
    )
    .run();
    assert_eq!(out.hub, f(json!({"name": "Anna B", "city": "Wien"})));
    assert!(out.conflicts.is_empty());
}

#[test]
fn the_same_change_on_both_sides_is_no_conflict() {
    let out = Case::new(
        json!({"city": "Wien"}),
        json!({"city": "Graz"}),
        json!({"city": "Wien"}),
    )
    .run();
    assert_eq!(
        (out.hub.clone(), out.base),
        (f(json!({"city": "Wien"})), f(json!({"city": "Wien"})))
    );
    assert!(out.conflicts.is_empty());
}

#[test]
fn a_cleared_remote_field_is_cleared_in_the_hub() {
    let out = Case::new(
        json!({"name": "Anna", "city": "Graz"}),
        json!({"name": "Anna", "city": "Graz"}),
        json!({"name": "Anna"}),
    )
    .run();
    assert_eq!(out.hub, f(json!({"name": "Anna"})));
}

#[test]
fn conflict_under_authority_of_the_remote_takes_the_remote() {
    let out = Case::new(
        json!({"city": "Linz"}),
        json!({"city": "Graz"}),
        json!({"city": "Wien"}),
    )
    .policy(Policy::Authority(vec!["advo".into()]))
    .run();
    assert_eq!(out.hub, f(json!({"city": "Wien"})));
    assert_eq!(out.conflicts[0].resolution, Resolution::TakeRemote);
    assert_eq!(out.conflicts[0].policy, "authority:advo");
}

#[test]
fn conflict_under_authority_of_the_other_side_keeps_the_hub_and_moves_the_base() {
    let out = Case::new(
        json!({"city": "Linz"}),
        json!({"city": "Graz"}),
        json!({"city": "Wien"}),
    )
    .policy(Policy::Authority(vec!["espo".into()]))
    .other("espo", json!({"city": "Linz"}))
    .run();
    assert_eq!(out.hub, f(json!({"city": "Linz"})));
    assert_eq!(
        out.base,
        f(json!({"city": "Wien"})),
        "so the push reverts the remote to Linz"
    );
    assert_eq!(out.conflicts[0].resolution, Resolution::KeepHub);
}

#[test]
fn conflict_under_newest_takes_the_later_side() {
    let hub = json!({"city": "Linz", "changed": "2025-03-01T10:00:00Z"});
    let base = json!({"city": "Graz", "changed": "2025-01-01T10:00:00Z"});
    let newer = json!({"city": "Wien", "changed": "2025-03-02T10:00:00Z"});
    let older = json!({"city": "Wien", "changed": "2025-02-01T10:00:00Z"});
    let p = Policy::Newest("changed".into());
    let out = Case::new(hub.clone(), base.clone(), newer)
        .policy(p.clone())
        .run();
    assert_eq!(
        out.hub,
        f(json!({"city": "Wien", "changed": "2025-03-02T10:00:00Z"}))
    );
    let out = Case::new(hub.clone(), base, older).policy(p).run();
    assert_eq!(out.hub, f(hub));
}

#[test]
fn conflict_under_review_is_held_and_nothing_moves() {
    let out = Case::new(
        json!({"city": "Linz"}),
        json!({"city": "Graz"}),
        json!({"city": "Wien"}),
    )
    .run();
    assert_eq!(out.hub, f(json!({"city": "Linz"})));
    assert_eq!(out.base, f(json!({"city": "Graz"})));
    let c = &out.conflicts[0];
    assert_eq!((c.field.as_str(), c.resolution), ("city", Resolution::Held));
    assert_eq!(
        (c.hub_value.clone(), c.remote_value.clone()),
        (json!("Linz"), json!("Wien"))
    );
}

#[test]
fn a_field_under_review_stays_held_even_when_the_hub_did_not_change() {
    let mut case = Case::new(
        json!({"city": "Graz"}),
        json!({"city": "Graz"}),
        json!({"city": "Wien"}),
    );
    case.held.insert("city".into());
    let out = case.run();
    assert_eq!(out.hub, f(json!({"city": "Graz"})));
    assert_eq!(out.conflicts[0].resolution, Resolution::Held);
}

#[test]
fn a_push_only_field_is_never_taken_and_its_base_moves_for_the_revert() {
    let out = Case::new(
        json!({"status": "active"}),
        json!({"status": "active"}),
        json!({"status": "gone"}),
    )
    .run();
    assert_eq!(out.hub, f(json!({"status": "active"})));
    assert_eq!(out.base, f(json!({"status": "gone"})));
}

#[test]
fn a_pull_only_field_is_taken_even_if_the_hub_differs() {
    // the hub's value of a pull-only field is never the connector's concern
    let out = Case::new(
        json!({"notes": "from elsewhere"}),
        json!({"notes": "old"}),
        json!({"notes": "new"}),
    )
    .run();
    assert_eq!(out.hub, f(json!({"notes": "new"})));
    assert!(out.conflicts.is_empty());
}

#[test]
fn phones_merge_element_wise_without_conflict() {
    let out = Case::new(
        json!({"phones": ["+491", "+492", "+499"]}),
        json!({"phones": ["+491", "+492"]}),
        json!({"phones": ["+491", "+493"]}),
    )
    .run();
    assert_eq!(out.hub, f(json!({"phones": ["+491", "+499", "+493"]})));
    assert_eq!(out.base, f(json!({"phones": ["+491", "+493"]})));
    assert!(out.conflicts.is_empty());
}

#[test]
fn diff_lists_changed_fields_with_nulls_for_absent() {
    let d = diff(&f(json!({"a": 1, "b": 2})), &f(json!({"b": 3, "c": 4})));
    assert_eq!(
        d,
        vec![
            ("a".into(), json!(1), Value::Null),
            ("b".into(), json!(2), json!(3)),
            ("c".into(), Value::Null, json!(4)),
        ]
    );
}

fn value() -> impl Strategy<Value = Option<&'static str>> {
    prop::option::of(prop::sample::select(vec!["x", "y", "z"]))
}

fn rec(name: Option<&str>, city: Option<&str>) -> Fields {
    let mut out = Fields::new();
    if let Some(n) = name {
        out.insert("name".into(), json!(n));
    }
    if let Some(c) = city {
        out.insert("city".into(), json!(c));
    }
    out
}

proptest! {
    /// A change on only one side is never lost, and merging the same remote
    /// again changes nothing.
    #[test]
    fn single_side_changes_survive_and_a_second_merge_is_a_no_op(
        b in (value(), value()), h in (value(), value()), r in (value(), value()),
        authority in any::<bool>(),
    ) {
        let mut case = Case {
            hub: rec(h.0, h.1),
            base: rec(b.0, b.1),
            remote: rec(r.0, r.1),
            others: Vec::new(),
            held: BTreeSet::new(),
            policies: Policies::default(),
        };
        if authority {
            case.policies.default = Policy::Authority(vec!["advo".into()]);
        }
        let out = case.run();
        for field in ["name", "city"] {
            let (bv, hv, rv) = (case.base.get(field), case.hub.get(field), case.remote.get(field));
            if rv != bv && hv == bv {
                prop_assert_eq!(out.hub.get(field), rv, "remote-only change of {} lost", field);
            }
            if hv != bv && rv == bv {
                prop_assert_eq!(out.hub.get(field), hv, "hub-only change of {} lost", field);
            }
            if authority && rv != bv {
                prop_assert_eq!(out.hub.get(field), rv, "the authority's change of {} lost", field);
            }
        }
        let again = Case { hub: out.hub.clone(), base: out.base.clone(), ..case }.run();
        prop_assert_eq!(again.hub, out.hub);
        prop_assert_eq!(again.base, out.base);
    }
}
