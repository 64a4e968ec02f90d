//! `http` and `graphql` against the in-repo emulator of a Kommo-style CRM
//! (`einklang-emulator`): the compliance kit over REST and GraphQL, the
//! change feed (exactly what another client changed, deletes from the
//! events feed, one listing per incremental read), errors that name
//! method, path and status and never a secret, retries of 5xx and 429, the
//! rate limit, OAuth2 tokens renewed when they expire, and settings checks.

use crate::{create, settings, update_if};
use einklang_connectors::{open, validate_settings, Connector, ReadItem, WriteErrorKind};
use einklang_emulator::{Emulator, Fault, Options};
use serde_json::{json, Value};
use std::path::Path;

/// A Kommo-style contacts API, as a user would describe it.
pub fn kommo(url: &str, auth: Value) -> Value {
    json!({
        "base_url": url,
        "auth": auth,
        "id": "id",
        "version": "version",
        "list": {"path": "/api/v4/contacts", "paginate": "next_link", "next": "/_links/next/href",
                 "params": {"limit": 50}, "records": "/_embedded/contacts"},
        "changes": {"params": {"limit": 250, "filter[updated_at][from]": "{since}"}, "format": "epoch", "overlap_s": 5},
        "deletes": {"path": "/api/v4/events", "params": {"filter[type]": "contact_deleted", "filter[created_at][from]": "{since}"},
                    "records": "/_embedded/events", "id": "entity_id"},
        "get": {"path": "/api/v4/contacts/{id}", "missing": [204, 404]},
        "create": {"path": "/api/v4/contacts", "body": ["{record}"], "record": "/_embedded/contacts/0"},
        "update": {"path": "/api/v4/contacts/{id}"},
        "delete": {"path": "/api/v4/contacts/{id}"},
        "conditional": "If-Match",
        "retry": {"attempts": 3, "base_ms": 1},
    })
}

fn key() -> Value {
    json!({"header": "X-Api-Key", "value": "k-s3cr3t-77"})
}

fn emulator() -> Emulator {
    Emulator::start(Options {
        api_key: Some("k-s3cr3t-77".into()),
        ..Options::default()
    })
}

pub fn connect(s: Value) -> Box<dyn Connector> {
    open("crm", "http", &settings(s), Path::new(".")).unwrap()
}

#[test]
fn kit_http() {
    let emu = emulator();
    emu.insert(json!({"fn": "Bestand", "x": [1, 2]}));
    let mut c = connect(kommo(&emu.url, key()));
    crate::kit::run(c.as_mut(), "id");
    let caps = c.capabilities();
    assert!(caps.change_feed && caps.conditional_writes && !caps.client_ids && caps.partial_update);
    assert_eq!(emu.all().len(), 1);
}

#[test]
fn kit_graphql() {
    let emu = emulator();
    emu.insert(json!({"fn": "Bestand"}));
    let s = json!({
        "url": format!("{}/graphql", emu.url),
        "auth": key(),
        "version": "version",
        "list": {"query": "query($after: ID){ contacts(first: 2, after: $after){ nodes{ id fn note title version } pageInfo{ endCursor hasNextPage } } }",
                 "records": "/data/contacts/nodes", "paginate": "cursor", "next": "/data/contacts/pageInfo/endCursor",
                 "has_more": "/data/contacts/pageInfo/hasNextPage"},
        "get": {"query": "query($id: ID!){ contact(id: $id){ id fn note title version } }", "variables": {"id": "{id}"}, "record": "/data/contact"},
        "create": {"query": "mutation($input: ContactInput!){ createContact(input: $input){ id version } }", "variables": {"input": "{record}"}, "record": "/data/createContact"},
        "update": {"query": "mutation($id: ID!, $input: ContactInput!){ updateContact(id: $id, input: $input){ id version } }", "variables": {"id": "{id}", "input": "{record}"}, "record": "/data/updateContact"},
        "delete": {"query": "mutation($id: ID!){ deleteContact(id: $id){ id } }", "variables": {"id": "{id}"}, "record": "/data/deleteContact"},
    });
    let mut c = open("hero", "graphql", &settings(s), Path::new(".")).unwrap();
    for i in 0..4 {
        emu.insert(json!({"fn": format!("Seite {i}")}));
    }
    crate::kit::run(c.as_mut(), "id");
    assert_eq!(
        c.read().unwrap().count(),
        5,
        "cursor paging walks every page"
    );
}

#[test]
fn http_change_feed_sees_exactly_what_another_client_changed() {
    let emu = emulator();
    emu.advance(-3600); // these were written an hour ago
    let a = emu.insert(json!({"name": "A"}));
    let b = emu.insert(json!({"name": "B"}));
    emu.insert(json!({"name": "C"}));
    emu.advance(3600);
    let mut c = connect(kommo(&emu.url, key()));
    let cursor = c.cursor().unwrap();
    let quiet = c.changes(&cursor).unwrap().unwrap();
    assert!(
        quiet.changed.is_empty() && quiet.deleted.is_empty(),
        "{quiet:?}"
    );
    let d = emu.insert(json!({"name": "D"}));
    emu.update(a, json!({"name": "A2"}));
    emu.delete(b);
    let gets = emu.count("GET");
    let feed = c.changes(&cursor).unwrap().unwrap();
    let mut ids: Vec<String> = feed.changed.iter().map(|l| l.id.clone()).collect();
    ids.sort();
    assert_eq!(
        (ids, feed.deleted.clone()),
        (vec![a.to_string(), d.to_string()], vec![b.to_string()])
    );
    assert_eq!(
        emu.count("GET") - gets,
        2,
        "one listing and one events page"
    );
    // the listed records are served to fetch without another request
    let fetched = c.fetch(&[a.to_string()]).unwrap();
    let ReadItem::Record(r) = &fetched[0] else {
        panic!("{fetched:?}")
    };
    assert_eq!(
        (r.fields["name"].clone(), emu.count("GET") - gets),
        (json!("A2"), 2)
    );
    // our own write shows with the version its answer gave
    let made = c
        .write("id", &[create("ek-1", json!({"name": "Neu"}))])
        .unwrap()
        .remove(0)
        .unwrap();
    let own = c.changes(&cursor).unwrap().unwrap();
    let mine = own.changed.iter().find(|l| l.id == made.id).unwrap();
    assert_eq!(mine.version, made.version);
    // a missing record: Kommo answers 204, which is "not there"
    assert!(c.fetch(&["999".into()]).unwrap().is_empty());
}

#[test]
fn http_errors_name_method_path_status_and_never_the_secret() {
    let emu = emulator();
    emu.insert(json!({"name": "A"}));
    let mut s = kommo(&emu.url, key());
    s["retry"] = json!({"attempts": 2, "base_ms": 1});
    let mut c = connect(s.clone());
    emu.fail_next(&[Fault::Html, Fault::Html]);
    let err = c.read().map(|_| ()).unwrap_err().to_string();
    assert!(
        err.starts_with("connector `crm`: GET /api/v4/contacts?limit=50 → 502: <!DOCTYPE html>"),
        "{err}"
    );
    emu.fail_next(&[Fault::Truncated]);
    let err = c.read().map(|_| ()).unwrap_err().to_string();
    assert!(
        err.contains("→ 200: the answer (application/hal+json) is not JSON: EOF while parsing"),
        "{err}"
    );
    // one 500, then success: retried
    emu.fail_next(&[Fault::Status(500)]);
    assert_eq!(c.read().unwrap().count(), 1);
    // a write: 5xx is transient, 422 rejected, naming the op
    emu.fail_next(&[Fault::Status(503), Fault::Status(503)]);
    let op = update_if("1", json!({"name": "B"}), None);
    let e = c.write("id", &[op]).unwrap().remove(0).unwrap_err();
    assert_eq!(e.kind, WriteErrorKind::Transient);
    assert!(
        e.message
            .starts_with("connector `crm`: update of `1`: PATCH /api/v4/contacts/1 → 503"),
        "{}",
        e.message
    );
    let e = c
        .write("id", &[create("ek-2", json!({"email": "kein-at"}))])
        .unwrap()
        .remove(0)
        .unwrap_err();
    assert_eq!(e.kind, WriteErrorKind::Rejected);
    assert!(
        e.message.contains("→ 422") && e.message.contains("invalid email"),
        "{}",
        e.message
    );
    // a wrong key: 401, and the key never shows
    s["auth"] = json!({"header": "X-Api-Key", "value": "wrong-key-123"});
    let err = connect(s.clone())
        .read()
        .map(|_| ())
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("→ 401") && !err.contains("wrong-key-123"),
        "{err}"
    );
    s["auth"] = json!({"query": "api_key", "value": "wrong-key-123"});
    let err = connect(s).read().map(|_| ()).unwrap_err().to_string();
    assert!(
        err.contains("api_key=***") && !err.contains("wrong-key-123"),
        "{err}"
    );
    // nothing listening
    let err = connect(kommo("http://127.0.0.1:9", key()))
        .read()
        .map(|_| ())
        .unwrap_err()
        .to_string();
    assert!(
        err.starts_with("connector `crm`: GET /api/v4/contacts?limit=50: "),
        "{err}"
    );
}

#[test]
fn http_waits_out_429_and_keeps_to_its_rate_limit() {
    let emu = Emulator::start(Options {
        rps: Some(3),
        ..Options::default()
    });
    for i in 0..6 {
        emu.insert(json!({"name": format!("P{i}")}));
    }
    let mut s = kommo(&emu.url, json!(null));
    s.as_object_mut().unwrap().remove("auth");
    s["list"]["params"]["limit"] = json!(1);
    // no limit of its own: the server's 429s are waited out (Retry-After: 1)
    let started = std::time::Instant::now();
    assert_eq!(connect(s.clone()).read().unwrap().count(), 6);
    assert!(emu.count("429") >= 1 && started.elapsed().as_millis() >= 900);
    // with rate_limit below the server's: no 429 at all
    let before = emu.count("429");
    std::thread::sleep(std::time::Duration::from_millis(1100));
    s["rate_limit"] = json!(2.5);
    assert_eq!(connect(s).read().unwrap().count(), 6);
    assert_eq!(emu.count("429"), before);
}

#[test]
fn http_oauth2_tokens_are_cached_and_renewed() {
    let emu = Emulator::start(Options {
        oauth: Some(("einklang".into(), "cl-s3cret".into())),
        token_ttl_s: 2,
        ..Options::default()
    });
    emu.insert(json!({"name": "A"}));
    let auth = json!({"oauth2": {"token_url": format!("{}/oauth2/token", emu.url), "client_id": "einklang", "client_secret": "cl-s3cret", "scope": "crm"}});
    let mut c = connect(kommo(&emu.url, auth.clone()));
    for _ in 0..3 {
        assert_eq!(c.read().unwrap().count(), 1);
    }
    assert_eq!(emu.count("TOKEN"), 1, "one token for three reads");
    std::thread::sleep(std::time::Duration::from_millis(2100));
    assert_eq!(c.read().unwrap().count(), 1);
    assert_eq!(emu.count("TOKEN"), 2, "renewed after it expired");
    let mut bad = auth;
    bad["oauth2"]["client_secret"] = json!("falsch-123");
    let err = connect(kommo(&emu.url, bad))
        .read()
        .map(|_| ())
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("token request to") && err.contains("401") && !err.contains("falsch-123"),
        "{err}"
    );
}

#[test]
fn http_settings_are_checked() {
    let problems = |s: Value| -> Vec<String> {
        validate_settings("http", &settings(s))
            .into_iter()
            .map(|p| format!("{}: {}", p.key.unwrap_or_default(), p.message))
            .collect()
    };
    assert!(
        problems(kommo("http://x", key())).is_empty(),
        "{:?}",
        problems(kommo("http://x", key()))
    );
    let got = problems(json!({
        "base_url": "ftp://x", "list": {"path": "/a", "paginate": "pages", "records": "data"},
        "get": {"path": "/a"}, "auth": {"token": "t"}, "changes": {"params": {"since": "x"}}, "rate_limit": -1,
    }));
    for want in [
        "base_url: `base_url` must start with http:// or https://",
        "list: `paginate` must be none, page, offset, cursor or next_link, not pages",
        "list: `records` must be a JSON pointer",
        "get: `get` must use \"{id}\"",
        "auth: `auth` must be one of",
        "changes: `changes` must use \"{since}\"",
        "rate_limit: `rate_limit` must be a positive number",
    ] {
        assert!(
            got.iter().any(|g| g.starts_with(want)),
            "{want} not in {got:#?}"
        );
    }
}

/// The schemes of docs/CONFIG.md: EspoCRM, a secret in a header or the
/// query, Microsoft Graph — and what `check` says about a wrong one.
#[test]
fn webhook_schemes_are_checked() {
    let problems = |webhook: Value| -> Vec<String> {
        let mut s = kommo("http://x", key());
        s["webhook"] = webhook;
        validate_settings("http", &settings(s))
            .into_iter()
            .map(|p| format!("{}: {}", p.key.unwrap_or_default(), p.message))
            .collect()
    };
    for example in [
        json!({"scheme": "espo", "secret": "k", "webhook_id": "66f0a1b2c3d4e5f60", "ids": ["/*/id"]}),
        json!({"scheme": "espo", "secret": "k", "webhook_id": "66f0a1b2c3d4e5f60"}),
        json!({"scheme": "secret", "secret": "k", "secret_header": "X-Webhook-Token", "ids": ["/id"]}),
        json!({"scheme": "secret", "secret": "k", "secret_param": "token", "ids": ["/id"]}),
        json!({"scheme": "graph", "secret": "k"}),
        json!({"scheme": "hmac", "signature_header": "X-Signature", "secret": "k", "ids": ["/*/id"]}),
    ] {
        assert_eq!(problems(example.clone()), Vec::<String>::new(), "{example}");
    }
    let cases = [
        (
            json!({"scheme": "espo", "secret": "k"}),
            "webhook: scheme = \"espo\" needs `webhook_id`",
        ),
        (
            json!({"scheme": "secret", "secret": "k", "ids": ["/id"]}),
            "webhook: scheme = \"secret\" needs one of `secret_header`",
        ),
        (
            json!({"scheme": "secret", "secret": "k", "ids": ["/id"], "secret_header": "A", "secret_param": "b"}),
            "webhook: scheme = \"secret\" needs one of `secret_header`",
        ),
        (
            json!({"scheme": "graph", "secret": "k", "webhook_id": "x"}),
            "webhook: `webhook_id` belongs to scheme = \"espo\"",
        ),
        (
            json!({"scheme": "espo", "secret": "k", "webhook_id": "x", "timestamp_header": "T", "signed": "{timestamp}{body}"}),
            "webhook: `timestamp_header` belongs to scheme = \"hmac\"",
        ),
        (
            json!({"scheme": "graph", "secret": "k", "signature_header": "S"}),
            "webhook: scheme = \"graph\" takes no `signature_header`",
        ),
        (
            json!({"scheme": "stripe", "secret": "k"}),
            "webhook: unknown webhook scheme `stripe`",
        ),
        (
            json!({"scheme": "graph"}),
            "webhook: `webhook` needs `secret` and `ids`",
        ),
    ];
    for (w, want) in cases {
        let got = problems(w);
        assert!(
            got.iter().any(|g| g.starts_with(want)),
            "{want} not in {got:#?}"
        );
    }
}

#[test]
fn webhook_settings_are_checked() {
    let problems = |webhook: Value| -> Vec<String> {
        let mut s = kommo("http://x", key());
        s["webhook"] = webhook;
        validate_settings("http", &settings(s))
            .into_iter()
            .map(|p| format!("{}: {}", p.key.unwrap_or_default(), p.message))
            .collect()
    };
    let base = || json!({"signature_header": "X-Signature", "secret": "s", "ids": ["/key"]});
    let mut good = base();
    good["delivery_header"] = json!("X-Delivery-Id");
    good["timestamp_header"] = json!("X-Timestamp");
    good["signed"] = json!("{timestamp}.{body}");
    good["tolerance_s"] = json!(120);
    good["replay_window_s"] = json!(900);
    assert_eq!(problems(good), Vec::<String>::new());
    // the examples of docs/CONFIG.md: Stripe, Slack, GitHub
    for example in [
        json!({"signature_header": "Stripe-Signature", "timestamp_header": "Stripe-Signature",
               "signed": "{timestamp}.{body}", "secret": "s", "ids": ["/data/object/id"]}),
        json!({"signature_header": "X-Slack-Signature", "timestamp_header": "X-Slack-Request-Timestamp",
               "signed": "v0:{timestamp}:{body}", "secret": "s", "ids": ["/event/item"]}),
        json!({"signature_header": "X-Hub-Signature-256", "delivery_header": "X-GitHub-Delivery",
               "secret": "s", "ids": ["/issue/number"]}),
    ] {
        assert_eq!(problems(example.clone()), Vec::<String>::new(), "{example}");
    }
    let cases = [
        (
            json!({"timestamp_header": "X-Timestamp"}),
            "webhook: `timestamp_header` needs `signed` with {timestamp}",
        ),
        (
            json!({"signed": "{timestamp}.{body}"}),
            "webhook: `signed` uses {timestamp} but there is no `timestamp_header`",
        ),
        (
            json!({"signed": "{timestamp}", "timestamp_header": "T"}),
            "webhook: `signed` must contain {body}",
        ),
        (
            json!({"tolerance_s": 60}),
            "webhook: `tolerance_s` needs `timestamp_header`",
        ),
        (
            json!({"replay_window_s": 0}),
            "webhook: `replay_window_s` must be a whole number of seconds, at least 1",
        ),
        (
            json!({"replay": 600}),
            "webhook: unknown key `replay` in `webhook`",
        ),
    ];
    for (extra, want) in cases {
        let mut w = base();
        for (k, v) in extra.as_object().unwrap() {
            w[k] = v.clone();
        }
        let got = problems(w);
        assert!(
            got.iter().any(|g| g.starts_with(want)),
            "{want} not in {got:#?}"
        );
    }
}

#[test]
fn http_basic_auth_is_sent_as_configured() {
    // alice:s3cret-pw
    let emu = Emulator::start(Options {
        basic: Some("YWxpY2U6czNjcmV0LXB3".into()),
        ..Options::default()
    });
    emu.insert(json!({"name": "A"}));
    let basic = json!({"username": "alice", "password": "s3cret-pw"});
    assert_eq!(connect(kommo(&emu.url, basic)).read().unwrap().count(), 1);
    let wrong = json!({"username": "alice", "password": "falsch-pw"});
    let err = connect(kommo(&emu.url, wrong))
        .read()
        .map(|_| ())
        .unwrap_err()
        .to_string();
    assert!(err.contains("→ 401") && !err.contains("falsch-pw"), "{err}");
}

/// Advoware Beteiligte with `auth = { signed_token = { scheme = "advoware", … } }`.
pub fn advoware(emu: &Emulator, password: &str) -> Value {
    let advo = emu.advoware();
    let c = einklang_emulator::advoware::auth::Credentials::default();
    json!({
        "base_url": format!("{}api/v1/advonet", advo.base_url()),
        "auth": {"signed_token": {"url": advo.token_url(), "scheme": "advoware", "app_id": c.app_id, "api_key": c.api_key,
                                  "kanzlei": c.kanzlei, "database": c.database, "user": c.user, "password": password,
                                  "role": 2, "product": 64}},
        "id": "betNr",
        "version": "rowId",
        "list": {"path": "/Beteiligte"},
        "get": {"path": "/Beteiligte/{id}", "record": "/0"},
        "retry": {"attempts": 3, "base_ms": 1},
    })
}

#[test]
fn http_signed_advoware_tokens_are_cached_and_renewed() {
    let emu = Emulator::start(Options::default());
    let advo = emu.advoware();
    advo.insert(json!({"name": "Weißmüller", "vorname": "Jana"}));
    advo.insert(json!({"name": "Bäckerei Hölzl", "rechtsform": "GmbH"}));
    let password = einklang_emulator::advoware::auth::Credentials::default().password;
    let mut c = connect(advoware(&emu, &password));
    for _ in 0..3 {
        assert_eq!(c.read().unwrap().count(), 2);
    }
    assert_eq!(advo.count("TOKEN"), 1, "one token for three reads");
    assert_eq!(advo.count("GET"), 3);
    // the emulator's clock passes the token's hour: refused once, renewed once
    advo.advance(3601);
    assert_eq!(c.read().unwrap().count(), 2);
    assert_eq!(advo.count("TOKEN"), 2, "renewed after the 401");
    assert_eq!(advo.count("GET"), 5, "the refused GET and its one repeat");
    // a wrong password: the token request's refusal, no secret in it
    let err = connect(advoware(&emu, "falsch-pass-9"))
        .read()
        .map(|_| ())
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("token request to")
            && err.contains("401")
            && err.contains("wrong user or password")
            && !err.contains("falsch-pass-9"),
        "{err}"
    );
}

#[test]
fn http_signed_token_settings_are_checked() {
    let problems = |s: Value| -> Vec<String> {
        validate_settings("http", &settings(s))
            .into_iter()
            .map(|p| format!("{}: {}", p.key.unwrap_or_default(), p.message))
            .collect()
    };
    let emu = Emulator::start(Options::default());
    let good = advoware(&emu, "pw");
    assert!(problems(good.clone()).is_empty(), "{:?}", problems(good));
    let mut s = advoware(&emu, "pw");
    let t = s["auth"]["signed_token"].as_object_mut().unwrap();
    t.remove("password");
    t.remove("kanzlei");
    t.insert("api_key".into(), json!("not base64!"));
    t.insert("role".into(), json!("admin"));
    let got = problems(s);
    for want in [
        "auth: `signed_token` (advoware) needs `kanzlei`, `password`",
        "auth: `signed_token`: `api_key` must be base64",
        "auth: `signed_token`: `role` must be a whole number",
    ] {
        assert!(
            got.iter().any(|g| g.starts_with(want)),
            "{want} not in {got:#?}"
        );
    }
    let mut s = advoware(&emu, "pw");
    s["auth"]["signed_token"]["scheme"] = json!("hawk");
    assert!(
        problems(s).iter().any(|g| g.contains("not \"hawk\"")),
        "unknown scheme"
    );
}
