//! Every remote call is traced at debug level — connector, method, path,
//! status, duration — inside a span of the connector operation, and no
//! secret ever appears: not the DAV password (nor its Basic header), not
//! an API key in a query string, not an OAuth2 client secret or token,
//! not a signed token request's API key, password or token, not the password of a PostgreSQL URL.

use crate::carddav::Book;
use crate::http::{advoware, connect, kommo};
use crate::{card_text, read_fields};
use einklang_emulator::{Emulator, Options};
use einklang_testkit::trace::capture;
use einklang_testkit::PgDb;
use serde_json::json;

/// The lines of `log` that are remote-call events.
fn calls(log: &str) -> Vec<&str> {
    log.lines().filter(|l| l.contains("remote call")).collect()
}

#[test]
fn dav_calls_are_traced_without_the_password() {
    let Some(book) = Book::new("traced") else {
        return;
    };
    book.put("a.vcf", &card_text("a"));
    let ((), log) = capture(|| {
        assert_eq!(read_fields(book.connector().as_mut()).len(), 1);
    });
    let path = &book.url[book.url.find("/alice/").unwrap()..];
    let listing = calls(&log)
        .into_iter()
        .find(|l| l.contains("method=\"PROPFIND\"") && l.contains(&format!("path=\"{path}\"")))
        .unwrap_or_else(|| panic!("no PROPFIND of {path}:\n{log}"));
    assert!(
        listing.contains("status=207") && listing.contains(" ms="),
        "{listing}"
    );
    assert!(listing.contains("connector=\"book\""), "{listing}");
    assert!(
        listing.contains("op=\"read\"") && listing.contains("kind=\"carddav\""),
        "{listing}"
    );
    assert!(log.contains("method=\"REPORT\""), "the multiget:\n{log}");
    assert!(
        !log.contains("alicepw") && !log.contains("YWxpY2U6YWxpY2Vwdw=="),
        "{log}"
    );
}

#[test]
fn http_calls_are_traced_without_keys_secrets_or_tokens() {
    let emu = Emulator::start(Options::default());
    emu.insert(json!({"fn": "A"}));
    let query_key = json!({"query": "api_key", "value": "q-s3cret-99"});
    let ((), log) = capture(|| {
        assert_eq!(
            connect(kommo(&emu.url, query_key)).read().unwrap().count(),
            1
        )
    });
    let listing = calls(&log)
        .into_iter()
        .find(|l| l.contains("method=\"GET\"") && l.contains("path=\"/api/v4/contacts?"))
        .unwrap_or_else(|| panic!("no GET of the listing:\n{log}"));
    assert!(
        listing.contains("status=200") && listing.contains("api_key=***"),
        "{listing}"
    );
    assert!(!log.contains("q-s3cret-99"), "{log}");

    let emu = Emulator::start(Options {
        oauth: Some(("einklang".into(), "cl-s3cret-42".into())),
        ..Options::default()
    });
    let token_url = format!("{}/oauth2/token", emu.url);
    let oauth = json!({"oauth2": {"token_url": token_url, "client_id": "einklang", "client_secret": "cl-s3cret-42"}});
    let ((), log) =
        capture(|| assert_eq!(connect(kommo(&emu.url, oauth)).read().unwrap().count(), 0));
    assert!(
        log.contains("method=\"POST\"") && log.contains("/oauth2/token"),
        "{log}"
    );
    let token = emu.state.lock().unwrap().tokens[0].0.clone();
    assert!(
        !log.contains("cl-s3cret-42") && !log.contains(&token),
        "{log}"
    );

    // Advoware's signed token request: neither the API key nor the
    // password nor the token, also when the request is refused
    let emu = Emulator::start(Options::default());
    emu.advoware().insert(json!({"name": "A"}));
    let c = einklang_emulator::advoware::auth::Credentials::default();
    let ((), log) = capture(|| {
        assert_eq!(
            connect(advoware(&emu, &c.password)).read().unwrap().count(),
            1
        );
        let mut bad = advoware(&emu, &c.password);
        bad["auth"]["signed_token"]["user"] = json!("nobody");
        assert!(connect(bad).read().is_err());
    });
    assert!(
        log.contains("method=\"POST\"") && log.contains("/api/v1/Token"),
        "{log}"
    );
    let token = "advo-token-1".to_string(); // the emulator's first token
    for secret in [&c.password, &c.api_key, &token] {
        assert!(!log.contains(secret.as_str()), "{secret} in {log}");
    }
}

#[test]
fn postgres_table_calls_are_traced_without_the_password() {
    let Some(db) = PgDb::new("conn_traced") else {
        return;
    };
    db.sql("CREATE TABLE kontakte (id TEXT PRIMARY KEY, name TEXT); INSERT INTO kontakte VALUES ('k1', 'Anna')");
    // trust authentication: the server ignores the password, the URL still holds it
    let url = db.url.replacen("postgres@", "postgres:pg-s3cret-7@", 1);
    assert_ne!(url, db.url, "a URL with a password");
    let ((), log) = capture(|| {
        let mut c = crate::postgres::connector_at(&url, "kontakte", json!({}));
        assert_eq!(c.list().unwrap().len(), 1);
    });
    let connect = calls(&log)
        .into_iter()
        .find(|l| l.contains("method=\"CONNECT\""))
        .unwrap_or_else(|| panic!("no CONNECT:\n{log}"));
    assert!(
        connect.contains("postgres:***@") && connect.contains("status=ok"),
        "{connect}"
    );
    assert!(
        log.contains("method=\"SELECT\" path=\"kontakte\" status=ok"),
        "{log}"
    );
    assert!(log.contains("op=\"list\""), "{log}");
    assert!(!log.contains("pg-s3cret-7"), "{log}");
}
