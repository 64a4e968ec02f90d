//! Issue 10, item 7: a value einklang cannot read costs the record
//! nothing (it is kept flagged, written back as it was, counted
//! `flagged`), and a value that differs from the hub's only by
//! normalisation is no change: einklang never rewrites a user's formatting
//! in a source it did not change.

use crate::harness::*;
use einklang_connectors::memory::MemoryOptions;
use serde_json::json;

/// `crm` in memory, `book` a real CSV file (partial updates: an update
/// rewrites only the cells it is given).
const CONFIG: &str = r#"
[entities.contact]
name = "text"
email = "email"
phone = "phone"
city = "text"
birthday = "date"
customer_no = { type = "text", required = true }

[connectors.crm]
kind = "jsonl"
path = "memory-crm.jsonl"

[connectors.book]
kind = "csv"
path = "book.csv"

[map.crm.contact]
id = "id"
[map.crm.contact.fields]
name = "name"
email = "email"
phone = "phone"
city = "city"
birthday = { from = "born", date = "%d.%m.%Y" }
customer_no = "no"

[map.book.contact]
id = "id"
[map.book.contact.fields]
name = "Name"
email = "E-Mail"
phone = "Telefon"
city = "Ort"
birthday = "Geburtstag"
customer_no = "Nr"

[jobs.sync]
sync = ["crm", "book"]

[conflicts.contact]
default = { authority = "crm" }
"#;

fn hub_with_book(book: &str) -> Hub {
    let hub = Hub::new(CONFIG, &[("crm", MemoryOptions::default())]);
    std::fs::write(hub.dir().join("book.csv"), book).unwrap();
    hub
}

fn book(hub: &Hub) -> String {
    std::fs::read_to_string(hub.dir().join("book.csv")).unwrap()
}

#[test]
fn invalid_phone_keeps_the_record_flagged() {
    let mut hub = hub_with_book("id,Name,E-Mail,Telefon,Ort,Nr,Geburtstag\n");
    let id = hub.remote("crm").insert(raw(json!({
        "name": "Anna Novak", "phone": " 0170 12 ", "email": "anna@@example", "city": "Graz", "no": "K-1",
        "born": "31.02.1980"
    })));
    let r = hub.sync("sync");
    assert_eq!(
        (
            count(&r, "quarantined"),
            count(&r, "created"),
            count(&r, "flagged")
        ),
        (0, 1, 1),
        "{:#?}",
        r.counters
    );
    assert_eq!(r.status.as_str(), "succeeded", "a flag is no failure");
    let record = hub.record_of("crm", &id);
    assert_eq!(record.values["phone"]["invalid"], json!("0170 12"));
    assert_eq!(record.values["email"]["invalid"], json!("anna@@example"));
    assert!(
        record.values["phone"]["reason"]
            .as_str()
            .is_some_and(|r| r.contains("0170 12")),
        "{:?}",
        record.values
    );
    assert_eq!(record.values["city"], json!("Graz"));
    assert_eq!(record.values["birthday"]["invalid"], json!("31.02.1980"));
    // the other side is written the raw text, as the source holds it
    let text = book(&hub);
    assert!(
        text.contains(",Anna Novak,anna@@example,0170 12,Graz,K-1,31.02.1980"),
        "{text}"
    );
    // the book reads the date without the crm's format, and its reading is
    // the same flag: no change either way, ever
    let again = hub.sync("sync");
    assert_quiet(&again);
    assert_eq!(count(&again, "flagged"), 1, "the book's row holds it too");
    assert_quiet(&hub.sync("sync"));

    // the source fixes the number: an ordinary change from the flag
    hub.remote("crm")
        .update(&id, raw(json!({"phone": "0170 1039595"})));
    let fixed = hub.sync("sync");
    assert_eq!(count(&fixed, "updated"), 1, "{:#?}", fixed.counters);
    assert_eq!(
        hub.record_of("crm", &id).values["phone"],
        json!("+491701039595")
    );
    assert!(book(&hub).contains(",+491701039595,"), "{}", book(&hub));
    assert_quiet(&hub.sync("sync"));
}

#[test]
fn a_required_field_missing_or_unreadable_still_quarantines() {
    let mut hub = hub_with_book("id,Name,E-Mail,Telefon,Ort,Nr,Geburtstag\n");
    hub.remote("crm")
        .insert(raw(json!({"name": "No Number", "phone": "0170 12"})));
    hub.remote("crm")
        .insert(raw(json!({"name": "Two Numbers", "no": ["K-1", "K-2"]})));
    let r = hub.sync("sync");
    assert_eq!(
        (count(&r, "quarantined"), count(&r, "created")),
        (2, 0),
        "{:#?}",
        r.counters
    );
}

#[test]
fn a_value_that_differs_only_by_normalisation_is_no_change() {
    // the book holds the number, the address and the name as a person typed them
    let row = "b1,  Anna Novak ,Anna.Novak@Example.COM,0170 1039595,Graz,K-1,1980-02-03";
    let original = format!("id,Name,E-Mail,Telefon,Ort,Nr,Geburtstag\n{row}\n");
    let mut hub = hub_with_book(&original);
    let first = hub.sync("sync");
    assert_eq!(count(&first, "pushed_create"), 1, "{:#?}", first.counters);
    let (crm_id, crm) = hub.find("crm", "name", "Anna Novak");
    assert_eq!(crm["phone"], json!("+491701039595"), "the hub value");
    assert_eq!(crm["email"], json!("anna.novak@example.com"));
    assert_eq!(book(&hub), original, "nothing written to the book");
    assert_quiet(&hub.sync("sync"));
    assert_eq!(book(&hub), original);

    // the hub changes another field: the update carries only that one
    hub.remote("crm")
        .update(&crm_id, raw(json!({"city": "Wien"})));
    let r = hub.sync("sync");
    assert_eq!(count(&r, "pushed_update"), 1, "{:#?}", r.counters);
    assert_eq!(
        book(&hub),
        original.replace(",Graz,", ",Wien,"),
        "the phone, e-mail and name keep their formatting"
    );
    assert_quiet(&hub.sync("sync"));

    // a person reformats the number in the book: no change either way
    let reformatted = book(&hub).replace("0170 1039595", "+49 (170) 103 95 95");
    std::fs::write(hub.dir().join("book.csv"), &reformatted).unwrap();
    let r = hub.sync("sync");
    assert_quiet(&r);
    assert_eq!(book(&hub), reformatted);
    assert_eq!(
        hub.remote("crm").get(&crm_id).unwrap()["phone"],
        json!("+491701039595")
    );
}

/// A list read from several raw fields (`phones` from `Telefon` and
/// `Mobil`) changes in one element: only that element's cell is written.
/// (The whole list was written back, each number in E.164, so the cell a
/// person typed as `0170 1039595` was rewritten though its number had not
/// changed.)
#[test]
fn a_list_spread_over_columns_rewrites_only_the_cell_that_changed() {
    const LISTS: &str = r#"
[entities.contact]
name = "text"
phones = "phones"

[connectors.crm]
kind = "jsonl"
path = "memory-crm.jsonl"

[connectors.book]
kind = "csv"
path = "book.csv"

[map.crm.contact]
id = "id"
[map.crm.contact.fields]
name = "name"
phones = "phones"

[map.book.contact]
id = "id"
[map.book.contact.fields]
name = "Name"
phones = { from = ["Telefon", "Mobil", "Fax"] }

[jobs.sync]
sync = ["crm", "book"]

[conflicts.contact]
default = { authority = "crm" }
"#;
    let mut hub = Hub::new(LISTS, &[("crm", MemoryOptions::default())]);
    let original = "id,Name,Telefon,Mobil,Fax\nb1,Anna Novak,0170 1039595,089 / 123 45 67,\n";
    std::fs::write(hub.dir().join("book.csv"), original).unwrap();
    hub.sync("sync");
    let (crm_id, crm) = hub.find("crm", "name", "Anna Novak");
    assert_eq!(crm["phones"], json!(["+491701039595", "+49891234567"]));
    assert_eq!(book(&hub), original);
    hub.remote("crm").update(
        &crm_id,
        raw(json!({"phones": ["+491701039595", "+49891234567", "+43664123456"]})),
    );
    let r = hub.sync("sync");
    assert_eq!(count(&r, "pushed_update"), 1, "{:#?}", r.counters);
    // the new number goes into the free cell; the two known cells keep
    // what a person typed
    assert_eq!(
        book(&hub),
        "id,Name,Telefon,Mobil,Fax\nb1,Anna Novak,0170 1039595,089 / 123 45 67,+43664123456\n"
    );
    assert_quiet(&hub.sync("sync"));
}
