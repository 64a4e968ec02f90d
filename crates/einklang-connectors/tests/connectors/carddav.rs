//! `carddav` against a real Radicale (started by scripts/test with htpasswd
//! auth; required when `CI=true`): the compliance kit, unknown properties
//! kept on write-back, the sync-collection change feed, lost create
//! answers, and errors that name method, path and status but never the
//! password.

use crate::{create, settings, update_if};
use einklang_connectors::{open, Connector, Lookup, ReadItem, WriteErrorKind};
use einklang_testkit::{dav_base, DAV_PASSWORD as PASSWORD, DAV_USER as USER};
use serde_json::json;

/// A fresh address book on the test server, and raw HTTP to play another client.
pub struct Book {
    pub url: String,
    agent: ureq::Agent,
    kind: &'static str,
}

impl Book {
    pub fn new(tag: &str) -> Option<Book> {
        Book::of_kind(tag, "carddav")
    }

    /// A fresh collection for `kind` (`carddav` or `caldav`).
    pub fn of_kind(tag: &str, kind: &'static str) -> Option<Book> {
        let url = format!("{}{tag}-{}/", dav_base()?, std::process::id());
        let agent: ureq::Agent = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .allow_non_standard_methods(true)
            .build()
            .into();
        let book = Book { url, agent, kind };
        book.request("DELETE", "", &[], "");
        let made = book.connector().install().unwrap();
        assert_eq!(made.len(), 1, "{made:?}");
        Some(book)
    }

    pub fn connector(&self) -> Box<dyn Connector> {
        let s = json!({"url": self.url, "username": USER, "password": PASSWORD});
        open("book", self.kind, &settings(s), std::path::Path::new(".")).unwrap()
    }

    /// One request as another client: (status, etag, body).
    pub fn request(
        &self,
        method: &str,
        name: &str,
        headers: &[(&str, &str)],
        body: &str,
    ) -> (u16, Option<String>, String) {
        let auth = format!("Basic {}", "YWxpY2U6YWxpY2Vwdw=="); // alice:alicepw
        let mut req = ureq::http::Request::builder()
            .method(method)
            .uri(format!("{}{name}", self.url))
            .header("Authorization", auth);
        for (k, v) in headers {
            req = req.header(*k, *v);
        }
        let mut res = self.agent.run(req.body(body.to_string()).unwrap()).unwrap();
        let etag = res
            .headers()
            .get("etag")
            .map(|v| v.to_str().unwrap().to_string());
        let text = res.body_mut().read_to_string().unwrap_or_default();
        (res.status().as_u16(), etag, text)
    }

    /// PUT a card (or an event) as another client; its ETag.
    pub fn put(&self, name: &str, card: &str) -> String {
        let media = if self.kind == "caldav" {
            "text/calendar"
        } else {
            "text/vcard"
        };
        let (status, etag, body) = self.request("PUT", name, &[("Content-Type", media)], card);
        assert!(
            status == 201 || status == 204,
            "PUT {name}: {status} {body}"
        );
        etag.unwrap()
    }
}

/// A test's collection goes with it, so the server lists only those of
/// tests still running (discovery's error names them all).
impl Drop for Book {
    fn drop(&mut self) {
        let auth = format!("Basic {}", "YWxpY2U6YWxpY2Vwdw=="); // alice:alicepw
        let req = ureq::http::Request::builder()
            .method("DELETE")
            .uri(&self.url)
            .header("Authorization", auth)
            .body(String::new());
        if let Ok(req) = req {
            let _ = self.agent.run(req); // not while unwinding: never panic here
        }
    }
}

fn card(uid: &str, fn_: &str, extra: &str) -> String {
    format!("BEGIN:VCARD\r\nVERSION:3.0\r\nUID:{uid}\r\nFN:{fn_}\r\nN:;{fn_};;;\r\n{extra}END:VCARD\r\n")
}

#[test]
fn kit_carddav() {
    let Some(book) = Book::new("kit") else { return };
    book.put("bestand.vcf", &card("bestand", "Bestand", "X-KEEP:yes\r\n"));
    let mut c = book.connector();
    crate::kit::run(c.as_mut(), "href");
    let caps = c.capabilities();
    assert!(caps.change_feed && caps.list_versions && caps.conditional_writes && !caps.client_ids);
}

#[test]
fn carddav_write_back_keeps_unknown_properties_and_the_uid() {
    let Some(book) = Book::new("keep") else {
        return;
    };
    let extra = "X-ADVOWARE-ID:4711\r\nTEL;TYPE=CELL:+49 170 1234567\r\nitem1.TEL;TYPE=pref:+386 41 123 456\r\nitem1.X-ABLabel:Praxis\r\nORG:Novak d.o.o.;Vertrieb\r\nNOTE:eins\r\nNOTE:zwei\r\nPHOTO;VALUE=uri:http://example.com/a.jpg\r\n";
    book.put("anna.vcf", &card("uid-anna-1", "Anna Novak", extra));
    let mut c = book.connector();
    let read = crate::read_all(c.as_mut()).0;
    assert_eq!(read[0].fields["href"], json!("anna.vcf"));
    assert_eq!(
        read[0].fields["tel"],
        json!(["+49 170 1234567", "+386 41 123 456"])
    );
    let op = update_if(
        "anna.vcf",
        json!({"title": "Dr.", "fn": "Anna Novak-Kos"}),
        read[0].version.clone(),
    );
    let outcome = c.write("href", &[op]).unwrap().remove(0).unwrap();
    let (status, etag, text) = book.request("GET", "anna.vcf", &[], "");
    assert_eq!((status, etag), (200, outcome.version));
    for kept in [
        "UID:uid-anna-1",
        "X-ADVOWARE-ID:4711",
        "PHOTO;VALUE=uri:http://example.com/a.jpg",
        "TITLE:Dr.",
        "FN:Anna Novak-Kos",
        // mapped properties whose values did not change stay as they were
        "TEL;TYPE=CELL:+49 170 1234567",
        "item1.TEL;TYPE=pref:+386 41 123 456",
        "item1.X-ABLABEL:Praxis", // Radicale upper-cases unknown names
        "ORG:Novak d.o.o.;Vertrieb",
        "NOTE:eins",
        "NOTE:zwei",
    ] {
        assert!(text.contains(kept), "{kept} missing in\n{text}");
    }
}

#[test]
fn carddav_change_feed_sees_exactly_what_another_client_changed() {
    let Some(book) = Book::new("feed") else {
        return;
    };
    book.put("a.vcf", &card("a", "A", ""));
    let b = book.put("b.vcf", &card("b", "B", ""));
    book.put("c.vcf", &card("c", "C", ""));
    let mut c = book.connector();
    let cursor = c.cursor().unwrap();
    let quiet = c.changes(&cursor).unwrap().unwrap();
    assert!(
        quiet.changed.is_empty() && quiet.deleted.is_empty(),
        "{quiet:?}"
    );
    // another client: one new, one changed, one deleted
    book.put("d.vcf", &card("d", "D", ""));
    book.put("a.vcf", &card("a", "A2", ""));
    let (status, _, _) = book.request("DELETE", "b.vcf", &[("If-Match", &b)], "");
    assert_eq!(status, 200);
    let feed = c.changes(&cursor).unwrap().unwrap();
    let mut changed: Vec<&str> = feed.changed.iter().map(|l| l.id.as_str()).collect();
    changed.sort();
    assert_eq!(
        (changed, feed.deleted.clone()),
        (vec!["a.vcf", "d.vcf"], vec!["b.vcf".to_string()])
    );
    assert!(feed.changed.iter().all(|l| l.version.is_some()));
    let fetched = c.fetch(&["a.vcf".into(), "gone.vcf".into()]).unwrap();
    assert_eq!(fetched.len(), 1);
    let ReadItem::Record(a) = &fetched[0] else {
        panic!("{fetched:?}")
    };
    assert_eq!(a.fields["fn"], json!("A2"));
    // from the new cursor: nothing; an unknown token: read in full
    assert!(c.changes(&feed.cursor).unwrap().unwrap().changed.is_empty());
    assert!(c
        .changes("http://radicale.org/ns/sync/nope")
        .unwrap()
        .is_none());
    // our own writes show in the feed with the ETag the write answered
    let before = c.cursor().unwrap();
    let made = c
        .write("href", &[create("ek-9", json!({"fn": "Neu"}))])
        .unwrap()
        .remove(0)
        .unwrap();
    let own = c.changes(&before).unwrap().unwrap();
    assert_eq!(own.changed.len(), 1);
    assert_eq!(
        (&own.changed[0].id, &own.changed[0].version),
        (&made.id, &made.version)
    );
}

#[test]
fn carddav_finds_a_create_whose_answer_was_lost() {
    let Some(book) = Book::new("lost") else {
        return;
    };
    let mut c = book.connector();
    assert_eq!(c.find_created("href", "ek-5").unwrap(), Lookup::Absent);
    let first = c
        .write("href", &[create("ek-5", json!({"fn": "Maja"}))])
        .unwrap()
        .remove(0)
        .unwrap();
    assert_eq!(first.id, "ek-5.vcf");
    assert_eq!(
        c.find_created("href", "ek-5").unwrap(),
        Lookup::Found(first.clone())
    );
    // re-sent (the first answer lost): no second card, the same one answered
    let again = c
        .write("href", &[create("ek-5", json!({"fn": "Maja"}))])
        .unwrap()
        .remove(0)
        .unwrap();
    assert_eq!(again, first);
    assert_eq!(c.list().unwrap().len(), 1);
    // a foreign card under the name is not ours
    book.put("ek-6.vcf", &card("someone-else", "Other", ""));
    assert_eq!(c.find_created("href", "ek-6").unwrap(), Lookup::Absent);
    let clash = c
        .write("href", &[create("ek-6", json!({"fn": "Mine"}))])
        .unwrap()
        .remove(0)
        .unwrap_err();
    assert_eq!(clash.kind, WriteErrorKind::Rejected, "{}", clash.message);
}

#[test]
fn carddav_errors_name_method_path_and_status_never_the_password() {
    let Some(base) = dav_base() else { return };
    let url = format!("{base}contacts/");
    let s = json!({"url": url, "username": USER, "password": "wrong-secret-pw"});
    let mut c = open("book", "carddav", &settings(s), std::path::Path::new(".")).unwrap();
    let err = c.list().unwrap_err().to_string();
    assert!(
        err.contains("connector `book`") && err.contains("PROPFIND /alice/contacts/ → 401"),
        "{err}"
    );
    assert!(!err.contains("wrong-secret-pw"), "{err}");
    // a write fails as a whole (nothing is sent) with the same message
    let write = c
        .write("href", &[update_if("x.vcf", json!({"fn": "x"}), None)])
        .unwrap_err()
        .to_string();
    assert!(
        write.contains("→ 401") && !write.contains("wrong-secret-pw"),
        "{write}"
    );
    // nothing listening
    let s = json!({"url": "http://127.0.0.1:9/book/"});
    let err = open("book", "carddav", &settings(s), std::path::Path::new("."))
        .unwrap()
        .list()
        .unwrap_err();
    assert!(err.to_string().contains("PROPFIND /book/"), "{err}");
}

/// A server that answers every request with an HTML login page and 207.
#[test]
fn carddav_html_instead_of_xml_is_a_clear_error() {
    use std::io::{Read, Write};
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    std::thread::spawn(move || {
        for stream in listener.incoming().take(1) {
            let mut s = stream.unwrap();
            let mut buf = [0u8; 4096];
            let _ = s.read(&mut buf);
            let body = "<html><body><h1>Please log in</h1></body></html>";
            let head = format!("HTTP/1.1 207 Multi-Status\r\nContent-Type: text/html\r\nContent-Length: {}\r\nConnection: close\r\n\r\n", body.len());
            s.write_all(head.as_bytes()).unwrap();
            s.write_all(body.as_bytes()).unwrap();
        }
    });
    let s = json!({"url": format!("http://127.0.0.1:{port}/dav/book")});
    let mut c = open("book", "carddav", &settings(s), std::path::Path::new(".")).unwrap();
    let err = c.list().unwrap_err().to_string();
    assert!(
        err.contains("PROPFIND /dav/book/ → 207: not a WebDAV multistatus"),
        "{err}"
    );
    assert!(err.contains("Please log in"), "{err}");
}

#[test]
fn carddav_settings_are_checked() {
    let problems = einklang_connectors::validate_settings(
        "carddav",
        &settings(json!({"url": "ftp://x", "password": "p"})),
    );
    let text: Vec<String> = problems.iter().map(|p| p.message.clone()).collect();
    assert_eq!(text.len(), 2, "{text:?}");
    assert!(
        text[0].contains("http://") && text[1].contains("without `username`"),
        "{text:?}"
    );
}

#[test]
fn carddav_discovers_the_address_book_from_the_server_url() {
    let Some(book) = Book::new("disc") else {
        return;
    };
    book.put("a.vcf", &card("a", "A", ""));
    let base = dav_base().unwrap();
    let server = base
        .trim_end_matches('/')
        .trim_end_matches("alice")
        .to_string();
    let name = book
        .url
        .trim_end_matches('/')
        .rsplit('/')
        .next()
        .unwrap()
        .to_string();
    let open_with = |collection: Option<&str>| {
        let mut s = json!({"url": server, "username": USER, "password": PASSWORD});
        if let Some(c) = collection {
            s["collection"] = json!(c);
        }
        open("book", "carddav", &settings(s), std::path::Path::new(".")).unwrap()
    };
    // by name, from the server's root: principal → home set → the book
    let listed = open_with(Some(&name)).list().unwrap();
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0].id, "a.vcf");
    // a name not there yet is made by install, under the home set
    let fresh = format!("{name}-new");
    let mut c = open_with(Some(&fresh));
    assert_eq!(
        c.install().unwrap(),
        vec![format!("address book /alice/{fresh}/")]
    );
    assert!(c.list().unwrap().is_empty());
    // no name and several books: the error lists them
    let err = open_with(None).list().unwrap_err().to_string();
    assert!(
        err.contains("address books here: name one with `collection`"),
        "{err}"
    );
    // the list of names is cut when a server has many books (other tests')
    assert!(err.contains(&name) || err.ends_with('…'), "{err}");
    let (status, _, _) = book.request("DELETE", &format!("../{fresh}/"), &[], "");
    assert!(status == 200 || status == 204, "{status}");
}
