//! One service for several tenants (`[tenants]`): each tenant's runs use
//! its own connector settings and hub rows, and a token sees only its own
//! tenant.

mod common;

use axum::http::StatusCode;
use common::{call, token_of};
use einklang_serve::Kick;
use std::sync::Arc;
use std::time::Duration;

const CONFIG: &str = r#"
store = "hub.db"
tenant = "acme"

[tenants.acme]
file = "acme.csv"

[tenants.other]
file = "other.csv"

[entities.contact]
name = "text"
email = "text"

[connectors.people]
kind = "csv"
path = "{tenant.file}"

[map.people.contact]
id = "id"
fields = { name = "name", email = "email" }

[jobs.import]
pull = ["people"]
"#;

#[tokio::test]
async fn each_tenant_runs_with_its_own_settings_and_sees_only_its_own() {
    let hub = common::hub_with(CONFIG, None);
    std::fs::write(
        hub.dir.path().join("acme.csv"),
        "id,name,email\n1,Anna,a@acme.example\n2,Bo,b@acme.example\n",
    )
    .unwrap();
    std::fs::write(
        hub.dir.path().join("other.csv"),
        "id,name,email\n1,Cem,c@other.example\n",
    )
    .unwrap();
    assert_eq!(hub.shared.configs.len(), 2);
    // one worker per tenant, each with its tenant's config
    let kick = Arc::new(Kick::default());
    let workers: Vec<_> = einklang_serve::tenant_configs(&hub.config)
        .into_values()
        .map(|c| {
            let (k, live) = (Arc::clone(&kick), Arc::clone(&hub.shared.live));
            std::thread::spawn(move || {
                let mut store = common::open(&c);
                einklang_serve::worker::work(
                    &c,
                    store.as_mut(),
                    ("w", &live),
                    &k,
                    Duration::from_millis(20),
                )
            })
        })
        .collect();
    let mut runs = Vec::new();
    for tenant in ["acme", "other"] {
        let (status, body, _) = call(
            &hub,
            "POST",
            "/api/jobs/import/runs",
            Some(&token_of(tenant, "ops")),
            None,
        )
        .await;
        assert_eq!(status, StatusCode::ACCEPTED, "{tenant}: {body}");
        runs.push((tenant, body["run_id"].as_i64().unwrap()));
    }
    for (tenant, id) in &runs {
        let run = common::run_until_over(&hub, *id, &token_of(tenant, "ops")).await;
        assert_eq!(run["status"], "succeeded", "{tenant}: {run}");
    }
    kick.stop();
    for w in workers {
        w.join().unwrap();
    }
    let mut store = common::open(&hub.config);
    assert_eq!(
        store.count_records("acme", "contact").unwrap(),
        2,
        "acme read acme.csv"
    );
    assert_eq!(
        store.count_records("other", "contact").unwrap(),
        1,
        "other read other.csv"
    );
    // a token sees its own tenant's run only
    let (acme_run, other_run) = (runs[0].1, runs[1].1);
    let (status, _, _) = call(
        &hub,
        "GET",
        &format!("/api/runs/{other_run}"),
        Some(&token_of("acme", "ops")),
        None,
    )
    .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, _, _) = call(
        &hub,
        "GET",
        &format!("/api/runs/{acme_run}"),
        Some(&token_of("other", "ops")),
        None,
    )
    .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (_, m, _) = call(
        &hub,
        "GET",
        "/api/mappings/people/contact/1",
        Some(&token_of("other", "ops")),
        None,
    )
    .await;
    let (_, shown, _) = call(
        &hub,
        "GET",
        &format!("/api/records/contact/{}", m["record_id"]),
        Some(&token_of("other", "ops")),
        None,
    )
    .await;
    assert_eq!(shown["record"]["values"]["name"], "Cem", "{shown}");
    // several tenants: a webhook names its tenant
    let (status, body, _) = call(
        &hub,
        "POST",
        "/webhooks/people",
        None,
        Some(serde_json::json!({})),
    )
    .await;
    assert_eq!(status, StatusCode::NOT_FOUND, "{body}");
    assert!(body["error"]
        .as_str()
        .unwrap()
        .contains("/webhooks/{tenant}/{connector}"));
}
