//! The control routes of every emulated system, as users of the binary
//! call them: seed (made-up or given records), list, count.

use crate::testclient::{call, get, send};
use crate::{Emulator, Options};
use serde_json::{json, Value};

fn post(emu: &Emulator, path: &str, body: Value) -> Value {
    let r = send("POST", &format!("{}{path}", emu.url), &[], &body);
    assert_eq!(r.status, 200, "{path}: {}", r.body);
    r.json()
}

fn read(emu: &Emulator, path: &str) -> Value {
    get(&format!("{}{path}", emu.url), &[]).json()
}

#[test]
fn kommo_leads_and_graph_contacts_are_seeded_listed_and_counted() {
    let emu = Emulator::start(Options::default());
    assert_eq!(
        post(
            &emu,
            "/_emulator/leads/seed?count=3",
            json!([{"name": "Given"}])
        )["seeded"],
        json!(4)
    );
    let leads = read(&emu, "/_emulator/leads/list");
    assert_eq!(leads[0]["name"], json!("Given"));
    assert_eq!(
        leads[1]["custom_fields_values"][0]["field_id"],
        json!(1218176),
        "made-up leads carry the seed's fields"
    );
    assert_eq!(read(&emu, "/_emulator/leads/count")["leads"], json!(4));
    let seeded = post(
        &emu,
        "/_emulator/graph/seed?mailbox=info@bau.de&count=2",
        json!([{"givenName": "Anna"}]),
    );
    assert_eq!(seeded["seeded"], json!(3));
    let listed = read(&emu, "/_emulator/graph/list?mailbox=info@bau.de");
    assert_eq!(
        (
            listed[0]["displayName"].clone(),
            listed[1]["emailAddresses"][0]["address"].is_string()
        ),
        (json!("Anna"), true)
    );
    assert_eq!(
        read(&emu, "/_emulator/graph/count")["mailboxes"]["info@bau.de"],
        json!(3)
    );
}

#[test]
fn monday_espo_and_advoware_are_seeded_listed_and_counted() {
    let emu = Emulator::start(Options::default());
    let board = post(&emu, "/_emulator/monday/board", json!({"name": "Lieferanten", "columns": [["email", "E-Mail", "email"], ["phone", "Telefon", "phone"]]}))["board"].clone();
    assert_eq!(
        post(
            &emu,
            &format!("/_emulator/monday/seed?board={board}&count=2"),
            json!([])
        )["seeded"],
        json!(2)
    );
    let items = read(&emu, &format!("/_emulator/monday/list?board={board}"));
    assert_eq!(
        items[0]["column_values"][0]["text"],
        json!("person1@example.org")
    );
    assert_eq!(
        read(&emu, "/_emulator/monday/count")["boards"][board.to_string()],
        json!(2)
    );
    assert_eq!(
        post(
            &emu,
            "/_emulator/espo/seed?entity=Contact&count=2",
            json!([])
        )["seeded"],
        json!(2)
    );
    assert_eq!(
        read(&emu, "/_emulator/espo/list?entity=Contact")
            .as_array()
            .unwrap()
            .len(),
        2
    );
    assert_eq!(
        read(&emu, "/_emulator/espo/count")["entities"]["Contact"],
        json!(2)
    );
    assert_eq!(
        call(
            "POST",
            &format!("{}/_emulator/espo/deliver", emu.url),
            &[],
            None
        )
        .json(),
        json!([])
    );
    assert_eq!(
        post(&emu, "/_emulator/advoware/seed?count=2", json!([]))["seeded"],
        json!(2)
    );
    let bet = read(&emu, "/_emulator/advoware/list");
    assert_eq!(bet[0]["kommunikation"][1]["kommKz"], json!(4));
    assert_eq!(
        read(&emu, "/_emulator/advoware/count")["kommunikation"],
        json!(4)
    );
}

#[test]
fn the_request_log_names_api_requests_with_their_paths_not_control_routes() {
    let emu = Emulator::start(Options::default());
    let espo = emu.espo();
    let id = espo.insert("Contact", json!({"lastName": "Graf"}));
    let key = [("X-Api-Key", "espo-api-key")];
    get(&format!("{}/Contact/{id}", espo.api_url()), &key);
    get(&format!("{}/Contact?maxSize=5", espo.api_url()), &key);
    read(&emu, "/_emulator/espo/count");
    assert_eq!(
        emu.request_log(),
        vec![
            format!("GET /espo/api/v1/Contact/{id}"),
            "GET /espo/api/v1/Contact?maxSize=5".to_string()
        ]
    );
    emu.clear_request_log();
    assert!(emu.request_log().is_empty());
}
