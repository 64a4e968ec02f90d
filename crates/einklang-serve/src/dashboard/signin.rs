//! Signing in and out: `GET /login` asks for an API token, `POST /login`
//! checks it and opens a session ([`super::session`]), `POST /logout`
//! ends it. A sign-in posted from another site's page (its `Origin` is
//! not this host) is refused.

use super::html::bare;
use super::i18n::Lang;
use super::session::{cookie, same_secret, COOKIE};
use crate::Shared;
use axum::extract::{Form, Query, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{Html, IntoResponse, Response};
use maud::html;
use serde::Deserialize;
use std::sync::Arc;

#[derive(Deserialize)]
pub(crate) struct Next {
    next: Option<String>,
}

fn form_page(lang: Lang, next: &str, error: Option<&str>) -> Html<String> {
    let title = lang.t("Sign in", "Anmelden");
    Html(
        bare(
            lang,
            title,
            html! {
                h1 { "einklang · " (title) }
                @if let Some(e) = error { p class="error" role="alert" { (e) } }
                form method="post" action="/login" class="stack" {
                    input type="hidden" name="next" value=(next);
                    label for="token" { (lang.t("API token", "API-Token")) }
                    input id="token" name="token" type="password" autocomplete="current-password" required autofocus;
                    p class="hint" { (lang.t(
                        "An administrator makes one with `einklang token create NAME --role viewer|operator|admin`. Your role decides what you may do here.",
                        "Eine Administratorin erstellt eines mit `einklang token create NAME --role viewer|operator|admin`. Ihre Rolle bestimmt, was Sie hier tun dürfen."
                    )) }
                    button type="submit" { (title) }
                }
            },
        )
        .into_string(),
    )
}

/// `GET /login`.
pub(crate) async fn form(headers: HeaderMap, Query(n): Query<Next>) -> Html<String> {
    form_page(
        Lang::of(&headers),
        &super::local_path(n.next.as_deref()),
        None,
    )
}

#[derive(Deserialize)]
pub(crate) struct SignIn {
    token: String,
    next: Option<String>,
}

/// Whether a form post comes from this site: no `Origin` (an old
/// browser, a script) or one whose host is the request's `Host`.
fn same_origin(headers: &HeaderMap) -> bool {
    let Some(origin) = headers.get(header::ORIGIN).and_then(|v| v.to_str().ok()) else {
        return true;
    };
    let host = headers
        .get(header::HOST)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    let origin_host = origin.split_once("://").map(|(_, h)| h).unwrap_or("");
    !host.is_empty() && origin_host.eq_ignore_ascii_case(host)
}

/// `POST /login`.
pub(crate) async fn sign_in(
    State(s): State<Arc<Shared>>,
    headers: HeaderMap,
    Form(f): Form<SignIn>,
) -> Response {
    let lang = Lang::of(&headers);
    let next = super::local_path(f.next.as_deref());
    if !same_origin(&headers) {
        return (StatusCode::FORBIDDEN, "sign-in posted from another site").into_response();
    }
    let hashed = crate::auth::hash(f.token.trim());
    let h = hashed.clone();
    let row = match s.with_store(move |st| st.token_by_hash(&h)).await {
        Ok(row) => row,
        Err(e) => return super::page::PageError(e, lang).into_response(),
    };
    let Some(row) = row else {
        let msg = lang.t(
            "This token is unknown or revoked.",
            "Dieses Token ist unbekannt oder widerrufen.",
        );
        return (StatusCode::UNAUTHORIZED, form_page(lang, &next, Some(msg))).into_response();
    };
    let id = s.sessions.open(hashed);
    tracing::info!(token = %row.name, role = row.role.as_str(), "dashboard sign-in");
    let secure = headers
        .get("x-forwarded-proto")
        .is_some_and(|v| v.as_bytes().eq_ignore_ascii_case(b"https"));
    let cookie = format!(
        "{COOKIE}={id}; Path=/; HttpOnly; SameSite=Strict{}",
        if secure { "; Secure" } else { "" }
    );
    (
        StatusCode::SEE_OTHER,
        [(header::SET_COOKIE, cookie), (header::LOCATION, next)],
    )
        .into_response()
}

#[derive(Deserialize)]
pub(crate) struct SignOut {
    csrf: String,
}

/// `POST /logout` (with the session's CSRF token as `csrf`).
pub(crate) async fn sign_out(
    State(s): State<Arc<Shared>>,
    headers: HeaderMap,
    Form(f): Form<SignOut>,
) -> Response {
    if let Some(id) = cookie(&headers, COOKIE) {
        match s.sessions.get(id) {
            Some(session) if same_secret(&f.csrf, &session.csrf) => s.sessions.close(id),
            Some(_) => return (StatusCode::FORBIDDEN, "wrong CSRF token").into_response(),
            None => {}
        }
    }
    let clear = format!("{COOKIE}=; Path=/; HttpOnly; SameSite=Strict; Max-Age=0");
    (
        StatusCode::SEE_OTHER,
        [
            (header::SET_COOKIE, clear),
            (header::LOCATION, "/login".to_string()),
        ],
    )
        .into_response()
}
