//! Row files read as the user meant them: an unclosed CSV quote costs one
//! line, not the rows after it; a column or key named twice is an error,
//! never a silent choice.

use crate::{connector, read_all, update};
use serde_json::{json, Value};

fn csv(text: &str) -> (tempfile::TempDir, Box<dyn einklang_connectors::Connector>) {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("c.csv"), text).unwrap();
    let c = connector(dir.path(), "csv", json!({"path": "c.csv"}));
    (dir, c)
}

fn ids(records: &[einklang_connectors::RawRecord]) -> Vec<Value> {
    records.iter().map(|r| r.fields["id"].clone()).collect()
}

#[test]
fn unclosed_quote_keeps_following_rows() {
    // The quote opened on line 2 is closed by the one before `Dan`: the
    // csv crate reads lines 2–5 as one record.
    let text = "id,name,email,city\n1,\"Anna,a@x.de,Graz\n2,Bea,b@x.de,Linz\n3,Cid,c@x.de,Wien\n4,\"Dan\",d@x.de,Bonn\n5,Eve,e@x.de,Ulm\n";
    let (_dir, mut c) = csv(text);
    let (ok, bad) = read_all(c.as_mut());
    assert_eq!(ids(&ok), [json!("2"), json!("3"), json!("4"), json!("5")]);
    assert_eq!(ok[2].fields["name"], json!("Dan"));
    assert_eq!(ok[2].position, "line 5");
    assert_eq!(bad.len(), 1, "{bad:?}");
    assert_eq!(bad[0].0, "line 2");
    assert_eq!(
        bad[0].1,
        "unclosed quote: the quoted field opening on line 2 runs on to line 5; \
         line 2 is set aside and lines 3–5 are read again as rows"
    );
}

#[test]
fn unclosed_quote_to_the_end_or_with_the_wrong_width_is_caught() {
    let cases = [
        // Never closed: the rest of the file would be one field.
        (
            "id,name\n1,ok\n2,\"Bea\n3,Cid\n4,Dan\n",
            "line 3 runs on to line 5",
            ["1", "3", "4"],
        ),
        // Closed cleanly at a line end, leaving 2 fields of 4 (CRLF).
        (
            "id,name,email,city\r\n1,\"Anna,a@x,Graz\r\n2,Bea,b@x,Linz\r\n3,Cid\"\r\n4,Dan,d@x,Bonn\r\n",
            "line 2 runs on to line 4, and the record then has 2 fields where the header has 4",
            // line 4 (`3,Cid"`) alone has 2 fields: rejected in its turn
            ["2", "4", "-"],
        ),
    ];
    for (text, why, want) in cases {
        let (_dir, mut c) = csv(text);
        let (ok, bad) = read_all(c.as_mut());
        assert!(bad[0].1.contains(why), "{bad:?}");
        let want: Vec<Value> = want
            .iter()
            .filter(|w| **w != "-")
            .map(|w| json!(w))
            .collect();
        assert_eq!(ids(&ok), want);
    }
}

#[test]
fn a_quoted_field_with_line_breaks_is_still_one_field() {
    let text = "id,address,note\n1,\"Hauptstr. 1\n80331 München\",\"a \"\"b\"\"\r\nc\"\n2,x,y\n";
    let (_dir, mut c) = csv(text);
    let (ok, bad) = read_all(c.as_mut());
    assert_eq!(bad, []);
    assert_eq!(ok[0].fields["address"], json!("Hauptstr. 1\n80331 München"));
    assert_eq!(ok[0].fields["note"], json!("a \"b\"\r\nc"));
    assert_eq!((ok[1].position.as_str(), ids(&ok).len()), ("line 5", 2));
    // The limit: a stray quote closed by a literal one right before a
    // delimiter, with the header's width, is such a field too.
    let (_dir, mut c) = csv("id,name,size\n1,\"Anna,x\n2,Bea 12\",y\n3,Cid,z\n");
    let (ok, bad) = read_all(c.as_mut());
    assert_eq!((ids(&ok), bad.len()), (vec![json!("1"), json!("3")], 0));
    assert_eq!(ok[0].fields["name"], json!("Anna,x\n2,Bea 12"));
}

#[test]
fn a_write_refuses_a_file_with_an_unclosed_quote() {
    let text = "id,name\n1,\"Anna\n2,Bea\n";
    let (dir, mut c) = csv(text);
    let err = c
        .write("id", &[update("2", json!({"name": "B"}))])
        .unwrap_err();
    assert!(err.to_string().contains("line 2: unclosed quote"), "{err}");
    assert_eq!(
        std::fs::read_to_string(dir.path().join("c.csv")).unwrap(),
        text
    );
}

#[test]
fn duplicate_csv_header_rejected() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("c.csv"),
        "id;email;name;email\n1;a@x.de;Anna;b@x.de\n",
    )
    .unwrap();
    let mut c = connector(
        dir.path(),
        "csv",
        json!({"path": "c.csv", "delimiter": ";"}),
    );
    let err = c.read().err().expect("the read fails").to_string();
    assert!(
        err.contains("c.csv: header row: column `email` is named twice, as column 2 and column 4"),
        "{err}"
    );
    let write = c.write("id", &[update("1", json!({"name": "A"}))]);
    assert!(write.is_err(), "a write fails the same way");
    // Empty names (trailing delimiters) are no duplicates.
    std::fs::write(dir.path().join("c.csv"), "id;name;;\n1;Anna;;\n").unwrap();
    assert_eq!(read_all(c.as_mut()).0.len(), 1);
}

#[test]
fn duplicate_json_key_rejected() {
    let dir = tempfile::tempdir().unwrap();
    let text = "{\"id\":\"1\",\"email\":\"a@x.de\",\"email\":\"b@x.de\"}\n{\"id\":\"2\",\"adr\":{\"city\":\"Graz\",\"city\":\"Linz\"}}\n{\"id\":\"3\"}\n";
    std::fs::write(dir.path().join("d.jsonl"), text).unwrap();
    let mut c = connector(dir.path(), "jsonl", json!({"path": "d.jsonl"}));
    let (ok, bad) = read_all(c.as_mut());
    assert_eq!(ids(&ok), [json!("3")]);
    assert_eq!(
        bad,
        [
            (
                "line 1".to_string(),
                "duplicate key `email` at column 34: an object must name each key once".to_string()
            ),
            (
                "line 2".to_string(),
                "duplicate key `city` at column 37: an object must name each key once".to_string()
            ),
        ]
    );
    let write = c.write("id", &[update("3", json!({"name": "x"}))]);
    assert!(write
        .unwrap_err()
        .to_string()
        .contains("line 1: duplicate key `email`"));
}

#[test]
fn csv_dotted_column_is_written_by_its_exact_name() {
    let (dir, mut c) = csv("id,Vor.name,Nachname\n1,Ana,Novak\n");
    let (ok, _) = read_all(c.as_mut());
    assert_eq!(ok[0].fields["Vor.name"], json!("Ana"));
    // the core builds a dotted field as a path: {"Vor": {"name": …}}
    let mut fields = serde_json::Map::new();
    einklang_core::transform::push::set_path(&mut fields, "Vor.name", json!("Anna"));
    assert_eq!(
        Value::Object(fields.clone()),
        json!({"Vor": {"name": "Anna"}})
    );
    let op = update("1", Value::Object(fields.clone()));
    c.write("id", &[op]).unwrap()[0].as_ref().unwrap();
    let text = std::fs::read_to_string(dir.path().join("c.csv")).unwrap();
    assert_eq!(text, "id,Vor.name,Nachname\n1,Anna,Novak\n");
    // a create, and a nested object the header lacks, get dotted columns
    let ops = [
        crate::create("2", Value::Object(fields)),
        update("1", json!({"Adresse": {"Ort": "Graz"}})),
    ];
    for r in c.write("id", &ops).unwrap() {
        r.unwrap();
    }
    let text = std::fs::read_to_string(dir.path().join("c.csv")).unwrap();
    assert_eq!(
        text,
        "id,Vor.name,Nachname,Adresse.Ort\n1,Anna,Novak,Graz\n2,Anna,,\n"
    );
    // an object written to a column of its own name stays JSON text there
    let (dir, mut c) = csv("id,meta\n1,\n");
    let op = update("1", json!({"meta": {"a": 1}}));
    c.write("id", &[op]).unwrap()[0].as_ref().unwrap();
    let text = std::fs::read_to_string(dir.path().join("c.csv")).unwrap();
    assert_eq!(text, "id,meta\n1,\"{\"\"a\"\":1}\"\n");
}
