//! Refresh snapshots over the API (issue 14): the staging of runs, the
//! changes between the last two snapshots and from the history, and a
//! held refresh approved by an operator (a viewer may not), run by a
//! worker under a new run id; every answer checked against the OpenAPI
//! document.

mod common;

use axum::http::StatusCode;
use common::{call, hub_with, run_until_over, token_of, Hub};
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

[map.people.contact]
id = "id"
fields = { name = "name", email = "email" }

[jobs.refresh]
refresh = "people"
"#;

/// Queue a refresh through the API and wait for a worker to end it.
async fn refresh(hub: &Hub) -> serde_json::Value {
    let ops = token_of("acme", "ops");
    let (status, queued, _) = call(hub, "POST", "/api/jobs/refresh/runs", Some(&ops), None).await;
    assert_eq!(status, StatusCode::ACCEPTED, "{queued}");
    let id = queued["run_id"].as_i64().unwrap();
    finished(hub, id).await
}

/// Let one worker work the queue until run `id` ended.
async fn finished(hub: &Hub, id: i64) -> serde_json::Value {
    let (kick, worker) = common::worker(hub);
    let run = run_until_over(hub, id, &token_of("acme", "ops")).await;
    kick.stop();
    worker.join().unwrap();
    run
}

fn people(hub: &Hub, rows: &[&str]) {
    let text = format!("id,name,email\n{}\n", rows.join("\n"));
    std::fs::write(hub.dir.path().join("people.csv"), text).unwrap();
}

#[tokio::test]
async fn staging_changes_and_an_approval_through_the_api() {
    let hub = hub_with(CONFIG, None);
    let (view, ops) = (token_of("acme", "view"), token_of("acme", "ops"));
    let first = refresh(&hub).await;
    assert_eq!(first["status"], "succeeded", "{first}");
    let (_, staged, _) = call(&hub, "GET", "/api/staging", Some(&view), None).await;
    assert_eq!(
        staged["staged"],
        json!([{"run": first["id"], "entity": "contact", "records": 2, "duplicates": 0}])
    );

    // Bo renamed, Cy new: the changes between the two snapshots
    people(
        &hub,
        &[
            "1,Anna Berg,anna@example.org",
            "2,Bo Lindqvist,bo@example.org",
            "3,Cy Ek,cy@example.org",
        ],
    );
    let second = refresh(&hub).await;
    assert_eq!(second["status"], "succeeded", "{second}");
    let (status, changes, _) = call(&hub, "GET", "/api/changes/contact", Some(&view), None).await;
    assert_eq!(status, StatusCode::OK, "{changes}");
    assert_eq!(
        changes["counts"],
        json!({"changed name": 1, "new": 1}),
        "{changes}"
    );
    let renamed = &changes["changes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["change"] == "changed")
        .unwrap()
        .clone();
    assert_eq!(
        (&renamed["external_id"], &renamed["old"], &renamed["new"]),
        (&json!("2"), &json!("Bo Lind"), &json!("Bo Lindqvist"))
    );
    // from the history: the first refresh's two creates, then these
    let hour_ago = (chrono::Utc::now() - chrono::Duration::hours(1)).to_rfc3339();
    let uri = format!(
        "/api/changes/contact?since={}&field=name",
        hour_ago.replace('+', "%2B")
    );
    let (status, history, _) = call(&hub, "GET", &uri, Some(&view), None).await;
    assert_eq!(status, StatusCode::OK, "{history}");
    assert_eq!(
        history["counts"],
        json!({"changed name": 1, "new name": 3}),
        "{history}"
    );
    let (status, _, _) = call(
        &hub,
        "GET",
        "/api/changes/contact?since=yesterday",
        Some(&view),
        None,
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    let (status, _, _) = call(&hub, "GET", "/api/changes/nope", Some(&view), None).await;
    assert_eq!(status, StatusCode::NOT_FOUND);

    // two of three gone: held, its staging readable, approved by an operator
    people(&hub, &["1,Anna Berg,anna@example.org"]);
    let held = refresh(&hub).await;
    assert_eq!(held["status"], "needs_review", "{held}");
    let id = held["id"].as_i64().unwrap();
    let (_, staging, _) = call(
        &hub,
        "GET",
        &format!("/api/staging/{id}"),
        Some(&view),
        None,
    )
    .await;
    assert_eq!(staging["counts"][0]["records"], 1, "{staging}");
    assert_eq!(staging["records"][0]["values"]["name"], "Anna Berg");
    let approve = format!("/api/runs/{id}/approve");
    let (status, _, _) = call(&hub, "POST", &approve, Some(&view), None).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "a viewer cannot approve");
    let body = json!({"user": "maria@acme.example"});
    let (status, queued, headers) = call(&hub, "POST", &approve, Some(&ops), Some(body)).await;
    assert_eq!(status, StatusCode::ACCEPTED, "{queued}");
    let run = queued["run_id"].as_i64().unwrap();
    assert_eq!(headers["location"], format!("/api/runs/{run}"));
    let (status, _, _) = call(&hub, "POST", &approve, Some(&ops), None).await;
    assert_eq!(status, StatusCode::CONFLICT, "one approval waits at a time");
    let applied = finished(&hub, run).await;
    assert_eq!(applied["status"], "succeeded", "{applied}");
    assert_eq!(
        applied["triggered_by"],
        format!("maria@acme.example (token:ops) (approves run {id})")
    );
    assert_eq!(applied["steps"][0]["counters"]["deleted"], 2, "{applied}");
    let (status, refused, _) = call(&hub, "POST", &approve, Some(&ops), None).await;
    assert_eq!(status, StatusCode::CONFLICT, "approved already: {refused}");
    let (status, _, _) = call(&hub, "POST", "/api/runs/999/approve", Some(&ops), None).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}
