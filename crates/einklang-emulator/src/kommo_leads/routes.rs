//! The HTTP side of Kommo leads: handlers of `/api/v4/leads…` (see the
//! module doc for the behaviour and its sources), the list's filters and
//! ordering, and the control routes under `/_emulator/leads/`.

use super::{Problem, STATUS_LOST};
use crate::common::{encode, origin, param};
use crate::rest::{answer, Answer};
use crate::{admit, Fault, State};
use axum::extract::{Path, Query, State as Ext};
use axum::http::HeaderMap;
use axum::routing::{get, post};
use axum::{Json, Router};
use serde_json::{json, Map, Value};
use std::sync::{Arc, Mutex};

type Shared = Ext<Arc<Mutex<State>>>;
type Params = Query<Vec<(String, String)>>;

/// The API routes (state: the Kommo account's).
pub(crate) fn api() -> Router<Arc<Mutex<State>>> {
    Router::new()
        .route("/api/v4/leads", get(list).post(create).patch(patch_many))
        .route("/api/v4/leads/custom_fields", get(custom_fields))
        .route("/api/v4/leads/pipelines", get(pipelines))
        .route("/api/v4/leads/pipelines/{id}", get(pipeline))
        .route("/api/v4/leads/{id}", get(one).patch(patch_one))
}

/// The control routes: `POST /_emulator/leads/seed` (a JSON list of leads,
/// or `?count=N` made-up ones), `GET /_emulator/leads/list`,
/// `GET /_emulator/leads/count`.
pub(crate) fn control() -> Router<Arc<Mutex<State>>> {
    Router::new()
        .route("/_emulator/leads/seed", post(seed))
        .route("/_emulator/leads/list", get(dump))
        .route("/_emulator/leads/count", get(count))
}

/// Counts the request as a lead request and passes the account's gate.
fn enter(s: &mut State, method: &str, headers: &HeaderMap) -> Result<(), Answer> {
    gate(s, method, headers).map(|_| ())
}

/// As [`enter`], keeping a fault that shapes the answer (a cut-off body).
fn gate(s: &mut State, method: &str, headers: &HeaderMap) -> Result<Option<Fault>, Answer> {
    *s.leads.requests.entry(method.to_string()).or_default() += 1;
    admit(s, method, headers)
}

/// Kommo's answer to a refused write.
fn refused(problems: &[(usize, Problem)]) -> Answer {
    let errors: Vec<Value> = problems
        .iter()
        .map(|(i, p)| json!({"request_id": i.to_string(), "errors": [{"code": p.code, "path": p.path, "detail": p.detail}]}))
        .collect();
    answer(
        400,
        json!({"title": "Bad Request", "type": "https://httpstatus.es/400", "status": 400, "detail": "Request validation failed", "validation-errors": errors}),
        &[("Content-Type", "application/problem+json")],
    )
}

fn with_contacts(q: &[(String, String)]) -> bool {
    param(q, "with").is_some_and(|w| w.split(',').any(|p| p.trim() == "contacts"))
}

/// `GET /api/v4/leads`.
async fn list(Ext(state): Shared, headers: HeaderMap, Query(q): Params) -> Answer {
    let mut s = state.lock().unwrap();
    let fault = match gate(&mut s, "GET", &headers) {
        Ok(fault) => fault,
        Err(a) => return a,
    };
    let number = |k: &str, d: usize| param(&q, k).and_then(|v| v.parse().ok()).unwrap_or(d);
    let (page, limit) = (number("page", 1).max(1), number("limit", 50).clamp(1, 250));
    let matching = filtered(&s, &q);
    let origin = origin(&headers);
    let leads: Vec<Value> = matching
        .iter()
        .skip((page - 1) * limit)
        .take(limit)
        .map(|l| s.leads.render(l, with_contacts(&q), &origin))
        .collect();
    if leads.is_empty() {
        return answer(204, Value::Null, &[]);
    }
    let mut links = json!({"self": {"href": page_link(&origin, &q, page)}});
    if matching.len() > page * limit {
        links["next"] = json!({"href": page_link(&origin, &q, page + 1)});
    }
    let a = answer(
        200,
        json!({"_page": page, "_links": links, "_embedded": {"leads": leads}}),
        &[],
    );
    crate::rest::finish(fault, a)
}

/// The list's URL for another page, every other parameter kept.
fn page_link(origin: &str, q: &[(String, String)], page: usize) -> String {
    let mut pairs: Vec<String> = q
        .iter()
        .filter(|(k, _)| k != "page")
        .map(|(k, v)| format!("{}={}", encode(k), encode(v)))
        .collect();
    pairs.push(format!("page={page}"));
    format!("{origin}/api/v4/leads?{}", pairs.join("&"))
}

/// The leads a list's filters select, in its order.
fn filtered<'a>(s: &'a State, q: &[(String, String)]) -> Vec<&'a Map<String, Value>> {
    let mut out: Vec<&Map<String, Value>> = s
        .leads
        .records
        .values()
        .filter(|l| selected(l, q))
        .collect();
    for key in ["id", "created_at", "updated_at"] {
        if let Some(dir) = param(q, &format!("order[{key}]")) {
            out.sort_by_key(|l| l[key].as_i64().unwrap_or(0));
            if dir == "desc" {
                out.reverse();
            }
        }
    }
    out
}

fn selected(lead: &Map<String, Value>, q: &[(String, String)]) -> bool {
    let num = |k: &str| lead.get(k).and_then(Value::as_i64);
    let in_range = |k: &str| {
        let bound = |end: &str| {
            param(q, &format!("filter[{k}][{end}]")).and_then(|v| v.parse::<i64>().ok())
        };
        let v = num(k);
        bound("from").is_none_or(|f| v.is_some_and(|v| v >= f))
            && bound("to").is_none_or(|t| v.is_some_and(|v| v <= t))
    };
    let one_of = |k: &str| {
        values_of(q, &format!("filter[{k}]"))
            .is_none_or(|vs| num(k).is_some_and(|v| vs.contains(&v)))
    };
    let status = |k: &str| {
        param(q, &format!("filter[statuses][0][{k}]")).and_then(|v| v.parse::<i64>().ok())
    };
    ["created_at", "updated_at", "closed_at"]
        .iter()
        .all(|k| in_range(k))
        && ["id", "pipeline_id", "responsible_user_id"]
            .iter()
            .all(|k| one_of(k))
        && status("pipeline_id").is_none_or(|p| num("pipeline_id") == Some(p))
        && status("status_id").is_none_or(|st| num("status_id") == Some(st))
        && param(q, "query").is_none_or(|text| mentions(lead, text))
}

/// The numbers of `filter[x]`, `filter[x][]` or `filter[x][N]` (none: no filter).
fn values_of(q: &[(String, String)], key: &str) -> Option<Vec<i64>> {
    let vs: Vec<i64> = q
        .iter()
        .filter(|(k, _)| k == key || k.strip_prefix(key).is_some_and(|r| r.starts_with('[')))
        .filter_map(|(_, v)| v.parse().ok())
        .collect();
    (!vs.is_empty()).then_some(vs)
}

/// `query`: the name or a custom field value contains the text.
fn mentions(lead: &Map<String, Value>, text: &str) -> bool {
    let text = text.to_lowercase();
    let name = lead["name"].as_str().unwrap_or("").to_lowercase();
    name.contains(&text)
        || super::fields::entries(lead)
            .iter()
            .any(|e| e["values"].to_string().to_lowercase().contains(&text))
}

/// `GET /api/v4/leads/{id}`.
async fn one(
    Ext(state): Shared,
    headers: HeaderMap,
    Path(id): Path<String>,
    Query(q): Params,
) -> Answer {
    let mut s = state.lock().unwrap();
    if let Err(a) = enter(&mut s, "GET", &headers) {
        return a;
    }
    match id
        .parse::<u64>()
        .ok()
        .and_then(|id| s.leads.records.get(&id))
    {
        Some(l) => answer(
            200,
            s.leads.render(l, with_contacts(&q), &origin(&headers)),
            &[],
        ),
        None => answer(204, Value::Null, &[]),
    }
}

/// `POST /api/v4/leads` with a list.
async fn create(Ext(state): Shared, headers: HeaderMap, body: String) -> Answer {
    write_many(state, headers, body, "POST").await
}

/// `PATCH /api/v4/leads` with a list of leads with ids.
async fn patch_many(Ext(state): Shared, headers: HeaderMap, body: String) -> Answer {
    write_many(state, headers, body, "PATCH").await
}

async fn write_many(
    state: Arc<Mutex<State>>,
    headers: HeaderMap,
    body: String,
    method: &str,
) -> Answer {
    let mut s = state.lock().unwrap();
    if let Err(a) = enter(&mut s, method, &headers) {
        return a;
    }
    let Ok(Value::Array(items)) = serde_json::from_str::<Value>(&body) else {
        return refused(&[(
            0,
            Problem::new("", "InvalidType", "expected a JSON array of leads"),
        )]);
    };
    let (origin, now) = (origin(&headers), s.now());
    let mut done = Vec::new();
    for (i, item) in items.iter().enumerate() {
        let fields = item.as_object().cloned().unwrap_or_default();
        let id = match method {
            "PATCH" => match fields.get("id").and_then(Value::as_u64) {
                Some(id) => Some(id),
                None => {
                    return refused(&[(i, Problem::new("id", "FieldMissing", "id is required"))])
                }
            },
            _ => None,
        };
        match s.leads.write(id, &fields, now) {
            Ok(lead) => done.push(summary(&lead, i, &origin)),
            Err(p) => return refused(&[(i, p)]),
        }
    }
    answer(
        200,
        json!({"_links": {"self": {"href": format!("{origin}/api/v4/leads")}}, "_embedded": {"leads": done}}),
        &[],
    )
}

fn summary(lead: &Map<String, Value>, i: usize, origin: &str) -> Value {
    let id = &lead["id"];
    json!({"id": id, "updated_at": lead["updated_at"], "request_id": i.to_string(), "_links": {"self": {"href": format!("{origin}/api/v4/leads/{id}")}}})
}

/// `PATCH /api/v4/leads/{id}` with one lead.
async fn patch_one(
    Ext(state): Shared,
    headers: HeaderMap,
    Path(id): Path<String>,
    body: String,
) -> Answer {
    let mut s = state.lock().unwrap();
    if let Err(a) = enter(&mut s, "PATCH", &headers) {
        return a;
    }
    let Ok(Value::Object(fields)) = serde_json::from_str::<Value>(&body) else {
        return refused(&[(0, Problem::new("", "InvalidType", "expected a JSON object"))]);
    };
    let now = s.now();
    let id = id.parse::<u64>().unwrap_or(0);
    match s.leads.write(Some(id), &fields, now) {
        Ok(lead) => {
            let mut out = summary(&lead, 0, &origin(&headers));
            out.as_object_mut().map(|o| o.remove("request_id"));
            answer(200, out, &[])
        }
        Err(p) => refused(&[(0, p)]),
    }
}

/// `GET /api/v4/leads/custom_fields`.
async fn custom_fields(Ext(state): Shared, headers: HeaderMap) -> Answer {
    let mut s = state.lock().unwrap();
    if let Err(a) = enter(&mut s, "GET", &headers) {
        return a;
    }
    let list: Vec<Value> = s.leads.catalog.values().map(|f| f.to_json()).collect();
    answer(
        200,
        json!({"_total_items": list.len(), "_page": 1, "_embedded": {"custom_fields": list}}),
        &[],
    )
}

/// `GET /api/v4/leads/pipelines`.
async fn pipelines(Ext(state): Shared, headers: HeaderMap) -> Answer {
    let mut s = state.lock().unwrap();
    if let Err(a) = enter(&mut s, "GET", &headers) {
        return a;
    }
    let origin = origin(&headers);
    let list: Vec<Value> = (super::pipelines::catalog().iter())
        .map(|p| super::pipelines::render(p, &origin))
        .collect();
    let href = format!("{origin}/api/v4/leads/pipelines");
    answer(
        200,
        json!({"_total_items": list.len(), "_links": {"self": {"href": href}}, "_embedded": {"pipelines": list}}),
        &[],
    )
}

/// `GET /api/v4/leads/pipelines/{id}`: `204` for one the account has not.
async fn pipeline(Ext(state): Shared, headers: HeaderMap, Path(id): Path<u64>) -> Answer {
    let mut s = state.lock().unwrap();
    if let Err(a) = enter(&mut s, "GET", &headers) {
        return a;
    }
    let all = super::pipelines::catalog();
    match all.iter().find(|p| p.id == id) {
        Some(p) => answer(200, super::pipelines::render(p, &origin(&headers)), &[]),
        None => answer(204, Value::Null, &[]),
    }
}

/// The `n`-th made-up lead: in 2025, every fifth closed-lost, a delivery
/// date and a vehicle.
pub fn seeded_lead(n: u64) -> Value {
    let created = 1_735_689_600 + (n as i64 * 7_919) % 31_500_000; // within 2025
    let status = if n.is_multiple_of(5) {
        STATUS_LOST
    } else {
        super::DEFAULT_STATUS
    };
    let vehicle = if n.is_multiple_of(2) { 3001 } else { 3002 };
    json!({
        "name": format!("Booking {n}"), "price": 100 + n % 900, "status_id": status,
        "created_at": created, "updated_at": created,
        "custom_fields_values": [
            {"field_id": 1218176, "values": [{"value": created + 86_400}]},
            {"field_id": 1234163, "values": [{"enum_id": vehicle}]},
        ],
    })
}

async fn seed(Ext(state): Shared, Query(q): Params, body: String) -> Json<Value> {
    let mut s = state.lock().unwrap();
    let now = s.now();
    let mut items: Vec<Value> = serde_json::from_str::<Vec<Value>>(&body).unwrap_or_default();
    let count: u64 = param(&q, "count").and_then(|c| c.parse().ok()).unwrap_or(0);
    let first = s.leads.records.len() as u64;
    items.extend((first + 1..=first + count).map(seeded_lead));
    let mut ids = Vec::new();
    for (i, item) in items.iter().enumerate() {
        let fields = item.as_object().cloned().unwrap_or_default();
        match s.leads.write(None, &fields, now) {
            Ok(l) => ids.push(l["id"].clone()),
            Err(p) => {
                return Json(json!({"error": format!("lead {i}: {} at {}", p.detail, p.path)}))
            }
        }
    }
    Json(json!({"seeded": ids.len(), "ids": ids, "leads": s.leads.records.len()}))
}

async fn dump(Ext(state): Shared) -> Json<Value> {
    let s = state.lock().unwrap();
    Json(Value::Array(
        s.leads
            .records
            .values()
            .map(|l| s.leads.render(l, true, ""))
            .collect(),
    ))
}

async fn count(Ext(state): Shared) -> Json<Value> {
    let s = state.lock().unwrap();
    Json(json!({"leads": s.leads.records.len(), "requests": s.leads.requests}))
}
