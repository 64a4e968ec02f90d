//! Kommo leads over HTTP: paging with absolute next links, filters,
//! contacts, partial custom field updates, refusals and the rate limit.

use crate::testclient::{get, send};
use crate::{Emulator, Options};
use serde_json::{json, Value};

fn lead(created: i64, status: u64) -> Value {
    json!({"name": format!("L{created}"), "created_at": created, "status_id": status, "pipeline_id": 7000001})
}

#[test]
fn pages_of_250_follow_absolute_next_links_until_204() {
    let emu = Emulator::start(Options::default());
    for i in 0..260 {
        emu.leads().insert(lead(1_740_000_000 + i, 70_000_011));
    }
    let first = get(
        &format!(
            "{}/api/v4/leads?limit=250&filter[created_at][from]=1740000000",
            emu.url
        ),
        &[],
    );
    assert_eq!(first.status, 200);
    let body = first.json();
    assert_eq!(body["_embedded"]["leads"].as_array().unwrap().len(), 250);
    let next = body["_links"]["next"]["href"].as_str().unwrap().to_string();
    assert!(next.starts_with(&emu.url), "absolute: {next}");
    assert!(
        next.contains("filter%5Bcreated_at%5D%5Bfrom%5D=1740000000") && next.contains("page=2"),
        "{next}"
    );
    let second = get(&next, &[]).json();
    assert_eq!(second["_embedded"]["leads"].as_array().unwrap().len(), 10);
    assert!(
        second["_links"].get("next").is_none(),
        "the last page has no next link"
    );
    let third = get(&format!("{}/api/v4/leads?limit=250&page=3", emu.url), &[]);
    assert_eq!((third.status, third.body.as_str()), (204, ""));
    assert_eq!(emu.leads().count("GET"), 3);
}

#[test]
fn filters_select_by_creation_time_and_the_first_status_pair_only() {
    let emu = Emulator::start(Options::default());
    let old = emu.leads().insert(lead(1_700_000_000, 70_000_011));
    let lost = emu.leads().insert(lead(1_740_000_000, 143));
    let open = emu.leads().insert(lead(1_740_000_100, 79_790_631));
    let ids = |q: &str| -> Vec<u64> {
        let r = get(&format!("{}/api/v4/leads?{q}", emu.url), &[]);
        if r.status == 204 {
            return Vec::new();
        }
        r.json()["_embedded"]["leads"]
            .as_array()
            .unwrap()
            .iter()
            .map(|l| l["id"].as_u64().unwrap())
            .collect()
    };
    let year = "filter[created_at][from]=1735689600&filter[created_at][to]=1767225599";
    assert_eq!(ids(year), vec![lost, open]);
    assert_eq!(
        ids(&format!("{year}&order[created_at]=desc")),
        vec![open, lost]
    );
    let status = "filter[statuses][0][pipeline_id]=7000001&filter[statuses][0][status_id]=79790631";
    assert_eq!(ids(status), vec![open]);
    let two = format!(
        "{status}&filter[statuses][1][pipeline_id]=7000001&filter[statuses][1][status_id]=143"
    );
    assert_eq!(
        ids(&two),
        vec![open],
        "Kommo filters one stage of one pipeline"
    );
    assert_eq!(
        ids(&format!("filter[id][]={old}&filter[id][]={lost}")),
        vec![old, lost]
    );
    assert_eq!(
        ids("filter[created_at][from]=1800000000"),
        Vec::<u64>::new()
    );
}

#[test]
fn contacts_appear_only_with_contacts() {
    let emu = Emulator::start(Options::default());
    let id = emu
        .leads()
        .insert(json!({"name": "A", "_embedded": {"contacts": [{"id": 11}, {"id": 12}]}}));
    let plain = get(&format!("{}/api/v4/leads/{id}", emu.url), &[]).json();
    assert!(plain["_embedded"].get("contacts").is_none());
    let with = get(&format!("{}/api/v4/leads/{id}?with=contacts", emu.url), &[]).json();
    let contacts = with["_embedded"]["contacts"].as_array().unwrap();
    assert_eq!(
        (contacts[0]["id"].as_u64(), contacts[0]["is_main"].as_bool()),
        (Some(11), Some(true))
    );
    assert_eq!(contacts[1]["is_main"], json!(false));
    assert_eq!(
        get(&format!("{}/api/v4/leads/999", emu.url), &[]).status,
        204
    );
}

#[test]
fn a_patch_replaces_only_the_custom_fields_it_names_and_null_clears() {
    let emu = Emulator::start(Options::default());
    let id = emu
        .leads()
        .insert(json!({"name": "Booking", "custom_fields_values": [
        {"field_id": 1218176, "values": [{"value": 1767225600}]},
        {"field_id": 1218178, "values": [{"value": 1767312000}]},
        {"field_id": 1234163, "values": [{"enum_id": 3001}]}]}));
    emu.advance(60);
    let url = format!("{}/api/v4/leads/{id}", emu.url);
    let r = send(
        "PATCH",
        &url,
        &[],
        &json!({"custom_fields_values": [
        {"field_id": 1218178, "values": [{"value": 1767398400}]},
        {"field_id": 1234163, "values": null}]}),
    );
    assert_eq!(r.status, 200);
    let stored = emu.leads().get(id).unwrap();
    assert_eq!(r.json()["updated_at"], stored["updated_at"]);
    assert!(stored["updated_at"].as_i64() > stored["created_at"].as_i64());
    let cf = stored["custom_fields_values"].as_array().unwrap();
    let by_id = |f: u64| {
        cf.iter()
            .find(|e| e["field_id"] == json!(f))
            .map(|e| e["values"][0]["value"].clone())
    };
    assert_eq!(by_id(1218176), Some(json!(1767225600)), "not named: kept");
    assert_eq!(by_id(1218178), Some(json!(1767398400)), "named: replaced");
    assert_eq!(by_id(1234163), None, "values null: cleared");
    assert_eq!(stored["name"], json!("Booking"));
    send(
        "PATCH",
        &url,
        &[],
        &json!({"custom_fields_values": [{"field_id": 1218176, "values": null}, {"field_id": 1218178, "values": null}]}),
    );
    assert_eq!(
        emu.leads().get(id).unwrap()["custom_fields_values"],
        Value::Null,
        "no fields left: null"
    );
}

#[test]
fn a_list_patch_answers_ids_and_refuses_bad_items_whole() {
    let emu = Emulator::start(Options::default());
    let a = emu.leads().insert(lead(1_740_000_000, 70_000_011));
    let b = emu.leads().insert(lead(1_740_000_001, 70_000_011));
    let url = format!("{}/api/v4/leads", emu.url);
    let r = send(
        "PATCH",
        &url,
        &[],
        &json!([{"id": a, "price": 5}, {"id": b, "status_id": 143}]),
    );
    assert_eq!(r.status, 200);
    let done = r.json()["_embedded"]["leads"].clone();
    assert_eq!(
        (done[0]["id"].as_u64(), done[1]["id"].as_u64()),
        (Some(a), Some(b))
    );
    assert_eq!(emu.leads().get(b).unwrap()["status_id"], json!(143));
    let bad = send(
        "PATCH",
        &url,
        &[],
        &json!([{"id": a, "custom_fields_values": [{"field_id": 823206, "values": [{"enum_id": 1}]}]}]),
    );
    assert_eq!(bad.status, 400);
    let err = &bad.json()["validation-errors"][0]["errors"][0];
    assert_eq!(err["code"], json!("NotSupportedChoice"));
    assert_eq!(
        err["path"],
        json!("custom_fields_values.0.values.0.enum_id")
    );
    assert_eq!(
        send("PATCH", &url, &[], &json!([{"price": 1}])).status,
        400,
        "an item without id"
    );
    assert_eq!(emu.leads().get(a).unwrap()["price"], json!(5));
}

#[test]
fn creates_link_contacts_and_the_catalog_lists_the_seed_fields() {
    let emu = Emulator::start(Options::default());
    let r = send(
        "POST",
        &format!("{}/api/v4/leads", emu.url),
        &[],
        &json!([{"name": "New", "_embedded": {"contacts": [{"id": 5}]}}]),
    );
    assert_eq!(r.status, 200);
    let id = r.json()["_embedded"]["leads"][0]["id"].as_u64().unwrap();
    assert_eq!(
        emu.leads().get(id).unwrap()["_embedded"]["contacts"][0]["id"],
        json!(5)
    );
    let fields = get(&format!("{}/api/v4/leads/custom_fields", emu.url), &[]).json();
    let ids: Vec<u64> = fields["_embedded"]["custom_fields"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["id"].as_u64().unwrap())
        .collect();
    assert!(ids.contains(&1218176) && ids.contains(&1234163), "{ids:?}");
}

#[test]
fn over_the_rate_limit_the_account_answers_429() {
    let emu = Emulator::start(Options {
        rps: Some(2),
        ..Options::default()
    });
    let url = format!("{}/api/v4/leads", emu.url);
    let statuses: Vec<u16> = (0..3).map(|_| get(&url, &[]).status).collect();
    assert_eq!(statuses, vec![204, 204, 429]);
}

#[test]
fn pipelines_list_their_statuses_and_a_write_outside_them_is_refused() {
    let emu = Emulator::start(Options::default());
    let r = get(&format!("{}/api/v4/leads/pipelines", emu.url), &[]);
    assert_eq!(r.status, 200);
    let body = r.json();
    let pipeline = &body["_embedded"]["pipelines"][0];
    assert_eq!(pipeline["id"], json!(7000001));
    let statuses: Vec<u64> = pipeline["_embedded"]["statuses"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["id"].as_u64().unwrap())
        .collect();
    for seed_003 in [79_790_631, 91_703_923, 142, 143] {
        assert!(statuses.contains(&seed_003), "{statuses:?}");
    }
    let one = get(&format!("{}/api/v4/leads/pipelines/7000001", emu.url), &[]);
    assert_eq!(one.json()["name"], json!("Rentals"));
    let none = get(&format!("{}/api/v4/leads/pipelines/5", emu.url), &[]);
    assert_eq!(none.status, 204);
    let refused = send(
        "POST",
        &format!("{}/api/v4/leads", emu.url),
        &[],
        &json!([{"name": "x", "status_id": 12345}]),
    );
    assert_eq!(refused.status, 400);
    let text = refused.json().to_string();
    assert!(
        text.contains("NotSupportedChoice") && text.contains("status_id"),
        "{text}"
    );
}
