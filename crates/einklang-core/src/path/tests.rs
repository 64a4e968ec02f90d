use super::*;
use proptest::prelude::*;
use serde_json::json;

fn obj(v: Value) -> Map<String, Value> {
    v.as_object().unwrap().clone()
}

fn get(path: &str, v: Value) -> Option<Value> {
    Path::parse(path).unwrap().get(&obj(v)).map(Cow::into_owned)
}

fn set(path: &str, v: Value, value: Value) -> Value {
    let mut m = obj(v);
    Path::parse(path).unwrap().set(&mut m, value);
    Value::Object(m)
}

/// A Kommo lead, as the API answers it (API v4, leads with custom fields
/// and `?with=contacts`).
fn lead() -> Value {
    json!({
        "id": 18250155,
        "status_id": 79790631,
        "custom_fields_values": [
            {"field_id": 1218176, "field_name": "Start", "values": [{"value": 1735718400}]},
            {"field_id": 1218178, "field_name": "Ende", "values": [{"value": 1736323200}]},
            {"field_id": 1218200, "field_name": "Auto", "values": [{"value": "Octavia", "enum_id": 774}]}
        ],
        "_embedded": {"contacts": [{"id": 7, "is_main": false}, {"id": 9, "is_main": true}]}
    })
}

#[test]
fn pointers_and_readable_paths_read_the_same_values() {
    let l = lead();
    let start = Some(json!(1735718400));
    assert_eq!(
        get("/custom_fields_values/0/values/0/value", l.clone()),
        start
    );
    assert_eq!(
        get("custom_fields_values[0].values[0].value", l.clone()),
        start
    );
    assert_eq!(
        get(
            "custom_fields_values[field_id=1218176].values[0].value",
            l.clone()
        ),
        start
    );
    assert_eq!(
        get("_embedded.contacts[is_main=true].id", l.clone()),
        Some(json!(9))
    );
    assert_eq!(
        get("custom_fields_values[*].field_id", l.clone()),
        Some(json!([1218176, 1218178, 1218200]))
    );
    assert_eq!(
        get(
            "custom_fields_values[field_id=1218200].values[0].enum_id",
            l.clone()
        ),
        Some(json!(774))
    );
    // missing ways read as nothing
    assert_eq!(
        get(
            "custom_fields_values[field_id=1].values[0].value",
            l.clone()
        ),
        None
    );
    assert_eq!(get("status_id.x", l.clone()), None);
    assert_eq!(get("/custom_fields_values/9", l), None);
}

#[test]
fn selectors_match_numbers_written_as_text_and_several_keys() {
    let v = json!({"xs": [{"id": "12", "t": "a", "p": true}, {"id": 12, "t": "b", "p": false}]});
    assert_eq!(get("xs[id=12].t", v.clone()), Some(json!("a")));
    assert_eq!(get("xs[id=12,p=false].t", v.clone()), Some(json!("b")));
    assert_eq!(get("xs[t=\"b\"].id", v), Some(json!(12)));
}

#[test]
fn graph_and_monday_and_espo_shapes() {
    let graph = json!({"emailAddresses": [{"name": "A", "address": "a@x.org"}, {"name": "B", "address": "b@x.org"}]});
    assert_eq!(
        get("emailAddresses[*].address", graph),
        Some(json!(["a@x.org", "b@x.org"]))
    );
    let monday = json!({"column_values": [{"id": "email", "text": "a@x.org", "value": "{\"email\":\"a@x.org\"}"}]});
    assert_eq!(
        get("column_values[id=email].text", monday),
        Some(json!("a@x.org"))
    );
    let espo = json!({"emailAddressData": [{"emailAddress": "a@x.org", "primary": true}, {"emailAddress": "b@x.org", "primary": false}]});
    assert_eq!(
        get("emailAddressData[primary=true].emailAddress", espo),
        Some(json!("a@x.org"))
    );
}

#[test]
fn nested_wildcards_flatten() {
    let v = json!({"a": [{"b": [{"c": 1}, {"c": 2}]}, {"b": [{"c": 3}]}, {"x": 0}]});
    assert_eq!(get("a[*].b[*].c", v), Some(json!([1, 2, 3])));
}

#[test]
fn a_keyed_element_is_patched_in_place_keeping_the_others_and_unknown_keys() {
    let written = set(
        "custom_fields_values[field_id=1218176].values[0].value",
        lead(),
        json!(1767225600),
    );
    let cf = &written["custom_fields_values"];
    assert_eq!(cf[0]["values"][0]["value"], json!(1767225600));
    assert_eq!(cf[0]["field_name"], json!("Start"), "unknown keys stay");
    assert_eq!(
        cf[1],
        lead()["custom_fields_values"][1],
        "other elements stay"
    );
    assert_eq!(cf.as_array().unwrap().len(), 3);
}

#[test]
fn a_missing_keyed_element_is_created_with_its_key() {
    // the minimal body of a Kommo PATCH: only the changed custom field
    let body = set(
        "custom_fields_values[field_id=1218178].values[0].value",
        json!({}),
        json!(5),
    );
    assert_eq!(
        body,
        json!({"custom_fields_values": [{"field_id": 1218178, "values": [{"value": 5}]}]})
    );
    // clearing a custom field: `values: null`
    let body = set(
        "custom_fields_values[field_id=1218178].values",
        json!({}),
        Value::Null,
    );
    assert_eq!(
        body,
        json!({"custom_fields_values": [{"field_id": 1218178, "values": null}]})
    );
    // the same through the value's own path: the list of one cleared
    // element is cleared
    let body = set(
        "custom_fields_values[field_id=1218178].values[0].value",
        json!({}),
        Value::Null,
    );
    assert_eq!(
        body,
        json!({"custom_fields_values": [{"field_id": 1218178, "values": null}]})
    );
    // an element with other values keeps them
    let body = set(
        "list[0].value",
        json!({"list": [{"value": 1, "enum_id": 7}]}),
        Value::Null,
    );
    assert_eq!(body, json!({"list": [{"value": null, "enum_id": 7}]}));
    let added = set(
        "custom_fields_values[field_id=1].values[0].value",
        lead(),
        json!("x"),
    );
    assert_eq!(added["custom_fields_values"].as_array().unwrap().len(), 4);
}

#[test]
fn a_wildcard_write_distributes_a_list_over_the_elements() {
    let v = json!({"emailAddresses": [{"name": "A", "address": "a@x.org"}, {"name": "B", "address": "b@x.org"}]});
    let w = set("emailAddresses[*].address", v.clone(), json!(["a2@x.org"]));
    assert_eq!(
        w,
        json!({"emailAddresses": [{"name": "A", "address": "a2@x.org"}]})
    );
    let w = set(
        "emailAddresses[*].address",
        v,
        json!(["a@x.org", "b@x.org", "c@x.org"]),
    );
    assert_eq!(w["emailAddresses"][2], json!({"address": "c@x.org"}));
    assert_eq!(w["emailAddresses"][1]["name"], json!("B"));
}

#[test]
fn writes_create_objects_arrays_and_pad_indexes() {
    assert_eq!(
        set("a.b.c", json!({}), json!(1)),
        json!({"a": {"b": {"c": 1}}})
    );
    assert_eq!(
        set("a[2]", json!({}), json!(1)),
        json!({"a": [null, null, 1]})
    );
    assert_eq!(
        set("/a/b", json!({"a": {"x": 0}}), json!(1)),
        json!({"a": {"x": 0, "b": 1}})
    );
    assert_eq!(
        set("/a/1", json!({"a": [0, 0]}), json!(1)),
        json!({"a": [0, 1]})
    );
    assert_eq!(set("[\"a.b\"]", json!({}), json!(1)), json!({"a.b": 1}));
}

#[test]
fn an_object_written_as_a_selected_element_keeps_its_key() {
    let w = set(
        "xs[id=3]",
        json!({"xs": [{"id": 3, "a": 1}]}),
        json!({"b": 2}),
    );
    assert_eq!(w, json!({"xs": [{"b": 2, "id": 3}]}));
}

#[test]
fn pointer_escapes() {
    let v = json!({"a/b": {"m~n": 3}});
    assert_eq!(get("/a~1b/m~0n", v), Some(json!(3)));
}

#[test]
fn parse_errors_are_located() {
    let cases = [
        "", "a..b", "a[", "a[0", "a]", "a[=1]", "a[\"x]", "a[0]b", "a.[0]", "a[k=v",
    ];
    let report: Vec<String> = cases
        .iter()
        .map(|c| match Path::parse(c) {
            Ok(p) => format!("{c:?} parsed: {:?}", p.segments()),
            Err(e) => format!("{c:?} → {e}"),
        })
        .collect();
    insta::assert_snapshot!(report.join("\n"));
}

fn arb_key() -> impl Strategy<Value = String> {
    "[a-z_][a-z0-9_]{0,6}"
}

fn arb_segment() -> impl Strategy<Value = Segment> {
    prop_oneof![
        arb_key().prop_map(Segment::Key),
        (0usize..4).prop_map(Segment::Index),
        (arb_key(), 0i64..1000).prop_map(|(k, v)| Segment::Select(vec![(k, json!(v))])),
    ]
}

fn text_of_path(key: &str, rest: &[Segment]) -> String {
    let mut t = key.to_string();
    for s in rest {
        match s {
            Segment::Key(k) => t.push_str(&format!(".{k}")),
            Segment::Index(i) => t.push_str(&format!("[{i}]")),
            Segment::Select(kv) => t.push_str(&format!("[{}={}]", kv[0].0, kv[0].1)),
            Segment::All => t.push_str("[*]"),
        }
    }
    t
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    /// What is written at a path reads back from it, and a second write of
    /// the same value changes nothing.
    #[test]
    fn a_written_value_reads_back(key in arb_key(), rest in prop::collection::vec(arb_segment(), 0..4), n in 0i64..100) {
        // a selected element is an object: a key follows it
        let rest: Vec<Segment> = rest
            .into_iter()
            .flat_map(|s| match s {
                Segment::Select(_) => vec![s, Segment::Key("V".into())],
                s => vec![s],
            })
            .collect();
        let text = text_of_path(&key, &rest);
        let path = Path::parse(&text).unwrap();
                let mut m = Map::new();
        path.set(&mut m, json!(n));
        prop_assert_eq!(path.get(&m).map(Cow::into_owned), Some(json!(n)));
        let once = m.clone();
        path.set(&mut m, json!(n));
        prop_assert_eq!(m, once);
    }
}
