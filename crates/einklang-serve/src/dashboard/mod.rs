//! The dashboard: HTML pages served by `einklang serve` at `/` for the
//! people who live with a sync — runs and "Sync now", records with their
//! history and links, recent changes, conflicts, the review queue, and
//! what needs attention. Each page is a bookmarkable URL.
//!
//! **One API.** A page shows what the JSON API's handlers answer (it
//! calls them, with the signed-in caller), and every button is a call of
//! that API from `assets/app.js`, with the session's cookie and CSRF
//! token ([`session`]): no endpoint exists for the dashboard alone but
//! sign-in, sign-out and the language switch.
//!
//! **Server-rendered** with [`maud`] (compile-time templates that escape
//! every value), one stylesheet and one small script embedded in the
//! binary: no Node.js to build, nothing from a CDN, works offline.
//! Every answer carries a strict Content-Security-Policy
//! ([`secure_headers`]): scripts and styles from this origin only, no
//! inline script, no frames.
//!
//! **Roles**: a viewer sees no buttons; the API refuses a viewer's
//! forged request (403) whatever the page shows.

mod attention;
mod changes;
mod decisions;
mod html;
mod i18n;
mod overview;
mod page;
mod records;
mod runs;
pub mod session;
mod signin;

use crate::Shared;
use axum::http::{header, HeaderValue};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;
use std::sync::Arc;

pub use page::Page;

/// The stylesheet, as served at `/assets/app.css`.
pub const CSS: &str = include_str!("../../assets/app.css");
/// The script, as served at `/assets/app.js`.
pub const JS: &str = include_str!("../../assets/app.js");

/// What every dashboard answer's `Content-Security-Policy` allows.
pub const CSP: &str = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; \
     connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

/// The dashboard's routes.
pub fn routes() -> Router<Arc<Shared>> {
    Router::new()
        .route("/", get(overview::page))
        .route("/login", get(signin::form).post(signin::sign_in))
        .route("/logout", post(signin::sign_out))
        .route("/lang/{lang}", get(i18n::switch))
        .route("/runs", get(runs::list))
        .route("/runs/{id}", get(runs::one))
        .route("/records", get(records::search))
        .route("/records/{entity}/{id}", get(records::one))
        .route("/records/{entity}/{id}/compare", get(records::compare))
        .route("/changes", get(changes::page))
        .route("/conflicts", get(decisions::conflicts))
        .route("/reviews", get(decisions::queue))
        .route("/reviews/{id}", get(decisions::pair))
        .route("/attention", get(attention::page))
        .route(
            "/assets/app.css",
            get(|| asset(CSS, "text/css; charset=utf-8")),
        )
        .route(
            "/assets/app.js",
            get(|| asset(JS, "text/javascript; charset=utf-8")),
        )
        .layer(axum::middleware::map_response(secure_headers))
}

async fn asset(body: &'static str, kind: &'static str) -> Response {
    (
        [
            (header::CONTENT_TYPE, kind),
            (header::CACHE_CONTROL, "public, max-age=3600"),
        ],
        body,
    )
        .into_response()
}

/// The headers every dashboard answer carries: the CSP, no sniffing, no
/// framing, no referrer to other sites, and pages not cached (they show
/// a signed-in person's data).
pub async fn secure_headers(mut response: Response) -> Response {
    let h = response.headers_mut();
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(CSP),
    );
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    h.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("same-origin"),
    );
    if !h.contains_key(header::CACHE_CONTROL) {
        h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    }
    response
}

/// `back` when it is a path of this site (`/…`, not `//host`), else `/`:
/// where sign-in and the language switch send the browser afterwards.
pub(crate) fn local_path(back: Option<&str>) -> String {
    match back {
        Some(b)
            if b.starts_with('/')
                && !b.starts_with("//")
                && !b.contains('\\')
                && !b.chars().any(char::is_control) =>
        {
            b.to_string()
        }
        _ => "/".to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::local_path;

    #[test]
    fn only_local_paths_are_followed() {
        assert_eq!(local_path(Some("/runs?job=a")), "/runs?job=a");
        for bad in ["//evil.example", "https://evil.example", "/\\evil", "", "x"] {
            assert_eq!(local_path(Some(bad)), "/", "{bad}");
        }
        assert_eq!(local_path(None), "/");
    }

    proptest::proptest! {
        /// Wherever a link says to go back to, it stays on this site.
        #[test]
        fn back_never_leaves_the_site(back in ".{0,30}") {
            let p = local_path(Some(&back));
            proptest::prop_assert!(p.starts_with('/') && !p.starts_with("//") && !p.contains('\\'));
            proptest::prop_assert!(!p.chars().any(char::is_control));
        }
    }
}
