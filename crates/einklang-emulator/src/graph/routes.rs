//! The HTTP side of the Graph emulator: the token endpoint, the contact
//! routes and the control routes under `/_emulator/graph/` (see the module
//! doc for the behaviour and its sources).

use super::{error, not_found, query, render, GraphOptions, GraphState};
use crate::common::{empty, header, json, json_with, origin, param};
use crate::lost::LossyRoutes;
use crate::rest::Answer;
use axum::extract::{Path, Query, State as Ext};
use axum::http::HeaderMap;
use axum::routing::{get, post};
use axum::{Form, Json, Router};
use serde_json::{json, Map, Value};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};

type Shared = Ext<Arc<Mutex<GraphState>>>;
type Params = Query<Vec<(String, String)>>;

/// The token and API routes.
pub(crate) fn api(state: Arc<Mutex<GraphState>>) -> Router {
    Router::new()
        .route("/graph/v1.0/users/{user}/contacts", get(list).post(create))
        .route("/graph/v1.0/users/{user}/contacts/delta", get(delta))
        .route(
            "/graph/v1.0/users/{user}/contactFolders/{folder}/contacts/delta",
            get(folder_delta),
        )
        .route(
            "/graph/v1.0/users/{user}/contacts/{id}",
            get(one).patch(update).delete(remove),
        )
        .lossy(&state)
        .route("/login/{tenant}/oauth2/v2.0/token", post(token))
        .with_state(state)
}

/// `POST /_emulator/graph/drop-answers?count=N` ([`crate::lost`]),
/// `POST /_emulator/graph/seed?mailbox=M` (a JSON list of contacts, or
/// `&count=N` made-up ones), `GET /_emulator/graph/list?mailbox=M`,
/// `GET /_emulator/graph/count`.
pub(crate) fn control(state: Arc<Mutex<GraphState>>) -> Router {
    Router::new()
        .route("/_emulator/graph/seed", post(seed))
        .route("/_emulator/graph/list", get(dump))
        .route("/_emulator/graph/count", get(count))
        .with_state(state.clone())
        .merge(crate::lost::control("/_emulator/graph/drop-answers", state))
}

fn refused(status: u16, code: &str, message: &str) -> Answer {
    json(status, error(code, message))
}

/// Count, rate limit, token, mailbox, queued fault: the answer to give
/// instead, if any.
fn admit(s: &mut GraphState, method: &str, headers: &HeaderMap, user: &str) -> Result<(), Answer> {
    if !s.gate.enter(method) {
        let body = error(
            "ApplicationThrottled",
            "Application is over its MailboxConcurrency limit.",
        );
        return Err(json_with(429, body, &[("Retry-After", "1")]));
    }
    let auth = header(headers, "authorization");
    let token = auth.strip_prefix("Bearer ").unwrap_or("");
    let now = s.clock.now();
    if !s.tokens.iter().any(|(t, until)| t == token && *until > now) {
        return Err(refused(
            401,
            "InvalidAuthenticationToken",
            "Access token has expired or is not yet valid.",
        ));
    }
    if !s.mailboxes.contains_key(&user.to_lowercase()) {
        return Err(refused(
            404,
            "ErrorInvalidUser",
            &format!("The requested user '{user}' is invalid."),
        ));
    }
    match s.gate.fault() {
        Some(status) => Err(refused(status, "ServiceUnavailable", "Injected failure")),
        None => Ok(()),
    }
}

fn aad(status: u16, error: &str, code: u32, description: &str) -> Answer {
    json(
        status,
        json!({"error": error, "error_description": format!("AADSTS{code}: {description}"), "error_codes": [code]}),
    )
}

/// Why the identity platform refuses a token request (`None`: it does not).
fn refusal(o: &GraphOptions, tenant: &str, form: &HashMap<String, String>) -> Option<Answer> {
    let field = |k: &str| form.get(k).map(String::as_str).unwrap_or("");
    let (status, error, code, text) = if tenant != o.tenant {
        (
            400,
            "invalid_request",
            90002,
            format!("Tenant '{tenant}' not found."),
        )
    } else if field("grant_type") != "client_credentials" {
        (
            400,
            "unsupported_grant_type",
            70003,
            "The app requested an unsupported grant type.".into(),
        )
    } else if field("client_id") != o.client_id {
        let id = field("client_id");
        (
            400,
            "unauthorized_client",
            700016,
            format!("Application with identifier '{id}' was not found in the directory."),
        )
    } else if field("client_secret") != o.client_secret {
        (
            401,
            "invalid_client",
            7000215,
            "Invalid client secret provided.".into(),
        )
    } else if !field("scope").ends_with("/.default") {
        let scope = field("scope");
        (400, "invalid_scope", 1002012, format!("The provided value for scope {scope} is not valid. Client credential flows must have a scope value with /.default suffixed to the resource identifier (application ID URI)."))
    } else {
        return None;
    };
    Some(aad(status, error, code, &text))
}

/// `POST /login/{tenant}/oauth2/v2.0/token` (form-encoded client credentials).
async fn token(
    Ext(state): Shared,
    Path(tenant): Path<String>,
    Form(form): Form<HashMap<String, String>>,
) -> Answer {
    let mut s = state.lock().unwrap();
    s.gate.tally("TOKEN");
    let o = s.options.clone();
    if let Some(refused) = refusal(&o, &tenant, &form) {
        return refused;
    }
    let token = format!(
        "eyJ0eXAiOiJKV1QiLCJhbGciOiJub25lIn0.emu.{}",
        s.tokens.len() + 1
    );
    let until = s.clock.now() + o.token_ttl_s as i64;
    s.tokens.push((token.clone(), until));
    json(
        200,
        json!({"token_type": "Bearer", "expires_in": o.token_ttl_s, "ext_expires_in": o.token_ttl_s, "access_token": token}),
    )
}

/// `GET /graph/v1.0/users/{user}/contacts`.
async fn list(
    Ext(state): Shared,
    headers: HeaderMap,
    Path(user): Path<String>,
    Query(q): Params,
) -> Answer {
    let mut s = state.lock().unwrap();
    if let Err(a) = admit(&mut s, "GET", &headers, &user) {
        return a;
    }
    match page(&s, &user, &q, &origin(&headers)) {
        Ok(body) => json(200, body),
        Err(e) => json(400, e),
    }
}

/// One page of a mailbox's contacts under the query options.
fn page(s: &GraphState, user: &str, q: &[(String, String)], origin: &str) -> Result<Value, Value> {
    let clauses = param(q, "$filter")
        .map(query::filter)
        .transpose()?
        .unwrap_or_default();
    let keep = param(q, "$select").map(query::select).transpose()?;
    let all = s
        .mailboxes
        .get(&user.to_lowercase())
        .map(Vec::as_slice)
        .unwrap_or_default();
    let mut hits: Vec<&Map<String, Value>> =
        all.iter().filter(|c| query::matches(c, &clauses)).collect();
    if let Some(o) = param(q, "$orderby") {
        query::order(&mut hits, o)?;
    }
    let number = |k: &str, d: usize| param(q, k).and_then(|v| v.parse().ok()).unwrap_or(d);
    let (top, skip) = (number("$top", 10).clamp(1, 1000), number("$skip", 0));
    let value: Vec<Value> = hits
        .iter()
        .skip(skip)
        .take(top)
        .map(|c| match &keep {
            Some(k) => query::cut(render(c), k),
            None => render(c),
        })
        .collect();
    let base = format!("{origin}/graph/v1.0/users/{user}/contacts");
    let mut body = json!({"@odata.context": format!("{origin}/graph/v1.0/$metadata#users('{user}')/contacts"), "value": value});
    if hits.len() > skip + top {
        body["@odata.nextLink"] = json!(query::next_link(&base, q, top, skip + top));
    }
    Ok(body)
}

/// `GET /graph/v1.0/users/{user}/contacts/delta` (see [`super::delta`]).
async fn delta(
    Ext(state): Shared,
    headers: HeaderMap,
    Path(user): Path<String>,
    Query(q): Params,
) -> Answer {
    let mut s = state.lock().unwrap();
    if let Err(a) = admit(&mut s, "GET", &headers, &user) {
        return a;
    }
    let base = format!(
        "{}/graph/v1.0/users/{user}/contacts/delta",
        origin(&headers)
    );
    delta_page(&s, &user, &q, &headers, &base)
}

/// `GET /graph/v1.0/users/{user}/contactFolders/{folder}/contacts/delta`:
/// the mailbox's one folder, by id or as `contacts`.
async fn folder_delta(
    Ext(state): Shared,
    headers: HeaderMap,
    Path((user, folder)): Path<(String, String)>,
    Query(q): Params,
) -> Answer {
    let mut s = state.lock().unwrap();
    if let Err(a) = admit(&mut s, "GET", &headers, &user) {
        return a;
    }
    if folder != "AAMkADEmContactsAAA=" && !folder.eq_ignore_ascii_case("contacts") {
        return json(404, not_found());
    }
    let base = format!(
        "{}/graph/v1.0/users/{user}/contactFolders/{folder}/contacts/delta",
        origin(&headers)
    );
    delta_page(&s, &user, &q, &headers, &base)
}

/// One page of a delta round, or `410 SyncStateNotFound`.
fn delta_page(
    s: &GraphState,
    user: &str,
    q: &[(String, String)],
    headers: &HeaderMap,
    base: &str,
) -> Answer {
    let at = match super::delta::position(
        &s.changes,
        param(q, "$deltatoken"),
        param(q, "$skiptoken"),
    ) {
        Some(at) => at,
        None => {
            let m = "The sync state generation is not found. The delta token is expired and data must be synchronized again.";
            return refused(410, "SyncStateNotFound", m);
        }
    };
    let keep = match param(q, "$select").map(query::select).transpose() {
        Ok(k) => k,
        Err(e) => return json(400, e),
    };
    let size = header(headers, "prefer")
        .split(',')
        .find_map(|p| p.trim().strip_prefix("odata.maxpagesize=")?.parse().ok())
        .unwrap_or(10usize)
        .max(1);
    let contacts = s
        .mailboxes
        .get(&user.to_lowercase())
        .map(Vec::as_slice)
        .unwrap_or_default();
    let (value, (key, token)) =
        super::delta::page(&s.changes, contacts, user, at, size, |c| match &keep {
            Some(k) => query::cut(render(c), k),
            None => render(c),
        });
    let mut link = format!(
        "{base}?{}={}",
        crate::common::encode(key),
        crate::common::encode(&token)
    );
    if let Some(sel) = param(q, "$select") {
        link.push_str(&format!("&%24select={}", crate::common::encode(sel)));
    }
    let name = if key == "$skiptoken" {
        "@odata.nextLink"
    } else {
        "@odata.deltaLink"
    };
    let mut body = json!({"@odata.context": format!("{}/graph/v1.0/$metadata#Collection(contact)", origin(headers)), "value": value});
    body[name] = json!(link);
    json(200, body)
}

/// `GET /graph/v1.0/users/{user}/contacts/{id}`.
async fn one(
    Ext(state): Shared,
    headers: HeaderMap,
    Path((user, id)): Path<(String, String)>,
    Query(q): Params,
) -> Answer {
    let mut s = state.lock().unwrap();
    if let Err(a) = admit(&mut s, "GET", &headers, &user) {
        return a;
    }
    let Some(c) = s.find(&user, &id) else {
        return json(404, not_found());
    };
    let mut out = render(c);
    if let Some(sel) = param(&q, "$select") {
        match query::select(sel) {
            Ok(keep) => out = query::cut(out, &keep),
            Err(e) => return json(400, e),
        }
    }
    out["@odata.context"] = json!(format!(
        "{}/graph/v1.0/$metadata#users('{user}')/contacts/$entity",
        origin(&headers)
    ));
    json(200, out)
}

fn object(body: &str) -> Result<Map<String, Value>, Answer> {
    match serde_json::from_str::<Value>(body) {
        Ok(Value::Object(o)) => Ok(o),
        _ => Err(refused(
            400,
            "BadRequest",
            "Empty Payload. JSON content expected.",
        )),
    }
}

/// `POST /graph/v1.0/users/{user}/contacts`: `201` with the contact.
async fn create(
    Ext(state): Shared,
    headers: HeaderMap,
    Path(user): Path<String>,
    body: String,
) -> Answer {
    let mut s = state.lock().unwrap();
    if let Err(a) = admit(&mut s, "POST", &headers, &user) {
        return a;
    }
    let body = match object(&body) {
        Ok(b) => b,
        Err(a) => return a,
    };
    match s.create(&user, &body) {
        Ok(c) => json(201, render(&c)),
        Err(e) => json(400, e),
    }
}

/// `PATCH /graph/v1.0/users/{user}/contacts/{id}`, conditional on `If-Match`.
async fn update(
    Ext(state): Shared,
    headers: HeaderMap,
    Path((user, id)): Path<(String, String)>,
    body: String,
) -> Answer {
    let mut s = state.lock().unwrap();
    if let Err(a) = admit(&mut s, "PATCH", &headers, &user) {
        return a;
    }
    let Some(current) = s.find(&user, &id) else {
        return json(404, not_found());
    };
    let want = header(&headers, "if-match");
    if !want.is_empty() && want != "*" && want != render(current)["@odata.etag"] {
        let m = "The send or update operation could not be performed because the change key passed in the request does not match the current change key for the item.";
        return refused(412, "ErrorIrresolvableConflict", m);
    }
    let body = match object(&body) {
        Ok(b) => b,
        Err(a) => return a,
    };
    match s.patch(&user, &id, &body) {
        Ok(c) => json(200, render(&c)),
        Err(e) => json(400, e),
    }
}

/// `DELETE /graph/v1.0/users/{user}/contacts/{id}`: `204`, `404` when gone.
async fn remove(
    Ext(state): Shared,
    headers: HeaderMap,
    Path((user, id)): Path<(String, String)>,
) -> Answer {
    let mut s = state.lock().unwrap();
    if let Err(a) = admit(&mut s, "DELETE", &headers, &user) {
        return a;
    }
    match s.delete(&user, &id) {
        true => empty(204, &[]),
        false => json(404, not_found()),
    }
}

/// The `n`-th made-up contact.
pub fn seeded_contact(n: u64) -> Value {
    let (first, last) = (
        ["Anna", "Jonas", "Lea", "Tobias"][n as usize % 4],
        ["Berger", "Huber", "Köhler", "Wagner"][n as usize / 4 % 4],
    );
    json!({
        "givenName": first, "surname": last, "companyName": format!("Bau {n} GmbH"),
        "emailAddresses": [{"name": format!("{first} {last}"), "address": format!("{}.{n}@example.org", first.to_lowercase())}],
        "businessPhones": [format!("+49 30 {:07}", 1_000_000 + n)], "mobilePhone": format!("+49 170 {:07}", 2_000_000 + n),
    })
}

async fn seed(Ext(state): Shared, Query(q): Params, body: String) -> Json<Value> {
    let mut s = state.lock().unwrap();
    let Some(mailbox) = param(&q, "mailbox") else {
        return Json(json!({"error": "`mailbox` is required"}));
    };
    let mut items: Vec<Value> = serde_json::from_str(&body).unwrap_or_default();
    let count: u64 = param(&q, "count").and_then(|c| c.parse().ok()).unwrap_or(0);
    items.extend((1..=count).map(seeded_contact));
    let mut ids = Vec::new();
    for item in items {
        match s.create(mailbox, item.as_object().unwrap_or(&Map::new())) {
            Ok(c) => ids.push(c["id"].clone()),
            Err(e) => return Json(e),
        }
    }
    s.mailboxes.entry(mailbox.to_lowercase()).or_default();
    Json(json!({"seeded": ids.len(), "ids": ids}))
}

async fn dump(Ext(state): Shared, Query(q): Params) -> Json<Value> {
    let s = state.lock().unwrap();
    let mailbox = param(&q, "mailbox").unwrap_or("").to_lowercase();
    let list = s
        .mailboxes
        .get(&mailbox)
        .map_or(Vec::new(), |l| l.iter().map(render).collect());
    Json(Value::Array(list))
}

async fn count(Ext(state): Shared) -> Json<Value> {
    let s = state.lock().unwrap();
    let per: Map<String, Value> = s
        .mailboxes
        .iter()
        .map(|(m, l)| (m.clone(), json!(l.len())))
        .collect();
    Json(json!({"mailboxes": per, "requests": s.gate.requests, "tokens": s.tokens.len()}))
}
