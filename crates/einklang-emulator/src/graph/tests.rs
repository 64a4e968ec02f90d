//! Microsoft Graph contacts over HTTP: client credentials, several
//! mailboxes, nextLink paging, etags, partial updates and the errors.

use crate::graph::GraphOptions;
use crate::testclient::{call, get, send, Reply};
use crate::{Emulator, Options};
use serde_json::{json, Value};

const FORM: (&str, &str) = ("Content-Type", "application/x-www-form-urlencoded");

fn token_with(emu: &Emulator, form: &str) -> Reply {
    call("POST", &emu.graph().token_url(), &[FORM], Some(form))
}

fn token(emu: &Emulator) -> String {
    let form = "grant_type=client_credentials&client_id=einklang-graph-app&client_secret=graph-s3cret&scope=https%3A%2F%2Fgraph.microsoft.com%2F.default";
    let r = token_with(emu, form);
    assert_eq!(r.status, 200, "{}", r.body);
    format!("Bearer {}", r.json()["access_token"].as_str().unwrap())
}

fn contacts(emu: &Emulator, mailbox: &str) -> String {
    format!("{}/users/{mailbox}/contacts", emu.graph().base_url())
}

#[test]
fn one_token_reads_every_mailbox_and_unknown_mailboxes_are_404() {
    let emu = Emulator::start(Options::default());
    let g = emu.graph();
    g.insert(
        "info@bau.de",
        json!({"givenName": "Anna", "surname": "Berger"}),
    );
    g.insert(
        "buero@bau.de",
        json!({"givenName": "Jonas", "surname": "Huber"}),
    );
    let auth = token(&emu);
    for (mailbox, name) in [
        ("info@bau.de", "Anna Berger"),
        ("Buero@Bau.de", "Jonas Huber"),
    ] {
        let r = get(&contacts(&emu, mailbox), &[("Authorization", &auth)]);
        assert_eq!(r.status, 200);
        assert_eq!(r.json()["value"][0]["displayName"], json!(name));
    }
    let r = get(
        &contacts(&emu, "nobody@bau.de"),
        &[("Authorization", &auth)],
    );
    assert_eq!(
        (r.status, r.json()["error"]["code"].clone()),
        (404, json!("ErrorInvalidUser"))
    );
    assert_eq!(get(&contacts(&emu, "info@bau.de"), &[]).status, 401);
    assert_eq!(g.count("TOKEN"), 1);
}

#[test]
fn the_token_endpoint_refuses_like_the_identity_platform() {
    let emu = Emulator::start(Options::default());
    let base = "grant_type=client_credentials&client_id=einklang-graph-app";
    let r = token_with(
        &emu,
        &format!("{base}&client_secret=wrong&scope=https%3A%2F%2Fgraph.microsoft.com%2F.default"),
    );
    assert_eq!(
        (r.status, r.json()["error"].clone()),
        (401, json!("invalid_client"))
    );
    let r = token_with(
        &emu,
        &format!("{base}&client_secret=graph-s3cret&scope=Contacts.Read"),
    );
    assert_eq!(
        (r.status, r.json()["error"].clone()),
        (400, json!("invalid_scope"))
    );
    assert!(r.json()["error_description"]
        .as_str()
        .unwrap()
        .starts_with("AADSTS1002012"));
    let r = call(
        "POST",
        &format!("{}/login/other/oauth2/v2.0/token", emu.url),
        &[FORM],
        Some(base),
    );
    assert_eq!(r.json()["error_codes"], json!([90002]));
}

#[test]
fn an_expired_token_is_refused_until_a_new_one_is_fetched() {
    let emu = Emulator::start(Options {
        graph: GraphOptions {
            token_ttl_s: 60,
            ..GraphOptions::default()
        },
        ..Options::default()
    });
    emu.graph().add_mailbox("info@bau.de");
    let auth = token(&emu);
    assert_eq!(
        get(&contacts(&emu, "info@bau.de"), &[("Authorization", &auth)]).status,
        200
    );
    emu.graph().advance(61);
    let r = get(&contacts(&emu, "info@bau.de"), &[("Authorization", &auth)]);
    assert_eq!(
        (r.status, r.json()["error"]["code"].clone()),
        (401, json!("InvalidAuthenticationToken"))
    );
    assert_eq!(
        get(
            &contacts(&emu, "info@bau.de"),
            &[("Authorization", &token(&emu))]
        )
        .status,
        200
    );
}

#[test]
fn pages_follow_next_links_with_top_and_skip() {
    let emu = Emulator::start(Options::default());
    for i in 0..25 {
        emu.graph()
            .insert("info@bau.de", json!({"surname": format!("S{i:02}")}));
    }
    let auth = token(&emu);
    let mut url = format!(
        "{}?$select=surname,emailAddresses",
        contacts(&emu, "info@bau.de")
    );
    let mut seen = Vec::new();
    while !url.is_empty() {
        let page = get(&url, &[("Authorization", &auth)]).json();
        for c in page["value"].as_array().unwrap() {
            assert!(
                c.get("givenName").is_none() && c["@odata.etag"].is_string() && c["id"].is_string(),
                "{c}"
            );
            seen.push(c["surname"].as_str().unwrap().to_string());
        }
        url = page["@odata.nextLink"].as_str().unwrap_or("").to_string();
        assert!(
            url.is_empty() || url.contains("%24select=surname%2CemailAddresses"),
            "{url}"
        );
    }
    assert_eq!(seen.len(), 25, "10 + 10 + 5, nothing twice");
    assert_eq!(seen[24], "S24");
    assert_eq!(emu.graph().count("GET"), 3);
    let r = get(
        &format!("{}?$top=5&$skip=20", contacts(&emu, "info@bau.de")),
        &[("Authorization", &auth)],
    )
    .json();
    assert_eq!(
        (
            r["value"].as_array().unwrap().len(),
            r.get("@odata.nextLink")
        ),
        (5, None)
    );
}

#[test]
fn a_filter_on_last_modified_finds_what_changed() {
    let emu = Emulator::start(Options::default());
    let g = emu.graph();
    let old = g.insert("info@bau.de", json!({"surname": "Alt"}));
    g.advance(3600);
    let since = g.get("info@bau.de", &old).unwrap()["lastModifiedDateTime"]
        .as_str()
        .unwrap()
        .to_string();
    g.advance(60);
    let new = g.insert("info@bau.de", json!({"surname": "Neu"}));
    let auth = token(&emu);
    let filtered = |f: &str| -> Vec<String> {
        let url = format!(
            "{}?$filter={}",
            contacts(&emu, "info@bau.de"),
            crate::common::encode(f)
        );
        let r = get(&url, &[("Authorization", &auth)]);
        assert_eq!(r.status, 200, "{}", r.body);
        r.json()["value"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| c["id"].as_str().unwrap().to_string())
            .collect()
    };
    assert_eq!(
        filtered(&format!("lastModifiedDateTime gt {since}")),
        vec![new.clone()]
    );
    assert_eq!(
        filtered(&format!("lastModifiedDateTime ge {since}")).len(),
        2
    );
    let r = get(
        &format!("{}?$filter=nonsense", contacts(&emu, "info@bau.de")),
        &[("Authorization", &auth)],
    );
    assert_eq!(
        (r.status, r.json()["error"]["code"].clone()),
        (400, json!("ErrorInvalidUrlQueryFilter"))
    );
}

#[test]
fn a_patch_changes_etag_and_replaces_only_the_lists_it_sends() {
    let emu = Emulator::start(Options::default());
    let g = emu.graph();
    let id = g.insert("info@bau.de", json!({
        "givenName": "Anna", "businessPhones": ["+49 30 1", "+49 30 2"], "homePhones": ["+49 30 9"],
        "emailAddresses": [{"name": "Anna", "address": "anna@bau.de"}], "businessAddress": {"city": "Berlin", "street": "A 1"}}));
    let before = g.get("info@bau.de", &id).unwrap();
    let auth = token(&emu);
    let url = format!("{}/{id}", contacts(&emu, "info@bau.de"));
    let body = json!({"businessPhones": ["+49 30 3"], "emailAddresses": [], "businessAddress": {"city": "Hamburg"}, "@odata.etag": "ignored"});
    let r = send("PATCH", &url, &[("Authorization", &auth)], &body);
    assert_eq!(r.status, 200, "{}", r.body);
    let after = r.json();
    assert_ne!(after["@odata.etag"], before["@odata.etag"]);
    assert_ne!(after["changeKey"], before["changeKey"]);
    assert_eq!(
        after["@odata.etag"],
        json!(format!("W/\"{}\"", after["changeKey"].as_str().unwrap()))
    );
    assert_eq!(
        after["businessPhones"],
        json!(["+49 30 3"]),
        "a list sent replaces the list"
    );
    assert_eq!(after["emailAddresses"], json!([]));
    assert_eq!(
        after["homePhones"],
        json!(["+49 30 9"]),
        "a list not sent stays"
    );
    assert_eq!(
        after["businessAddress"],
        json!({"city": "Hamburg", "street": "A 1"}),
        "an address is merged"
    );
    assert_eq!(
        (after["givenName"].clone(), after["mobilePhone"].clone()),
        (json!("Anna"), Value::Null)
    );
    let stale = send(
        "PATCH",
        &url,
        &[
            ("Authorization", &auth),
            ("If-Match", before["@odata.etag"].as_str().unwrap()),
        ],
        &json!({"givenName": "X"}),
    );
    assert_eq!(
        (stale.status, stale.json()["error"]["code"].clone()),
        (412, json!("ErrorIrresolvableConflict"))
    );
    let fresh = send(
        "PATCH",
        &url,
        &[
            ("Authorization", &auth),
            ("If-Match", after["@odata.etag"].as_str().unwrap()),
        ],
        &json!({"givenName": "Anne"}),
    );
    assert_eq!(fresh.status, 200);
}

#[test]
fn unknown_properties_and_missing_contacts_are_refused() {
    let emu = Emulator::start(Options::default());
    let id = emu.graph().insert("info@bau.de", json!({"surname": "A"}));
    let auth = token(&emu);
    let url = |id: &str| format!("{}/{id}", contacts(&emu, "info@bau.de"));
    let r = send(
        "PATCH",
        &url(&id),
        &[("Authorization", &auth)],
        &json!({"phone": "1"}),
    );
    assert_eq!(
        (r.status, r.json()["error"]["code"].clone()),
        (400, json!("RequestBodyRead"))
    );
    let r = send(
        "PATCH",
        &url(&id),
        &[("Authorization", &auth)],
        &json!({"emailAddresses": [{"address": "a@b.c", "type": "work"}]}),
    );
    assert_eq!(r.status, 400);
    let r = send(
        "PATCH",
        &url("AAMkADnope"),
        &[("Authorization", &auth)],
        &json!({"surname": "B"}),
    );
    assert_eq!(
        (r.status, r.json()["error"]["code"].clone()),
        (404, json!("ErrorItemNotFound"))
    );
    assert_eq!(
        call("DELETE", &url(&id), &[("Authorization", &auth)], None).status,
        204
    );
    assert_eq!(get(&url(&id), &[("Authorization", &auth)]).status, 404);
    let made = send(
        "POST",
        &contacts(&emu, "info@bau.de"),
        &[("Authorization", &auth)],
        &json!({"givenName": "Neu"}),
    );
    assert_eq!(
        (made.status, made.json()["businessPhones"].clone()),
        (201, json!([]))
    );
}

#[test]
fn throttling_and_injected_faults_answer_before_the_work() {
    let emu = Emulator::start(Options {
        graph: GraphOptions {
            rps: Some(2),
            ..GraphOptions::default()
        },
        ..Options::default()
    });
    emu.graph().add_mailbox("info@bau.de");
    let auth = token(&emu);
    let url = contacts(&emu, "info@bau.de");
    let statuses: Vec<u16> = (0..3)
        .map(|_| get(&url, &[("Authorization", &auth)]).status)
        .collect();
    assert_eq!(statuses, vec![200, 200, 429]);
    std::thread::sleep(std::time::Duration::from_millis(1100));
    emu.graph().fail_next(&[503]);
    let r = get(&url, &[("Authorization", &auth)]);
    assert_eq!(r.status, 503);
    assert_eq!(get(&url, &[("Authorization", &auth)]).status, 200);
}

#[test]
fn delta_rounds_page_link_the_next_round_show_removals_and_410_when_expired() {
    let emu = Emulator::start(Options::default());
    let g = emu.graph();
    let ids: Vec<String> = (0..3)
        .map(|i| {
            g.insert(
                "info@bau.de",
                json!({"givenName": format!("K{i}"), "surname": "B"}),
            )
        })
        .collect();
    let auth = token(&emu);
    let h = [
        ("Authorization", auth.as_str()),
        ("Prefer", "odata.maxpagesize=2"),
    ];
    let folder = format!(
        "{}/users/info@bau.de/contactFolders/AAMkADEmContactsAAA=/contacts/delta",
        g.base_url()
    );
    let first = get(&folder, &h).json();
    assert_eq!(first["value"].as_array().unwrap().len(), 2);
    assert!(first.get("@odata.deltaLink").is_none());
    let next = first["@odata.nextLink"].as_str().unwrap();
    assert!(next.contains("%24skiptoken="), "{next}");
    let last = get(next, &h).json();
    assert_eq!(last["value"][0]["id"], json!(ids[2]));
    let link = last["@odata.deltaLink"].as_str().unwrap().to_string();
    assert!(link.contains("%24deltatoken="), "{link}");
    // quiet: an empty round with a link again
    let quiet = get(&link, &h).json();
    assert_eq!(quiet["value"], json!([]));
    // an edit and a delete, seen through the link
    g.update("info@bau.de", &ids[0], json!({"surname": "Neu"}));
    g.delete("info@bau.de", &ids[1]);
    let round = get(&link, &h).json();
    let v = round["value"].as_array().unwrap();
    assert_eq!(v.len(), 2, "{round}");
    assert_eq!(
        (v[0]["id"].clone(), v[0]["surname"].clone()),
        (json!(ids[0]), json!("Neu"))
    );
    assert_eq!(
        v[1],
        json!({"@odata.type": "#microsoft.graph.contact", "id": ids[1], "@removed": {"reason": "deleted"}})
    );
    // the undocumented path without a folder answers the same
    let plain = format!("{}/users/info@bau.de/contacts/delta", g.base_url());
    assert_eq!(get(&plain, &h).json()["value"].as_array().unwrap().len(), 2);
    // expired and unknown tokens: 410 SyncStateNotFound
    g.expire_delta_tokens();
    let r = get(&link, &h);
    assert_eq!(
        (r.status, r.json()["error"]["code"].clone()),
        (410, json!("SyncStateNotFound"))
    );
    assert_eq!(get(&format!("{plain}?$deltatoken=nope"), &h).status, 410);
    let wrong = format!(
        "{}/users/info@bau.de/contactFolders/other/contacts/delta",
        g.base_url()
    );
    assert_eq!(get(&wrong, &h).status, 404);
}
