//! The parser and the projection, on monday-style documents.

use super::*;
use serde_json::json;

#[test]
fn a_query_with_inline_arguments_parses() {
    let op = parse(
        "query Items($c: String = \"x\") { boards(ids: [12, 13]) { id items_page(limit: 2, cursor: $c) { cursor items { id name } } } }",
    )
    .unwrap();
    assert!(!op.mutation);
    assert_eq!(op.defaults["c"], json!("x"));
    let boards = op.fields()[0];
    assert_eq!(boards.name, "boards");
    assert_eq!(boards.arg("ids", &Map::new()), Some(json!([12, 13])));
    let Selection::Field(page) = &boards.selection[1] else {
        panic!()
    };
    let vars = json!({"c": "abc"}).as_object().cloned().unwrap();
    assert_eq!(page.arg("cursor", &vars), Some(json!("abc")));
    assert_eq!(page.arg("limit", &vars), Some(json!(2)));
}

#[test]
fn strings_aliases_and_objects_parse() {
    let op = parse(r#"mutation { made: create_item(board_id: 1, item_name: "A \"q\" \u00e9", column_values: "{\"email\":{}}", opts: {a: [true, null, asc]}) { id } }"#).unwrap();
    assert!(op.mutation);
    let f = op.fields()[0];
    assert_eq!((f.key(), f.name.as_str()), ("made", "create_item"));
    let vars = Map::new();
    assert_eq!(f.arg("item_name", &vars), Some(json!("A \"q\" é")));
    assert_eq!(f.arg("column_values", &vars), Some(json!("{\"email\":{}}")));
    assert_eq!(
        f.arg("opts", &vars),
        Some(json!({"a": [true, null, "asc"]}))
    );
    assert_eq!(f.arg("missing", &vars), None);
}

#[test]
fn bad_documents_are_refused_with_a_position() {
    let e = parse("query { boards(ids: ) { id } }").unwrap_err();
    assert!(e.starts_with("Parse error on"), "{e}");
    assert!(e.contains("[1, 21]"), "{e}");
    let e = parse("{ a { ...Parts } } fragment Parts on X { id }").unwrap_err();
    assert!(e.contains("Fragments"), "{e}");
    assert!(parse("{ a(x: \"open").is_err());
}

#[test]
fn projection_answers_what_was_selected() {
    let op = parse("{ items { id alias: name column_values { id ... on EmailValue { email } } } }")
        .unwrap();
    let data = json!({"items": [{"id": "1", "name": "A", "state": "active", "column_values": [
        {"__typename": "EmailValue", "id": "e", "email": "a@b.c", "text": "a@b.c"},
        {"__typename": "TextValue", "id": "t", "text": "x"}]}]});
    let out = project(&data, &op.selection, &mut |_, _| None);
    assert_eq!(
        out,
        json!({"items": [{"id": "1", "alias": "A", "column_values": [{"id": "e", "email": "a@b.c"}, {"id": "t"}]}]})
    );
}

#[test]
fn a_hook_computes_fields_from_their_arguments() {
    let op = parse("{ nums(upto: 3) }").unwrap();
    let mut hook = |_: &Map<String, Value>, f: &Field| {
        let n = f.arg("upto", &Map::new())?.as_u64()?;
        Some(json!((1..=n).collect::<Vec<_>>()))
    };
    assert_eq!(
        project(&json!({}), &op.selection, &mut hook),
        json!({"nums": [1, 2, 3]})
    );
}
