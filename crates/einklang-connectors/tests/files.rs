//! File connectors against real files in a temporary folder.

use einklang_connectors::file::vcard::parse;
use einklang_connectors::{open, validate_settings, Connector, ReadItem, Settings, WriteOp};
use proptest::prelude::*;
use serde_json::{json, Map, Value};
use std::path::Path;

fn settings(v: Value) -> Settings {
    v.as_object().unwrap().clone().into_iter().collect()
}

fn connector(dir: &Path, kind: &str, s: Value) -> Box<dyn Connector> {
    open("src", kind, &settings(s), dir).unwrap()
}

/// Records read, and (position, reason) of each reject.
type Read = (Vec<Map<String, Value>>, Vec<(String, String)>);

fn read_all(c: &mut dyn Connector) -> Read {
    let (mut ok, mut bad) = (Vec::new(), Vec::new());
    for item in c.read().unwrap() {
        match item {
            ReadItem::Record(r) => ok.push(r.fields),
            ReadItem::Reject(r) => bad.push((r.position, r.reason)),
        }
    }
    (ok, bad)
}

#[test]
fn csv_reads_german_export_and_rejects_bad_lines() {
    let dir = tempfile::tempdir().unwrap();
    let mut bytes = "\u{feff}Kundennummer;Vorname;Straße\n1;Jürgen;Hauptstraße 1\n2;Anna;\"Weg; 2\"\n3;zu;viele;Felder\n".as_bytes().to_vec();
    bytes.extend(b"4;Caf\xe9;x\n5;\"Zo\xc3\xab\";Ulica 3\n");
    std::fs::write(dir.path().join("crm.csv"), bytes).unwrap();
    let mut c = connector(
        dir.path(),
        "csv",
        json!({"path": "crm.csv", "delimiter": ";"}),
    );
    let (ok, bad) = read_all(c.as_mut());
    assert_eq!(ok.len(), 3);
    assert_eq!(ok[0]["Kundennummer"], json!("1"));
    assert_eq!(ok[0]["Straße"], json!("Hauptstraße 1"));
    assert_eq!(ok[1]["Straße"], json!("Weg; 2"));
    assert_eq!(ok[2]["Vorname"], json!("Zoë"));
    assert_eq!(
        bad[0],
        (
            "line 4".into(),
            "expected 3 fields as in the header, found 4".into()
        )
    );
    assert_eq!(bad[1].0, "line 5");
    assert!(
        bad[1].1.contains("`Vorname`) is not valid UTF-8"),
        "{}",
        bad[1].1
    );
}

#[test]
fn jsonl_rejects_bad_lines_and_reads_on() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("d.jsonl"),
        "{\"id\":1,\"a\":{\"b\":2}}\n{broken\n\n[1,2]\n{\"id\":2}\r\n",
    )
    .unwrap();
    let mut c = connector(dir.path(), "jsonl", json!({"path": "d.jsonl"}));
    let (ok, bad) = read_all(c.as_mut());
    assert_eq!(ok.len(), 2);
    assert_eq!(ok[0]["a"]["b"], json!(2));
    assert_eq!(bad.len(), 2);
    assert_eq!(bad[0].0, "line 2");
    assert!(bad[0].1.starts_with("malformed JSON"));
    assert_eq!(
        bad[1],
        (
            "line 4".into(),
            "expected a JSON object, found an array".into()
        )
    );
}

const CARD: &str = "BEGIN:VCARD\r\nVERSION:3.0\r\nUID:anna-1\r\nFN:Anna Novak\r\nN:Novak;Anna;;;\r\nEMAIL;TYPE=INTERNET,WORK:anna@novak.si\r\nitem1.EMAIL:a.novak@example.com\r\nTEL;TYPE=CELL:+386 41 123 456\r\nADR;TYPE=work:;;Slovenska cesta 1;Ljubljana;;1000;Slovenia\r\nNOTE:Line one\\nline two\\, with comma and a long tail that goes on and on so that it\r\n  must be folded\r\nPHOTO;ENCODING=b;TYPE=JPEG:MIIC\r\nX-CUSTOM:keep me\r\nBDAY:19800203\r\nEND:VCARD\r\n";

#[test]
fn vcard_reads_folded_escaped_multi_valued_cards() {
    let dir = tempfile::tempdir().unwrap();
    let book = dir.path().join("book");
    std::fs::create_dir(&book).unwrap();
    std::fs::write(book.join("anna-1.vcf"), CARD).unwrap();
    std::fs::write(book.join("broken.vcf"), "hello").unwrap();
    std::fs::write(book.join("ignored.txt"), "x").unwrap();
    let mut c = connector(dir.path(), "vcard", json!({"path": "book"}));
    let (ok, bad) = read_all(c.as_mut());
    assert_eq!(bad.len(), 1);
    assert_eq!(bad[0].0, "file broken.vcf");
    let card = &ok[0];
    assert_eq!(card["uid"], json!("anna-1"));
    assert_eq!(card["n"]["given"], json!("Anna"));
    assert_eq!(
        card["email"],
        json!(["anna@novak.si", "a.novak@example.com"])
    );
    assert_eq!(card["tel"], json!(["+386 41 123 456"]));
    assert_eq!(
        card["adr"][0],
        json!({"street": "Slovenska cesta 1", "city": "Ljubljana", "region": "", "postcode": "1000", "country": "Slovenia", "type": "work"})
    );
    assert_eq!(card["bday"], json!("1980-02-03"));
    assert!(card["note"]
        .as_str()
        .unwrap()
        .starts_with("Line one\nline two, with comma"));
    assert!(card["note"].as_str().unwrap().ends_with("must be folded"));
}

#[test]
fn vcard_write_back_keeps_unknown_properties() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("anna-1.vcf"), CARD).unwrap();
    let mut c = connector(dir.path(), "vcard", json!({"path": "."}));
    let fields = json!({"fn": "Anna Novak-Kranjc", "n": {"family": "Novak-Kranjc", "given": "Anna"}, "email": ["anna@novak.si"]});
    let out = c
        .write(
            "uid",
            &[
                WriteOp::Upsert {
                    id: "anna-1".into(),
                    fields: fields.as_object().unwrap().clone(),
                },
                WriteOp::Upsert {
                    id: "new/2".into(),
                    fields: json!({"fn": "Neu"}).as_object().unwrap().clone(),
                },
            ],
        )
        .unwrap();
    assert_eq!(out.len(), 2);
    let text = std::fs::read_to_string(dir.path().join("anna-1.vcf")).unwrap();
    assert!(text.contains("X-CUSTOM:keep me\r\n"));
    assert!(text.contains("PHOTO;ENCODING=b;TYPE=JPEG:MIIC\r\n"));
    assert!(text.contains("FN:Anna Novak-Kranjc\r\n"));
    assert!(!text.contains("a.novak@example.com"));
    assert!(dir.path().join("new_2.vcf").exists());
    let (ok, _) = read_all(c.as_mut());
    assert_eq!(ok.len(), 2);
    c.write("uid", &[WriteOp::Delete { id: "new/2".into() }])
        .unwrap();
    assert!(!dir.path().join("new_2.vcf").exists());
}

#[test]
fn fingerprints_change_only_with_content() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("a.jsonl"), "{\"id\":1}\n").unwrap();
    std::fs::write(dir.path().join("x.vcf"), CARD).unwrap();
    let mut file = connector(dir.path(), "jsonl", json!({"path": "a.jsonl"}));
    let mut folder = connector(dir.path(), "vcard", json!({"path": "."}));
    let (f1, d1) = (file.fingerprint().unwrap(), folder.fingerprint().unwrap());
    assert_eq!(file.fingerprint().unwrap(), f1);
    assert_eq!(folder.fingerprint().unwrap(), d1);
    std::fs::write(dir.path().join("a.jsonl"), "{\"id\":2}\n").unwrap();
    std::fs::write(dir.path().join("x.vcf"), CARD.replace("Anna", "Ana")).unwrap();
    assert_ne!(file.fingerprint().unwrap(), f1);
    assert_ne!(folder.fingerprint().unwrap(), d1);
}

#[test]
fn settings_are_checked_without_touching_files() {
    let problems = |kind: &str, s: Value| -> Vec<String> {
        validate_settings(kind, &settings(s))
            .into_iter()
            .map(|p| format!("{:?}: {}", p.key, p.message))
            .collect()
    };
    assert_eq!(
        problems("csv", json!({"path": "x.csv", "delimiter": ";"})),
        Vec::<String>::new()
    );
    assert_eq!(problems("csv", json!({"delimiter": ";;"})), [
        "Some(\"delimiter\"): `delimiter` must be a single ASCII character such as \",\" or \";\"",
        "None: missing setting `path`",
    ].map(String::from).to_vec().into_iter().rev().collect::<Vec<_>>());
    assert_eq!(
        problems("jsonl", json!({"path": "x", "pat": 1})),
        ["Some(\"pat\"): unknown setting `pat` for kind jsonl (accepted: path)"]
    );
    assert_eq!(
        problems("xml", json!({})),
        ["Some(\"kind\"): unknown connector kind `xml` (known: csv, jsonl, vcard)"]
    );
    let missing = open(
        "src",
        "jsonl",
        &settings(json!({"path": "nope.jsonl"})),
        Path::new("/nonexistent"),
    );
    let err = missing.unwrap().read().err().unwrap().to_string();
    assert!(
        err.starts_with("connector `src`: /nonexistent/nope.jsonl:"),
        "{err}"
    );
}

fn text_record() -> impl Strategy<Value = Map<String, Value>> {
    ("[a-zA-Zäöüčšž ;,\"\\\\]{0,12}", "[0-9A-Za-z ]{0,8}")
        .prop_map(|(a, b)| json!({"name": a, "note": b}).as_object().unwrap().clone())
}

proptest! {
    #[test]
    fn vcard_escaping_round_trips(s in "\\PC{0,30}") {
        let clean = s.replace('\r', "");
        prop_assert_eq!(parse::unescape(&parse::escape(&clean)), clean);
    }

    #[test]
    fn csv_and_jsonl_write_then_read_round_trip(rows in prop::collection::vec(text_record(), 1..8)) {
        let dir = tempfile::tempdir().unwrap();
        for (kind, file) in [("csv", "r.csv"), ("jsonl", "r.jsonl")] {
            let mut c = connector(dir.path(), kind, json!({"path": file}));
            let ops: Vec<WriteOp> = rows.iter().enumerate().map(|(i, r)| WriteOp::Upsert { id: i.to_string(), fields: r.clone() }).collect();
            c.write("id", &ops).unwrap();
            let (ok, bad) = read_all(c.as_mut());
            prop_assert!(bad.is_empty());
            prop_assert_eq!(ok.len(), rows.len());
            for (i, (got, want)) in ok.iter().zip(&rows).enumerate() {
                prop_assert_eq!(&got["id"], &json!(i.to_string()));
                prop_assert_eq!(&got["name"], &want["name"]);
                prop_assert_eq!(&got["note"], &want["note"]);
            }
        }
    }
}
