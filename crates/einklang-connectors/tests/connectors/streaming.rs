//! Streaming writes: a big file rewritten for a few ops, in one pass.

use crate::{connector, obj};
use einklang_connectors::{Connector, ReadItem, WriteErrorKind, WriteOp};
use serde_json::json;
use std::fmt::Write as _;

const ROWS: usize = 200_000;

/// 6 updates spread over the file, 2 deletes, 1 create, 1 update of a
/// missing id.
fn ten_ops() -> Vec<WriteOp> {
    let update = |i: usize| WriteOp::Update {
        id: i.to_string(),
        fields: obj(json!({"name": format!("changed {i}")})),
        expected_version: None,
    };
    let delete = |i: usize| WriteOp::Delete {
        id: i.to_string(),
        expected_version: None,
    };
    let mut ops: Vec<WriteOp> = [0, 1, 50_000, 99_999, 150_000, ROWS - 1]
        .into_iter()
        .map(update)
        .collect();
    ops.extend([delete(7), delete(123_456)]);
    ops.push(WriteOp::Create {
        marker: "new".into(),
        fields: obj(json!({"name": "created", "city": "Wien"})),
    });
    ops.push(update(ROWS + 5));
    ops
}

/// Write the ten ops and check every row read back, in order.
fn check(c: &mut dyn Connector) {
    let results = c.write("id", &ten_ops()).unwrap();
    assert!(results[..9].iter().all(Result::is_ok), "{results:?}");
    assert_eq!(
        results[9].as_ref().unwrap_err().kind,
        WriteErrorKind::NotFound
    );
    let mut expected = (0..ROWS).filter(|i| ![7, 123_456].contains(i));
    let mut count = 0;
    for item in c.read().unwrap() {
        let ReadItem::Record(r) = item else {
            panic!("{item:?}")
        };
        count += 1;
        let id = r.fields["id"].as_str().map(str::to_string);
        let id = id.unwrap_or_else(|| r.fields["id"].to_string());
        let Some(i) = expected.next() else {
            assert_eq!((id.as_str(), &r.fields["name"]), ("new", &json!("created")));
            continue;
        };
        assert_eq!(id, i.to_string());
        let changed = [0, 1, 50_000, 99_999, 150_000, ROWS - 1].contains(&i);
        let name = match changed {
            true => format!("changed {i}"),
            false => format!("name {i}"),
        };
        assert_eq!(r.fields["name"], json!(name), "row {i}");
        assert_eq!(r.fields["city"], json!("Graz"), "row {i}");
    }
    assert_eq!(count, ROWS - 2 + 1);
}

#[test]
fn csv_with_200k_rows_is_rewritten_for_ten_ops_in_order() {
    let dir = tempfile::tempdir().unwrap();
    let mut text = String::from("id,name,city\n");
    for i in 0..ROWS {
        writeln!(text, "{i},name {i},Graz").unwrap();
    }
    std::fs::write(dir.path().join("big.csv"), text).unwrap();
    check(connector(dir.path(), "csv", json!({"path": "big.csv"})).as_mut());
}

#[test]
fn jsonl_with_200k_rows_is_rewritten_for_ten_ops_in_order() {
    let dir = tempfile::tempdir().unwrap();
    let mut text = String::new();
    for i in 0..ROWS {
        writeln!(
            text,
            "{{\"id\":{i},\"name\":\"name {i}\",\"city\":\"Graz\"}}"
        )
        .unwrap();
    }
    std::fs::write(dir.path().join("big.jsonl"), text).unwrap();
    check(connector(dir.path(), "jsonl", json!({"path": "big.jsonl"})).as_mut());
}
