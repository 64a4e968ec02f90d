use super::*;
use crate::schema::FieldSpec;
use proptest::prelude::*;
use serde_json::json;

fn schema(name: &str, refs: &[(&str, &str, bool)]) -> EntitySchema {
    let mut fields = vec![FieldSpec {
        name: "name".into(),
        ty: FieldType::Text,
        required: false,
        create: false,
    }];
    for (field, target, create) in refs {
        fields.push(FieldSpec {
            name: (*field).into(),
            ty: FieldType::Ref((*target).into()),
            required: false,
            create: *create,
        });
    }
    EntitySchema {
        name: name.into(),
        fields,
    }
}

fn fields(v: serde_json::Value) -> Fields {
    serde_json::from_value(v).unwrap()
}

#[test]
fn targets_come_before_the_records_that_refer_to_them() {
    let booking = schema(
        "booking",
        &[("client", "contact", false), ("vehicle", "vehicle", true)],
    );
    let contact = schema("contact", &[]);
    let vehicle = schema("vehicle", &[]);
    let lead = schema("lead", &[("client", "contact", false)]);
    let order = order(&[&booking, &lead, &contact, &vehicle]);
    assert_eq!(order, vec![2, 1, 3, 0]);
    // a target outside the step, and a ref to itself, do not hold anything back
    let parent = schema(
        "contact",
        &[("parent", "contact", false), ("firm", "company", false)],
    );
    assert_eq!(super::order(&[&parent]), vec![0]);
}

#[test]
fn a_cycle_keeps_the_given_order() {
    let a = schema("a", &[("b", "b", false)]);
    let b = schema("b", &[("a", "a", false)]);
    let c = schema("c", &[("a", "a", false)]);
    // the cycle is broken at a (first given of it); c, outside it, waits for a only
    assert_eq!(order(&[&c, &a, &b]), vec![1, 0, 2]);
}

#[test]
fn resolve_puts_hub_ids_in_place_and_flags_unknown_ids() {
    let booking = schema(
        "booking",
        &[("client", "contact", false), ("vehicle", "vehicle", true)],
    );
    let refs = ref_fields(&booking);
    assert_eq!(refs.len(), 2);
    assert!(refs[1].create && !refs[0].create);
    let values = fields(json!({"name": "Rent 1", "client": "17", "vehicle": 990}));
    let wanted: Vec<_> = wanted(&values, &refs)
        .into_iter()
        .map(|(r, id)| (r.target.clone(), id))
        .collect();
    assert_eq!(
        wanted,
        vec![
            ("contact".into(), "17".into()),
            ("vehicle".into(), "990".into())
        ]
    );
    let hub = resolve(&values, &refs, |t, id| {
        (t == "contact" && id == "17").then_some(4)
    });
    assert_eq!(hub["name"], json!("Rent 1"));
    assert_eq!(hub["client"], json!("4"));
    assert_eq!(
        hub["vehicle"],
        json!({"invalid": "990", "reason": "no vehicle record has this id"})
    );
    // a flagged value names nothing and stays as it is
    let again = resolve(&hub, &refs, |_, _| Some(1));
    assert_eq!(again["vehicle"], hub["vehicle"]);
    assert_eq!(again["client"], json!("1"));
}

#[test]
fn empty_refs_are_left_out() {
    let booking = schema("booking", &[("client", "contact", false)]);
    let refs = ref_fields(&booking);
    let values = fields(json!({"name": "x", "client": "  "}));
    assert!(wanted(&values, &refs).is_empty());
    assert_eq!(resolve(&values, &refs, |_, _| None), values);
}

proptest! {
    /// `order` is a permutation; without cycles every target comes first.
    #[test]
    fn order_is_a_permutation_with_targets_first(edges in proptest::collection::vec((0usize..6, 0usize..6), 0..12)) {
        let names: Vec<String> = (0..6).map(|i| format!("e{i}")).collect();
        // acyclic: only refs from a higher to a lower index
        let schemas: Vec<EntitySchema> = (0..6)
            .map(|i| {
                let refs: Vec<(String, String)> = edges
                    .iter()
                    .filter(|(from, to)| *from == i && to < from)
                    .map(|(_, to)| (format!("r{to}"), names[*to].clone()))
                    .collect();
                let refs: Vec<(&str, &str, bool)> =
                    refs.iter().map(|(f, t)| (f.as_str(), t.as_str(), false)).collect();
                schema(&names[i], &refs)
            })
            .collect();
        // given in reverse, so the order has work to do
        let given: Vec<&EntitySchema> = schemas.iter().rev().collect();
        let out = order(&given);
        let mut sorted = out.clone();
        sorted.sort_unstable();
        prop_assert_eq!(sorted, (0..6).collect::<Vec<_>>());
        let at = |name: &str| out.iter().position(|&i| given[i].name == name).unwrap();
        for (from, to) in &edges {
            if to < from {
                prop_assert!(at(&names[*to]) < at(&names[*from]));
            }
        }
    }

    /// With every id known, resolving changes only ref fields, to hub ids.
    #[test]
    fn resolve_touches_only_ref_fields(client in "[0-9]{1,6}", name in ".{0,12}") {
        let booking = schema("booking", &[("client", "contact", false)]);
        let refs = ref_fields(&booking);
        let values = fields(json!({"name": name, "client": client}));
        let hub = resolve(&values, &refs, |_, id| id.parse::<i64>().ok().map(|n| n + 1));
        prop_assert_eq!(&hub["name"], &values["name"]);
        let want = client.parse::<i64>().unwrap() + 1;
        prop_assert_eq!(&hub["client"], &json!(want.to_string()));
    }
}
