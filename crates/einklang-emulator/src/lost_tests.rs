//! Answers lost after the write ([`crate::lost`]), in every system: the
//! write is applied, the connection closes without a byte, and only the
//! queued number of successful writes loses its answer.

use crate::advoware::auth::{sign, Credentials};
use crate::testclient::{call, raw, send};
use crate::{Emulator, Options};
use serde_json::{json, Value};

const JSON: (&str, &str) = ("Content-Type", "application/json");

/// `raw` with a JSON body.
fn write(method: &str, url: &str, auth: (&str, &str), body: Value) -> Vec<u8> {
    raw(method, url, &[JSON, auth], &body.to_string())
}

fn answered(bytes: &[u8]) -> bool {
    bytes.starts_with(b"HTTP/1.1 2")
}

#[test]
fn advoware_applies_a_put_then_closes_the_connection_without_an_answer() {
    let emu = Emulator::start(Options::default());
    let advo = emu.advoware();
    let bet_nr = advo.insert(json!({"name": "Weiß", "vorname": "Jürgen"}));
    let auth = format!("Bearer {}", advo.issue_token());
    let auth = ("Authorization", auth.as_str());
    let url = format!("{}api/v1/advonet/Beteiligte/{bet_nr}", advo.base_url());
    let row = advo.get(bet_nr).unwrap()["rowId"].clone();

    advo.drop_answers(1);
    // a refused write (404) changes nothing and keeps the drop queued
    let missing = format!("{}api/v1/advonet/Beteiligte/999", advo.base_url());
    let refused = write("PUT", &missing, auth, json!({"name": "X"}));
    assert!(refused.starts_with(b"HTTP/1.1 404"), "{refused:?}");
    // reads are never lost
    let read = raw("GET", &url, &[auth], "");
    assert!(answered(&read));

    let lost = write(
        "PUT",
        &url,
        auth,
        json!({"name": "Weiss", "vorname": "Jürgen"}),
    );
    assert_eq!(lost, b"", "not a byte of the answer");
    let held = advo.get(bet_nr).unwrap();
    assert_eq!(held["name"], json!("Weiss"), "the PUT was applied");
    assert_ne!(held["rowId"], row, "and moved the rowId");

    let next = write(
        "PUT",
        &url,
        auth,
        json!({"name": "Weiß", "vorname": "Jürgen"}),
    );
    assert!(answered(&next), "only one answer was to be lost");
    assert_eq!(advo.count("PUT"), 3);

    // the control route queues drops for the binary; a POST is lost too
    let r = call(
        "POST",
        &format!("{}/_emulator/advoware/drop-answers?count=2", emu.url),
        &[],
        None,
    );
    assert_eq!(r.json()["drop_answers"], json!(2));
    let create = format!("{}api/v1/advonet/Beteiligte", advo.base_url());
    for name in ["Neu1", "Neu2"] {
        assert_eq!(write("POST", &create, auth, json!({"name": name})), b"");
    }
    assert!(answered(&write(
        "POST",
        &create,
        auth,
        json!({"name": "Neu3"})
    )));
    assert_eq!(advo.all().len(), 4, "every POST was applied");
    // the token route is no write of the API: a token is answered
    advo.drop_answers(1);
    let c = Credentials::default();
    let stamp = "2026-01-26T10:00:00Z";
    let body = json!({"AppID": c.app_id, "Kanzlei": c.kanzlei, "Database": c.database, "User": c.user, "Role": 2, "Product": 64,
                      "Password": c.password, "Nonce": "n-1", "RequestTimeStamp": stamp,
                      "HMAC512Signature": sign(&c.api_key, "64", &c.app_id, "n-1", stamp).unwrap()});
    assert!(answered(&write("POST", &advo.token_url(), JSON, body)));
    assert_eq!(
        write("PUT", &url, auth, json!({"name": "Weiß"})),
        b"",
        "the drop is still queued"
    );
}

#[test]
fn every_system_can_lose_the_answer_of_a_write() {
    let emu = Emulator::start(Options::default());

    // Kommo contacts (no auth configured)
    emu.drop_answers(1);
    let url = format!("{}/api/v4/contacts", emu.url);
    let body = json!([{"name": "Anna"}]).to_string();
    assert_eq!(raw("POST", &url, &[JSON], &body), b"");
    assert_eq!(emu.all().len(), 1);
    assert_eq!(
        send("POST", &url, &[], &json!([{"name": "Ben"}])).status,
        200
    );

    // EspoCRM
    let espo = emu.espo();
    espo.drop_answers(1);
    let key = ("X-Api-Key", "espo-api-key");
    let url = format!("{}/Contact", espo.api_url());
    assert_eq!(write("POST", &url, key, json!({"lastName": "Berger"})), b"");
    let listed = call("GET", &url, &[key], None).json();
    assert_eq!(listed["total"], json!(1), "{listed}");

    // Microsoft Graph: a PATCH
    let g = emu.graph();
    let id = g.insert("info@bau.de", json!({"givenName": "Anna"}));
    let form = "grant_type=client_credentials&client_id=einklang-graph-app&client_secret=graph-s3cret&scope=https%3A%2F%2Fgraph.microsoft.com%2F.default";
    let token = call(
        "POST",
        &g.token_url(),
        &[("Content-Type", "application/x-www-form-urlencoded")],
        Some(form),
    );
    g.drop_answers(1);
    let bearer = format!("Bearer {}", token.json()["access_token"].as_str().unwrap());
    let url = format!("{}/users/info@bau.de/contacts/{id}", g.base_url());
    let patch = json!({"surname": "Novak"});
    assert_eq!(write("PATCH", &url, ("Authorization", &bearer), patch), b"");
    assert_eq!(
        g.get("info@bau.de", &id).unwrap()["surname"],
        json!("Novak")
    );

    // monday.com: a mutation loses its answer, a query does not use the drop
    let m = emu.monday();
    let board = m.add_board("Mitarbeiter", &[("text", "Text", "text")]);
    m.drop_answers(1);
    let auth = ("Authorization", "monday-token");
    let query = json!({"query": format!("{{ boards(ids: {board}) {{ id }} }}")});
    assert!(answered(&write("POST", &m.api_url(), auth, query)));
    let create = json!({"query": format!("mutation {{ create_item(board_id: {board}, item_name: \"Anna\") {{ id }} }}")});
    assert_eq!(write("POST", &m.api_url(), auth, create.clone()), b"");
    assert!(answered(&write("POST", &m.api_url(), auth, create)));
    let items = m.all(board);
    assert_eq!(items.len(), 2, "both mutations were applied");
}
