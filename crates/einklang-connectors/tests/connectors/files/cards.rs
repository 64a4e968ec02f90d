//! vCard files as users have them: many cards in one file, a BOM, two
//! cards with one UID.

use crate::{connector, delete, read_all, update, update_if};
use einklang_connectors::{Connector, WriteErrorKind};
use serde_json::{json, Value};
use std::path::Path;

fn card(uid: &str, name: &str) -> String {
    format!("BEGIN:VCARD\r\nVERSION:3.0\r\nUID:{uid}\r\nFN:{name}\r\nX-KEEP:{uid}\r\nEND:VCARD\r\n")
}

fn book(dir: &Path) -> Box<dyn Connector> {
    connector(dir, "vcard", json!({"path": "."}))
}

fn uids(c: &mut dyn Connector) -> Vec<(String, Value)> {
    let (ok, _) = read_all(c);
    ok.into_iter()
        .map(|r| (r.position, r.fields["uid"].clone()))
        .collect()
}

/// A file of three cards: a, b, c, with a blank line between b and c.
fn three(dir: &Path) -> String {
    let text = format!(
        "{}{}\r\n{}",
        card("a", "Ann"),
        card("b", "Bea"),
        card("c", "Cid")
    );
    std::fs::write(dir.join("all.vcf"), &text).unwrap();
    text
}

#[test]
fn multi_card_vcf_reads_every_card() {
    let dir = tempfile::tempdir().unwrap();
    three(dir.path());
    std::fs::write(dir.path().join("one.vcf"), card("d", "Dan")).unwrap();
    let mut c = book(dir.path());
    assert_eq!(
        uids(c.as_mut()),
        [
            ("file all.vcf, card 1".to_string(), json!("a")),
            ("file all.vcf, card 2".to_string(), json!("b")),
            ("file all.vcf, card 3".to_string(), json!("c")),
            ("file one.vcf".to_string(), json!("d")),
        ]
    );
}

#[test]
fn a_card_in_a_file_of_many_is_rewritten_and_deleted_in_place() {
    let dir = tempfile::tempdir().unwrap();
    let before = three(dir.path());
    let mut c = book(dir.path());
    let (ok, _) = read_all(c.as_mut());
    let b_version = ok[1].version.clone();
    let ops = [
        update_if("b", json!({"fn": "Bea Berg"}), b_version),
        delete("c"),
    ];
    let results = c.write("uid", &ops).unwrap();
    let new_b = results[0].as_ref().unwrap().version.clone();
    results[1].as_ref().unwrap();
    let after = std::fs::read_to_string(dir.path().join("all.vcf")).unwrap();
    let a = card("a", "Ann");
    assert!(after.starts_with(&a), "card a untouched:\n{after}");
    assert!(after.contains("FN:Bea Berg\r\n") && after.contains("X-KEEP:b\r\n"));
    assert!(!after.contains("UID:c") && before.contains("UID:c"));
    let (ok, bad) = read_all(c.as_mut());
    assert_eq!(bad, []);
    assert_eq!(ok.len(), 2);
    assert_eq!(
        ok[1].version, new_b,
        "the version a write answers is the one read"
    );
    // A stale version of one card is a conflict, the file stays.
    let stale = update_if("a", json!({"fn": "x"}), Some("xxh3:0".into()));
    let err = c.write("uid", &[stale]).unwrap()[0].clone().unwrap_err();
    assert_eq!(err.kind, WriteErrorKind::Conflict);
    assert_eq!(
        std::fs::read_to_string(dir.path().join("all.vcf")).unwrap(),
        after
    );
    // Deleting the last cards removes the file.
    for r in c.write("uid", &[delete("a"), delete("b")]).unwrap() {
        r.unwrap();
    }
    assert!(!dir.path().join("all.vcf").exists());
}

#[test]
fn vcard_with_bom_is_read() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("anna.vcf");
    std::fs::write(&path, format!("\u{feff}{}", card("anna-1", "Anna"))).unwrap();
    let mut c = book(dir.path());
    assert_eq!(
        uids(c.as_mut()),
        [("file anna.vcf".to_string(), json!("anna-1"))]
    );
    c.write("uid", &[update("anna-1", json!({"title": "Dr."}))])
        .unwrap()[0]
        .as_ref()
        .unwrap();
    let text = std::fs::read_to_string(&path).unwrap();
    assert!(
        text.starts_with("\u{feff}BEGIN:VCARD\r\n"),
        "the BOM is kept: {text:?}"
    );
    assert!(text.contains("TITLE:Dr.\r\n"));
}

#[test]
fn text_that_is_no_card_is_rejected_and_the_cards_are_read() {
    let dir = tempfile::tempdir().unwrap();
    let text = format!(
        "{}oops\r\n{}BEGIN:VCARD\r\nUID:z\r\n",
        card("a", "A"),
        card("b", "B")
    );
    std::fs::write(dir.path().join("mixed.vcf"), text).unwrap();
    let (ok, bad) = read_all(book(dir.path()).as_mut());
    assert_eq!(ok.len(), 2);
    assert_eq!(
        bad,
        [
            (
                "file mixed.vcf, line 7".to_string(),
                "not a vCard: text outside BEGIN:VCARD … END:VCARD".to_string()
            ),
            (
                "file mixed.vcf, line 14".to_string(),
                "its END:VCARD is missing at the end of the file".to_string()
            ),
        ]
    );
}

#[test]
fn duplicate_uid_keeps_user_card() {
    let dir = tempfile::tempdir().unwrap();
    // einklang created ek-7.vcf; the user's client holds the same card,
    // edited, under a name of its own (sorted after einklang's).
    std::fs::write(dir.path().join("ek-7.vcf"), card("ek-7", "Old")).unwrap();
    std::fs::write(dir.path().join("x-anna.vcf"), card("ek-7", "Anna (edited)")).unwrap();
    let mut c = book(dir.path());
    let (ok, bad) = read_all(c.as_mut());
    assert_eq!(ok.len(), 1);
    assert_eq!(ok[0].position, "file x-anna.vcf");
    assert_eq!(ok[0].fields["fn"], json!("Anna (edited)"));
    assert_eq!(bad.len(), 1);
    assert_eq!(bad[0].0, "file ek-7.vcf");
    assert_eq!(
        bad[0].1,
        "duplicate UID `ek-7`: x-anna.vcf has it too and is kept as the record \
         (einklang did not write it; einklang wrote this one); this card (ek-7.vcf) \
         is set aside — merge the two cards or give one a new UID"
    );
    // Writes go to the record.
    c.write("uid", &[update("ek-7", json!({"title": "Dr."}))])
        .unwrap()[0]
        .as_ref()
        .unwrap();
    let user = std::fs::read_to_string(dir.path().join("x-anna.vcf")).unwrap();
    assert!(user.contains("TITLE:Dr."));
    let ours = std::fs::read_to_string(dir.path().join("ek-7.vcf")).unwrap();
    assert_eq!(ours, card("ek-7", "Old"));
}

#[test]
fn duplicate_uid_of_two_user_cards_keeps_the_first() {
    let dir = tempfile::tempdir().unwrap();
    three(dir.path());
    std::fs::write(dir.path().join("b-copy.vcf"), card("b", "Bea copy")).unwrap();
    let (ok, bad) = read_all(book(dir.path()).as_mut());
    assert_eq!(ok.len(), 3);
    assert!(ok.iter().any(|r| r.position == "file all.vcf, card 2"));
    assert_eq!(bad[0].0, "file b-copy.vcf");
    assert!(
        bad[0].1.contains("all.vcf, card 2 has it too"),
        "{}",
        bad[0].1
    );
}

/// An Apple Contacts card in a file of two, as the user's client wrote it.
const APPLE: &str = "BEGIN:VCARD\r\nVERSION:3.0\r\nPRODID:-//Apple Inc.//macOS 14.5//EN\r\nN:Novak;Anna;;;\r\nFN:Anna Novak\r\nORG:Novak d.o.o.;Vertrieb\r\nEMAIL;type=INTERNET;type=WORK;type=pref:anna@novak.si\r\nitem1.TEL;type=pref:+386 41 123 456\r\nitem1.X-ABLabel:_$!<Mobile>!$_\r\nTEL;type=CELL;type=VOICE:+386 40 999 000\r\nADR;type=HOME;type=pref;LABEL=\"Slovenska 1\\n1000 Ljubljana\":;;Slovenska cesta 1;Ljubljana;;1000;Slovenia\r\nNOTE:Kundin seit 2019\r\nNOTE:Zweite Notiz\r\nUID:anna-1\r\nEND:VCARD\r\n";

#[test]
fn vcard_update_rewrites_only_the_changed_lines() {
    let dir = tempfile::tempdir().unwrap();
    let file = format!("{APPLE}{}", card("b", "Bea"));
    std::fs::write(dir.path().join("all.vcf"), &file).unwrap();
    let mut c = book(dir.path());
    let (ok, _) = read_all(c.as_mut());
    // every field as read, the note changed: what a sync sends
    let mut fields = ok[0].fields.clone();
    assert_eq!(fields["org"], json!("Novak d.o.o., Vertrieb"));
    assert_eq!(
        fields["note"],
        json!("Zweite Notiz"),
        "the last NOTE is read"
    );
    fields.insert("note".into(), json!("Rückruf am Montag"));
    let op = update_if("anna-1", Value::Object(fields), ok[0].version.clone());
    c.write("uid", &[op]).unwrap()[0].as_ref().unwrap();
    let after = std::fs::read_to_string(dir.path().join("all.vcf")).unwrap();
    let want = file.replace("NOTE:Zweite Notiz", "NOTE:Rückruf am Montag");
    assert_eq!(after, want);
    // one phone changed: the other keeps its group, label and parameters
    let tel = json!(["+386 41 123 456", "+49 170 555"]);
    c.write("uid", &[update("anna-1", json!({ "tel": tel }))])
        .unwrap()[0]
        .as_ref()
        .unwrap();
    let after = std::fs::read_to_string(dir.path().join("all.vcf")).unwrap();
    let want = want.replace(
        "TEL;type=CELL;type=VOICE:+386 40 999 000",
        "TEL:+49 170 555",
    );
    assert_eq!(after, want);
    let (ok, bad) = read_all(c.as_mut());
    assert_eq!(bad, []);
    assert_eq!(ok[0].fields["tel"], tel);
}
