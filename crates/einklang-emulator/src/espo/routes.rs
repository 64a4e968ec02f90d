//! The HTTP side of the EspoCRM emulator: the record and webhook routes
//! under `/espo/api/v1/` and the control routes under `/_emulator/espo/`
//! (see the module doc for the behaviour and its sources).

use super::hooks::{self, Webhook};
use super::{search, EspoState, Refusal};
use crate::common::{empty, header, json, json_with, param};
use crate::lost::LossyRoutes;
use crate::rest::Answer;
use axum::extract::{Path, Query, State as Ext};
use axum::http::HeaderMap;
use axum::routing::{delete, get, post};
use axum::{Json, Router};
use serde_json::{json, Map, Value};
use std::sync::{Arc, Mutex};

type Shared = Ext<Arc<Mutex<EspoState>>>;
type Params = Query<Vec<(String, String)>>;

/// The API routes.
pub(crate) fn api(state: Arc<Mutex<EspoState>>) -> Router {
    Router::new()
        .route("/espo/api/v1/Webhook", post(hook_create))
        .route("/espo/api/v1/Webhook/{id}", delete(hook_delete))
        .route("/espo/api/v1/{entity}", get(list).post(create))
        .route(
            "/espo/api/v1/{entity}/{id}",
            get(read).put(update).patch(update).delete(remove),
        )
        .lossy(&state)
        .with_state(state)
}

/// `POST /_emulator/espo/drop-answers?count=N` ([`crate::lost`]),
/// `POST /_emulator/espo/seed?entity=E` (a JSON list of records, or
/// `&count=N` made-up contacts), `POST /_emulator/espo/deliver` (send the
/// queued webhooks), `GET /_emulator/espo/list?entity=E`,
/// `GET /_emulator/espo/count`.
pub(crate) fn control(state: Arc<Mutex<EspoState>>) -> Router {
    Router::new()
        .route("/_emulator/espo/seed", post(seed))
        .route("/_emulator/espo/deliver", post(deliver))
        .route("/_emulator/espo/list", get(dump))
        .route("/_emulator/espo/count", get(count))
        .with_state(state.clone())
        .merge(crate::lost::control("/_emulator/espo/drop-answers", state))
}

/// Count, rate limit, key, entity type, fault: the answer to give instead.
fn admit(
    s: &mut EspoState,
    method: &str,
    headers: &HeaderMap,
    entity: Option<&str>,
) -> Result<(), Answer> {
    if !s.gate.enter(method) {
        return Err(empty(429, &[("Retry-After", "1")]));
    }
    if header(headers, "x-api-key") != s.options.api_key {
        return Err(empty(401, &[("X-Status-Reason", "Unauthorized")]));
    }
    if entity.is_some_and(|e| !s.entities.contains_key(e)) {
        return Err(empty(404, &[]));
    }
    match s.gate.fault() {
        Some(status) => Err(empty(status, &[])),
        None => Ok(()),
    }
}

/// Espo's answer to a refused write.
fn refused(r: Refusal) -> Answer {
    match r {
        Refusal::Validation(field, kind) => {
            let body = json!({"messageTranslation": {"label": "validationFailure", "scope": null, "data": {"field": field, "type": kind}}});
            json_with(400, body, &[("X-Status-Reason", "validationFailure")])
        }
        Refusal::Duplicate(list) => {
            json_with(409, Value::Array(list), &[("X-Status-Reason", "duplicate")])
        }
        Refusal::Modified(values, version) => json_with(
            409,
            json!({"values": values, "versionNumber": version}),
            &[("X-Status-Reason", "modified")],
        ),
        Refusal::NotFound => empty(404, &[]),
    }
}

/// The list parameters: from `searchParams` (JSON) or PHP-style brackets.
fn params(q: &[(String, String)]) -> Value {
    match param(q, "searchParams").and_then(|p| serde_json::from_str::<Value>(p).ok()) {
        Some(p) => p,
        None => search::brackets(q),
    }
}

/// `GET /espo/api/v1/{Entity}`.
async fn list(
    Ext(state): Shared,
    headers: HeaderMap,
    Path(entity): Path<String>,
    Query(q): Params,
) -> Answer {
    let mut s = state.lock().unwrap();
    if let Err(a) = admit(&mut s, "GET", &headers, Some(&entity)) {
        return a;
    }
    let p = params(&q);
    let number = |k: &str, d: usize| {
        p[k].as_u64()
            .map(|n| n as usize)
            .or_else(|| p[k].as_str()?.parse().ok())
            .unwrap_or(d)
    };
    let (max, offset) = (number("maxSize", 20), number("offset", 0));
    if max > s.options.max_size {
        let reason = format!(
            "Max size should not exceed {}. Use offset and limit.",
            s.options.max_size
        );
        return empty(403, &[("X-Status-Reason", &reason)]);
    }
    let wheres = p["where"].as_array().cloned().unwrap_or_default();
    let mut hits = match filtered(&s, &entity, &wheres) {
        Ok(hits) => hits,
        Err(m) => return json_with(400, json!({"message": m}), &[("X-Status-Reason", &m)]),
    };
    sort(
        &mut hits,
        p["orderBy"].as_str().unwrap_or("createdAt"),
        p["order"].as_str().unwrap_or("desc"),
    );
    let select: Option<Vec<&str>> = p["select"].as_str().map(|s| s.split(',').collect());
    let page: Vec<Value> = hits
        .iter()
        .skip(offset)
        .take(max)
        .map(|r| listed(r, select.as_deref()))
        .collect();
    let total = match header(&headers, "x-no-total").as_str() {
        "true" if hits.len() > offset + max => -1,
        "true" => -2,
        _ => hits.len() as i64,
    };
    let answer = json(200, json!({"total": total, "list": page}));
    // another user's writes that land while a listing is read (tests)
    let listed = s.gate.count("GET");
    for (entity, id, fields) in s.take_during(listed) {
        let body = fields.as_object().cloned().unwrap_or_default();
        let _ = s.save(&entity, Some(&id), &body, false);
    }
    answer
}

/// The records of a type meeting the where items.
fn filtered<'a>(
    s: &'a EspoState,
    entity: &str,
    wheres: &[Value],
) -> Result<Vec<&'a Map<String, Value>>, String> {
    let mut hits = Vec::new();
    for rec in s.entities[entity].values() {
        if search::matches(rec, wheres)? {
            hits.push(rec);
        }
    }
    Ok(hits)
}

fn sort(hits: &mut [&Map<String, Value>], by: &str, order: &str) {
    hits.sort_by(|a, b| {
        let key =
            |r: &Map<String, Value>| (r.get(by).cloned().unwrap_or(Value::Null), r["id"].clone());
        let (ka, kb) = (key(a), key(b));
        search::compare(&ka.0, &kb.0)
            .unwrap_or(std::cmp::Ordering::Less)
            .then(ka.1.as_str().cmp(&kb.1.as_str()))
    });
    if order == "desc" {
        hits.reverse();
    }
}

/// A record as a list shows it: `select`ed attributes (and `id`), the
/// channel data only when selected.
fn listed(rec: &Map<String, Value>, select: Option<&[&str]>) -> Value {
    let keep = |k: &str| match select {
        Some(sel) => k == "id" || sel.contains(&k),
        None => k != "emailAddressData" && k != "phoneNumberData",
    };
    Value::Object(
        rec.iter()
            .filter(|(k, _)| keep(k))
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect(),
    )
}

/// `GET /espo/api/v1/{Entity}/{id}`.
async fn read(
    Ext(state): Shared,
    headers: HeaderMap,
    Path((entity, id)): Path<(String, String)>,
) -> Answer {
    let mut s = state.lock().unwrap();
    if let Err(a) = admit(&mut s, "GET", &headers, Some(&entity)) {
        return a;
    }
    match s.entities[&entity].get(&id) {
        Some(r) => json(200, Value::Object(r.clone())),
        None => empty(404, &[]),
    }
}

fn body_object(body: &str) -> Map<String, Value> {
    serde_json::from_str::<Value>(body)
        .ok()
        .and_then(|v| v.as_object().cloned())
        .unwrap_or_default()
}

/// Send queued webhooks on a thread of its own when `auto_deliver` is set.
fn after_write(state: &Arc<Mutex<EspoState>>, s: &EspoState) {
    if s.options.auto_deliver {
        let state = state.clone();
        std::thread::spawn(move || hooks::deliver(&state));
    }
}

/// `POST /espo/api/v1/{Entity}`: the new record.
async fn create(
    Ext(state): Shared,
    headers: HeaderMap,
    Path(entity): Path<String>,
    body: String,
) -> Answer {
    let mut s = state.lock().unwrap();
    if let Err(a) = admit(&mut s, "POST", &headers, Some(&entity)) {
        return a;
    }
    let body = body_object(&body);
    let skip = header(&headers, "x-skip-duplicate-check") == "true"
        || body.get("skipDuplicateCheck") == Some(&json!(true));
    let saved = s.save(&entity, None, &body, !skip);
    after_write(&state, &s);
    match saved {
        Ok(r) => json(200, Value::Object(r)),
        Err(r) => refused(r),
    }
}

/// `PUT` (or `PATCH`) `/espo/api/v1/{Entity}/{id}`: the whole record.
async fn update(
    Ext(state): Shared,
    headers: HeaderMap,
    Path((entity, id)): Path<(String, String)>,
    body: String,
) -> Answer {
    let mut s = state.lock().unwrap();
    if let Err(a) = admit(&mut s, "PUT", &headers, Some(&entity)) {
        return a;
    }
    let saved = s.save(&entity, Some(&id), &body_object(&body), false);
    after_write(&state, &s);
    match saved {
        Ok(r) => json(200, Value::Object(r)),
        Err(r) => refused(r),
    }
}

/// `DELETE /espo/api/v1/{Entity}/{id}`: `true`.
async fn remove(
    Ext(state): Shared,
    headers: HeaderMap,
    Path((entity, id)): Path<(String, String)>,
) -> Answer {
    let mut s = state.lock().unwrap();
    if let Err(a) = admit(&mut s, "DELETE", &headers, Some(&entity)) {
        return a;
    }
    let gone = s.remove(&entity, &id);
    after_write(&state, &s);
    if gone {
        json(200, json!(true))
    } else {
        empty(404, &[])
    }
}

/// A new subscription.
pub(crate) fn subscribe(s: &mut EspoState, event: &str, url: &str) -> Webhook {
    s.serial += 1;
    let hook = Webhook {
        id: format!("6a00{:013x}", s.serial),
        event: event.into(),
        url: url.into(),
        secret: format!(
            "{:032x}",
            (s.serial as u128).wrapping_mul(0x9E37_79B9_7F4A_7C15_F39C_C060_5CED_C835)
        ),
    };
    s.hooks.list.push(hook.clone());
    hook
}

/// `POST /espo/api/v1/Webhook` with `{event, url}`.
async fn hook_create(Ext(state): Shared, headers: HeaderMap, body: String) -> Answer {
    let mut s = state.lock().unwrap();
    if let Err(a) = admit(&mut s, "POST", &headers, None) {
        return a;
    }
    let body = body_object(&body);
    let (Some(event), Some(url)) = (
        body.get("event").and_then(Value::as_str),
        body.get("url").and_then(Value::as_str),
    ) else {
        return refused(Refusal::Validation("event".into(), "required".into()));
    };
    let h = subscribe(&mut s, event, url);
    json(
        200,
        json!({"id": h.id, "event": h.event, "url": h.url, "secretKey": h.secret, "isActive": true, "userId": "api-user"}),
    )
}

/// `DELETE /espo/api/v1/Webhook/{id}`.
async fn hook_delete(Ext(state): Shared, headers: HeaderMap, Path(id): Path<String>) -> Answer {
    let mut s = state.lock().unwrap();
    if let Err(a) = admit(&mut s, "DELETE", &headers, None) {
        return a;
    }
    let before = s.hooks.list.len();
    s.hooks.list.retain(|h| h.id != id);
    if s.hooks.list.len() < before {
        json(200, json!(true))
    } else {
        empty(404, &[])
    }
}

/// The `n`-th made-up contact.
pub fn seeded_contact(n: u64) -> Value {
    let first = ["Angela", "Jürgen", "Miriam", "Tobias"][n as usize % 4];
    json!({
        "firstName": first, "lastName": format!("Mustermann{n}"),
        "emailAddressData": [{"emailAddress": format!("person{n}@example.org"), "primary": true}],
        "phoneNumberData": [{"phoneNumber": format!("+49 30 {:07}", 3_000_000 + n), "primary": true, "type": "Office"}],
    })
}

async fn seed(Ext(state): Shared, Query(q): Params, body: String) -> Json<Value> {
    let mut s = state.lock().unwrap();
    let entity = param(&q, "entity").unwrap_or("Contact").to_string();
    let mut items: Vec<Value> = serde_json::from_str(&body).unwrap_or_default();
    let count: u64 = param(&q, "count").and_then(|c| c.parse().ok()).unwrap_or(0);
    let first = s.entities.get(&entity).map_or(0, |t| t.len() as u64);
    items.extend((first + 1..=first + count).map(seeded_contact));
    let mut ids = Vec::new();
    for item in items {
        match s.save(
            &entity,
            None,
            item.as_object().unwrap_or(&Map::new()),
            false,
        ) {
            Ok(r) => ids.push(r["id"].clone()),
            Err(r) => return Json(json!({"error": format!("{r:?}")})),
        }
    }
    Json(json!({"seeded": ids.len(), "ids": ids}))
}

async fn deliver(Ext(state): Shared) -> Json<Value> {
    let sent = tokio::task::spawn_blocking(move || hooks::deliver(&state))
        .await
        .unwrap_or_default();
    Json(Value::Array(
        sent.into_iter()
            .map(|d| json!({"hook": d.hook, "url": d.url, "status": d.status, "body": d.body}))
            .collect(),
    ))
}

async fn dump(Ext(state): Shared, Query(q): Params) -> Json<Value> {
    let s = state.lock().unwrap();
    let entity = param(&q, "entity").unwrap_or("Contact");
    Json(Value::Array(
        s.entities.get(entity).map_or(Vec::new(), |t| {
            t.values().map(|r| Value::Object(r.clone())).collect()
        }),
    ))
}

async fn count(Ext(state): Shared) -> Json<Value> {
    let s = state.lock().unwrap();
    let per: Map<String, Value> = s
        .entities
        .iter()
        .map(|(e, t)| (e.clone(), json!(t.len())))
        .collect();
    Json(
        json!({"entities": per, "requests": s.gate.requests, "webhooks": s.hooks.list.len(), "queued": s.hooks.pending().len()}),
    )
}
