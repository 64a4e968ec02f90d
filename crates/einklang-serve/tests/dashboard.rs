//! The dashboard through the router: sign-in and sessions, every page
//! answering with its security headers, roles (a viewer sees no button
//! and a forged request is refused), CSRF, escaping of hostile values,
//! the language, the CSV export and the page weight. The browser tests
//! (`crates/einklang/tests/dashboard_browser.rs`) click through the same
//! pages in Chromium.

mod common;

use axum::body::Body;
use axum::http::{Request, StatusCode};
use common::token_of;
use einklang_engine::{run_job, NoProgress, RunOptions};
use http_body_util::BodyExt;
use std::sync::Arc;
use tower::ServiceExt;

struct Answer {
    status: StatusCode,
    headers: axum::http::HeaderMap,
    body: String,
}

async fn send(
    hub: &common::Hub,
    method: &str,
    uri: &str,
    headers: &[(&str, &str)],
    body: &str,
) -> Answer {
    let mut req = Request::builder().method(method).uri(uri);
    for (k, v) in headers {
        req = req.header(*k, *v);
    }
    let response = einklang_serve::app(Arc::clone(&hub.shared))
        .oneshot(req.body(Body::from(body.to_string())).unwrap())
        .await
        .unwrap();
    let (status, headers) = (response.status(), response.headers().clone());
    let bytes = response.into_body().collect().await.unwrap().to_bytes();
    Answer {
        status,
        headers,
        body: String::from_utf8_lossy(&bytes).into_owned(),
    }
}

/// A session of `name`'s token: its cookie header and CSRF token.
async fn sign_in(hub: &common::Hub, name: &str) -> (String, String) {
    let form = format!("token={}&next=%2Fruns", token_of("acme", name));
    let a = send(
        hub,
        "POST",
        "/login",
        &[
            ("content-type", "application/x-www-form-urlencoded"),
            ("host", "hub.test"),
            ("origin", "http://hub.test"),
        ],
        &form,
    )
    .await;
    assert_eq!(a.status, StatusCode::SEE_OTHER, "{}", a.body);
    assert_eq!(a.headers["location"], "/runs");
    let set = a.headers["set-cookie"].to_str().unwrap().to_string();
    assert!(
        set.contains("HttpOnly") && set.contains("SameSite=Strict"),
        "{set}"
    );
    let cookie = set.split(';').next().unwrap().to_string();
    let page = send(hub, "GET", "/", &[("cookie", &cookie)], "").await;
    let csrf = page
        .body
        .split("name=\"csrf-token\" content=\"")
        .nth(1)
        .and_then(|r| r.split('"').next())
        .expect("the page carries the CSRF token")
        .to_string();
    (cookie, csrf)
}

fn pull(hub: &common::Hub) {
    std::thread::scope(|s| {
        s.spawn(|| {
            let mut store = common::open(&hub.config);
            run_job(
                &hub.config,
                store.as_mut(),
                "import",
                &RunOptions::default(),
                &NoProgress,
            )
            .unwrap();
        });
    });
}

#[tokio::test]
async fn without_a_session_a_page_asks_to_sign_in_and_a_bad_token_is_refused() {
    let hub = common::hub();
    let a = send(&hub, "GET", "/runs?job=import", &[], "").await;
    assert_eq!(a.status, StatusCode::SEE_OTHER);
    assert_eq!(a.headers["location"], "/login?next=/runs%3Fjob%3Dimport");
    let login = send(&hub, "GET", "/login?next=//evil.example", &[], "").await;
    assert_eq!(login.status, StatusCode::OK);
    assert!(
        login.body.contains("name=\"next\" value=\"/\""),
        "{}",
        login.body
    );
    let bad = send(
        &hub,
        "POST",
        "/login",
        &[("content-type", "application/x-www-form-urlencoded")],
        "token=ek_nope",
    )
    .await;
    assert_eq!(bad.status, StatusCode::UNAUTHORIZED);
    assert!(bad.headers.get("set-cookie").is_none());
    // a sign-in posted by another site's page
    let form = format!("token={}", token_of("acme", "ops"));
    let cross = send(
        &hub,
        "POST",
        "/login",
        &[
            ("content-type", "application/x-www-form-urlencoded"),
            ("host", "hub.test"),
            ("origin", "https://evil.example"),
        ],
        &form,
    )
    .await;
    assert_eq!(cross.status, StatusCode::FORBIDDEN);
    // a forged session id is no session
    let forged = send(&hub, "GET", "/", &[("cookie", "einklang_session=00ff")], "").await;
    assert_eq!(forged.status, StatusCode::SEE_OTHER);
}

#[tokio::test]
async fn every_page_answers_with_a_strict_policy_and_stays_light() {
    let hub = common::hub();
    pull(&hub);
    let (cookie, _) = sign_in(&hub, "ops").await;
    let assets: usize = einklang_serve::dashboard::CSS.len() + einklang_serve::dashboard::JS.len();
    for path in [
        "/",
        "/runs",
        "/runs?job=import&status=succeeded",
        "/runs/1",
        "/records?entity=contact&q=anna%40example.org",
        "/records?entity=contact&field=name&q=bo+lind",
        "/records/contact/1",
        "/changes?entity=contact&since=2000-01-01T00:00",
        "/conflicts",
        "/reviews",
        "/attention",
        "/attention?status=permanently_failed",
    ] {
        let a = send(&hub, "GET", path, &[("cookie", &cookie)], "").await;
        assert_eq!(a.status, StatusCode::OK, "{path}: {}", a.body);
        assert_eq!(
            a.headers["content-security-policy"],
            einklang_serve::dashboard::CSP,
            "{path}"
        );
        assert_eq!(a.headers["x-frame-options"], "DENY");
        assert_eq!(a.headers["cache-control"], "no-store");
        assert!(
            !a.body.contains("<script>") && !a.body.contains(" style="),
            "{path}: inline script or style"
        );
        assert!(
            a.body.len() + assets < 200 * 1024,
            "{path}: {} bytes",
            a.body.len() + assets
        );
    }
    let found = send(
        &hub,
        "GET",
        "/records?entity=contact&q=ANNA%40example.org",
        &[("cookie", &cookie)],
        "",
    )
    .await;
    assert!(
        found.body.contains("Anna Berg"),
        "any-field search: {}",
        found.body
    );
    let record = send(
        &hub,
        "GET",
        "/records/contact/1",
        &[("cookie", &cookie)],
        "",
    )
    .await;
    assert!(
        record.body.contains("people") && record.body.contains("Anna Berg"),
        "{}",
        record.body
    );
    let missing = send(&hub, "GET", "/runs/999", &[("cookie", &cookie)], "").await;
    assert_eq!(missing.status, StatusCode::NOT_FOUND);
    let css = send(&hub, "GET", "/assets/app.css", &[], "").await;
    assert_eq!(css.status, StatusCode::OK);
    assert!(css.headers["content-type"]
        .to_str()
        .unwrap()
        .starts_with("text/css"));
}

#[tokio::test]
async fn a_viewer_sees_no_buttons_and_a_forged_request_is_refused() {
    let hub = common::hub();
    pull(&hub);
    let (view, view_csrf) = sign_in(&hub, "view").await;
    let (ops, ops_csrf) = sign_in(&hub, "ops").await;
    let viewer_page = send(&hub, "GET", "/", &[("cookie", &view)], "").await;
    assert!(
        !viewer_page.body.contains("data-api"),
        "{}",
        viewer_page.body
    );
    let ops_page = send(&hub, "GET", "/", &[("cookie", &ops)], "").await;
    assert!(
        ops_page.body.contains("data-api=\"/api/jobs/import/runs\""),
        "{}",
        ops_page.body
    );
    let json = [("content-type", "application/json")];
    // a viewer's request with its own valid CSRF token: the role refuses
    let forged = send(
        &hub,
        "POST",
        "/api/jobs/import/runs",
        &[json[0], ("cookie", &view), ("x-csrf-token", &view_csrf)],
        "{}",
    )
    .await;
    assert_eq!(forged.status, StatusCode::FORBIDDEN, "{}", forged.body);
    // an operator's cookie without the CSRF token (another site's form)
    let no_csrf = send(
        &hub,
        "POST",
        "/api/jobs/import/runs",
        &[json[0], ("cookie", &ops)],
        "{}",
    )
    .await;
    assert_eq!(no_csrf.status, StatusCode::FORBIDDEN, "{}", no_csrf.body);
    let wrong = send(
        &hub,
        "POST",
        "/api/jobs/import/runs",
        &[json[0], ("cookie", &ops), ("x-csrf-token", &view_csrf)],
        "{}",
    )
    .await;
    assert_eq!(wrong.status, StatusCode::FORBIDDEN);
    let ok = send(
        &hub,
        "POST",
        "/api/jobs/import/runs",
        &[json[0], ("cookie", &ops), ("x-csrf-token", &ops_csrf)],
        "{}",
    )
    .await;
    assert_eq!(ok.status, StatusCode::ACCEPTED, "{}", ok.body);
    // reads need no CSRF token
    let read = send(&hub, "GET", "/api/runs", &[("cookie", &ops)], "").await;
    assert_eq!(read.status, StatusCode::OK);
    // signing out ends the session: the cookie no longer works
    let out = send(
        &hub,
        "POST",
        "/logout",
        &[
            ("content-type", "application/x-www-form-urlencoded"),
            ("cookie", &ops),
        ],
        &format!("csrf={ops_csrf}"),
    )
    .await;
    assert_eq!(out.status, StatusCode::SEE_OTHER);
    let after = send(&hub, "GET", "/api/runs", &[("cookie", &ops)], "").await;
    assert_eq!(after.status, StatusCode::UNAUTHORIZED);
    // a revoked token ends its sessions
    let mut store = common::open(&hub.config);
    assert!(store.revoke_token("acme", "view").unwrap());
    let revoked = send(&hub, "GET", "/", &[("cookie", &view)], "").await;
    assert_eq!(revoked.status, StatusCode::SEE_OTHER);
}

#[tokio::test]
async fn hostile_values_render_as_text_and_german_is_chosen_by_the_browser() {
    let hub = common::hub();
    std::fs::write(
        hub.dir.path().join("people.csv"),
        "id,name,email\n1,\"<script>alert(1)</script><img src=x onerror=alert(2)>\",\"\"\"><b>x</b>@example.org\"\n",
    )
    .unwrap();
    pull(&hub);
    let (cookie, _) = sign_in(&hub, "ops").await;
    for path in ["/records/contact/1", "/records?entity=contact&field=name&q=%3Cscript%3Ealert(1)%3C%2Fscript%3E%3Cimg+src%3Dx+onerror%3Dalert(2)%3E"] {
        let a = send(&hub, "GET", path, &[("cookie", &cookie), ("accept-language", "de-DE,de;q=0.9")], "").await;
        assert_eq!(a.status, StatusCode::OK, "{path}");
        assert!(a.body.contains("&lt;script&gt;alert(1)&lt;/script&gt;&lt;img src=x onerror=alert(2)&gt;"), "{path}: {}", a.body);
        assert!(!a.body.contains("<script>alert") && !a.body.contains("<img src=x") && !a.body.contains("<b>x</b>"), "{path}");
        assert!(a.body.contains("<html lang=\"de\">") && a.body.contains("Übersicht"), "{path}");
    }
    // the switch's cookie wins over the browser
    let en = send(
        &hub,
        "GET",
        "/",
        &[
            ("cookie", &format!("{cookie}; lang=en")),
            ("accept-language", "de"),
        ],
        "",
    )
    .await;
    assert!(en.body.contains("<html lang=\"en\">") && en.body.contains("Sync now"));
    let switch = send(&hub, "GET", "/lang/de?back=/runs", &[], "").await;
    assert_eq!(switch.status, StatusCode::SEE_OTHER);
    assert_eq!(switch.headers["location"], "/runs");
    assert!(switch.headers["set-cookie"]
        .to_str()
        .unwrap()
        .starts_with("lang=de;"));
}

#[tokio::test]
async fn recent_changes_export_as_csv_safe_for_spreadsheets() {
    let hub = common::hub();
    pull(&hub);
    std::fs::write(
        hub.dir.path().join("people.csv"),
        "id,name,email\n1,\"=HYPERLINK(\"\"http://x\"\")\",anna@example.org\n2,\"Lind, Bo\",bo@example.org\n",
    )
    .unwrap();
    pull(&hub);
    let token = token_of("acme", "view");
    let auth = format!("Bearer {token}");
    let a = send(
        &hub,
        "GET",
        "/api/changes/contact/csv?since=2000-01-01T00:00:00Z&field=name",
        &[("authorization", &auth)],
        "",
    )
    .await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.body);
    assert!(a.headers["content-type"]
        .to_str()
        .unwrap()
        .starts_with("text/csv"));
    assert!(a.headers["content-disposition"]
        .to_str()
        .unwrap()
        .contains("changes-contact.csv"));
    let lines: Vec<&str> = a.body.lines().collect();
    assert_eq!(
        lines[0],
        "change,field,old,new,record,external_id,run,origin,at"
    );
    assert!(
        a.body
            .contains(",Anna Berg,\"'=HYPERLINK(\"\"http://x\"\")\","),
        "{}",
        a.body
    );
    assert!(a.body.contains(",Bo Lind,\"Lind, Bo\","), "{}", a.body);
    // the page links the export with the same filter
    let (cookie, _) = sign_in(&hub, "view").await;
    let page = send(
        &hub,
        "GET",
        "/changes?entity=contact&field=name&since=2000-01-01T00:00",
        &[("cookie", &cookie)],
        "",
    )
    .await;
    assert!(
        page.body.contains(
            "href=\"/api/changes/contact/csv?field=name&amp;since=2000-01-01T00%3A00%3A00Z\""
        ),
        "{}",
        page.body
    );
    assert!(page.body.contains("changed name"), "{}", page.body);
}

/// The common hub, matching contacts by name and e-mail (on ingest,
/// so the match keys are current).
fn matching() -> String {
    format!(
        "{}\n[matching.contact]\ncompare = [\n  {{ field = \"name\", kind = \"name\" }},\n  {{ field = \"email\", kind = \"email\" }},\n]\n",
        common::CONFIG
    )
}

#[tokio::test]
async fn search_finds_an_email_at_once_and_scans_a_large_hub_window_by_window() {
    let hub = common::hub_with(&matching(), None);
    let window = einklang_serve::records::SCAN_WINDOW as usize;
    let mut csv = String::from("id,name,email\n");
    for i in 1..=window + 1000 {
        csv.push_str(&format!("{i},Person {i},p{i}@example.org\n"));
    }
    std::fs::write(hub.dir.path().join("people.csv"), csv).unwrap();
    pull(&hub);
    let auth = format!("Bearer {}", token_of("acme", "view"));
    let get = |uri: String| {
        let auth = auth.clone();
        let hub = &hub;
        async move {
            let a = send(hub, "GET", &uri, &[("authorization", &auth)], "").await;
            assert_eq!(a.status, StatusCode::OK, "{uri}: {}", a.body);
            let json: serde_json::Value = serde_json::from_str(&a.body).unwrap();
            common::conforms("GET", &uri, a.status, &json);
            json
        }
    };
    let far = window + 500;
    // an e-mail, written otherwise: the match keys find it on the first page
    let found = get(format!("/api/records/contact?value=P{far}%40Example.org")).await;
    assert_eq!(
        found["records"][0]["values"]["name"],
        format!("Person {far}"),
        "{found}"
    );
    assert_eq!(found["records"].as_array().unwrap().len(), 1, "{found}");
    assert_eq!(
        (found["next"].clone(), found["scanned_to"].clone()),
        (serde_json::json!(0), serde_json::json!(0)),
        "the scan of every field is the next page"
    );
    let scan = get(format!(
        "/api/records/contact?value=P{far}%40Example.org&after=0"
    ))
    .await;
    assert_eq!(
        scan["records"],
        serde_json::json!([]),
        "no field holds the e-mail written otherwise"
    );
    assert_eq!(scan["next"], window as i64);
    // a name: the first window holds none of it; the next page finds it
    let first = get(format!("/api/records/contact?value=person+{far}")).await;
    assert_eq!(first["records"], serde_json::json!([]));
    assert_eq!(first["scanned_to"], window as i64);
    assert_eq!(first["last_id"], (window + 1000) as i64);
    let next = get(format!(
        "/api/records/contact?value=person+{far}&after={}",
        first["next"]
    ))
    .await;
    assert_eq!(next["records"][0]["id"], far as i64, "{next}");
    assert_eq!(next["next"], serde_json::Value::Null);
    // the page says how far it searched and links the rest
    let (cookie, _) = sign_in(&hub, "view").await;
    let page = send(
        &hub,
        "GET",
        &format!("/records?entity=contact&q=person+{far}"),
        &[("cookie", &cookie)],
        "",
    )
    .await;
    assert!(
        page.body
            .contains(&format!("#{window} of #{}", window + 1000)),
        "{}",
        page.body
    );
    assert!(
        page.body.contains(&format!("after={window}")),
        "{}",
        page.body
    );
    let by_mail = send(
        &hub,
        "GET",
        &format!("/records?entity=contact&q=p{far}%40example.org"),
        &[("cookie", &cookie)],
        "",
    )
    .await;
    assert!(
        by_mail.body.contains(&format!("Person {far}")),
        "{}",
        by_mail.body
    );
    assert!(
        by_mail.body.contains("search every field as well"),
        "{}",
        by_mail.body
    );
}

#[tokio::test]
async fn the_review_queue_pages_by_id_and_a_pair_leads_to_the_next() {
    let hub = common::hub_with(&matching(), None);
    std::fs::write(
        hub.dir.path().join("people.csv"),
        "id,name,email\n1,Anna Berg,a@example.org\n2,Anna Berg,b@example.org\n3,Anna Berg,c@example.org\n",
    )
    .unwrap();
    pull(&hub);
    let mut store = common::open(&hub.config);
    let run = store.runs("acme", 1).unwrap()[0].id;
    let pair = |a, b| einklang_store::NewReview {
        entity: "contact".into(),
        a,
        b,
        probability: 0.7,
    };
    store
        .queue_reviews("acme", run, &[pair(1, 2), pair(1, 3), pair(2, 3)])
        .unwrap();
    let ids: Vec<i64> = store
        .reviews("acme", true, 10)
        .unwrap()
        .iter()
        .map(|r| r.id)
        .collect();
    let auth = format!("Bearer {}", token_of("acme", "view"));
    let a = send(
        &hub,
        "GET",
        "/api/reviews?limit=2",
        &[("authorization", &auth)],
        "",
    )
    .await;
    let first: serde_json::Value = serde_json::from_str(&a.body).unwrap();
    assert_eq!(first["next"], ids[1], "{first}");
    let uri = format!("/api/reviews?limit=2&after={}", ids[1]);
    let b = send(&hub, "GET", &uri, &[("authorization", &auth)], "").await;
    let rest: serde_json::Value = serde_json::from_str(&b.body).unwrap();
    assert_eq!(rest["reviews"][0]["id"], ids[2]);
    assert_eq!(rest["next"], serde_json::Value::Null);
    common::conforms("GET", &uri, b.status, &rest);
    // a pair leads on to the next one, the last back to the first left
    let (cookie, _) = sign_in(&hub, "ops").await;
    for (from, to) in [(ids[0], ids[1]), (ids[1], ids[2]), (ids[2], ids[0])] {
        let page = send(
            &hub,
            "GET",
            &format!("/reviews/{from}"),
            &[("cookie", &cookie)],
            "",
        )
        .await;
        assert!(
            page.body.contains(&format!("data-next=\"/reviews/{to}\"")),
            "{from} → {to}: {}",
            page.body
        );
    }
}

#[tokio::test]
async fn a_long_span_of_changes_is_counted_in_parts_without_holding_the_store() {
    let hub = common::hub();
    let cap = einklang_serve::snapshots::MAX_HISTORY;
    let mut csv = String::from("id,name,email\n");
    for i in 1..=cap + 500 {
        csv.push_str(&format!("{i},Person {i},p{i}@example.org\n"));
    }
    std::fs::write(hub.dir.path().join("people.csv"), csv).unwrap();
    pull(&hub);
    let auth = format!("Bearer {}", token_of("acme", "view"));
    let uri = "/api/changes/contact?since=2000-01-01T00:00:00Z&limit=10";
    let a = send(&hub, "GET", uri, &[("authorization", &auth)], "").await;
    let first: serde_json::Value = serde_json::from_str(&a.body).unwrap();
    common::conforms("GET", uri, a.status, &first);
    assert_eq!(first["complete"], false, "{}", first["total"]);
    assert_eq!(
        first["total"],
        2 * cap as u64,
        "name and email of each created record"
    );
    assert!(first["counted_to"].is_string());
    let rest_uri = format!(
        "/api/changes/contact?since=2000-01-01T00:00:00Z&after={}&limit=10",
        first["next"]
    );
    let b = send(&hub, "GET", &rest_uri, &[("authorization", &auth)], "").await;
    let rest: serde_json::Value = serde_json::from_str(&b.body).unwrap();
    assert_eq!(rest["complete"], true, "{rest}");
    assert_eq!(
        rest["total"], 1000,
        "the rest, from where the count stopped"
    );
    assert_eq!(rest["next"], serde_json::Value::Null);
    // the page offers to count on
    let (cookie, _) = sign_in(&hub, "view").await;
    let page = send(
        &hub,
        "GET",
        "/changes?entity=contact&since=2000-01-01T00:00",
        &[("cookie", &cookie)],
        "",
    )
    .await;
    assert!(page.body.contains("Count on from there"), "{}", page.body);
}
