//! The HTTP API through the router (no port): who may call what, and a
//! run triggered by the API worked off by a worker of the queue.

mod common;

use axum::http::StatusCode;
use common::{call, hub, token_of};
use einklang_serve::Kick;
use einklang_store::RunStatus;
use serde_json::json;
use std::time::Duration;

/// Every route, the role it needs, and whether it belongs to a tenant
/// (a token of another tenant must get 404 where it would get 2xx).
const ROUTES: [(&str, &str, &str); 6] = [
    ("GET", "/metrics", "viewer"),
    ("GET", "/api/jobs", "viewer"),
    ("POST", "/api/jobs/import/runs", "operator"),
    ("GET", "/api/runs", "viewer"),
    ("GET", "/api/runs/RUN", "viewer"),
    ("GET", "/api/runs?job=import&status=queued", "viewer"),
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
    // a run of tenant acme, for the route that shows one
    let (status, body, _) = call(
        &hub,
        "POST",
        "/api/jobs/import/runs",
        Some(&token_of("acme", "ops")),
        None,
    )
    .await;
    assert_eq!(status, StatusCode::ACCEPTED, "{body}");
    let run = body["run_id"].as_i64().unwrap().to_string();
    for (method, route, needs) in ROUTES {
        let uri = route.replace("RUN", &run);
        let (status, body, headers) = call(&hub, method, &uri, None, None).await;
        assert_eq!(
            status,
            StatusCode::UNAUTHORIZED,
            "{method} {uri} without a token: {body}"
        );
        assert_eq!(headers["www-authenticate"], "Bearer");
        let (status, _, _) = call(&hub, method, &uri, Some("ek_not_a_token"), None).await;
        assert_eq!(
            status,
            StatusCode::UNAUTHORIZED,
            "{method} {uri} with an unknown token"
        );
        for (name, role) in [("view", "viewer"), ("ops", "operator"), ("root", "admin")] {
            let (status, body, _) =
                call(&hub, method, &uri, Some(&token_of("acme", name)), None).await;
            if rank(role) < rank(needs) {
                assert_eq!(
                    status,
                    StatusCode::FORBIDDEN,
                    "{method} {uri} as {role}: {body}"
                );
                assert!(body["error"].as_str().unwrap().contains(needs), "{body}");
            } else {
                assert!(
                    status.is_success(),
                    "{method} {uri} as {role}: {status} {body}"
                );
            }
        }
        // the other tenant's operator: the route is its role's, the object is not its tenant's
        let (status, body, _) =
            call(&hub, method, &uri, Some(&token_of("other", "ops")), None).await;
        if uri == "/metrics" {
            // its own tenant's counts (the content: tests/webhooks.rs)
            assert_eq!(status, StatusCode::OK, "{uri} as another tenant");
        } else if uri.starts_with("/api/runs") && !uri.contains(&format!("/{run}")) {
            // its own (empty) list of runs
            assert_eq!(status, StatusCode::OK, "{method} {uri}: {body}");
            assert_eq!(body["runs"], json!([]), "another tenant's runs never show");
        } else {
            assert_eq!(
                status,
                StatusCode::NOT_FOUND,
                "{method} {uri} as another tenant: {body}"
            );
        }
    }
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
    let config = std::sync::Arc::clone(&hub.config);
    let kick = std::sync::Arc::new(Kick::default());
    let worker = {
        let kick = std::sync::Arc::clone(&kick);
        std::thread::spawn(move || {
            let mut store = common::open(&config);
            einklang_serve::worker::work(
                &config,
                store.as_mut(),
                "w",
                &kick,
                Duration::from_millis(50),
            )
        })
    };
    let mut last = serde_json::Value::Null;
    for _ in 0..200 {
        let (_, run, _) = call(&hub, "GET", &format!("/api/runs/{id}"), Some(&ops), None).await;
        if run["status"] == "succeeded" {
            last = run;
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    kick.stop();
    worker.join().unwrap();
    assert_eq!(last["status"], "succeeded", "{last}");
    assert_eq!(last["counters"]["created"], 2, "{last}");
    assert_eq!(last["id"], id, "the run went on under the queued id");
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
    let config = std::sync::Arc::clone(&hub.config);
    let kick = std::sync::Arc::new(Kick::default());
    let worker = {
        let kick = std::sync::Arc::clone(&kick);
        std::thread::spawn(move || {
            let mut store = common::open(&config);
            einklang_serve::worker::work(
                &config,
                store.as_mut(),
                "w",
                &kick,
                Duration::from_millis(50),
            )
        })
    };
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
