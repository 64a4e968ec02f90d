//! The OpenAPI document: served without a token, read by an OpenAPI 3.1
//! parser, and naming every route of the API with its method, the token
//! scheme on every `/api` route.

mod common;

use axum::http::StatusCode;

const ROUTES: [(&str, &str); 36] = [
    ("get", "/healthz"),
    ("get", "/readyz"),
    ("get", "/metrics"),
    ("get", "/api/jobs"),
    ("get", "/api/connectors"),
    ("post", "/api/jobs/{job}/runs"),
    ("get", "/api/runs"),
    ("get", "/api/runs/{id}"),
    ("get", "/api/runs/{id}/events"),
    ("get", "/api/records/{entity}/{id}"),
    ("get", "/api/records/{entity}"),
    ("post", "/api/records/{entity}/sync"),
    ("get", "/api/mappings/{connector}/{entity}/{external_id}"),
    ("get", "/api/quarantine"),
    ("get", "/lookup/phone"),
    ("get", "/api/links"),
    ("post", "/api/links/{id}/retry"),
    ("get", "/api/merges"),
    ("post", "/api/records/{entity}/{id}/unmerge"),
    ("get", "/api/records/{entity}/{id}/compare"),
    ("get", "/api/tokens"),
    ("post", "/api/tokens"),
    ("delete", "/api/tokens/{name}"),
    ("get", "/api/conflicts"),
    ("post", "/api/conflicts/{id}/resolve"),
    ("get", "/api/reviews"),
    ("get", "/api/reviews/{id}"),
    ("post", "/api/reviews/{id}/{verdict}"),
    ("post", "/api/dedupe/{entity}"),
    ("get", "/api/staging"),
    ("get", "/api/staging/{run}"),
    ("post", "/api/runs/{id}/approve"),
    ("get", "/api/changes/{entity}"),
    ("get", "/api/changes/{entity}/csv"),
    ("post", "/webhooks/{connector}"),
    ("post", "/webhooks/{tenant}/{connector}"),
];

#[tokio::test]
async fn the_document_parses_as_openapi_3_1_and_names_every_route() {
    let hub = common::hub();
    let (status, doc, _) = common::call(&hub, "GET", "/openapi.json", None, None).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(doc["openapi"], "3.1.0");
    let spec = oas3::from_json(doc.to_string()).expect("an OpenAPI 3.1 parser reads it");
    let paths = spec.paths.clone().unwrap_or_default();
    let mut named = 0;
    for (path, item) in &paths {
        for (method, op) in item.methods() {
            let method = method.as_str().to_lowercase();
            assert!(
                ROUTES.contains(&(method.as_str(), path.as_str())),
                "{method} {path} is in the document but not in this test's list"
            );
            named += 1;
            let secured = op.security.iter().any(|s| s.0.contains_key("token"));
            assert_eq!(
                secured,
                path.starts_with("/api") || path == "/metrics" || path == "/lookup/phone",
                "{method} {path}: the token scheme on exactly the token routes"
            );
            assert!(
                !op.responses.as_ref().map(|r| r.is_empty()).unwrap_or(true),
                "{method} {path}: responses"
            );
        }
    }
    assert_eq!(
        named,
        ROUTES.len(),
        "every route of the API is in the document"
    );
    let schemes = &doc["components"]["securitySchemes"]["token"];
    assert_eq!(
        (schemes["type"].as_str(), schemes["scheme"].as_str()),
        (Some("http"), Some("bearer"))
    );
    // and the router answers every documented route (not 404 or 405)
    for (method, path) in ROUTES {
        let uri = path
            .replace("{job}", "import")
            .replace("{id}", "1")
            .replace("{entity}", "contact")
            .replace("{connector}", "people")
            .replace("{external_id}", "1")
            .replace("{verdict}", "accept")
            .replace("{name}", "ops")
            .replace("{tenant}", "acme");
        let (status, _, _) = common::call(&hub, &method.to_uppercase(), &uri, None, None).await;
        assert_ne!(status, StatusCode::METHOD_NOT_ALLOWED, "{method} {uri}");
        if path.starts_with("/api") || path == "/metrics" || path == "/lookup/phone" {
            assert_eq!(
                status,
                StatusCode::UNAUTHORIZED,
                "{method} {uri} is routed (to the token check)"
            );
        }
    }
}

#[test]
fn answers_are_checked_against_the_documented_schemas() {
    use serde_json::json;
    // what `common::call` does with every JSON answer of every test
    let run = json!({
        "id": 4, "job": "import", "status": "succeeded", "source": "api",
        "triggered_by": "token:ops", "counters": {"read": 2}, "errors": [],
        "started_at": "2026-12-06T10:00:00Z", "finished_at": null
    });
    common::conforms("GET", "/api/runs/4", StatusCode::OK, &run);
    let misfits = [
        (StatusCode::OK, json!({ "id": "four" })),
        (StatusCode::OK, {
            let mut r = run.clone();
            r["status"] = json!("exploded");
            r
        }),
        (StatusCode::OK, {
            let mut r = run.clone();
            r["secret"] = json!(1);
            r
        }),
        (StatusCode::OK, {
            let mut r = run.clone();
            r.as_object_mut().unwrap().remove("job");
            r
        }),
        (
            StatusCode::IM_A_TEAPOT,
            json!({ "error": "undocumented status" }),
        ),
    ];
    for (status, body) in misfits {
        let caught =
            std::panic::catch_unwind(|| common::conforms("GET", "/api/runs/4", status, &body));
        assert!(caught.is_err(), "{status} {body} should not fit");
    }
}

#[tokio::test]
async fn every_json_answer_names_its_schema() {
    let hub = common::hub();
    let (_, doc, _) = common::call(&hub, "GET", "/openapi.json", None, None).await;
    for (path, item) in doc["paths"].as_object().unwrap() {
        for (method, op) in item.as_object().unwrap() {
            for (status, answer) in op["responses"].as_object().unwrap() {
                let json = &answer["content"]["application/json"];
                let plain = path.ends_with("/events")
                    || (path.ends_with("/csv") && status == "200")
                    || path == "/metrics"
                    || status == "204"
                    || (path.starts_with("/webhooks") && status == "200")
                    || status == "413";
                assert!(
                    plain || json.get("schema").is_some(),
                    "{method} {path} {status}: a JSON answer without a schema"
                );
            }
        }
    }
}
