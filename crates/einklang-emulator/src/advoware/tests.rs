//! Advoware over HTTP: the HMAC token, rowId churn, POST without rowId,
//! DELETE 403, PUT's partial writes, Kommunikationen and Adressen and their quirks.

use super::auth::{sign, Credentials};
use super::AdvowareOptions;
use crate::testclient::{call, get, send};
use crate::{Emulator, Options};
use serde_json::{json, Value};

fn token(emu: &Emulator) -> String {
    let c = Credentials::default();
    let stamp = "2026-01-26T10:00:00Z";
    let body = json!({"AppID": c.app_id, "Kanzlei": c.kanzlei, "Database": c.database, "User": c.user, "Role": 2, "Product": 64,
                      "Password": c.password, "Nonce": "n-1", "RequestTimeStamp": stamp,
                      "HMAC512Signature": sign(&c.api_key, "64", &c.app_id, "n-1", stamp).unwrap()});
    let r = send("POST", &emu.advoware().token_url(), &[], &body);
    assert_eq!(r.status, 200, "{}", r.body);
    format!("Bearer {}", r.json()["access_token"].as_str().unwrap())
}

fn bet(emu: &Emulator, bet_nr: u64) -> String {
    format!(
        "{}api/v1/advonet/Beteiligte/{bet_nr}",
        emu.advoware().base_url()
    )
}

fn read(emu: &Emulator, auth: &str, bet_nr: u64) -> Value {
    let r = get(&bet(emu, bet_nr), &[("Authorization", auth)]);
    assert_eq!(r.status, 200, "{}", r.body);
    r.json()[0].clone()
}

/// How many records a list route answers.
fn listed(url: &str, auth: &str) -> usize {
    let r = get(url, &[("Authorization", auth)]);
    assert_eq!(r.status, 200, "{}", r.body);
    r.json().as_array().unwrap().len()
}

#[test]
fn a_bad_signature_gets_no_token_and_no_token_no_data() {
    let emu = Emulator::start(Options::default());
    let b = emu.advoware().insert(json!({"name": "Muster"}));
    let r = send(
        "POST",
        &emu.advoware().token_url(),
        &[],
        &json!({"AppID": "einklang-app", "HMAC512Signature": "AAAA"}),
    );
    assert_eq!(r.status, 401);
    assert_eq!(get(&bet(&emu, b), &[]).status, 401);
    let auth = token(&emu);
    assert_eq!(read(&emu, &auth, b)["name"], json!("Muster"));
    emu.advoware().advance(3601);
    assert_eq!(
        get(&bet(&emu, b), &[("Authorization", &auth)]).status,
        401,
        "expired"
    );
    assert_eq!(emu.advoware().count("TOKEN"), 2);
}

#[test]
fn every_put_changes_the_row_id_and_answers_it_in_a_list() {
    let emu = Emulator::start(Options::default());
    let auth = token(&emu);
    let b = emu
        .advoware()
        .insert(json!({"name": "Mustermann", "vorname": "Angela"}));
    let first = read(&emu, &auth, b)["rowId"].as_str().unwrap().to_string();
    assert!(
        first.len() >= 36 && first.ends_with('='),
        "base64, about 40 characters: {first}"
    );
    let body = json!({"name": "Mustermann", "vorname": "Angela"});
    let put = send("PUT", &bet(&emu, b), &[("Authorization", &auth)], &body);
    assert_eq!(put.status, 200);
    let second = put.json()[0]["rowId"].as_str().unwrap().to_string();
    assert_ne!(
        second, first,
        "a write that changes nothing still moves rowId"
    );
    assert_eq!(read(&emu, &auth, b)["rowId"], json!(second));
    let third =
        send("PUT", &bet(&emu, b), &[("Authorization", &auth)], &body).json()[0]["rowId"].clone();
    assert_ne!(third, json!(second));
    assert!(
        read(&emu, &auth, b).get("geaendertAm").is_none(),
        "no timestamps at all"
    );
    let filtered = get(
        &format!(
            "{}api/v1/advonet/Beteiligte?filter=geaendertAm%20gt%202026-01-01",
            emu.advoware().base_url()
        ),
        &[("Authorization", &auth)],
    );
    assert_eq!(filtered.status, 400);
}

#[test]
fn a_post_answers_without_row_id() {
    let emu = Emulator::start(Options::default());
    let auth = token(&emu);
    let url = format!("{}api/v1/advonet/Beteiligte", emu.advoware().base_url());
    let r = send(
        "POST",
        &url,
        &[("Authorization", &auth)],
        &json!({"name": "Neu GmbH", "rechtsform": "GmbH"}),
    );
    assert_eq!(r.status, 200);
    let made = r.json();
    assert!(made.get("rowId").is_none(), "{made}");
    let bet_nr = made["betNr"].as_u64().unwrap();
    assert!(
        read(&emu, &auth, bet_nr)["rowId"].is_string(),
        "a GET brings it"
    );
    assert_eq!(emu.advoware().count("GET"), 1);
    let all = get(&url, &[("Authorization", &auth)]).json();
    assert_eq!(all.as_array().unwrap().len(), 1);
}

#[test]
fn deletes_are_forbidden_so_removals_empty_fields() {
    let emu = Emulator::start(Options::default());
    let auth = token(&emu);
    let b = emu.advoware().insert(json!({"name": "Muster", "vorname": "Jürgen", "kommunikation": [{"kommKz": 3, "tlf": "+49 170 1"}]}));
    let komm = emu.advoware().get(b).unwrap()["kommunikation"][0]["id"]
        .as_u64()
        .unwrap();
    let r = call("DELETE", &bet(&emu, b), &[("Authorization", &auth)], None);
    assert_eq!(r.status, 403);
    let r = call(
        "DELETE",
        &format!("{}/Kommunikationen/{komm}", bet(&emu, b)),
        &[("Authorization", &auth)],
        None,
    );
    assert_eq!(r.status, 403);
    assert!(emu.advoware().get(b).is_some());
    let slot = send(
        "PUT",
        &format!("{}/Kommunikationen/{komm}", bet(&emu, b)),
        &[("Authorization", &auth)],
        &json!({"tlf": "", "bemerkung": "[ESPOCRM-SLOT:3]", "online": false}),
    );
    assert_eq!((slot.status, slot.json()["tlf"].clone()), (200, json!("")));
    emu.advoware().delete(b);
    assert_eq!(
        get(&bet(&emu, b), &[("Authorization", &auth)]).status,
        404,
        "deleted in Advoware itself"
    );
}

#[test]
fn a_put_writes_only_its_fields_and_empties_writable_ones_left_out() {
    let emu = Emulator::start(Options::default());
    let auth = token(&emu);
    let b = emu.advoware().insert(json!({"name": "Muster", "vorname": "Angela", "titel": "Dr.", "kurzname": "MUST", "handelsRegisterNummer": "HRB 1"}));
    let body = json!({"name": "Muster-Lang", "vorname": "Angela", "kurzname": "NEU", "handelsRegisterNummer": "HRB 2", "unbekannt": 1});
    let after = send("PUT", &bet(&emu, b), &[("Authorization", &auth)], &body).json()[0].clone();
    assert_eq!(
        (after["name"].clone(), after["vorname"].clone()),
        (json!("Muster-Lang"), json!("Angela"))
    );
    assert_eq!(
        (
            after["kurzname"].clone(),
            after["handelsRegisterNummer"].clone()
        ),
        (json!("MUST"), json!("HRB 1")),
        "silently ignored"
    );
    assert_eq!(
        after["titel"],
        Value::Null,
        "writable but not sent: emptied"
    );
    assert!(after.get("unbekannt").is_none());
    let custom = Options {
        advoware: AdvowareOptions {
            writable: vec!["name".into()],
            ..AdvowareOptions::default()
        },
        ..Options::default()
    };
    let emu = Emulator::start(custom);
    let auth = token(&emu);
    let b = emu.advoware().insert(json!({"name": "A", "vorname": "B"}));
    let after = send(
        "PUT",
        &bet(&emu, b),
        &[("Authorization", &auth)],
        &json!({"name": "C", "vorname": "D"}),
    )
    .json()[0]
        .clone();
    assert_eq!(
        (after["name"].clone(), after["vorname"].clone()),
        (json!("C"), json!("B"))
    );
}

#[test]
fn kommunikationen_have_their_own_row_ids_and_a_read_only_komm_kz() {
    let emu = Emulator::start(Options::default());
    let auth = token(&emu);
    let b = emu.advoware().insert(json!({"name": "Muster"}));
    let bet_row = read(&emu, &auth, b)["rowId"].clone();
    let url = format!("{}/Kommunikationen", bet(&emu, b));
    let made = send(
        "POST",
        &url,
        &[("Authorization", &auth)],
        &json!({"kommKz": 4, "tlf": "a@kanzlei.de", "bemerkung": "", "online": true}),
    )
    .json();
    let (id, row) = (made["id"].as_u64().unwrap(), made["rowId"].clone());
    let changed = send(
        "PUT",
        &format!("{url}/{id}"),
        &[("Authorization", &auth)],
        &json!({"kommKz": 1, "tlf": "b@kanzlei.de"}),
    )
    .json();
    assert_ne!(changed["rowId"], row);
    assert_eq!(
        (changed["kommKz"].clone(), changed["tlf"].clone()),
        (json!(4), json!("b@kanzlei.de")),
        "kommKz stays"
    );
    let now = read(&emu, &auth, b);
    assert_eq!(
        now["rowId"], bet_row,
        "the Beteiligter's rowId does not move"
    );
    assert_eq!(now["kommunikation"][0]["rowId"], changed["rowId"]);
    assert_eq!(
        send(
            "POST",
            &url,
            &[("Authorization", &auth)],
            &json!({"kommKz": 13, "tlf": "x"})
        )
        .status,
        400
    );
    assert_eq!(listed(&url, &auth), 1);
    assert_eq!(
        (
            super::komm_kind(3),
            super::komm_kind(8),
            super::komm_kind(0)
        ),
        (Some("mobile"), Some("email"), None)
    );
}

#[test]
fn with_the_bug_a_get_reads_komm_kz_as_zero() {
    let emu = Emulator::start(Options {
        advoware: AdvowareOptions {
            kommkz_zero_bug: true,
            ..AdvowareOptions::default()
        },
        ..Options::default()
    });
    let auth = token(&emu);
    let b = emu
        .advoware()
        .insert(json!({"name": "Muster", "kommunikation": [{"kommKz": 2, "tlf": "+49 30 9"}]}));
    assert_eq!(read(&emu, &auth, b)["kommunikation"][0]["kommKz"], json!(0));
    assert_eq!(
        emu.advoware().get(b).unwrap()["kommunikation"][0]["kommKz"],
        json!(2),
        "stored as written"
    );
}

#[test]
fn adressen_over_http_move_their_index_and_cannot_be_deleted() {
    let emu = Emulator::start(Options::default());
    let auth = token(&emu);
    let b = emu.advoware().insert(json!({"name": "Muster"}));
    let url = format!("{}/Adressen", bet(&emu, b));
    let row = read(&emu, &auth, b)["rowId"].clone();
    let first = send(
        "POST",
        &url,
        &[("Authorization", &auth)],
        &json!({"strasse": "Alter Weg 1", "ort": "Köln"}),
    );
    assert_eq!(
        (first.status, first.json()["reihenfolgeIndex"].clone()),
        (200, json!(1))
    );
    let std = send(
        "POST",
        &url,
        &[("Authorization", &auth)],
        &json!({"strasse": "Neuer Weg 2", "standardAnschrift": true}),
    );
    assert_eq!(
        std.json()["reihenfolgeIndex"],
        json!(1),
        "a standard address goes first"
    );
    let list = get(&url, &[("Authorization", &auth)]).json();
    assert_eq!(
        list[1]["strasse"],
        json!("Alter Weg 1"),
        "the other moved down"
    );
    let put = send(
        "PUT",
        &format!("{url}/2"),
        &[("Authorization", &auth)],
        &json!({"ort": "Bonn", "land": "AT"}),
    );
    assert_eq!(
        (
            put.status,
            put.json()["ort"].clone(),
            put.json()["land"].clone()
        ),
        (200, json!("Bonn"), Value::Null)
    );
    assert_ne!(put.json()["rowId"], first.json()["rowId"]);
    assert_eq!(
        read(&emu, &auth, b)["rowId"],
        row,
        "the Beteiligter's rowId stays"
    );
    let r = call(
        "DELETE",
        &format!("{url}/1"),
        &[("Authorization", &auth)],
        None,
    );
    assert_eq!(r.status, 403);
    assert_eq!(listed(&url, &auth), 2);
    let none = format!("{}/Adressen", bet(&emu, b + 1000));
    assert_eq!(get(&none, &[("Authorization", &auth)]).status, 404);
    assert_eq!(
        send(
            "PUT",
            &format!("{url}/9"),
            &[("Authorization", &auth)],
            &json!({})
        )
        .status,
        404
    );
}
