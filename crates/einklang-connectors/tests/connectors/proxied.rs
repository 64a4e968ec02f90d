//! The compliance kit through the fault proxy without rules, against each
//! server kind: the proxy passes every byte on unchanged (the kit's
//! creates, conditional updates, deletes and reads all come out as they
//! do directly), so a test that adds a rule sees only its fault.

use crate::carddav::Book;
use crate::http::{connect, kommo};
use crate::settings;
use einklang_connectors::{open, Connector};
use einklang_emulator::{Emulator, Options};
use einklang_testkit::proxy::{Counters, FaultProxy, Mode};
use einklang_testkit::{PgDb, DAV_PASSWORD, DAV_USER};
use serde_json::json;

/// A DAV connector of `kind` for `book` that talks through `proxy`.
pub fn through(proxy: &FaultProxy, book: &Book, kind: &str) -> Box<dyn Connector> {
    let path = &book.url[book.url.find("/alice/").unwrap()..];
    let url = format!("{}{path}", proxy.url());
    let s = json!({"url": url, "username": DAV_USER, "password": DAV_PASSWORD});
    open("book", kind, &settings(s), std::path::Path::new(".")).unwrap()
}

/// Everything was forwarded, nothing faulted.
fn untouched(c: Counters) {
    assert!(c.requests > 10 && c.forwarded == c.requests, "{c:?}");
    assert_eq!(
        c.answers_dropped + c.resets + c.injected + c.delayed,
        0,
        "{c:?}"
    );
}

#[test]
fn kit_carddav_through_the_fault_proxy() {
    let Some(book) = Book::new("kit-proxied") else {
        return;
    };
    let card =
        "BEGIN:VCARD\r\nVERSION:3.0\r\nUID:bestand\r\nFN:Bestand\r\nX-KEEP:yes\r\nEND:VCARD\r\n";
    book.put("bestand.vcf", card);
    let proxy = FaultProxy::start(Mode::Http, &book.url).unwrap();
    crate::kit::run(through(&proxy, &book, "carddav").as_mut(), "href");
    untouched(proxy.counters());
}

#[test]
fn kit_http_through_the_fault_proxy() {
    let emu = Emulator::start(Options {
        api_key: Some("k-proxied-1".into()),
        ..Options::default()
    });
    emu.insert(json!({"fn": "Bestand"}));
    let proxy = FaultProxy::start(Mode::Http, &emu.url).unwrap();
    let key = json!({"header": "X-Api-Key", "value": "k-proxied-1"});
    crate::kit::run(connect(kommo(&proxy.url(), key)).as_mut(), "id");
    untouched(proxy.counters());
}

#[test]
fn kit_postgres_table_through_the_fault_proxy() {
    let Some(db) = PgDb::new("conn_kit_proxied") else {
        return;
    };
    db.sql(
        "CREATE TABLE kontakte (id TEXT PRIMARY KEY, fn TEXT, note TEXT, title TEXT, extra TEXT);
            INSERT INTO kontakte VALUES ('K-1', 'Bestand', NULL, NULL, 'keep');",
    );
    let proxy = FaultProxy::start(Mode::Pg, &db.url).unwrap();
    let url = db.url_via(proxy.addr());
    crate::kit::run(
        crate::postgres::connector_at(&url, "kontakte", json!({})).as_mut(),
        "id",
    );
    untouched(proxy.counters());
}
