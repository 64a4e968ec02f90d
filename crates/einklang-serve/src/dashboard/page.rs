//! What every page handler starts from ([`Page`]): the signed-in caller
//! (a dashboard session, or a bearer token for scripts), the page's
//! language, the session's CSRF token and the path asked for. Without a
//! session the browser is sent to sign in and brought back afterwards.

use super::i18n::Lang;
use crate::auth::Caller;
use crate::{ApiError, Shared};
use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::http::{header, StatusCode};
use axum::response::{Html, IntoResponse, Redirect, Response};
use einklang_store::Role;
use std::sync::Arc;

/// A signed-in page request.
pub struct Page {
    /// Who asks.
    pub caller: Caller,
    /// In which language.
    pub lang: Lang,
    /// The session's CSRF token (none for a bearer token: no buttons).
    pub csrf: Option<String>,
    /// The path and query asked for.
    pub path: String,
}

impl Page {
    /// Whether the caller's role allows `role`'s actions (buttons are
    /// shown only then, and only in a session).
    pub fn may(&self, role: Role) -> bool {
        self.csrf.is_some() && self.caller.0.role >= role
    }
}

impl FromRequestParts<Arc<Shared>> for Page {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, state: &Arc<Shared>) -> Result<Self, Response> {
        let lang = Lang::of(&parts.headers);
        let path = parts
            .uri
            .path_and_query()
            .map(|p| p.as_str().to_string())
            .unwrap_or_else(|| "/".into());
        let csrf = super::session::cookie(&parts.headers, super::session::COOKIE)
            .and_then(|id| state.sessions.get(id))
            .map(|s| s.csrf);
        let bearer = parts.headers.contains_key(header::AUTHORIZATION);
        match Caller::from_request_parts(parts, state).await {
            Ok(caller) => Ok(Page {
                caller,
                lang,
                csrf: csrf.filter(|_| !bearer),
                path,
            }),
            Err(ApiError::Unauthorized(_)) if !bearer => {
                let to = format!("/login?next={}", encode(&path));
                Err(Redirect::to(&to).into_response())
            }
            Err(e) => Err(PageError(e, lang).into_response()),
        }
    }
}

/// `s` percent-encoded for a query value, `/` kept so a `next=/runs`
/// path stays readable (`form_urlencoded` would write `%2F`; a few lines
/// here rather than a dependency for that one difference).
pub fn encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' | b'/' => {
                out.push(b as char)
            }
            _ => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}

/// An API error shown as a page.
pub struct PageError(pub ApiError, pub Lang);

impl IntoResponse for PageError {
    fn into_response(self) -> Response {
        let message = self.0.to_string();
        let status = self.0.into_response().status();
        let lang = self.1;
        let title = match status {
            StatusCode::NOT_FOUND => lang.t("Not found", "Nicht gefunden"),
            StatusCode::FORBIDDEN => lang.t("Not allowed", "Nicht erlaubt"),
            StatusCode::UNAUTHORIZED => lang.t("Not signed in", "Nicht angemeldet"),
            _ => lang.t("Something went wrong", "Etwas ist schiefgegangen"),
        };
        let body = super::html::bare(
            lang,
            title,
            maud::html! {
                h1 { (title) }
                p { (message) }
                p { a href="/" { (lang.t("Back to the overview", "Zurück zur Übersicht")) } }
            },
        );
        (status, Html(body.into_string())).into_response()
    }
}

/// A page handler's result.
pub type PageResult = Result<Html<String>, PageError>;

/// `Result<T, ApiError>` as a page's.
pub trait OrPage<T> {
    /// The error shown in `lang`.
    fn or_page(self, lang: Lang) -> Result<T, PageError>;
}

impl<T> OrPage<T> for Result<T, ApiError> {
    fn or_page(self, lang: Lang) -> Result<T, PageError> {
        self.map_err(|e| PageError(e, lang))
    }
}
