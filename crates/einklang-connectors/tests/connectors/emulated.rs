//! The compliance kit over the `http` kind against the seed-system
//! emulators, each described as a user would configure it: EspoCRM
//! (`PATCH`, offset pages), Microsoft Graph contacts (OAuth2, next links,
//! `If-Match` on `@odata.etag`) and Advoware (`PUT` of whole records, no
//! DELETE, a `POST` read again for its `rowId`, 6 of 14 fields ignored by
//! `PUT` — the kit's write-answer-is-truth step). Kommo runs in `http.rs`
//! and `proxied.rs`; monday.com's column values are JSON strings inside a
//! list, which the kit's flat text fields do not fit (its cursors are
//! tested in `monday.rs`).

use crate::kit::{run_with, Shape};
use crate::settings;
use einklang_connectors::{open, Connector};
use einklang_emulator::{Emulator, Options};
use serde_json::{json, Value};
use std::path::Path;

fn connect(s: Value) -> Box<dyn Connector> {
    open("crm", "http", &settings(s), Path::new(".")).unwrap()
}

#[test]
fn kit_espo() {
    let emu = Emulator::start(Options::default());
    let espo = emu.espo();
    espo.insert(
        "Contact",
        json!({"lastName": "Bestand", "firstName": "Bea"}),
    );
    let mut s = crate::feeds::espo_settings(&espo.api_url(), Some("%Y-%m-%d %H:%M:%S"), 60);
    s["create"] = json!({"path": "/Contact"});
    s["delete"] = json!({"path": "/Contact/{id}"});
    let shape = Shape {
        names: ["lastName", "description", "firstName"],
        ..Shape::default()
    };
    run_with(connect(s).as_mut(), "id", shape);
    assert_eq!(espo.all("Contact").len(), 1);
}

#[test]
fn kit_graph() {
    let emu = Emulator::start(Options::default());
    let g = emu.graph();
    g.insert(
        "info@bau.de",
        json!({"givenName": "Bestand", "surname": "B"}),
    );
    let mut s = crate::feeds::graph(&emu, "info@bau.de");
    s["version"] = json!("@odata.etag");
    let shape = Shape {
        names: ["givenName", "personalNotes", "jobTitle"],
        // the emulator's DELETE ignores If-Match (documented for PATCH)
        conditional_deletes: false,
        ..Shape::default()
    };
    let mut c = connect(s);
    assert!(c.capabilities().conditional_writes);
    run_with(c.as_mut(), "id", shape);
    assert_eq!(g.all("info@bau.de").len(), 1);
}

#[test]
fn kit_advoware_answers_with_the_values_it_kept() {
    let emu = Emulator::start(Options::default());
    let advo = emu.advoware();
    assert!(
        !advo.writable().iter().any(|f| f == "geburtsname"),
        "the field the kit expects ignored is not written by PUT"
    );
    advo.insert(json!({"name": "Bestand", "vorname": "Bea"}));
    let s = json!({
        "base_url": format!("{}api/v1/advonet", advo.base_url()),
        "auth": {"bearer": advo.issue_token()},
        "id": "betNr",
        "version": "rowId",
        "list": {"path": "/Beteiligte"},
        "get": {"path": "/Beteiligte/{id}", "record": "/0"},
        "create": {"path": "/Beteiligte", "reread": true},
        "update": {"method": "PUT", "path": "/Beteiligte/{id}", "record": "/0"},
    });
    let shape = Shape {
        names: ["name", "vorname", "titel"],
        required: json!({"geburtsname": "Schmitz"}),
        ignored: Some(("geburtsname", json!("Bonn"))),
        ..Shape::default()
    };
    let mut c = connect(s);
    let caps = c.capabilities();
    assert!(!caps.delete && !caps.partial_update, "{caps:?}");
    run_with(c.as_mut(), "betNr", shape);
    let all = advo.all();
    assert_eq!(
        all.len(),
        2,
        "the kit's record stays: Advoware cannot delete"
    );
    assert_eq!(all[1]["geburtsname"], json!("Schmitz"));
}
