//! EspoCRM over HTTP: lists with where filters and paging, the datetime
//! format, partial updates of emails and phones, refusals, webhooks.

use super::hooks::signature;
use super::EspoOptions;
use crate::testclient::{call, get, send, Sink};
use crate::{Emulator, Options};
use serde_json::{json, Value};

const KEY: (&str, &str) = ("X-Api-Key", "espo-api-key");

fn contact(last: &str, email: &str) -> Value {
    json!({"firstName": "Anna", "lastName": last, "emailAddressData": [{"emailAddress": email, "primary": true}]})
}

fn is_espo_time(v: &Value) -> bool {
    let s = v.as_str().unwrap_or("");
    chrono::NaiveDateTime::parse_from_str(s, "%Y-%m-%d %H:%M:%S").is_ok() && s.len() == 19
}

#[test]
fn lists_page_by_offset_newest_first_with_a_total() {
    let emu = Emulator::start(Options::default());
    for i in 0..5 {
        emu.espo()
            .insert("Contact", contact(&format!("N{i}"), &format!("n{i}@x.de")));
        emu.espo().advance(1);
    }
    let url = format!("{}/Contact?maxSize=2&offset=2", emu.espo().api_url());
    let r = get(&url, &[KEY]).json();
    assert_eq!(r["total"], json!(5));
    let names: Vec<&str> = r["list"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["lastName"].as_str().unwrap())
        .collect();
    assert_eq!(names, vec!["N2", "N1"], "createdAt desc by default");
    let asc = get(
        &format!(
            "{}/Contact?orderBy=lastName&order=asc&maxSize=1",
            emu.espo().api_url()
        ),
        &[KEY],
    )
    .json();
    assert_eq!(asc["list"][0]["lastName"], json!("N0"));
    let more = get(
        &format!("{}/Contact?maxSize=2", emu.espo().api_url()),
        &[KEY, ("X-No-Total", "true")],
    )
    .json();
    assert_eq!(more["total"], json!(-1));
    assert_eq!(
        get(
            &format!("{}/Contact?maxSize=201", emu.espo().api_url()),
            &[KEY]
        )
        .status,
        403
    );
    assert_eq!(
        get(
            &format!("{}/Contact", emu.espo().api_url()),
            &[("X-Api-Key", "wrong")]
        )
        .status,
        401
    );
    assert_eq!(
        get(&format!("{}/Nope", emu.espo().api_url()), &[KEY]).status,
        404
    );
}

#[test]
fn datetimes_have_no_zone_and_where_after_finds_changes() {
    let emu = Emulator::start(Options::default());
    let e = emu.espo();
    let old = e.insert("Contact", contact("Alt", "alt@x.de"));
    let stamp = e.get("Contact", &old).unwrap()["modifiedAt"].clone();
    assert!(
        is_espo_time(&stamp) && is_espo_time(&e.get("Contact", &old).unwrap()["createdAt"]),
        "{stamp}"
    );
    e.advance(10);
    let new = e.insert("Contact", contact("Neu", "neu@x.de"));
    let url = format!(
        "{}/Contact?where[0][type]=after&where[0][attribute]=modifiedAt&where[0][value]={}",
        e.api_url(),
        crate::common::encode(stamp.as_str().unwrap())
    );
    let r = get(&url, &[KEY]).json();
    assert_eq!(
        (r["total"].clone(), r["list"][0]["id"].clone()),
        (json!(1), json!(new))
    );
    let by_email = format!("{}/Contact?where[0][type]=equals&where[0][attribute]=emailAddress&where[0][value]=ALT@x.de", e.api_url());
    assert_eq!(get(&by_email, &[KEY]).json()["list"][0]["id"], json!(old));
    let json_params = format!(
        "{}/Contact?searchParams={}",
        e.api_url(),
        crate::common::encode(
            &json!({"where": [{"type": "equals", "attribute": "lastName", "value": "Neu"}]})
                .to_string()
        )
    );
    assert_eq!(get(&json_params, &[KEY]).json()["total"], json!(1));
}

#[test]
fn lists_leave_out_channel_data_unless_selected() {
    let emu = Emulator::start(Options::default());
    emu.espo().insert("Contact", contact("A", "a@x.de"));
    let plain = get(&format!("{}/Contact", emu.espo().api_url()), &[KEY]).json();
    assert!(plain["list"][0].get("emailAddressData").is_none());
    assert_eq!(plain["list"][0]["emailAddress"], json!("a@x.de"));
    let selected = get(
        &format!(
            "{}/Contact?select=emailAddressData,lastName",
            emu.espo().api_url()
        ),
        &[KEY],
    )
    .json();
    let keys: Vec<&String> = selected["list"][0].as_object().unwrap().keys().collect();
    assert_eq!(keys, vec!["emailAddressData", "id", "lastName"]);
}

#[test]
fn a_put_changes_what_it_names_and_a_no_op_changes_nothing() {
    let emu = Emulator::start(Options::default());
    let e = emu.espo();
    let id = e.insert("Contact", json!({"firstName": "Anna", "lastName": "Berger", "emailAddress": "anna@x.de", "phoneNumberData": [{"phoneNumber": "+49 30 1", "primary": true, "type": "Office"}]}));
    let url = format!("{}/Contact/{id}", e.api_url());
    e.advance(5);
    let body = json!({"emailAddressData": [{"emailAddress": "anna@x.de", "primary": false}, {"emailAddress": "a.berger@x.de", "primary": true, "optOut": true}]});
    let r = send("PUT", &url, &[KEY], &body);
    assert_eq!(r.status, 200);
    let rec = r.json();
    assert_eq!(
        (
            rec["emailAddress"].clone(),
            rec["emailAddressIsOptedOut"].clone()
        ),
        (json!("a.berger@x.de"), json!(true))
    );
    assert_eq!(
        rec["emailAddressData"][1],
        json!({"emailAddress": "anna@x.de", "lower": "anna@x.de", "primary": false, "optOut": false, "invalid": false})
    );
    assert_eq!(
        (
            rec["phoneNumber"].clone(),
            rec["firstName"].clone(),
            rec["name"].clone()
        ),
        (json!("+49 30 1"), json!("Anna"), json!("Anna Berger"))
    );
    let modified = rec["modifiedAt"].clone();
    e.advance(5);
    let same = send(
        "PUT",
        &url,
        &[KEY],
        &json!({"firstName": "Anna", "emailAddress": "a.berger@x.de"}),
    )
    .json();
    assert_eq!(
        (same["modifiedAt"].clone(), same["versionNumber"].clone()),
        (modified, rec["versionNumber"].clone()),
        "a no-op write is silent"
    );
}

#[test]
fn creates_are_validated_and_checked_for_duplicates() {
    let emu = Emulator::start(Options::default());
    let url = format!("{}/Contact", emu.espo().api_url());
    let r = send(
        "POST",
        &url,
        &[KEY],
        &json!({"firstName": "Anna", "lastName": null}),
    );
    assert_eq!(
        (r.status, r.header("x-status-reason")),
        (400, "validationFailure")
    );
    assert_eq!(
        r.json()["messageTranslation"]["data"],
        json!({"field": "lastName", "type": "required"})
    );
    let r = send(
        "POST",
        &url,
        &[KEY],
        &json!({"lastName": "B", "emailAddress": "no-at-sign"}),
    );
    assert_eq!(
        r.json()["messageTranslation"]["data"]["field"],
        json!("emailAddress")
    );
    let first = send("POST", &url, &[KEY], &contact("Berger", "anna@x.de"));
    assert_eq!(first.status, 200);
    let dup = send(
        "POST",
        &url,
        &[KEY],
        &json!({"lastName": "Other", "emailAddress": "ANNA@x.de"}),
    );
    assert_eq!(
        (dup.status, dup.header("x-status-reason")),
        (409, "duplicate")
    );
    assert_eq!(dup.json()[0]["id"], first.json()["id"]);
    let forced = send(
        "POST",
        &url,
        &[KEY, ("X-Skip-Duplicate-Check", "true")],
        &json!({"lastName": "Other", "emailAddress": "anna@x.de"}),
    );
    assert_eq!(forced.status, 200);
    assert_eq!(emu.espo().all("Contact").len(), 2);
}

#[test]
fn a_stale_version_number_is_a_conflict() {
    let emu = Emulator::start(Options::default());
    let id = emu.espo().insert("Account", json!({"name": "Bau GmbH"}));
    emu.espo()
        .update("Account", &id, json!({"website": "bau.de"}));
    let url = format!("{}/Account/{id}", emu.espo().api_url());
    let r = send(
        "PUT",
        &url,
        &[KEY],
        &json!({"name": "Bau AG", "versionNumber": 1}),
    );
    assert_eq!((r.status, r.header("x-status-reason")), (409, "modified"));
    assert_eq!(
        r.json(),
        json!({"values": {"name": "Bau GmbH"}, "versionNumber": 2})
    );
    assert_eq!(
        send(
            "PUT",
            &url,
            &[KEY],
            &json!({"name": "Bau AG", "versionNumber": 2})
        )
        .status,
        200
    );
}

#[test]
fn webhooks_send_signed_batches_of_changes() {
    let emu = Emulator::start(Options::default());
    let sink = Sink::start(200);
    let sub = send(
        "POST",
        &format!("{}/Webhook", emu.espo().api_url()),
        &[KEY],
        &json!({"event": "Contact.update", "url": sink.url}),
    );
    let (hook, secret) = (
        sub.json()["id"].as_str().unwrap().to_string(),
        sub.json()["secretKey"].as_str().unwrap().to_string(),
    );
    let a = emu.espo().insert("Contact", contact("A", "a@x.de"));
    let b = emu.espo().insert("Contact", contact("B", "b@x.de"));
    for id in [&a, &b] {
        send(
            "PUT",
            &format!("{}/Contact/{id}", emu.espo().api_url()),
            &[KEY],
            &json!({"title": "Dr."}),
        );
    }
    send(
        "PUT",
        &format!("{}/Contact/{a}", emu.espo().api_url()),
        &[KEY],
        &json!({"title": "Dr."}),
    );
    assert_eq!(
        emu.espo().queued().len(),
        2,
        "creates have no hook here, the no-op write no event"
    );
    let sent = emu.espo().deliver();
    assert_eq!((sent.len(), sent[0].status), (1, 200), "one batch");
    let got = sink.next().unwrap();
    assert_eq!(
        got.body,
        json!([{"id": a, "title": "Dr."}, {"id": b, "title": "Dr."}]).to_string()
    );
    assert_eq!(
        got.headers["signature"],
        signature(&hook, &secret, &got.body)
    );
    assert!(emu.espo().queued().is_empty());
}

#[test]
fn a_delete_sends_the_id_and_a_410_ends_the_hook() {
    let emu = Emulator::start(Options::default());
    let gone = Sink::start(410);
    emu.espo().subscribe("Contact.delete", &gone.url);
    let b = emu.espo().insert("Contact", contact("B", "b@x.de"));
    assert_eq!(
        call(
            "DELETE",
            &format!("{}/Contact/{b}", emu.espo().api_url()),
            &[KEY],
            None
        )
        .body,
        "true"
    );
    assert_eq!(
        get(&format!("{}/Contact/{b}", emu.espo().api_url()), &[KEY]).status,
        404
    );
    assert_eq!(emu.espo().deliver()[0].status, 410);
    assert_eq!(gone.next().unwrap().body, json!([{"id": b}]).to_string());
    let c = emu.espo().insert("Contact", contact("C", "c@x.de"));
    emu.espo().delete("Contact", &c);
    assert!(
        emu.espo().queued().is_empty(),
        "410 removed the hook: nothing queued"
    );
}

#[test]
fn auto_delivery_posts_after_each_write() {
    let emu = Emulator::start(Options {
        espo: EspoOptions {
            auto_deliver: true,
            ..EspoOptions::default()
        },
        ..Options::default()
    });
    let sink = Sink::start(200);
    emu.espo().subscribe("Contact.create", &sink.url);
    let r = send(
        "POST",
        &format!("{}/Contact", emu.espo().api_url()),
        &[KEY],
        &contact("Auto", "auto@x.de"),
    );
    let got = sink.next().expect("a webhook without asking");
    let body: Value = serde_json::from_str(&got.body).unwrap();
    assert_eq!(body[0]["id"], r.json()["id"]);
    assert_eq!(
        body[0]["lastName"],
        json!("Auto"),
        "a create sends every attribute"
    );
}
