//! The HTTP proxy in front of the REST emulator and Radicale.

use crate::{agent, call};
use einklang_emulator::{Emulator, Options};
use einklang_testkit::proxy::{FaultProxy, Mode, Rule};
use einklang_testkit::{dav_base, DAV_PASSWORD, DAV_USER};
use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

const CONTACTS: &str = "/api/v4/contacts";

fn emulator() -> (Emulator, FaultProxy) {
    let emu = Emulator::start(Options::default());
    let proxy = FaultProxy::start(Mode::Http, &emu.url).unwrap();
    (emu, proxy)
}

fn post_contact(url: &str, name: &str) -> Result<(u16, String, String), ureq::Error> {
    let body = format!(r#"[{{"fn": "{name}"}}]"#);
    let json = [("Content-Type", "application/json")];
    call(&agent(), "POST", &format!("{url}{CONTACTS}"), &json, &body)
}

#[test]
fn a_post_whose_answer_was_dropped_is_applied_on_the_server() {
    let (emu, proxy) = emulator();
    let rule = proxy.add(Rule::drop_answer().method("POST").path(CONTACTS).once());
    let lost = post_contact(&proxy.url(), "Anna");
    assert!(
        lost.is_err(),
        "the client must not see the answer: {lost:?}"
    );
    assert_eq!(emu.all().len(), 1, "the server created the contact");
    assert_eq!(emu.all()[0]["fn"], "Anna");
    assert_eq!(proxy.hits(rule), 1);
    assert_eq!(proxy.counters().answers_dropped, 1);
    // the rule is used up: the next POST goes through
    let (status, _, _) = post_contact(&proxy.url(), "Bert").unwrap();
    assert_eq!(status, 200);
    assert_eq!(emu.all().len(), 2);
}

#[test]
fn a_reset_closes_the_connection_before_the_request_is_forwarded() {
    let (emu, proxy) = emulator();
    proxy.add(Rule::reset().method("POST").once());
    assert!(post_contact(&proxy.url(), "Anna").is_err());
    assert_eq!(emu.all().len(), 0, "the server never saw it");
    assert_eq!(emu.count("POST"), 0);
    assert_eq!(proxy.counters().resets, 1);
}

#[test]
fn an_injected_429_is_answered_without_forwarding() {
    let (emu, proxy) = emulator();
    proxy.add(Rule::inject(429).header("Retry-After", "7").once());
    let url = format!("{}{CONTACTS}", proxy.url());
    let a = agent();
    let (status, head, _) = call(&a, "GET", &url, &[], "").unwrap();
    assert_eq!(status, 429);
    assert!(head.to_lowercase().contains("retry-after: 7"), "{head}");
    assert_eq!(emu.count("GET"), 0);
    let (status, _, _) = call(&a, "GET", &url, &[], "").unwrap();
    assert_eq!(status, 204, "an empty list, from the emulator");
    assert_eq!(emu.count("GET"), 1);
    let c = proxy.counters();
    assert_eq!((c.injected, c.forwarded, c.connections), (1, 1, 1), "{c:?}");
}

#[test]
fn a_delay_holds_the_answer() {
    let (emu, proxy) = emulator();
    proxy.add(Rule::delay(Duration::from_millis(400)).method("GET"));
    let started = Instant::now();
    let (status, _, _) = call(
        &agent(),
        "GET",
        &format!("{}{CONTACTS}", proxy.url()),
        &[],
        "",
    )
    .unwrap();
    assert_eq!(status, 204);
    assert!(started.elapsed() >= Duration::from_millis(400));
    assert_eq!((emu.count("GET"), proxy.counters().delayed), (1, 1));
}

/// Read one answer whose body has a Content-Length, or none (204).
fn read_answer(s: &mut TcpStream) -> String {
    let mut head = Vec::new();
    let mut byte = [0u8; 1];
    while !head.ends_with(b"\r\n\r\n") {
        s.read_exact(&mut byte).unwrap();
        head.push(byte[0]);
    }
    let head = String::from_utf8(head).unwrap();
    let len = head
        .lines()
        .find_map(|l| {
            l.to_lowercase()
                .strip_prefix("content-length:")
                .map(|v| v.trim().parse::<usize>().unwrap())
        })
        .unwrap_or(0);
    let mut body = vec![0u8; len];
    s.read_exact(&mut body).unwrap();
    format!("{head}{}", String::from_utf8(body).unwrap())
}

#[test]
fn one_connection_carries_a_chunked_request_and_more_requests() {
    let (emu, proxy) = emulator();
    let mut s = TcpStream::connect(proxy.addr()).unwrap();
    let json = r#"[{"fn": "Chunked Carla"}]"#;
    let (a, b) = json.split_at(9);
    let post = format!(
        "POST {CONTACTS} HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n{:x};ext=1\r\n{a}\r\n{:x}\r\n{b}\r\n0\r\n\r\n",
        a.len(),
        b.len()
    );
    s.write_all(post.as_bytes()).unwrap();
    let created = read_answer(&mut s);
    assert!(created.starts_with("HTTP/1.1 200"), "{created}");
    assert!(created.contains("\"id\":1"), "{created}");
    s.write_all(format!("GET {CONTACTS}/1 HTTP/1.1\r\nHost: x\r\n\r\n").as_bytes())
        .unwrap();
    let got = read_answer(&mut s);
    assert!(got.contains("Chunked Carla"), "{got}");
    s.write_all(format!("GET {CONTACTS}/9 HTTP/1.1\r\nHost: x\r\n\r\n").as_bytes())
        .unwrap();
    assert!(read_answer(&mut s).starts_with("HTTP/1.1 204"));
    assert_eq!(emu.all().len(), 1);
    let c = proxy.counters();
    assert_eq!((c.connections, c.requests, c.forwarded), (1, 3, 3), "{c:?}");
}

/// A fresh address book on Radicale; its URL relative to `base`.
fn address_book(base: &str, tag: &str) -> String {
    let book = format!("{tag}-{}/", std::process::id());
    let auth = [("Authorization", basic())];
    let auth: Vec<(&str, &str)> = auth.iter().map(|(k, v)| (*k, v.as_str())).collect();
    call(&agent(), "DELETE", &format!("{base}{book}"), &auth, "").unwrap();
    let mkcol = r#"<?xml version="1.0" encoding="utf-8"?><D:mkcol xmlns:D="DAV:" xmlns:C="urn:ietf:params:xml:ns:carddav"><D:set><D:prop><D:resourcetype><D:collection/><C:addressbook/></D:resourcetype></D:prop></D:set></D:mkcol>"#;
    let (status, _, body) =
        call(&agent(), "MKCOL", &format!("{base}{book}"), &auth, mkcol).unwrap();
    assert_eq!(status, 201, "{body}");
    book
}

fn basic() -> String {
    // base64 of alice:alicepw, the test server's user
    assert_eq!((DAV_USER, DAV_PASSWORD), ("alice", "alicepw"));
    "Basic YWxpY2U6YWxpY2Vwdw==".to_string()
}

#[test]
fn a_big_card_passes_through_unchanged_and_a_dropped_put_is_stored() {
    let Some(base) = dav_base() else { return };
    let book = address_book(&base, "proxy-big");
    let proxy = FaultProxy::start(Mode::Http, &base).unwrap();
    let via = format!("{}{}", proxy.url(), &base[base.find("/alice/").unwrap()..]);
    let auth = basic();
    let vcard = [
        ("Authorization", auth.as_str()),
        ("Content-Type", "text/vcard"),
    ];
    let note: String = (0..400_000)
        .map(|i| char::from(b'a' + (i % 26) as u8))
        .collect();
    let card =
        format!("BEGIN:VCARD\r\nVERSION:3.0\r\nUID:big\r\nFN:Big\r\nNOTE:{note}\r\nEND:VCARD\r\n");
    let (status, _, _) = call(
        &agent(),
        "PUT",
        &format!("{via}{book}big.vcf"),
        &vcard,
        &card,
    )
    .unwrap();
    assert_eq!(status, 201);
    let get = |root: &str| {
        call(
            &agent(),
            "GET",
            &format!("{root}{book}big.vcf"),
            &vcard[..1],
            "",
        )
        .unwrap()
    };
    let (direct, proxied) = (get(&base), get(&via));
    assert_eq!(proxied.0, 200);
    assert_eq!(proxied.2, direct.2, "the proxy changed the body");
    assert!(proxied.2.len() > 400_000);

    proxy.add(Rule::drop_answer().method("PUT").once());
    let lost = call(
        &agent(),
        "PUT",
        &format!("{via}{book}lost.vcf"),
        &vcard,
        &card.replace("UID:big", "UID:lost"),
    );
    assert!(lost.is_err(), "{lost:?}");
    let (status, _, text) = call(
        &agent(),
        "GET",
        &format!("{base}{book}lost.vcf"),
        &vcard[..1],
        "",
    )
    .unwrap();
    assert_eq!(
        status, 200,
        "Radicale stored the card whose answer was dropped"
    );
    assert!(text.contains("UID:lost"));
}
