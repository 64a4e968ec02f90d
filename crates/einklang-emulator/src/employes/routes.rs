//! The HTTP side of the employes.nl-like emulator: the API under
//! `/employes/v4/{company}/` and the control routes under
//! `/_emulator/employes/` (see the module doc).

use super::EmployesState;
use crate::common::{header, json, json_with, param};
use crate::rest::Answer;
use axum::extract::{Path, Query, State as Ext};
use axum::http::HeaderMap;
use axum::routing::{get, post};
use axum::{Json, Router};
use serde_json::{json, Value};
use std::sync::{Arc, Mutex};

type Shared = Ext<Arc<Mutex<EmployesState>>>;
type Params = Query<Vec<(String, String)>>;

/// Default and largest page.
const PER_PAGE: (usize, usize) = (25, 100);

/// The API routes.
pub(crate) fn api(state: Arc<Mutex<EmployesState>>) -> Router {
    Router::new()
        .route("/employes/v4/{company}/employees", get(list))
        .route("/employes/v4/{company}/employees/{id}", get(one))
        .route(
            "/employes/v4/{company}/employees/{id}/employments",
            get(employments),
        )
        .with_state(state)
}

/// `POST /_emulator/employes/seed?count=N` (made-up employees with a
/// contract each), `GET /_emulator/employes/list`,
/// `GET /_emulator/employes/count`.
pub(crate) fn control(state: Arc<Mutex<EmployesState>>) -> Router {
    Router::new()
        .route("/_emulator/employes/seed", post(seed))
        .route("/_emulator/employes/list", get(dump))
        .route("/_emulator/employes/count", get(count))
        .with_state(state)
}

fn refused(status: u16, message: &str) -> Answer {
    let extra: &[(&str, &str)] = match status {
        429 => &[("Retry-After", "1")],
        _ => &[],
    };
    json_with(
        status,
        json!({"error": {"code": status, "message": message}}),
        extra,
    )
}

/// Count, rate limit, token, company, queued fault: the answer to give
/// instead, if any.
fn admit(s: &mut EmployesState, company: &str, headers: &HeaderMap) -> Result<(), Answer> {
    if !s.gate.enter("GET") {
        return Err(refused(429, "Too many requests"));
    }
    let auth = header(headers, "authorization");
    if auth.strip_prefix("Bearer ") != Some(s.options.token.as_str()) {
        return Err(refused(401, "Unauthenticated."));
    }
    if company != s.options.company {
        return Err(refused(404, "Company not found."));
    }
    match s.gate.fault() {
        Some(status) => Err(refused(status, "Injected failure")),
        None => Ok(()),
    }
}

fn number(q: &[(String, String)], key: &str, default: usize) -> usize {
    param(q, key)
        .and_then(|v| v.parse().ok())
        .filter(|&n: &usize| n > 0)
        .unwrap_or(default)
}

/// `GET …/employees?page=N&per_page=M`.
async fn list(
    Ext(state): Shared,
    Path(company): Path<String>,
    Query(q): Params,
    headers: HeaderMap,
) -> Answer {
    let mut s = state.lock().unwrap();
    if let Err(a) = admit(&mut s, &company, &headers) {
        return a;
    }
    let per_page = number(&q, "per_page", PER_PAGE.0).min(PER_PAGE.1);
    let page = number(&q, "page", 1);
    let all = s.ordered();
    let total = all.len();
    let data: Vec<Value> = all
        .into_iter()
        .skip((page - 1).saturating_mul(per_page))
        .take(per_page)
        .map(|e| Value::Object(e.clone()))
        .collect();
    json(
        200,
        json!({"data": data, "page": page, "per_page": per_page,
               "pages": total.div_ceil(per_page), "total": total}),
    )
}

/// `GET …/employees/{id}`.
async fn one(
    Ext(state): Shared,
    Path((company, id)): Path<(String, String)>,
    headers: HeaderMap,
) -> Answer {
    of_employee(&state, &company, &headers, |s| {
        s.employees.get(&id).map(|e| Value::Object(e.clone()))
    })
}

/// `GET …/employees/{id}/employments`.
async fn employments(
    Ext(state): Shared,
    Path((company, id)): Path<(String, String)>,
    headers: HeaderMap,
) -> Answer {
    of_employee(&state, &company, &headers, |s| {
        s.employments.get(&id).map(|list| json!({ "data": list }))
    })
}

/// An answer about one employee: `read` gives it, `404` when there is none.
fn of_employee(
    state: &Mutex<EmployesState>,
    company: &str,
    headers: &HeaderMap,
    read: impl FnOnce(&EmployesState) -> Option<Value>,
) -> Answer {
    let mut s = state.lock().unwrap();
    if let Err(a) = admit(&mut s, company, headers) {
        return a;
    }
    match read(&s) {
        Some(body) => json(200, body),
        None => refused(404, "Employee not found."),
    }
}

async fn seed(Ext(state): Shared, Query(q): Params) -> Json<Value> {
    let count = number(&q, "count", 0) as u64;
    let ids = state.lock().unwrap().seed(count);
    Json(json!({"seeded": ids.len(), "ids": ids}))
}

async fn dump(Ext(state): Shared) -> Json<Value> {
    let s = state.lock().unwrap();
    Json(Value::Array(
        s.ordered()
            .into_iter()
            .map(|e| {
                let mut e = e.clone();
                let id = e["id"].as_str().unwrap_or("").to_string();
                e.insert("employments".into(), json!(s.employments.get(&id)));
                Value::Object(e)
            })
            .collect(),
    ))
}

async fn count(Ext(state): Shared) -> Json<Value> {
    let s = state.lock().unwrap();
    Json(json!({"employees": s.employees.len(), "requests": s.gate.requests}))
}
