//! Conflicts and review pairs decided over HTTP, as `einklang resolve` and
//! `einklang review` decide them.

mod common;

use axum::http::StatusCode;
use common::{call, token_of};
use einklang_engine::{run_job, NoProgress, RunOptions};
use einklang_store::NewReview;
use serde_json::json;

const CONFIG: &str = r#"
store = "hub.db"
tenant = "acme"

[entities.contact]
name = "text"
email = "text"

[connectors.people]
kind = "csv"
path = "people.csv"

[connectors.crm]
kind = "csv"
path = "crm.csv"

[map.people.contact]
id = "id"
fields = { name = "name", email = "email" }

[map.crm.contact]
id = "id"
fields = { name = "name", email = "email" }

[jobs.both]
sync = ["people", "crm"]

[matching.contact]
ingest = false
compare = [
  { field = "name", kind = "name" },
  { field = "email", kind = "email" },
]
"#;

/// `f` on a thread of its own: the blocking PostgreSQL client may not
/// run on a thread that drives the test's async runtime.
fn off_runtime<T: Send>(f: impl FnOnce() -> T + Send) -> T {
    std::thread::scope(|s| s.spawn(f).join().unwrap())
}

fn sync(hub: &common::Hub) -> einklang_engine::RunReport {
    off_runtime(|| {
        let mut store = common::open(&hub.config);
        let options = RunOptions::default();
        run_job(&hub.config, store.as_mut(), "both", &options, &NoProgress).unwrap()
    })
}

fn edit(hub: &common::Hub, file: &str, from: &str, to: &str) {
    let path = hub.dir.path().join(file);
    let text = std::fs::read_to_string(&path).unwrap();
    assert!(text.contains(from), "{file}: {text}");
    std::fs::write(&path, text.replace(from, to)).unwrap();
}

#[tokio::test]
async fn a_conflict_is_listed_and_resolved_over_http_and_the_next_sync_writes_it() {
    drop(conflict_resolved(None).await);
}

/// The blocking PostgreSQL client may neither connect nor close on a
/// thread driving an async runtime: the database and the hub are made and
/// dropped outside it.
#[test]
fn the_same_on_postgresql() {
    let Some(db) = einklang_testkit::PgDb::new("serve_conflict") else {
        return;
    };
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let hub = rt.block_on(conflict_resolved(Some(&db.url)));
    drop(rt);
    drop(hub);
}

async fn conflict_resolved(store: Option<&str>) -> common::Hub {
    let hub = off_runtime(|| common::hub_with(CONFIG, store));
    std::fs::write(hub.dir.path().join("crm.csv"), "id,name,email\n").unwrap();
    sync(&hub);
    edit(&hub, "people.csv", "Anna Berg", "Anna Berg-Lind");
    edit(&hub, "crm.csv", "Anna Berg", "Anna Lind");
    sync(&hub);
    let (ops, view) = (token_of("acme", "ops"), token_of("acme", "view"));
    let (status, body, _) = call(&hub, "GET", "/api/conflicts", Some(&view), None).await;
    assert_eq!(status, StatusCode::OK);
    let list = body["conflicts"].as_array().unwrap().clone();
    assert_eq!(list.len(), 1, "{body}");
    let id = list[0]["id"].as_i64().unwrap();
    // found by a field's value, any case
    let (status, found, _) = call(
        &hub,
        "GET",
        "/api/records/contact?field=email&value=BO@example.org",
        Some(&view),
        None,
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{found}");
    let records = found["records"].as_array().unwrap();
    assert_eq!(records.len(), 1, "{found}");
    assert_eq!(records[0]["values"]["name"], "Bo Lind");
    let (_, none, _) = call(
        &hub,
        "GET",
        "/api/records/contact?field=email&value=nobody@example.org",
        Some(&view),
        None,
    )
    .await;
    assert_eq!(none["records"], json!([]));
    let (status, _, _) = call(
        &hub,
        "GET",
        "/api/records/contact?field=shoe_size&value=42",
        Some(&view),
        None,
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    let (status, _, _) = call(
        &hub,
        "GET",
        "/api/records/contact?field=email&value=BO@example.org",
        Some(&token_of("other", "ops")),
        None,
    )
    .await;
    assert_eq!(status, StatusCode::NOT_FOUND, "another tenant");
    // the link held by the conflict is "not yet synced"
    let (status, held, _) =
        call(&hub, "GET", "/api/links?status=conflict", Some(&view), None).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(held["links"].as_array().unwrap().len(), 1, "{held}");
    assert_eq!(held["next"], serde_json::Value::Null);
    let (_, none, _) = call(
        &hub,
        "GET",
        "/api/links?status=conflict&connector=people",
        Some(&view),
        None,
    )
    .await;
    assert_eq!(
        none["links"].as_array().unwrap().len(),
        0,
        "of the other connector: {none}"
    );
    let uri = format!("/api/conflicts/{id}/resolve");
    let take = json!({ "take": "crm", "user": "maria@acme.example" });
    let (status, _, _) = call(&hub, "POST", &uri, Some(&view), Some(take.clone())).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "a viewer decides nothing");
    let (status, _, _) = call(
        &hub,
        "POST",
        &uri,
        Some(&ops),
        Some(json!({ "take": "crm", "value": "x" })),
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "one of take and value");
    let (status, _, _) = call(
        &hub,
        "POST",
        &uri,
        Some(&ops),
        Some(json!({ "take": "nowhere" })),
    )
    .await;
    assert_eq!(
        status,
        StatusCode::BAD_REQUEST,
        "a connector without a link"
    );
    let (status, _, _) = call(
        &hub,
        "POST",
        &uri,
        Some(&token_of("other", "ops")),
        Some(take.clone()),
    )
    .await;
    assert_eq!(status, StatusCode::NOT_FOUND, "another tenant's conflict");
    let (status, body, _) = call(&hub, "POST", &uri, Some(&ops), Some(take.clone())).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["value"], "Anna Lind");
    let (status, _, _) = call(&hub, "POST", &uri, Some(&ops), Some(take)).await;
    assert_eq!(status, StatusCode::CONFLICT, "decided already");
    sync(&hub);
    let people = std::fs::read_to_string(hub.dir.path().join("people.csv")).unwrap();
    assert!(
        people.contains("Anna Lind") && !people.contains("Berg-Lind"),
        "{people}"
    );
    let (_, body, _) = call(&hub, "GET", "/api/conflicts?all=true", Some(&view), None).await;
    assert_eq!(
        body["conflicts"][0]["resolved_by"], "maria@acme.example (token:ops)",
        "{body}"
    );
    hub
}

#[tokio::test]
async fn a_typed_value_is_normalised_by_the_schema_or_refused() {
    let hub = common::hub_with(CONFIG, None);
    std::fs::write(hub.dir.path().join("crm.csv"), "id,name,email\n").unwrap();
    sync(&hub);
    edit(&hub, "people.csv", "bo@example.org", "bo@people.example");
    edit(&hub, "crm.csv", "bo@example.org", "bo@crm.example");
    sync(&hub);
    let ops = token_of("acme", "ops");
    let (_, body, _) = call(&hub, "GET", "/api/conflicts", Some(&ops), None).await;
    let id = body["conflicts"][0]["id"].as_i64().unwrap();
    let uri = format!("/api/conflicts/{id}/resolve");
    let (status, body, _) = call(
        &hub,
        "POST",
        &uri,
        Some(&ops),
        Some(json!({ "value": "  Bo@Lind.Example " })),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["field"], "email");
    assert!(body["value"].is_string(), "{body}");
}

#[tokio::test]
async fn a_review_pair_is_accepted_or_rejected_over_http() {
    let hub = common::hub_with(CONFIG, None);
    std::fs::write(hub.dir.path().join("crm.csv"), "id,name,email\n").unwrap();
    let report = sync(&hub);
    let mut store = common::open(&hub.config);
    let ids: Vec<i64> = store
        .live_records("acme", "contact", 0, 10)
        .unwrap()
        .iter()
        .map(|r| r.0)
        .collect();
    assert_eq!(ids.len(), 2);
    let pair = NewReview {
        entity: "contact".into(),
        a: ids[0],
        b: ids[1],
        probability: 0.8,
    };
    store.queue_reviews("acme", report.run_id, &[pair]).unwrap();
    let (ops, view) = (token_of("acme", "ops"), token_of("acme", "view"));
    let (_, body, _) = call(&hub, "GET", "/api/reviews", Some(&view), None).await;
    let id = body["reviews"][0]["id"].as_i64().unwrap();
    // the pair with both records and each field's weight
    let (status, pair, _) = call(
        &hub,
        "GET",
        &format!("/api/reviews/{id}"),
        Some(&view),
        None,
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{pair}");
    assert_eq!(pair["a"]["id"], ids[0]);
    assert_eq!(pair["b"]["values"]["name"], "Bo Lind", "{pair}");
    let fields = pair["fields"].as_array().unwrap();
    assert_eq!(fields.len(), 2, "{pair}");
    assert_eq!(fields[0]["field"], "name");
    assert_eq!(fields[0]["a"], "Anna Berg");
    assert!(
        fields[0]["weight"].as_f64().unwrap() < 0.0,
        "different names weigh against: {pair}"
    );
    assert!(
        pair["configured_probability"].as_f64().unwrap() < 0.5,
        "{pair}"
    );
    let (status, _, _) = call(&hub, "GET", "/api/reviews/999", Some(&view), None).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, _, _) = call(
        &hub,
        "POST",
        &format!("/api/reviews/{id}/accept"),
        Some(&view),
        None,
    )
    .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, _, _) = call(
        &hub,
        "POST",
        &format!("/api/reviews/{id}/maybe"),
        Some(&ops),
        None,
    )
    .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, _, _) = call(&hub, "POST", "/api/reviews/999/accept", Some(&ops), None).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, body, _) = call(
        &hub,
        "POST",
        &format!("/api/reviews/{id}/accept"),
        Some(&ops),
        None,
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["status"], "accepted");
    assert!(body["merge_id"].is_i64(), "{body}");
    assert_eq!(store.count_records("acme", "contact").unwrap(), 1, "merged");
    let (status, _, _) = call(
        &hub,
        "POST",
        &format!("/api/reviews/{id}/reject"),
        Some(&ops),
        None,
    )
    .await;
    assert_eq!(status, StatusCode::CONFLICT, "decided already");
}

#[tokio::test]
async fn dedupe_over_http_merges_the_sure_duplicates() {
    let hub = common::hub_with(CONFIG, None);
    std::fs::write(
        hub.dir.path().join("people.csv"),
        "id,name,email\n1,Anna Berg,anna@example.org\n2,Bo Lind,bo@example.org\n3,Anna Berg,anna@example.org\n",
    )
    .unwrap();
    std::fs::write(hub.dir.path().join("crm.csv"), "id,name,email\n").unwrap();
    sync(&hub);
    let mut store = common::open(&hub.config);
    assert_eq!(store.count_records("acme", "contact").unwrap(), 3);
    let (status, _, _) = call(
        &hub,
        "POST",
        "/api/dedupe/contact",
        Some(&token_of("acme", "view")),
        None,
    )
    .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, _, _) = call(
        &hub,
        "POST",
        "/api/dedupe/company",
        Some(&token_of("acme", "ops")),
        None,
    )
    .await;
    assert_eq!(status, StatusCode::NOT_FOUND, "no [matching.company]");
    let ops = token_of("acme", "ops");
    let (status, body, headers) = call(&hub, "POST", "/api/dedupe/contact", Some(&ops), None).await;
    assert_eq!(status, StatusCode::ACCEPTED, "{body}");
    let id = body["run_id"].as_i64().unwrap();
    assert_eq!(headers["location"], format!("/api/runs/{id}"));
    let (kick, worker) = common::worker(&hub);
    let run = common::run_until_over(&hub, id, &ops).await;
    kick.stop();
    worker.join().unwrap();
    assert_eq!(run["status"], "succeeded", "{run}");
    assert_eq!(
        (run["job"].as_str(), run["source"].as_str()),
        (Some("dedupe contact"), Some("api")),
        "{run}"
    );
    assert_eq!(run["counters"]["merged"], 1, "{run}");
    assert_eq!(run["triggered_by"], "token:ops");
    assert_eq!(store.count_records("acme", "contact").unwrap(), 2);
    let dedupes = store
        .runs("acme", 10)
        .unwrap()
        .into_iter()
        .filter(|r| r.job == "dedupe contact")
        .count();
    assert_eq!(dedupes, 1, "one run, under the queued id");
}

#[test]
fn live_progress_holds_a_steps_read_and_write_counters() {
    let hub = common::hub_with(CONFIG, None);
    std::fs::write(hub.dir.path().join("crm.csv"), "id,name,email\n").unwrap();
    let live = std::sync::Arc::new(einklang_serve::live::LiveRuns::default());
    let progress = live.start(7);
    let mut store = common::open(&hub.config);
    run_job(
        &hub.config,
        store.as_mut(),
        "both",
        &RunOptions::default(),
        &progress,
    )
    .unwrap();
    let steps = live.of(7).unwrap();
    let counters: Vec<_> = steps.iter().map(|s| s.counters.clone()).collect();
    let got = |k: &str| {
        counters
            .iter()
            .filter_map(|c| c.get(k))
            .copied()
            .max()
            .unwrap_or(0)
    };
    assert_eq!(got("created"), 2, "{steps:?}");
    assert_eq!(got("read"), 2, "{steps:?}");
    assert_eq!(
        got("remote_writes"),
        2,
        "the two people written to the CRM: {steps:?}"
    );
}
