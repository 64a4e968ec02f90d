//! Each request of the service traced by method and path — never the
//! query — with its status and duration. A binary of its own: the
//! capture of `tracing` output is per thread, and other tests' requests
//! on other threads would reset the callsites' interest meanwhile.

mod common;

use axum::body::Body;
use axum::http::{Request, StatusCode};
use common::token_of;
use std::sync::Arc;
use tower::ServiceExt;

#[test]
fn each_request_is_traced_by_path_without_its_query() {
    let hub = common::hub();
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let auth = format!("Bearer {}", token_of("acme", "view"));
    let (answer, log) = einklang_testkit::trace::capture(|| {
        rt.block_on(async {
            let req = Request::get("/api/records/contact?value=anna.secret%40example.org")
                .header("authorization", &auth)
                .body(Body::empty())
                .unwrap();
            einklang_serve::app(Arc::clone(&hub.shared))
                .oneshot(req)
                .await
                .unwrap()
        })
    });
    assert_eq!(answer.status(), StatusCode::OK);
    assert!(
        log.contains("http{method=GET path=/api/records/contact}"),
        "{log}"
    );
    assert!(
        log.contains("status=200") && log.contains("answered"),
        "{log}"
    );
    assert!(
        !log.contains("anna.secret"),
        "the query stays out of the log: {log}"
    );
}
