//! The HTTP API through the router (no port): who may call what, and a
//! run triggered by the API worked off by a worker of the queue.

mod common;

use axum::body::Body;
use axum::http::{HeaderMap, Request, StatusCode};
use common::{call, hub, token_of};
use einklang_store::RunStatus;
use serde_json::json;
use std::sync::Arc;
use std::time::Duration;
use tower::ServiceExt;

/// What another tenant's token gets where the caller's own succeeds.
#[derive(Clone, Copy, Debug, PartialEq)]
enum Other {
    /// The object is not its tenant's: 404.
    NotFound,
    /// A list or count of its own tenant: 200, with none of the caller's.
    OwnEmpty,
}

/// Every route (`RUN`, `REC`: a run and a record of tenant acme), the
/// role it needs, a body, and what another tenant gets. For a decision
/// on an object that does not exist (conflict 1, review 1) the own
/// tenant's allowed roles get 404 too: the role check comes first.
const ROUTES: [(&str, &str, &str, Option<&str>, Other); 33] = [
    ("GET", "/metrics", "viewer", None, Other::OwnEmpty),
    ("GET", "/api/jobs", "viewer", None, Other::NotFound),
    ("GET", "/api/connectors", "viewer", None, Other::NotFound),
    (
        "POST",
        "/api/links/1/retry",
        "operator",
        None,
        Other::NotFound,
    ),
    (
        "GET",
        "/api/changes/contact/csv",
        "viewer",
        None,
        Other::NotFound,
    ),
    ("GET", "/api/reviews/1", "viewer", None, Other::NotFound),
    (
        "GET",
        "/api/records/contact?value=anna%40example.org",
        "viewer",
        None,
        Other::NotFound,
    ),
    (
        "POST",
        "/api/jobs/import/runs",
        "operator",
        None,
        Other::NotFound,
    ),
    ("GET", "/api/runs", "viewer", None, Other::OwnEmpty),
    ("GET", "/api/runs/RUN", "viewer", None, Other::NotFound),
    (
        "GET",
        "/api/runs/RUN/events",
        "viewer",
        None,
        Other::NotFound,
    ),
    (
        "GET",
        "/api/runs?job=import&status=queued",
        "viewer",
        None,
        Other::OwnEmpty,
    ),
    (
        "GET",
        "/api/records/contact/REC",
        "viewer",
        None,
        Other::NotFound,
    ),
    (
        "POST",
        "/api/records/contact/sync",
        "operator",
        Some(r#"{"ids": [REC]}"#),
        Other::NotFound,
    ),
    (
        "GET",
        "/api/mappings/people/contact/1",
        "viewer",
        None,
        Other::NotFound,
    ),
    ("GET", "/api/quarantine", "viewer", None, Other::OwnEmpty),
    (
        "GET",
        "/api/links?status=failed",
        "viewer",
        None,
        Other::OwnEmpty,
    ),
    ("GET", "/api/merges", "viewer", None, Other::OwnEmpty),
    (
        "POST",
        "/api/dedupe/contact",
        "operator",
        None,
        Other::NotFound,
    ),
    (
        "GET",
        "/api/records/contact?field=name&value=anna",
        "viewer",
        None,
        Other::NotFound,
    ),
    ("GET", "/api/tokens", "admin", None, Other::OwnEmpty),
    (
        "POST",
        "/api/tokens",
        "admin",
        Some(r#"{"name": "made", "role": "viewer"}"#),
        Other::OwnEmpty,
    ),
    (
        "DELETE",
        "/api/tokens/nobody",
        "admin",
        None,
        Other::NotFound,
    ),
    (
        "GET",
        "/api/records/contact/REC/compare",
        "viewer",
        None,
        Other::NotFound,
    ),
    (
        "POST",
        "/api/records/contact/REC/unmerge",
        "operator",
        None,
        Other::NotFound,
    ),
    (
        "GET",
        "/lookup/phone?number=0301234567",
        "viewer",
        None,
        Other::NotFound,
    ),
    ("GET", "/api/conflicts", "viewer", None, Other::OwnEmpty),
    (
        "GET",
        "/api/conflicts?all=true",
        "viewer",
        None,
        Other::OwnEmpty,
    ),
    (
        "POST",
        "/api/conflicts/1/resolve",
        "operator",
        Some(r#"{"take": "hub"}"#),
        Other::NotFound,
    ),
    ("GET", "/api/reviews", "viewer", None, Other::OwnEmpty),
    (
        "POST",
        "/api/reviews/1/accept",
        "operator",
        None,
        Other::NotFound,
    ),
    (
        "POST",
        "/api/reviews/1/reject",
        "operator",
        None,
        Other::NotFound,
    ),
    (
        "GET",
        "/api/reviews?all=true",
        "viewer",
        None,
        Other::OwnEmpty,
    ),
];

fn rank(role: &str) -> u8 {
    match role {
        "viewer" => 1,
        "operator" => 2,
        "admin" => 3,
        _ => 0,
    }
}

#[tokio::test]
async fn every_route_answers_401_without_a_token_403_below_its_role_and_404_for_another_tenant() {
    let hub = hub();
    // a record and a run of tenant acme, for the routes that show one
    let mut store = common::open(&hub.config);
    let options = einklang_engine::RunOptions::default();
    let report = einklang_engine::run_job(
        &hub.config,
        store.as_mut(),
        "import",
        &options,
        &einklang_engine::NoProgress,
    )
    .unwrap();
    let run = report.run_id.to_string();
    let rec = store.live_records("acme", "contact", 0, 1).unwrap()[0]
        .0
        .to_string();
    let fill = |t: &str| t.replace("RUN", &run).replace("REC", &rec);
    for (method, route, needs, body, other) in ROUTES {
        let uri = fill(route);
        let body = body.map(|b| serde_json::from_str::<serde_json::Value>(&fill(b)).unwrap());
        let (status, answer, headers) = call(&hub, method, &uri, None, body.clone()).await;
        assert_eq!(
            status,
            StatusCode::UNAUTHORIZED,
            "{method} {uri} without a token: {answer}"
        );
        assert_eq!(headers["www-authenticate"], "Bearer");
        let (status, _, _) = call(&hub, method, &uri, Some("ek_not_a_token"), body.clone()).await;
        assert_eq!(
            status,
            StatusCode::UNAUTHORIZED,
            "{method} {uri} with an unknown token"
        );
        // decisions on objects that do not exist (or a record not merged)
        // (the matrix's config has no [matching]: dedupe finds nothing to run)
        let missing = uri.contains("/conflicts/1/")
            || uri.contains("/reviews/1/")
            || uri.ends_with("/reviews/1")
            || uri.ends_with("/links/1/retry")
            || uri.ends_with("/nobody")
            || uri.starts_with("/api/dedupe/");
        let refused = uri.ends_with("/unmerge");
        for (name, role) in [("view", "viewer"), ("ops", "operator"), ("root", "admin")] {
            let (status, answer, _) = call(
                &hub,
                method,
                &uri,
                Some(&token_of("acme", name)),
                body.clone(),
            )
            .await;
            if rank(role) < rank(needs) {
                assert_eq!(
                    status,
                    StatusCode::FORBIDDEN,
                    "{method} {uri} as {role}: {answer}"
                );
                assert!(
                    answer["error"].as_str().unwrap().contains(needs),
                    "{answer}"
                );
            } else if refused {
                assert_eq!(
                    status,
                    StatusCode::CONFLICT,
                    "{method} {uri} as {role}: {answer}"
                );
            } else if missing {
                assert_eq!(
                    status,
                    StatusCode::NOT_FOUND,
                    "{method} {uri} as {role}: {answer}"
                );
            } else {
                assert!(
                    status.is_success(),
                    "{method} {uri} as {role}: {status} {answer}"
                );
            }
        }
        // the other tenant's operator: the route is its role's, the object is not its tenant's
        let (status, answer, _) = call(
            &hub,
            method,
            &uri,
            Some(&token_of("other", "ops")),
            body.clone(),
        )
        .await;
        if rank("operator") < rank(needs) {
            continue;
        }
        match other {
            Other::NotFound => assert_eq!(
                status,
                StatusCode::NOT_FOUND,
                "{method} {uri} as another tenant: {answer}"
            ),
            Other::OwnEmpty => {
                assert_eq!(
                    status,
                    StatusCode::OK,
                    "{method} {uri} as another tenant: {answer}"
                );
                for list in [
                    "runs",
                    "conflicts",
                    "reviews",
                    "quarantine",
                    "links",
                    "merges",
                ] {
                    if let Some(items) = answer.get(list) {
                        assert_eq!(
                            items,
                            &json!([]),
                            "{uri}: another tenant's {list} never show"
                        );
                    }
                }
            }
        }
    }
}

/// A browser's request from `origin` (a preflight when `method` is
/// OPTIONS): the answer's status and headers.
async fn from_origin(hub: &common::Hub, method: &str, origin: &str) -> (StatusCode, HeaderMap) {
    let mut req = Request::builder()
        .method(method)
        .uri("/api/jobs")
        .header("origin", origin);
    if method == "OPTIONS" {
        req = req
            .header("access-control-request-method", "POST")
            .header("access-control-request-headers", "authorization");
    } else {
        req = req.header(
            "authorization",
            format!("Bearer {}", token_of("acme", "view")),
        );
    }
    let answer = einklang_serve::app(Arc::clone(&hub.shared))
        .oneshot(req.body(Body::empty()).unwrap())
        .await
        .unwrap();
    (answer.status(), answer.headers().clone())
}

#[tokio::test]
async fn browsers_of_the_named_origins_may_call_the_api_and_no_others() {
    let config = common::CONFIG.replace(
        "[jobs.import]",
        "[serve]\ncors_origins = [\"https://crm.acme.example\"]\n\n[jobs.import]",
    );
    let hub = common::hub_with(&config, None);
    let (status, headers) = from_origin(&hub, "OPTIONS", "https://crm.acme.example").await;
    assert!(status.is_success(), "{status}");
    assert_eq!(
        headers["access-control-allow-origin"],
        "https://crm.acme.example"
    );
    let allowed = headers["access-control-allow-headers"].to_str().unwrap();
    assert!(allowed.contains("authorization"), "{allowed}");
    let (status, headers) = from_origin(&hub, "GET", "https://crm.acme.example").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        headers["access-control-allow-origin"],
        "https://crm.acme.example"
    );
    assert!(headers["access-control-expose-headers"]
        .to_str()
        .unwrap()
        .contains("location"));
    let (_, headers) = from_origin(&hub, "GET", "https://evil.example").await;
    assert!(
        !headers.contains_key("access-control-allow-origin"),
        "another origin gets no grant"
    );
    // without cors_origins, no grant at all
    let plain = common::hub();
    let (_, headers) = from_origin(&plain, "GET", "https://crm.acme.example").await;
    assert!(!headers.contains_key("access-control-allow-origin"));
}

#[tokio::test]
async fn health_and_readiness_need_no_token() {
    let hub = hub();
    let (status, body, _) = call(&hub, "GET", "/healthz", None, None).await;
    assert_eq!(
        (status, body["status"].as_str()),
        (StatusCode::OK, Some("ok"))
    );
    let (status, body, _) = call(&hub, "GET", "/readyz", None, None).await;
    assert_eq!(
        (status, body["queued_runs"].as_u64()),
        (StatusCode::OK, Some(0))
    );
}

#[tokio::test]
async fn a_triggered_run_is_queued_with_its_id_and_a_worker_runs_it_under_that_id() {
    let hub = hub();
    let ops = token_of("acme", "ops");
    let body = json!({ "user": "maria@acme.example" });
    let (status, answer, headers) = call(
        &hub,
        "POST",
        "/api/jobs/import/runs",
        Some(&ops),
        Some(body),
    )
    .await;
    assert_eq!(status, StatusCode::ACCEPTED, "{answer}");
    let id = answer["run_id"].as_i64().unwrap();
    assert_eq!(headers["location"], format!("/api/runs/{id}"));
    assert_eq!(answer["status"], "queued");
    let (_, run, _) = call(&hub, "GET", &format!("/api/runs/{id}"), Some(&ops), None).await;
    assert_eq!(run["status"], "queued");
    assert_eq!(run["source"], "api");
    assert_eq!(run["triggered_by"], "maria@acme.example (token:ops)");
    let (status, _, _) = call(&hub, "POST", "/api/jobs/nope/runs", Some(&ops), None).await;
    assert_eq!(status, StatusCode::NOT_FOUND, "an unknown job");

    // one worker works the queue off, then stops
    let (kick, worker) = common::worker(&hub);
    let last = common::run_until_over(&hub, id, &ops).await;
    kick.stop();
    worker.join().unwrap();
    assert_eq!(last["status"], "succeeded", "{last}");
    assert_eq!(last["counters"]["created"], 2, "{last}");
    assert_eq!(last["id"], id, "the run went on under the queued id");
    // each step's result is kept with the finished run
    let steps = last["steps"].as_array().expect("a finished run's steps");
    assert_eq!(steps.len(), 1, "{last}");
    assert_eq!(
        (
            steps[0]["action"].as_str(),
            steps[0]["counters"]["created"].as_u64()
        ),
        (Some("pull"), Some(2))
    );
    let (_, listed, _) = call(
        &hub,
        "GET",
        "/api/runs?job=import&status=succeeded",
        Some(&ops),
        None,
    )
    .await;
    assert_eq!(listed["runs"].as_array().unwrap().len(), 1, "{listed}");
    let (_, jobs, _) = call(&hub, "GET", "/api/jobs", Some(&ops), None).await;
    let nightly = jobs["jobs"]
        .as_array()
        .unwrap()
        .iter()
        .find(|j| j["name"] == "nightly")
        .unwrap();
    assert_eq!(nightly["tz"], "Europe/Berlin");
    assert!(nightly["next_run_at"].is_string(), "{nightly}");
    let mut store = common::open(&hub.config);
    assert_eq!(store.queue_depth("acme").unwrap(), 0);
    assert_eq!(
        store.run("acme", id).unwrap().unwrap().status,
        RunStatus::Succeeded
    );
}

#[tokio::test]
async fn a_full_run_compares_every_record_where_a_plain_one_sees_the_source_unchanged() {
    let hub = hub();
    let ops = token_of("acme", "ops");
    let (kick, worker) = common::worker(&hub);
    let mut last = Vec::new();
    for body in [None, None, Some(json!({ "full": true }))] {
        let (status, answer, _) =
            call(&hub, "POST", "/api/jobs/import/runs", Some(&ops), body).await;
        assert_eq!(status, StatusCode::ACCEPTED, "{answer}");
        let id = answer["run_id"].as_i64().unwrap();
        last.push(common::run_until_over(&hub, id, &ops).await);
    }
    kick.stop();
    worker.join().unwrap();
    assert_eq!(last[0]["counters"]["created"], 2, "{}", last[0]);
    assert_eq!(
        last[1]["counters"]["sources_unchanged"], 1,
        "a plain run trusts the fingerprint: {}",
        last[1]
    );
    assert_eq!(
        last[2]["counters"]["unchanged"], 2,
        "the full one compared both records: {}",
        last[2]
    );
    assert!(
        last[2]["counters"]["sources_unchanged"].is_null(),
        "{}",
        last[2]
    );
}

#[tokio::test]
async fn a_run_whose_job_is_busy_waits_and_runs_after_the_other() {
    let hub = hub();
    let ops = token_of("acme", "ops");
    // another process holds the job's lease
    let mut other = common::open(&hub.config);
    let lease = einklang_store::LeaseRequest {
        names: vec!["job:import".into()],
        holder: "someone-else".into(),
        job: "import".into(),
        triggered_by: "cli".into(),
        pid: std::process::id(),
        host: einklang_store::lease::hostname(),
        ttl: Duration::from_secs(60),
    };
    other.acquire_leases("acme", &lease).unwrap().unwrap();
    let (_, answer, _) = call(&hub, "POST", "/api/jobs/import/runs", Some(&ops), None).await;
    let id = answer["run_id"].as_i64().unwrap();
    let (kick, worker) = common::worker(&hub);
    tokio::time::sleep(Duration::from_millis(500)).await;
    let mut store = common::open(&hub.config);
    assert_eq!(
        store.run("acme", id).unwrap().unwrap().status,
        RunStatus::Queued,
        "waits while the job is held"
    );
    assert_eq!(store.queue_depth("acme").unwrap(), 1);
    other.release_leases("acme", "someone-else").unwrap();
    let mut status = RunStatus::Queued;
    for _ in 0..200 {
        status = store.run("acme", id).unwrap().unwrap().status;
        if status == RunStatus::Succeeded {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    kick.stop();
    worker.join().unwrap();
    assert_eq!(status, RunStatus::Succeeded, "ran once the job was free");
    assert_eq!(store.runs("acme", 10).unwrap().len(), 1, "one run, not two");
}

#[tokio::test]
async fn a_run_followed_as_server_sent_events_ends_with_its_outcome() {
    use http_body_util::BodyExt;
    use tower::ServiceExt;
    let hub = hub();
    let ops = token_of("acme", "ops");
    let (_, answer, _) = call(&hub, "POST", "/api/jobs/import/runs", Some(&ops), None).await;
    let id = answer["run_id"].as_i64().unwrap();
    let req = axum::http::Request::builder()
        .uri(format!("/api/runs/{id}/events"))
        .header("authorization", format!("Bearer {ops}"))
        .body(axum::body::Body::empty())
        .unwrap();
    let response = einklang_serve::app(std::sync::Arc::clone(&hub.shared))
        .oneshot(req)
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(response.headers()["content-type"], "text/event-stream");
    let (kick, worker) = common::worker(&hub);
    // the stream ends by itself when the run does
    let body = tokio::time::timeout(Duration::from_secs(30), response.into_body().collect())
        .await
        .expect("the stream ends with the run")
        .unwrap()
        .to_bytes();
    kick.stop();
    worker.join().unwrap();
    let text = String::from_utf8(body.to_vec()).unwrap();
    let events: Vec<(&str, serde_json::Value)> = text
        .split("\n\n")
        .filter_map(|block| {
            let name = block.lines().find_map(|l| l.strip_prefix("event: "))?;
            let data = block.lines().find_map(|l| l.strip_prefix("data: "))?;
            Some((name, serde_json::from_str(data).unwrap()))
        })
        .collect();
    assert_eq!(events.first().map(|e| e.0), Some("progress"), "{text}");
    assert_eq!(events[0].1["status"], "queued");
    let (last, run) = events.last().unwrap();
    assert_eq!(
        (*last, run["status"].as_str()),
        ("finished", Some("succeeded")),
        "{text}"
    );
    assert_eq!(run["counters"]["created"], 2);
    assert_eq!(events.iter().filter(|e| e.0 == "finished").count(), 1);
}

#[tokio::test]
async fn an_admin_makes_lists_and_revokes_tokens_of_its_own_tenant() {
    let hub = hub();
    let root = token_of("acme", "root");
    let (status, made, _) = call(
        &hub,
        "POST",
        "/api/tokens",
        Some(&root),
        Some(json!({ "name": "crm-button", "role": "operator" })),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{made}");
    let token = made["token"].as_str().unwrap().to_string();
    assert!(token.starts_with("ek_") && token.len() == 67, "{token}");
    let (status, _, _) = call(
        &hub,
        "POST",
        "/api/tokens",
        Some(&root),
        Some(json!({ "name": "crm-button", "role": "viewer" })),
    )
    .await;
    assert_eq!(status, StatusCode::CONFLICT, "the name is taken");
    let (status, _, _) = call(
        &hub,
        "POST",
        "/api/tokens",
        Some(&root),
        Some(json!({ "name": "x", "role": "god" })),
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    // the new token works, as an operator
    let (status, _, _) = call(&hub, "POST", "/api/jobs/import/runs", Some(&token), None).await;
    assert_eq!(status, StatusCode::ACCEPTED);
    let (status, _, _) = call(&hub, "GET", "/api/tokens", Some(&token), None).await;
    assert_eq!(
        status,
        StatusCode::FORBIDDEN,
        "an operator manages no tokens"
    );
    let (_, listed, _) = call(&hub, "GET", "/api/tokens", Some(&root), None).await;
    let names: Vec<&str> = listed["tokens"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["name"].as_str().unwrap())
        .collect();
    assert!(
        names.contains(&"crm-button") && !names.contains(&"other"),
        "{listed}"
    );
    assert!(
        !listed.to_string().contains(&token),
        "the token is never listed"
    );
    let (status, _, _) = call(&hub, "DELETE", "/api/tokens/crm-button", Some(&root), None).await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let (status, _, _) = call(&hub, "GET", "/api/runs", Some(&token), None).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "revoked at once");
    let (status, _, _) = call(
        &hub,
        "DELETE",
        "/api/tokens/ops",
        Some(&token_of("other", "ops")),
        None,
    )
    .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
}
