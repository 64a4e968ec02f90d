//! Webhooks into `einklang serve`: a signed call becomes a targeted run
//! that reads only the record it names; a burst for a few records makes
//! few runs, each record synced; a bad signature queues nothing; a copy
//! of an accepted call is answered and queues nothing.

mod common;

use axum::http::StatusCode;
use einklang_store::{RunSource, RunStatus};
use hmac::{KeyInit, Mac};
use serde_json::json;
use std::sync::Arc;
use std::time::Duration;

fn config(url: &str) -> String {
    format!(
        r#"
store = "hub.db"
tenant = "acme"

[entities.contact]
name = "text"

[connectors.crm]
kind = "http"
base_url = "{url}"
list = {{ path = "/api/v4/contacts", records = "/_embedded/contacts", paginate = "next_link", next = "/_links/next/href" }}
get = {{ path = "/api/v4/contacts/{{id}}", missing = [204, 404] }}
webhook = {{ signature_header = "X-Signature", secret = "hook-secret-9", ids = ["/contacts/update/*/id"] }}

[map.crm.contact]
id = "id"
fields = {{ name = "name" }}

[jobs.j]
pull = ["crm"]

[serve]
webhook_window_ms = 300
"#
    )
}

fn sign(body: &str) -> String {
    let mut mac = hmac::Hmac::<sha2::Sha256>::new_from_slice(b"hook-secret-9").unwrap();
    mac.update(body.as_bytes());
    let bytes = mac.finalize().into_bytes();
    format!(
        "sha256={}",
        bytes.iter().map(|b| format!("{b:02x}")).collect::<String>()
    )
}

async fn hook(
    hub: &common::Hub,
    ids: &[u64],
    signature: Option<String>,
) -> (StatusCode, serde_json::Value) {
    static EVENT: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    let event = EVENT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let list: Vec<_> = ids.iter().map(|i| json!({ "id": i.to_string() })).collect();
    // each call an event of its own, as a CRM sends them
    let body = json!({ "contacts": { "update": list }, "event": event }).to_string();
    send(hub, body, signature).await
}

/// Post `body` signed (or with `signature`).
async fn send(
    hub: &common::Hub,
    body: String,
    signature: Option<String>,
) -> (StatusCode, serde_json::Value) {
    let sig = signature.unwrap_or_else(|| sign(&body));
    let req = axum::http::Request::builder()
        .method("POST")
        .uri("/webhooks/crm")
        .header("X-Signature", sig)
        .header("content-type", "application/json")
        .body(axum::body::Body::from(body))
        .unwrap();
    use http_body_util::BodyExt;
    use tower::ServiceExt;
    let answer = einklang_serve::app(Arc::clone(&hub.shared))
        .oneshot(req)
        .await
        .unwrap();
    let status = answer.status();
    let bytes = answer.into_body().collect().await.unwrap().to_bytes();
    let json: serde_json::Value = serde_json::from_slice(&bytes).unwrap_or_default();
    if !json.is_null() {
        common::conforms("POST", "/webhooks/crm", status, &json);
    }
    (status, json)
}

fn wait_idle(hub: &common::Hub) {
    let mut s = common::open(&hub.config);
    for _ in 0..400 {
        if s.queue_depth("acme").unwrap() == 0 {
            return;
        }
        std::thread::sleep(Duration::from_millis(25));
    }
    panic!("the queue did not drain");
}

#[tokio::test(flavor = "current_thread")]
async fn a_signed_call_syncs_the_named_record_and_a_burst_makes_few_runs() {
    einklang_serve::metrics::recorder();
    let emu = einklang_emulator::Emulator::start(Default::default());
    let ids: Vec<u64> = (0..30)
        .map(|i| emu.insert(json!({ "name": format!("Kontakt {i}") })))
        .collect();
    let hub = common::hub_with(&config(&emu.url), None);
    let (kick, handle) = common::worker(&hub);
    // the first load: an ordinary run through the API
    let (status, _, _) = common::call(
        &hub,
        "POST",
        "/api/jobs/j/runs",
        Some(&common::token_of("acme", "ops")),
        None,
    )
    .await;
    assert_eq!(status, StatusCode::ACCEPTED);
    wait_idle(&hub);
    let mut store = common::open(&hub.config);
    let first = store.runs("acme", 1).unwrap().remove(0);
    assert_eq!(
        (first.status, first.counters["created"]),
        (RunStatus::Succeeded, 30)
    );

    // a bad signature queues nothing
    let (status, body) = hook(&hub, &[ids[3]], Some("sha256=00".into())).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "{body}");
    assert_eq!(store.runs("acme", 10).unwrap().len(), 1);

    // one changed record, one call: a run that reads only it
    emu.update(ids[3], json!({ "name": "Kontakt drei" }));
    emu.clear_request_log();
    let (status, body) = hook(&hub, &[ids[3]], None).await;
    assert_eq!(status, StatusCode::ACCEPTED, "{body}");
    wait_idle(&hub);
    let run = store.runs("acme", 1).unwrap().remove(0);
    assert_eq!(
        (run.source, run.status),
        (RunSource::Webhook, RunStatus::Succeeded)
    );
    assert_eq!(run.counters["updated"], 1, "{:?}", run.counters);
    let log = emu.request_log();
    assert!(
        log.iter().all(|r| !r.ends_with("/api/v4/contacts")),
        "no listing: {log:?}"
    );

    // the sender's retry of a call accepted already: answered, not run
    let call = json!({ "contacts": { "update": [{ "id": ids[4].to_string() }] } }).to_string();
    let (status, body) = send(&hub, call.clone(), None).await;
    assert_eq!(status, StatusCode::ACCEPTED, "{body}");
    wait_idle(&hub);
    let runs_before = store.runs("acme", 100).unwrap().len();
    for _ in 0..3 {
        let (status, body) = send(&hub, call.clone(), None).await;
        assert_eq!(status, StatusCode::OK, "{body}");
        assert_eq!(body["duplicate"], true, "{body}");
    }
    assert_eq!(
        store.runs("acme", 100).unwrap().len(),
        runs_before,
        "copies queue nothing"
    );
    // a body over the limit is refused before it is read
    let (status, _) = send(&hub, "x".repeat((1 << 20) + 1), None).await;
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE);

    // a burst: 200 calls for 5 records, all changed
    for i in 0..5 {
        emu.update(ids[10 + i], json!({ "name": format!("Neu {i}") }));
    }
    let before = store.runs("acme", 100).unwrap().len();
    for n in 0..200 {
        let (status, _) = hook(&hub, &[ids[10 + n % 5]], None).await;
        assert_eq!(status, StatusCode::ACCEPTED);
    }
    wait_idle(&hub);
    let runs = store.runs("acme", 100).unwrap();
    let burst = runs.len() - before;
    assert!((1..=10).contains(&burst), "200 calls made {burst} runs");
    for i in 0..5 {
        let record = store
            .find_links("acme", "crm", "contact", &[&ids[10 + i].to_string()])
            .unwrap();
        let hub_record = store
            .record("acme", "contact", record[0].as_ref().unwrap().record_id)
            .unwrap()
            .unwrap();
        assert_eq!(
            hub_record.values["name"],
            json!(format!("Neu {i}")),
            "record {i} synced"
        );
    }
    kick.stop();
    handle.join().unwrap();

    // what /metrics tells of all this
    let text = metrics_text(&hub, &common::token_of("acme", "view")).await;
    assert!(
        text.contains("einklang_records{entity=\"contact\"} 30"),
        "{text}"
    );
    assert!(
        text.contains("einklang_links{connector=\"crm\",status=\"clean\"} 30"),
        "{text}"
    );
    assert!(text.contains("einklang_queue_depth 0"), "{text}");
    let runs = store.runs("acme", 100).unwrap().len();
    assert!(
        text.contains(&format!(
            "einklang_runs{{job=\"j\",status=\"succeeded\"}} {runs}"
        )),
        "{text}"
    );
    let calls = text
        .lines()
        .find(|l| {
            l.starts_with("einklang_remote_calls_total{")
                && l.contains("connector=\"crm\"")
                && l.contains("status=\"200\"")
        })
        .unwrap_or_else(|| panic!("remote calls counted: {text}"));
    let n: f64 = calls.rsplit(' ').next().unwrap().parse().unwrap();
    assert!(n >= 7.0, "{calls}");
    assert!(text.contains("einklang_runs_finished_total{"), "{text}");
    let other = metrics_text(&hub, &common::token_of("other", "ops")).await;
    assert!(
        !other.contains("job=\"j\""),
        "another tenant's counts: {other}"
    );
}

async fn metrics_text(hub: &common::Hub, token: &str) -> String {
    use http_body_util::BodyExt;
    use tower::ServiceExt;
    let req = axum::http::Request::builder()
        .uri("/metrics")
        .header("authorization", format!("Bearer {token}"))
        .body(axum::body::Body::empty())
        .unwrap();
    let answer = einklang_serve::app(Arc::clone(&hub.shared))
        .oneshot(req)
        .await
        .unwrap();
    assert_eq!(answer.status(), StatusCode::OK);
    String::from_utf8(
        answer
            .into_body()
            .collect()
            .await
            .unwrap()
            .to_bytes()
            .to_vec(),
    )
    .unwrap()
}

#[tokio::test(flavor = "current_thread")]
async fn records_are_shown_mapped_and_synced_now_by_id() {
    let emu = einklang_emulator::Emulator::start(Default::default());
    let ids: Vec<u64> = (0..10)
        .map(|i| emu.insert(json!({ "name": format!("Kontakt {i}") })))
        .collect();
    let hub = common::hub_with(&config(&emu.url), None);
    let (kick, handle) = common::worker(&hub);
    let (ops, view) = (
        common::token_of("acme", "ops"),
        common::token_of("acme", "view"),
    );
    common::call(&hub, "POST", "/api/jobs/j/runs", Some(&ops), None).await;
    wait_idle(&hub);
    // the mapping table: a connector's id → the hub's
    let (status, m, _) = common::call(
        &hub,
        "GET",
        &format!("/api/mappings/crm/contact/{}", ids[2]),
        Some(&view),
        None,
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{m}");
    let hub_id = m["record_id"].as_i64().unwrap();
    assert_eq!(m["status"], "clean");
    let (status, _, _) = common::call(
        &hub,
        "GET",
        "/api/mappings/crm/contact/nope",
        Some(&view),
        None,
    )
    .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, shown, _) = common::call(
        &hub,
        "GET",
        &format!("/api/records/contact/{hub_id}"),
        Some(&view),
        None,
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(shown["record"]["values"]["name"], "Kontakt 2", "{shown}");
    assert_eq!(shown["links"][0]["external_id"], ids[2].to_string());
    assert!(!shown["history"].as_array().unwrap().is_empty());
    let (status, _, _) = common::call(
        &hub,
        "GET",
        &format!("/api/records/contact/{hub_id}"),
        Some(&common::token_of("other", "ops")),
        None,
    )
    .await;
    assert_eq!(status, StatusCode::NOT_FOUND, "another tenant's record");

    // compare: the hub next to what the CRM holds now
    emu.update(ids[1], json!({ "name": "Anders" }));
    emu.delete(ids[4]);
    let hub_of = |m: serde_json::Value| m["record_id"].as_i64().unwrap();
    let (_, m1, _) = common::call(
        &hub,
        "GET",
        &format!("/api/mappings/crm/contact/{}", ids[1]),
        Some(&view),
        None,
    )
    .await;
    let (_, m4, _) = common::call(
        &hub,
        "GET",
        &format!("/api/mappings/crm/contact/{}", ids[4]),
        Some(&view),
        None,
    )
    .await;
    let (status, c1, _) = common::call(
        &hub,
        "GET",
        &format!("/api/records/contact/{}/compare", hub_of(m1)),
        Some(&view),
        None,
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{c1}");
    let side = &c1["sides"][0];
    assert_eq!(
        (side["connector"].as_str(), side["state"].as_str()),
        (Some("crm"), Some("read")),
        "{c1}"
    );
    let name = side["fields"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["field"] == "name")
        .unwrap();
    assert_eq!(
        (
            name["hub"].as_str(),
            name["remote"].as_str(),
            name["same"].as_bool()
        ),
        (Some("Kontakt 1"), Some("Anders"), Some(false))
    );
    assert_eq!(name["base"], "Kontakt 1");
    let (_, c4, _) = common::call(
        &hub,
        "GET",
        &format!("/api/records/contact/{}/compare", hub_of(m4)),
        Some(&view),
        None,
    )
    .await;
    assert_eq!(c4["sides"][0]["state"], "missing", "{c4}");
    let (status, _, _) = common::call(
        &hub,
        "GET",
        "/api/records/contact/999999/compare",
        Some(&view),
        None,
    )
    .await;
    assert_eq!(status, StatusCode::NOT_FOUND);

    // three records changed at the CRM, synced now by their hub ids
    let mut hub_ids = Vec::new();
    for i in [2, 5, 7] {
        emu.update(ids[i], json!({ "name": format!("Geändert {i}") }));
        let (_, m, _) = common::call(
            &hub,
            "GET",
            &format!("/api/mappings/crm/contact/{}", ids[i]),
            Some(&view),
            None,
        )
        .await;
        hub_ids.push(m["record_id"].as_i64().unwrap());
    }
    hub_ids.push(999_999);
    emu.clear_request_log();
    let body = json!({ "ids": hub_ids, "user": "maria@acme.example" });
    let (status, _, _) = common::call(
        &hub,
        "POST",
        "/api/records/contact/sync",
        Some(&view),
        Some(body.clone()),
    )
    .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, answer, _) = common::call(
        &hub,
        "POST",
        "/api/records/contact/sync",
        Some(&ops),
        Some(body),
    )
    .await;
    assert_eq!(status, StatusCode::ACCEPTED, "{answer}");
    let records = answer["records"].as_array().unwrap();
    assert_eq!(
        records.iter().filter(|r| r["status"] == "queued").count(),
        3,
        "{answer}"
    );
    assert_eq!(records[3]["status"], "not_found");
    assert_eq!(
        answer["runs"].as_array().unwrap().len(),
        1,
        "one run for the one job"
    );
    wait_idle(&hub);
    let log = emu.request_log();
    assert!(
        log.iter().all(|r| !r.ends_with("/api/v4/contacts")),
        "no listing: {log:?}"
    );

    assert_eq!(
        log.iter().filter(|r| r.starts_with("GET")).count(),
        3,
        "{log:?}"
    );
    for (n, i) in [2, 5, 7].into_iter().enumerate() {
        let (_, shown, _) = common::call(
            &hub,
            "GET",
            &format!("/api/records/contact/{}", hub_ids[n]),
            Some(&view),
            None,
        )
        .await;
        assert_eq!(shown["record"]["values"]["name"], format!("Geändert {i}"));
    }
    let run_id = answer["runs"][0]["run_id"].as_i64().unwrap();
    let (_, run, _) = common::call(
        &hub,
        "GET",
        &format!("/api/runs/{run_id}"),
        Some(&view),
        None,
    )
    .await;
    assert_eq!(run["triggered_by"], "maria@acme.example (token:ops)");
    assert_eq!(run["status"], "succeeded", "{run}");
    let (status, q, _) = common::call(&hub, "GET", "/api/quarantine", Some(&view), None).await;
    assert_eq!(
        (status, q["quarantine"].as_array().map(Vec::len)),
        (StatusCode::OK, Some(0))
    );
    kick.stop();
    handle.join().unwrap();
}
