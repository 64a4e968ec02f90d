//! Updates of cards as real clients write them: each test names the exact
//! text an update leaves.

use super::super::{fields, lines};
use serde_json::{json, Map, Value};

/// Apple Contacts (macOS): `type=` in lower case, grouped properties with
/// their labels (`item1.X-ABLabel`), an ORG with a unit.
const APPLE: &str = "BEGIN:VCARD\r\nVERSION:3.0\r\nPRODID:-//Apple Inc.//macOS 14.5//EN\r\nN:Novak;Anna;;;\r\nFN:Anna Novak\r\nORG:Novak d.o.o.;Vertrieb;\r\nEMAIL;type=INTERNET;type=WORK;type=pref:anna@novak.si\r\nitem1.TEL;type=pref:+386 41 123 456\r\nitem1.X-ABLabel:_$!<Mobile>!$_\r\nTEL;type=CELL;type=VOICE:+386 40 999 000\r\nitem2.ADR;type=HOME;type=pref:;;Slovenska cesta 1;Ljubljana;;1000;Slovenia\r\nitem2.X-ABADR:si\r\nNOTE:Kundin seit 2019\r\nUID:6F1C2B9A-1D2E-4F5A-9B8C-7D6E5F4A3B2C\r\nX-ABUID:6F1C2B9A-1D2E-4F5A-9B8C-7D6E5F4A3B2C:ABPerson\r\nEND:VCARD\r\n";

/// A Google Contacts export: no UID, upper-case TYPE, an escaped colon in
/// a grouped URL.
const GOOGLE: &str = "BEGIN:VCARD\r\nVERSION:3.0\r\nFN:Jan Kowalski\r\nN:Kowalski;Jan;;;\r\nEMAIL;TYPE=INTERNET;TYPE=HOME:jan@example.pl\r\nEMAIL;TYPE=INTERNET;TYPE=WORK:jan.kowalski@firma.pl\r\nTEL;TYPE=CELL:+48 600 100 200\r\nADR;TYPE=HOME:;;ul. Długa 5;Warszawa;;00-001;Polska\r\nORG:Firma Sp. z o.o.\r\nTITLE:Kierownik\r\nBDAY:1985-04-12\r\nitem1.URL:https\\://firma.pl\r\nitem1.X-ABLabel:\r\nCATEGORIES:myContacts,Klienci\r\nEND:VCARD\r\n";

/// Nextcloud (sabre/vobject) 4.0 as a server may store it with bare LF:
/// a `tel:` URI, PREF and LABEL parameters, an ADR folded by the server.
const NEXTCLOUD: &str = "BEGIN:VCARD\nVERSION:4.0\nPRODID:-//Sabre//Sabre VObject 4.5.4//EN\nUID:3b7c7e7a-0f6e-4bb1-8d47-1f0c2b6e9d10\nFN:Marie Curie\nN:Curie;Marie;;;\nTEL;TYPE=\"voice,cell\";VALUE=uri:tel:+33-1-23-45-67-89\nEMAIL;TYPE=work;PREF=1:marie@example.fr\nADR;TYPE=home;PREF=1;LABEL=\"1 rue Pierre et Marie Curie\\n75005 Paris\":;;1 r\n ue Pierre et Marie Curie;Paris;;75005;France\nREV:20240102T030405Z\nEND:VCARD\n";

/// Radicale-style 3.0 with a folded NOTE, a second NOTE, an ORG with two
/// units, a folded PHOTO and an Outlook extension.
const FOLDED: &str = "BEGIN:VCARD\r\nVERSION:3.0\r\nUID:kanzlei-17\r\nFN:Dr. Eva Berger\r\nN:Berger;Eva;;Dr.;\r\nORG:Berger & Partner;Steuerberatung;Team Nord\r\nNOTE:Erster Kontakt über die Messe in Leipzig\\, danach mehrere Telefonate zu\r\n r Jahresplanung\r\nNOTE:Zweite Notiz\r\nPHOTO;ENCODING=b;TYPE=JPEG:/9j/4AAQSkZJRgABAQEASABIAAD/2wBDAAYEBQYFBAYGBQYHBwYIChAKCgkJChQODw\r\n 0NDhgSEhEWHBgdHRwYGxsfIywlHx8qIRsbJDUoKi0vMjIyHiY3PDcwPCwxMjL/2wBDAQkJCQwLDBgN\r\nX-MS-OL-DESIGN;CHARSET=utf-8:<card xmlns=\"http://schemas.microsoft.com/office/outlook/12/electronicbusinesscards\"/>\r\nEND:VCARD\r\n";

/// The fields of `card` as the read gives them, with `changes` merged in:
/// what the engine sends for a record whose mapped fields it writes.
fn as_read_with(card: &str, changes: Value) -> Map<String, Value> {
    let mut f = fields(&lines(card).unwrap());
    for (k, v) in changes.as_object().unwrap() {
        f.insert(k.clone(), v.clone());
    }
    f
}

fn update(card: &str, given: &Map<String, Value>) -> String {
    super::rewrite(&lines(card).unwrap(), "uid-for-new-cards", given)
}

fn only(v: Value) -> Map<String, Value> {
    v.as_object().unwrap().clone()
}

fn swap(card: &str, from: &str, to: &str) -> String {
    assert!(card.contains(from), "{from} not in the card");
    card.replacen(from, to, 1)
}

#[test]
fn a_card_written_back_unchanged_is_the_same_bytes() {
    for card in [APPLE, GOOGLE, NEXTCLOUD, FOLDED] {
        assert_eq!(update(card, &as_read_with(card, json!({}))), card);
    }
}

#[test]
fn apple_note_change_rewrites_only_the_note() {
    let given = as_read_with(APPLE, json!({"note": "Rückruf am Montag"}));
    let want = swap(APPLE, "NOTE:Kundin seit 2019", "NOTE:Rückruf am Montag");
    assert_eq!(update(APPLE, &given), want);
}

#[test]
fn apple_changed_phone_takes_the_place_of_the_old_one() {
    let tel = json!(["+386 41 123 456", "+49 170 555"]);
    let given = as_read_with(APPLE, json!({ "tel": tel }));
    let want = swap(
        APPLE,
        "TEL;type=CELL;type=VOICE:+386 40 999 000",
        "TEL:+49 170 555",
    );
    assert_eq!(update(APPLE, &given), want);
}

#[test]
fn apple_removed_phone_takes_its_label_along() {
    let given = as_read_with(APPLE, json!({"tel": ["+386 40 999 000"]}));
    let want = swap(
        APPLE,
        "item1.TEL;type=pref:+386 41 123 456\r\nitem1.X-ABLabel:_$!<Mobile>!$_\r\n",
        "",
    );
    assert_eq!(update(APPLE, &given), want);
}

#[test]
fn apple_added_phone_goes_after_the_last_one_and_its_group() {
    let tel = json!(["+386 41 123 456", "+386 40 999 000", "+49 170 555"]);
    let want = swap(
        APPLE,
        "TEL;type=CELL;type=VOICE:+386 40 999 000\r\n",
        "TEL;type=CELL;type=VOICE:+386 40 999 000\r\nTEL:+49 170 555\r\n",
    );
    assert_eq!(update(APPLE, &only(json!({ "tel": tel }))), want);
    // after a grouped last phone: behind its label
    let tel = json!(["+386 40 999 000", "+386 41 123 456", "+49 170 555"]);
    let reordered = update(APPLE, &only(json!({ "tel": tel })));
    let want = swap(
        APPLE,
        "item1.TEL;type=pref:+386 41 123 456\r\nitem1.X-ABLabel:_$!<Mobile>!$_\r\nTEL;type=CELL;type=VOICE:+386 40 999 000\r\n",
        "TEL;type=CELL;type=VOICE:+386 40 999 000\r\nitem1.TEL;type=pref:+386 41 123 456\r\nTEL:+49 170 555\r\nitem1.X-ABLabel:_$!<Mobile>!$_\r\n",
    );
    assert_eq!(reordered, want, "a new order is written as one block");
    let tel = fields(&lines(&reordered).unwrap())["tel"].clone();
    assert_eq!(
        tel,
        json!(["+386 40 999 000", "+386 41 123 456", "+49 170 555"])
    );
}

#[test]
fn apple_org_with_a_unit_stays_unless_it_changes() {
    let given = as_read_with(APPLE, json!({"title": "Leiterin"}));
    let want = swap(APPLE, "END:VCARD", "TITLE:Leiterin\r\nEND:VCARD");
    assert_eq!(update(APPLE, &given), want);
    let given = only(json!({"org": "Novak, d.o.o."}));
    let want = swap(APPLE, "ORG:Novak d.o.o.;Vertrieb;", "ORG:Novak\\, d.o.o.");
    assert_eq!(update(APPLE, &given), want);
}

#[test]
fn google_changed_email_keeps_the_other_and_every_other_line() {
    let given = as_read_with(
        GOOGLE,
        json!({"email": ["jan@nowy.pl", "jan.kowalski@firma.pl"], "title": "Dyrektor"}),
    );
    let want = swap(
        GOOGLE,
        "EMAIL;TYPE=INTERNET;TYPE=HOME:jan@example.pl",
        "EMAIL;TYPE=INTERNET:jan@nowy.pl",
    );
    let want = swap(&want, "TITLE:Kierownik", "TITLE:Dyrektor");
    assert_eq!(update(GOOGLE, &given), want);
}

#[test]
fn nextcloud_4_0_keeps_lf_params_and_folds() {
    let given = as_read_with(
        NEXTCLOUD,
        json!({"tel": ["+33-1-23-45-67-89", "+33 6 12 34 56 78"], "note": "Nobel 1903"}),
    );
    let want = swap(
        NEXTCLOUD,
        "tel:+33-1-23-45-67-89\n",
        "tel:+33-1-23-45-67-89\nTEL;VALUE=text:+33 6 12 34 56 78\n",
    );
    let want = swap(&want, "END:VCARD", "NOTE:Nobel 1903\nEND:VCARD");
    assert_eq!(update(NEXTCLOUD, &given), want);
}

#[test]
fn nextcloud_changed_address_is_a_new_line_in_the_old_place() {
    let mut adr = fields(&lines(NEXTCLOUD).unwrap())["adr"][0].clone();
    adr["street"] = json!("12 rue Cuvier");
    let got = update(NEXTCLOUD, &only(json!({ "adr": [adr] })));
    let old = "ADR;TYPE=home;PREF=1;LABEL=\"1 rue Pierre et Marie Curie\\n75005 Paris\":;;1 r\n ue Pierre et Marie Curie;Paris;;75005;France\n";
    let want = swap(
        NEXTCLOUD,
        old,
        "ADR;TYPE=home:;;12 rue Cuvier;Paris;;75005;France\n",
    );
    assert_eq!(got, want);
}

#[test]
fn folded_lines_stay_folded_as_they_were() {
    let given = as_read_with(FOLDED, json!({"title": "Steuerberaterin"}));
    let want = swap(FOLDED, "END:VCARD", "TITLE:Steuerberaterin\r\nEND:VCARD");
    assert_eq!(update(FOLDED, &given), want);
    // a long new value is folded at 75 octets
    let long = "Mandantin seit 2011, Ansprechpartnerin für alle Fragen der Lohnbuchhaltung";
    let got = update(FOLDED, &only(json!({ "note": long })));
    let want = swap(
        FOLDED,
        "NOTE:Zweite Notiz\r\n",
        "NOTE:Mandantin seit 2011\\, Ansprechpartnerin für alle Fragen der Lohnbuchh\r\n altung\r\n",
    );
    assert_eq!(got, want);
}

#[test]
fn of_two_notes_only_the_one_read_changes() {
    let given = as_read_with(FOLDED, json!({"n": {"given": "Eva Maria"}}));
    let want = swap(FOLDED, "N:Berger;Eva;;Dr.;", "N:Berger;Eva Maria;;Dr.;");
    assert_eq!(update(FOLDED, &given), want, "an `n` part keeps the others");
    let got = update(FOLDED, &only(json!({"note": "Dritte Notiz"})));
    assert_eq!(got, swap(FOLDED, "NOTE:Zweite Notiz", "NOTE:Dritte Notiz"));
    let got = update(FOLDED, &only(json!({ "note": null })));
    let first = "NOTE:Erster Kontakt über die Messe in Leipzig\\, danach mehrere Telefonate zu\r\n r Jahresplanung\r\n";
    let want = swap(&swap(FOLDED, first, ""), "NOTE:Zweite Notiz\r\n", "");
    assert_eq!(got, want, "a removed note removes every NOTE");
}

#[test]
fn folded_org_units_stay_and_a_changed_org_keeps_its_group_and_params() {
    let given = as_read_with(FOLDED, json!({"note": "Zweite Notiz"}));
    assert_eq!(update(FOLDED, &given), FOLDED);
    let card = swap(
        APPLE,
        "ORG:Novak d.o.o.;Vertrieb;",
        "item3.ORG;LANGUAGE=sl:Novak d.o.o.;Vertrieb;",
    );
    let got = update(&card, &only(json!({"org": "Novak GmbH"})));
    assert_eq!(got, swap(&card, "Novak d.o.o.;Vertrieb;", "Novak GmbH"));
}

#[test]
fn an_encoded_value_is_written_fresh() {
    let card = swap(
        FOLDED,
        "NOTE:Zweite Notiz",
        "NOTE;CHARSET=UTF-8;ENCODING=QUOTED-PRINTABLE:Gr=C3=BC=C3=9Fe",
    );
    let got = update(&card, &only(json!({"note": "Grüße"})));
    assert_eq!(got, FOLDED.replace("NOTE:Zweite Notiz", "NOTE:Grüße"));
}
