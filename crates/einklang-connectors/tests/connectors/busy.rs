//! A busy server — `429`, or `503` with `Retry-After` — is waited out on
//! every request of every HTTP connector, the very first one included
//! (the probe found that a 429 on the first CardDAV request failed the
//! read), and not for ever: the fault proxy answers in the server's place.

use crate::carddav::Book;
use crate::http::{connect, kommo};
use crate::proxied::through;
use crate::{card_text, create, read_fields};
use einklang_connectors::WriteErrorKind;
use einklang_emulator::{Emulator, Options};
use einklang_testkit::proxy::{FaultProxy, Mode, Rule};
use serde_json::json;
use std::time::{Duration, Instant};

fn busy_once(status: u16) -> Rule {
    Rule::inject(status).header("Retry-After", "1").once()
}

#[test]
fn a_429_on_the_first_carddav_request_is_waited_out() {
    let Some(book) = Book::new("busy-first") else {
        return;
    };
    book.put("anna.vcf", &card_text("anna"));
    let proxy = FaultProxy::start(Mode::Http, &book.url).unwrap();
    proxy.add(busy_once(429));
    let started = Instant::now();
    let fields = read_fields(through(&proxy, &book, "carddav").as_mut());
    assert_eq!(fields.len(), 1);
    assert!(
        started.elapsed() >= Duration::from_secs(1),
        "Retry-After waited"
    );
    proxy.add(busy_once(429));
    through(&proxy, &book, "carddav").probe().unwrap();
    assert_eq!(proxy.counters().injected, 2);
}

#[test]
fn a_429_on_the_first_caldav_request_is_waited_out() {
    let Some(book) = Book::of_kind("busy-cal", "caldav") else {
        return;
    };
    let proxy = FaultProxy::start(Mode::Http, &book.url).unwrap();
    proxy.add(busy_once(429));
    assert_eq!(
        read_fields(through(&proxy, &book, "caldav").as_mut()).len(),
        0
    );
    assert_eq!(proxy.counters().injected, 1);
}

#[test]
fn a_429_on_the_first_carddav_write_is_waited_out() {
    let Some(book) = Book::new("busy-write") else {
        return;
    };
    let proxy = FaultProxy::start(Mode::Http, &book.url).unwrap();
    proxy.add(busy_once(429).method("PUT"));
    let mut c = through(&proxy, &book, "carddav");
    let results = c
        .write("href", &[create("ek-1", json!({"fn": "Bert"}))])
        .unwrap();
    let made = results[0].as_ref().expect("the create, after waiting");
    assert_eq!(book.request("GET", &made.id, &[], "").0, 200);
    assert_eq!(proxy.counters().injected, 1);
}

#[test]
fn a_503_with_retry_after_on_a_carddav_write_is_waited_out() {
    let Some(book) = Book::new("busy-503") else {
        return;
    };
    let proxy = FaultProxy::start(Mode::Http, &book.url).unwrap();
    proxy.add(busy_once(503).method("PUT"));
    let mut c = through(&proxy, &book, "carddav");
    let results = c
        .write("href", &[create("ek-2", json!({"fn": "Cleo"}))])
        .unwrap();
    assert!(results[0].is_ok(), "{results:?}");
    assert_eq!(proxy.counters().injected, 1);
}

#[test]
fn a_busy_carddav_server_is_waited_out_only_so_often_and_so_long() {
    let Some(book) = Book::new("busy-always") else {
        return;
    };
    let proxy = FaultProxy::start(Mode::Http, &book.url).unwrap();
    proxy.add(Rule::inject(429).header("Retry-After", "0"));
    let err = through(&proxy, &book, "carddav")
        .read()
        .map(|_| ())
        .unwrap_err();
    let text = err.to_string();
    assert!(
        text.contains("connector `book`") && text.contains("PROPFIND /alice/"),
        "{text}"
    );
    assert!(text.contains("→ 429"), "{text}");
    assert_eq!(
        proxy.counters().injected,
        3,
        "three attempts, then the read fails"
    );
    proxy.clear();
    proxy.add(
        Rule::inject(429)
            .header("Retry-After", "3600")
            .method("PUT"),
    );
    let mut c = through(&proxy, &book, "carddav");
    let started = Instant::now();
    let results = c
        .write("href", &[create("ek-3", json!({"fn": "Dora"}))])
        .unwrap();
    let kind = &results[0].as_ref().unwrap_err().kind;
    assert_eq!(
        kind,
        &WriteErrorKind::RateLimited {
            retry_after_secs: Some(3600)
        }
    );
    assert!(
        started.elapsed() < Duration::from_secs(10),
        "an hour is not waited in place"
    );
}

#[test]
fn a_429_on_the_oauth2_token_request_is_waited_out() {
    let emu = Emulator::start(Options {
        oauth: Some(("einklang".into(), "cl-s3cret".into())),
        ..Options::default()
    });
    emu.insert(json!({"name": "A"}));
    let proxy = FaultProxy::start(Mode::Http, &emu.url).unwrap();
    proxy.add(busy_once(429).path("/oauth2/token"));
    let token_url = format!("{}/oauth2/token", proxy.url());
    let auth = json!({"oauth2": {"token_url": token_url, "client_id": "einklang", "client_secret": "cl-s3cret"}});
    let mut c = connect(kommo(&proxy.url(), auth));
    assert_eq!(c.read().unwrap().count(), 1);
    assert_eq!((proxy.counters().injected, emu.count("TOKEN")), (1, 1));
}

#[test]
fn a_503_with_an_http_date_retry_after_on_a_create_is_waited_out() {
    let emu = Emulator::start(Options::default());
    let proxy = FaultProxy::start(Mode::Http, &emu.url).unwrap();
    let at = chrono::Utc::now() + chrono::Duration::seconds(3);
    let date = at.format("%a, %d %b %Y %H:%M:%S GMT").to_string();
    proxy.add(
        Rule::inject(503)
            .header("Retry-After", &date)
            .method("POST")
            .once(),
    );
    let mut s = kommo(&proxy.url(), json!(null));
    s.as_object_mut().unwrap().remove("auth");
    let mut c = connect(s);
    let started = Instant::now();
    let results = c
        .write("id", &[create("ek-4", json!({"fn": "Emil"}))])
        .unwrap();
    assert!(results[0].is_ok(), "{results:?}");
    assert_eq!(emu.all().len(), 1, "created once");
    assert!(
        started.elapsed() >= Duration::from_secs(2),
        "waited until {date}"
    );
}
