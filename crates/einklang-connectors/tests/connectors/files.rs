//! File connectors against real files in a temporary folder; files kept
//! as the user had them (`kept`), row files as the user meant them
//! (`rows`), vCard files as users have them (`cards`).

mod cards;
mod kept;
mod rows;

use crate::{connector, create, delete, obj, read_all, read_fields, settings, update, update_if};
use einklang_connectors::file::vcard::parse;
use einklang_connectors::{open, validate_settings, WriteErrorKind, WriteOp};
use proptest::prelude::*;
use serde_json::{json, Map, Value};
use std::path::Path;

/// A card with properties einklang does not own (PHOTO, X-CUSTOM).
pub const CARD: &str = "BEGIN:VCARD\r\nVERSION:3.0\r\nUID:anna-1\r\nFN:Anna Novak\r\nN:Novak;Anna;;;\r\nEMAIL;TYPE=INTERNET,WORK:anna@novak.si\r\nitem1.EMAIL:a.novak@example.com\r\nTEL;TYPE=CELL:+386 41 123 456\r\nADR;TYPE=work:;;Slovenska cesta 1;Ljubljana;;1000;Slovenia\r\nNOTE:Line one\\nline two\\, with comma and a long tail that goes on and on so that it\r\n  must be folded\r\nPHOTO;ENCODING=b;TYPE=JPEG:MIIC\r\nX-CUSTOM:keep me\r\nBDAY:19800203\r\nEND:VCARD\r\n";

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
    let ok: Vec<Map<String, Value>> = ok.into_iter().map(|r| r.fields).collect();
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
fn csv_write_keeps_rows_and_columns_in_order_and_appends_new_ones() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("crm.csv");
    std::fs::write(&path, "Nr;Name;Intern\nK-2;Bea;a\nK-1;Ann;b\nK-3;Cid;c\n").unwrap();
    let mut c = connector(
        dir.path(),
        "csv",
        json!({"path": "crm.csv", "delimiter": ";"}),
    );
    let ops = [
        update("K-1", json!({"Name": "Anna", "Ort": "Graz"})),
        create("K-9", json!({"Name": "Neu", "Ort": "Linz"})),
        delete("K-3"),
        update("K-2", json!({"Intern": null})),
    ];
    let results = c.write("Nr", &ops).unwrap();
    assert!(results.iter().all(Result::is_ok), "{results:?}");
    assert_eq!(results[1].as_ref().unwrap().id, "K-9");
    let text = std::fs::read_to_string(&path).unwrap();
    assert_eq!(
        text,
        "Nr;Name;Intern;Ort\nK-2;Bea;;\nK-1;Anna;b;Graz\nK-9;Neu;;Linz\n"
    );
}

#[test]
fn row_file_write_names_the_bad_line_and_leaves_the_file_alone() {
    let cases = [
        (
            "csv",
            "id,name\n1,a\n2,b,extra\n3,c\n",
            "line 3: expected 2 fields",
        ),
        (
            "jsonl",
            "{\"id\":1}\n{\"id\":2,\n",
            "line 2: malformed JSON",
        ),
    ];
    for (kind, before, problem) in cases {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(format!("d.{kind}"));
        std::fs::write(&path, before).unwrap();
        let mut c = connector(dir.path(), kind, json!({"path": format!("d.{kind}")}));
        let ops = [update("1", json!({"name": "x"})), create("3", json!({}))];
        let err = c.write("id", &ops).unwrap_err().to_string();
        assert!(err.contains(&format!("d.{kind}: {problem}")), "{err}");
        assert!(err.contains("fix the file before writing to it"), "{err}");
        assert_eq!(std::fs::read_to_string(&path).unwrap(), before);
        let leftovers = std::fs::read_dir(dir.path()).unwrap().count();
        assert_eq!(leftovers, 1, "no temporary file left behind");
    }
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
    assert_eq!(ok[0].fields["a"]["b"], json!(2));
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

#[test]
fn jsonl_write_copies_untouched_lines_byte_for_byte() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("d.jsonl");
    std::fs::write(
        &path,
        "{ \"id\": 1,  \"a\": 1 }\r\n\n{\"id\":\"2\",\"a\":2}\n{\"id\":3}",
    )
    .unwrap();
    let mut c = connector(dir.path(), "jsonl", json!({"path": "d.jsonl"}));
    let ops = [
        update("2", json!({"a": null, "b": [1]})),
        create("ek-4", json!({"a": 4})),
    ];
    let results = c.write("id", &ops).unwrap();
    assert!(results.iter().all(Result::is_ok), "{results:?}");
    let text = std::fs::read_to_string(&path).unwrap();
    assert_eq!(
        text,
        "{ \"id\": 1,  \"a\": 1 }\r\n\n{\"b\":[1],\"id\":\"2\"}\n{\"id\":3}\n{\"a\":4,\"id\":\"ek-4\"}\n"
    );
    // Numeric ids are matched by their JSON text.
    c.write("id", &[delete("1")]).unwrap()[0].as_ref().unwrap();
    assert_eq!(read_fields(c.as_mut()).len(), 3);
}

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
    let card = &ok[0].fields;
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
    let ops = [
        update("anna-1", fields),
        create("new/2", json!({"fn": "Neu"})),
    ];
    let out = c.write("uid", &ops).unwrap();
    assert_eq!(out.len(), 2);
    assert_eq!(out[1].as_ref().unwrap().id, "new/2");
    let text = std::fs::read_to_string(dir.path().join("anna-1.vcf")).unwrap();
    assert!(text.contains("X-CUSTOM:keep me\r\n"));
    assert!(text.contains("PHOTO;ENCODING=b;TYPE=JPEG:MIIC\r\n"));
    assert!(text.contains("FN:Anna Novak-Kranjc\r\n"));
    assert!(!text.contains("a.novak@example.com"));
    // A partial update: fields not given stay, their lines as they were.
    assert!(text.contains("TEL;TYPE=CELL:+386 41 123 456\r\n"), "{text}");
    assert!(text.contains("BDAY:19800203\r\n"), "{text}");
    assert!(text.contains("EMAIL;TYPE=INTERNET,WORK:anna@novak.si\r\n"));
    assert!(dir.path().join("new_2.vcf").exists());
    assert_eq!(read_fields(c.as_mut()).len(), 2);
    c.write("uid", &[delete("new/2")]).unwrap()[0]
        .as_ref()
        .unwrap();
    assert!(!dir.path().join("new_2.vcf").exists());
}

#[test]
fn vcard_4_0_cards_stay_4_0_on_write_back() {
    let v4 = "BEGIN:VCARD\r\nVERSION:4.0\r\nUID:urn:uuid:b1\r\nFN:Bo\r\nTEL;VALUE=uri;TYPE=cell:tel:+49-170-1\r\nKIND:individual\r\nEND:VCARD\r\n";
    let lines = parse::lines(v4).unwrap();
    assert_eq!(parse::version(&lines), "4.0");
    assert_eq!(parse::fields(&lines)["tel"], json!(["+49-170-1"]));
    let text = parse::rewrite(
        lines,
        "urn:uuid:b1",
        &obj(json!({"email": ["bo@example.com"]})),
    );
    for want in [
        "VERSION:4.0\r\n",
        "UID:urn:uuid:b1\r\n",
        "EMAIL:bo@example.com\r\n",
        "TEL;VALUE=uri;TYPE=cell:tel:+49-170-1\r\n",
        "KIND:individual\r\n",
    ] {
        assert!(text.contains(want), "{want} missing in\n{text}");
    }
    let again = parse::fields(&parse::lines(&text).unwrap());
    assert_eq!(
        (again["tel"].clone(), again["fn"].clone()),
        (json!(["+49-170-1"]), json!("Bo"))
    );
}

#[test]
fn vcard_creates_safe_file_names_and_never_overwrites_another_card() {
    let dir = tempfile::tempdir().unwrap();
    let other = CARD.replace("UID:anna-1", "UID:someone-else");
    std::fs::write(dir.path().join("a_b.vcf"), &other).unwrap();
    let mut c = connector(dir.path(), "vcard", json!({"path": "."}));
    let ops = [
        create("a/b", json!({"fn": "Slash"})),
        create("../..", json!({"fn": "Dots"})),
        create("", json!({"fn": "Empty"})),
    ];
    for r in c.write("uid", &ops).unwrap() {
        r.unwrap();
    }
    assert_eq!(
        std::fs::read_to_string(dir.path().join("a_b.vcf")).unwrap(),
        other
    );
    for name in ["a_b-2.vcf", "_._...vcf", "card.vcf"] {
        assert!(dir.path().join(name).exists(), "{name}");
    }
    let uids: Vec<Value> = read_fields(c.as_mut())
        .iter()
        .map(|f| f["uid"].clone())
        .collect();
    assert_eq!(uids.len(), 4);
    for uid in ["a/b", "../..", "", "someone-else"] {
        assert!(uids.contains(&json!(uid)), "{uid}: {uids:?}");
    }
}

#[test]
fn vcard_null_removes_the_property() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("anna-1.vcf"), CARD).unwrap();
    let mut c = connector(dir.path(), "vcard", json!({"path": "."}));
    let r = c.write(
        "uid",
        &[update("anna-1", json!({"tel": null, "bday": null}))],
    );
    r.unwrap()[0].as_ref().unwrap();
    let text = std::fs::read_to_string(dir.path().join("anna-1.vcf")).unwrap();
    assert!(!text.contains("TEL") && !text.contains("BDAY"), "{text}");
    assert!(text.contains("X-CUSTOM:keep me\r\n"));
}

#[test]
fn vcard_stale_version_conflicts_and_leaves_the_card() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("anna-1.vcf"), CARD).unwrap();
    let mut c = connector(dir.path(), "vcard", json!({"path": "."}));
    let version = read_all(c.as_mut()).0[0].version.clone();
    std::fs::write(
        dir.path().join("anna-1.vcf"),
        CARD.replace("Anna Novak", "A. N."),
    )
    .unwrap();
    let op = update_if("anna-1", json!({"title": "Dr."}), version);
    let err = c.write("uid", &[op]).unwrap().remove(0).unwrap_err();
    assert_eq!(err.kind, WriteErrorKind::Conflict);
    assert!(
        err.message
            .starts_with("connector `src`: update of `anna-1`:"),
        "{}",
        err.message
    );
    assert!(!std::fs::read_to_string(dir.path().join("anna-1.vcf"))
        .unwrap()
        .contains("TITLE"));
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
fn file_capabilities_are_declared() {
    let dir = tempfile::tempdir().unwrap();
    for (kind, versions) in [("csv", false), ("jsonl", false), ("vcard", true)] {
        let caps = connector(dir.path(), kind, json!({"path": "x"})).capabilities();
        assert!(caps.read && caps.write && caps.delete && caps.fingerprint);
        assert!(caps.client_ids && caps.partial_update && !caps.list_versions);
        assert_eq!(
            (caps.version_tokens, caps.conditional_writes),
            (versions, versions)
        );
        assert_eq!(
            (caps.key_field, caps.writable, caps.batch_size),
            (None, None, 10_000)
        );
    }
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
    let known: Vec<&str> = einklang_connectors::kinds()
        .iter()
        .map(|k| k.kind)
        .collect();
    assert!(known.starts_with(&["csv", "jsonl", "vcard"]), "{known:?}");
    assert_eq!(
        problems("xml", json!({})),
        [format!(
            "Some(\"kind\"): unknown connector kind `xml` (known: {})",
            known.join(", ")
        )]
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
        .prop_map(|(a, b)| obj(json!({"name": a, "note": b})))
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
            let ops: Vec<WriteOp> = rows.iter().enumerate().map(|(i, r)| WriteOp::Create { marker: i.to_string(), fields: r.clone() }).collect();
            for result in c.write("id", &ops).unwrap() {
                prop_assert!(result.is_ok());
            }
            let ok = read_fields(c.as_mut());
            prop_assert_eq!(ok.len(), rows.len());
            for (i, (got, want)) in ok.iter().zip(&rows).enumerate() {
                prop_assert_eq!(&got["id"], &json!(i.to_string()));
                prop_assert_eq!(&got["name"], &want["name"]);
                prop_assert_eq!(&got["note"], &want["note"]);
            }
        }
    }
}
