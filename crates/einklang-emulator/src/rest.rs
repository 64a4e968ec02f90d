//! The Kommo-style REST API: `/api/v4/contacts` (list, one, create,
//! update, delete), `/api/v4/events` (deletions), `/oauth2/token`.

use crate::{admit, Fault, State};
use axum::extract::{Path, Query, State as Ext};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::{json, Map, Value};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

type Shared = Ext<Arc<Mutex<State>>>;

/// An answer: status, headers, body text.
pub struct Answer {
    /// Status.
    pub status: u16,
    /// Extra headers.
    pub headers: Vec<(String, String)>,
    /// Body.
    pub body: String,
}

/// The status of an [`Answer`] never sent: the connection is closed
/// instead ([`crate::lost::severed`]).
pub const SEVERED: u16 = 0;

impl IntoResponse for Answer {
    fn into_response(self) -> Response {
        if self.status == SEVERED {
            return crate::lost::severed();
        }
        let mut r = (
            StatusCode::from_u16(self.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR),
            self.body,
        )
            .into_response();
        let has_type = self
            .headers
            .iter()
            .any(|(k, _)| k.eq_ignore_ascii_case("content-type"));
        for (k, v) in &self.headers {
            if let (Ok(k), Ok(v)) = (
                axum::http::HeaderName::try_from(k.as_str()),
                axum::http::HeaderValue::try_from(v.as_str()),
            ) {
                r.headers_mut().insert(k, v);
            }
        }
        if !has_type {
            r.headers_mut().insert(
                "content-type",
                axum::http::HeaderValue::from_static("application/hal+json"),
            );
        }
        r
    }
}

/// A JSON answer.
pub fn answer(status: u16, body: Value, headers: &[(&str, &str)]) -> Answer {
    let body = if status == 204 {
        String::new()
    } else {
        body.to_string()
    };
    Answer {
        status,
        headers: headers
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect(),
        body,
    }
}

/// A JSON answer, cut in half when the queued fault says so.
pub(crate) fn finish(fault: Option<Fault>, a: Answer) -> Answer {
    match fault {
        Some(Fault::Truncated) => Answer {
            body: a.body[..a.body.len() / 2].to_string(),
            ..a
        },
        _ => a,
    }
}

/// `412` when `If-Match` names another version than the contact's.
fn precondition(current: &Map<String, Value>, headers: &HeaderMap) -> Option<Answer> {
    let want = headers.get("if-match")?.to_str().ok()?;
    let same = want.trim_matches('"').parse::<u64>().ok() == current["version"].as_u64();
    (!same).then(|| {
        answer(
            412,
            json!({"title": "Precondition Failed", "detail": "the contact changed"}),
            &[],
        )
    })
}

/// `POST /oauth2/token` (client credentials, form-encoded).
pub async fn token(
    Ext(state): Shared,
    axum::Form(form): axum::Form<HashMap<String, String>>,
) -> Answer {
    let mut s = state.lock().unwrap();
    let Some((id, secret)) = s.options.oauth.clone() else {
        return answer(404, json!({"error": "no OAuth2 here"}), &[]);
    };
    *s.requests.entry("TOKEN".into()).or_default() += 1;
    let ok = form.get("grant_type").map(String::as_str) == Some("client_credentials")
        && form.get("client_id") == Some(&id)
        && form.get("client_secret") == Some(&secret);
    if !ok {
        return answer(
            401,
            json!({"error": "invalid_client", "error_description": "client authentication failed"}),
            &[],
        );
    }
    let n = s.tokens.len() + 1;
    let token = format!("tok-{n}-{}", s.now());
    let ttl = s.options.token_ttl_s;
    s.tokens
        .push((token.clone(), Instant::now() + Duration::from_secs(ttl)));
    answer(
        200,
        json!({"access_token": token, "token_type": "Bearer", "expires_in": ttl}),
        &[],
    )
}

/// `GET /api/v4/contacts?page=&limit=&filter[updated_at][from]=`.
pub async fn list(
    Ext(state): Shared,
    headers: HeaderMap,
    Query(q): Query<HashMap<String, String>>,
) -> Answer {
    let mut s = state.lock().unwrap();
    let fault = match admit(&mut s, "GET", &headers) {
        Ok(f) => f,
        Err(a) => return a,
    };
    let page: usize = q
        .get("page")
        .and_then(|p| p.parse().ok())
        .unwrap_or(1)
        .max(1);
    let limit: usize = q
        .get("limit")
        .and_then(|p| p.parse().ok())
        .unwrap_or(50)
        .clamp(1, 250);
    let from: Option<i64> = q
        .get("filter[updated_at][from]")
        .and_then(|p| p.parse().ok());
    let matching: Vec<&Map<String, Value>> = s
        .contacts
        .values()
        .filter(|c| from.is_none_or(|f| c["updated_at"].as_i64().unwrap_or(0) >= f))
        .collect();
    let items: Vec<Value> = matching
        .iter()
        .skip((page - 1) * limit)
        .take(limit)
        .map(|c| Value::Object((*c).clone()))
        .collect();
    if items.is_empty() {
        return answer(204, Value::Null, &[]);
    }
    let mut links =
        json!({"self": {"href": format!("/api/v4/contacts?page={page}&limit={limit}")}});
    if matching.len() > page * limit {
        let mut next = format!("/api/v4/contacts?page={}&limit={limit}", page + 1);
        if let Some(f) = from {
            next.push_str(&format!("&filter%5Bupdated_at%5D%5Bfrom%5D={f}"));
        }
        links["next"] = json!({"href": next});
    }
    finish(
        fault,
        answer(
            200,
            json!({"_page": page, "_links": links, "_embedded": {"contacts": items}}),
            &[],
        ),
    )
}

/// `GET /api/v4/contacts/{id}`: 204 when there is none (as Kommo does).
pub async fn one(Ext(state): Shared, headers: HeaderMap, Path(id): Path<String>) -> Answer {
    let mut s = state.lock().unwrap();
    let fault = match admit(&mut s, "GET", &headers) {
        Ok(f) => f,
        Err(a) => return a,
    };
    let id: u64 = id.parse().unwrap_or(0);
    match s.contacts.get(&id) {
        Some(c) => finish(fault, answer(200, Value::Object(c.clone()), &[])),
        None => answer(204, Value::Null, &[]),
    }
}

/// `POST /api/v4/contacts` with a JSON array: ids, times and versions.
pub async fn create(Ext(state): Shared, headers: HeaderMap, body: String) -> Answer {
    let mut s = state.lock().unwrap();
    let fault = match admit(&mut s, "POST", &headers) {
        Ok(f) => f,
        Err(a) => return a,
    };
    let Ok(Value::Array(items)) = serde_json::from_str::<Value>(&body) else {
        return answer(
            400,
            json!({"title": "Bad Request", "detail": "expected a JSON array of contacts"}),
            &[],
        );
    };
    let mut made = Vec::new();
    for (i, item) in items.into_iter().enumerate() {
        let Value::Object(fields) = item else {
            return answer(
                400,
                json!({"title": "Bad Request", "detail": format!("item {i} is not an object")}),
                &[],
            );
        };
        if fields
            .get("email")
            .is_some_and(|e| !e.as_str().unwrap_or("").contains('@'))
        {
            return answer(
                422,
                json!({"title": "Unprocessable Entity", "validation-errors": [{"request_id": i.to_string(), "errors": [{"path": "email", "detail": "invalid email"}]}]}),
                &[],
            );
        }
        let r = s.put(None, fields);
        made.push(json!({"id": r["id"], "request_id": i.to_string(), "updated_at": r["updated_at"], "version": r["version"]}));
    }
    finish(
        fault,
        answer(200, json!({"_embedded": {"contacts": made}}), &[]),
    )
}

/// `PATCH /api/v4/contacts/{id}`, conditional on `If-Match: <version>`.
pub async fn update(
    Ext(state): Shared,
    headers: HeaderMap,
    Path(id): Path<String>,
    body: String,
) -> Answer {
    let mut s = state.lock().unwrap();
    let fault = match admit(&mut s, "PATCH", &headers) {
        Ok(f) => f,
        Err(a) => return a,
    };
    let id: u64 = id.parse().unwrap_or(0);
    let Some(current) = s.contacts.get(&id) else {
        return answer(404, json!({"title": "Not Found", "status": 404}), &[]);
    };
    if let Some(refused) = precondition(current, &headers) {
        return refused;
    }
    let Ok(Value::Object(fields)) = serde_json::from_str::<Value>(&body) else {
        return answer(
            400,
            json!({"title": "Bad Request", "detail": "expected a JSON object"}),
            &[],
        );
    };
    let r = s.put(Some(id), fields);
    finish(fault, answer(200, Value::Object(r), &[]))
}

/// `DELETE /api/v4/contacts/{id}`.
pub async fn remove(Ext(state): Shared, headers: HeaderMap, Path(id): Path<String>) -> Answer {
    let mut s = state.lock().unwrap();
    if let Err(a) = admit(&mut s, "DELETE", &headers) {
        return a;
    }
    let id: u64 = id.parse().unwrap_or(0);
    let Some(current) = s.contacts.get(&id) else {
        return answer(404, json!({"title": "Not Found", "status": 404}), &[]);
    };
    if let Some(refused) = precondition(current, &headers) {
        return refused;
    }
    let now = s.now();
    match s.contacts.remove(&id) {
        Some(_) => {
            s.deleted.push((id, now));
            answer(204, Value::Null, &[])
        }
        None => answer(404, json!({"title": "Not Found", "status": 404}), &[]),
    }
}

/// `GET /api/v4/events?filter[type]=contact_deleted&filter[created_at][from]=`.
pub async fn events(
    Ext(state): Shared,
    headers: HeaderMap,
    Query(q): Query<HashMap<String, String>>,
) -> Answer {
    let mut s = state.lock().unwrap();
    if let Err(a) = admit(&mut s, "GET", &headers) {
        return a;
    }
    let from: i64 = q
        .get("filter[created_at][from]")
        .and_then(|p| p.parse().ok())
        .unwrap_or(0);
    let events: Vec<Value> = s
        .deleted
        .iter()
        .filter(|(_, t)| *t >= from)
        .map(|(id, t)| json!({"type": "contact_deleted", "entity_id": id, "entity_type": "contact", "created_at": t}))
        .collect();
    if events.is_empty() {
        return answer(204, Value::Null, &[]);
    }
    answer(200, json!({"_embedded": {"events": events}}), &[])
}
