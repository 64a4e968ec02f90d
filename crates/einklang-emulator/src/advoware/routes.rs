//! The HTTP side of the Advoware emulator: the token route, Beteiligte and
//! Kommunikationen under `/advoware/api/v1/advonet/`, and the control
//! routes under `/_emulator/advoware/` (see the module doc).

use super::{auth, AdvowareState, Refusal, FIELDS};
use crate::common::{header, json, param};
use crate::lost::LossyRoutes;
use crate::rest::Answer;
use axum::extract::{Path, Query, State as Ext};
use axum::http::HeaderMap;
use axum::routing::{get, post, put};
use axum::{Json, Router};
use serde_json::{json, Map, Value};
use std::sync::{Arc, Mutex};

type Shared = Ext<Arc<Mutex<AdvowareState>>>;
type Params = Query<Vec<(String, String)>>;

const BET: &str = "/advoware/api/v1/advonet/Beteiligte";

/// The token and API routes.
pub(crate) fn api(state: Arc<Mutex<AdvowareState>>) -> Router {
    Router::new()
        .route(BET, get(list).post(create))
        .route(
            &format!("{BET}/{{bet_nr}}"),
            get(read).put(update).delete(forbidden),
        )
        .merge(sub::<Kommunikationen>())
        .merge(sub::<Adressen>())
        .lossy(&state)
        .route("/advoware/api/v1/Token", post(token))
        .with_state(state)
}

/// `POST /_emulator/advoware/drop-answers?count=N` ([`crate::lost`]),
/// `POST /_emulator/advoware/seed` (a JSON list of Beteiligte, or
/// `?count=N` made-up ones), `POST /_emulator/advoware/kommunikation?betNr=N`
/// (a Kommunikation `{kommKz, tlf, …}` added as a user in Advoware would,
/// without a token), `GET /_emulator/advoware/list`,
/// `GET /_emulator/advoware/count`.
pub(crate) fn control(state: Arc<Mutex<AdvowareState>>) -> Router {
    Router::new()
        .route("/_emulator/advoware/seed", post(seed))
        .route("/_emulator/advoware/kommunikation", post(add_komm))
        .route("/_emulator/advoware/list", get(dump))
        .route("/_emulator/advoware/count", get(count))
        .with_state(state.clone())
        .merge(crate::lost::control(
            "/_emulator/advoware/drop-answers",
            state,
        ))
}

fn refused(status: u16, message: &str) -> Answer {
    json(status, json!({ "Message": message }))
}

/// Count, token, fault: the answer to give instead, if any.
fn admit(s: &mut AdvowareState, method: &str, headers: &HeaderMap) -> Result<(), Answer> {
    s.gate.enter(method);
    let auth = header(headers, "authorization");
    let token = auth.strip_prefix("Bearer ").unwrap_or("");
    let now = s.clock.now();
    if !s.tokens.iter().any(|(t, until)| t == token && *until > now) {
        return Err(refused(
            401,
            "Authorization has been denied for this request.",
        ));
    }
    match s.gate.fault() {
        Some(status) => Err(refused(status, "Injected failure")),
        None => Ok(()),
    }
}

/// `POST /advoware/api/v1/Token`.
async fn token(Ext(state): Shared, body: String) -> Answer {
    let mut s = state.lock().unwrap();
    s.gate.tally("TOKEN");
    let body = serde_json::from_str::<Value>(&body).unwrap_or(Value::Null);
    if let Some(why) = auth::check(&s.options.credentials, &body) {
        return json(
            401,
            json!({"error": "invalid_grant", "error_description": why}),
        );
    }
    let token = format!("advo-token-{}", s.tokens.len() + 1);
    let ttl = s.options.token_ttl_s;
    let until = s.clock.now() + ttl as i64;
    s.tokens.push((token.clone(), until));
    json(
        200,
        json!({"access_token": token, "token_type": "bearer", "expires_in": ttl}),
    )
}

fn number(text: &str) -> u64 {
    text.parse().unwrap_or(0)
}

fn object(body: &str) -> Map<String, Value> {
    serde_json::from_str::<Value>(body)
        .ok()
        .and_then(|v| v.as_object().cloned())
        .unwrap_or_default()
}

/// `GET …/Beteiligte`: every Beteiligter (exact `name`/`vorname` filters);
/// a `filter` is refused — there are no timestamps to filter on.
async fn list(Ext(state): Shared, headers: HeaderMap, Query(q): Params) -> Answer {
    let mut s = state.lock().unwrap();
    if let Err(a) = admit(&mut s, "GET", &headers) {
        return a;
    }
    if param(&q, "filter").is_some() || param(&q, "$filter").is_some() {
        return refused(400, "Filter werden nicht unterstützt");
    }
    let wanted = |rec: &Value, k: &str| param(&q, k).is_none_or(|v| rec[k].as_str() == Some(v));
    let all: Vec<Value> = s
        .beteiligte
        .keys()
        .filter_map(|b| s.read(*b))
        .filter(|r| wanted(r, "name") && wanted(r, "vorname"))
        .collect();
    json(200, Value::Array(all))
}

/// `GET …/Beteiligte/{betNr}`: a list of one.
async fn read(Ext(state): Shared, headers: HeaderMap, Path(bet_nr): Path<String>) -> Answer {
    let mut s = state.lock().unwrap();
    if let Err(a) = admit(&mut s, "GET", &headers) {
        return a;
    }
    match s.read(number(&bet_nr)) {
        Some(rec) => json(200, json!([rec])),
        None => refused(404, "Beteiligter nicht gefunden"),
    }
}

/// `POST …/Beteiligte`: the new Beteiligter without `rowId`.
async fn create(Ext(state): Shared, headers: HeaderMap, body: String) -> Answer {
    let mut s = state.lock().unwrap();
    if let Err(a) = admit(&mut s, "POST", &headers) {
        return a;
    }
    let bet_nr = s.create(&object(&body));
    let mut rec = s.read(bet_nr).unwrap_or(Value::Null);
    rec.as_object_mut().map(|r| r.remove("rowId"));
    json(200, rec)
}

/// `PUT …/Beteiligte/{betNr}`: a list of one with the new `rowId`.
async fn update(
    Ext(state): Shared,
    headers: HeaderMap,
    Path(bet_nr): Path<String>,
    body: String,
) -> Answer {
    let mut s = state.lock().unwrap();
    if let Err(a) = admit(&mut s, "PUT", &headers) {
        return a;
    }
    match s.put(number(&bet_nr), &object(&body)) {
        Ok(_) => json(200, json!([s.read(number(&bet_nr))])),
        Err((status, m)) => refused(status, &m),
    }
}

/// `DELETE` of a Beteiligter, a Kommunikation or an Adresse: always `403`.
async fn forbidden(Ext(state): Shared, headers: HeaderMap) -> Answer {
    let mut s = state.lock().unwrap();
    if let Err(a) = admit(&mut s, "DELETE", &headers) {
        return a;
    }
    refused(403, "Löschen ist über die API nicht erlaubt")
}

/// `GET` of a sub-resource: the list.
type List = fn(&AdvowareState, u64) -> Result<Value, Refusal>;
/// `POST` of a sub-resource: the new record.
type Create = fn(&mut AdvowareState, u64, &Map<String, Value>) -> Result<Value, Refusal>;
/// `PUT` of a sub-resource by its key: the record with its new `rowId`.
type Update = fn(&mut AdvowareState, u64, u64, &Map<String, Value>) -> Result<Value, Refusal>;

/// A Beteiligter's list of sub-records — its Kommunikationen or its
/// Adressen — as `GET|POST …/Beteiligte/{betNr}/{NAME}` and
/// `PUT|DELETE …/{NAME}/{KEY}` serve it.
trait Sub: 'static {
    /// The path segment under the Beteiligter.
    const NAME: &'static str;
    /// The route's name of the key a PUT addresses a record by.
    const KEY: &'static str;
    /// Its `POST`, `PUT` and `GET`.
    const CREATE: Create;
    const UPDATE: Update;
    const LIST: List;
}

/// `…/Kommunikationen`, a PUT by `id`; the list as the Beteiligter's GET
/// reads it (`kommKz` 0 under the bug).
struct Kommunikationen;

impl Sub for Kommunikationen {
    const NAME: &'static str = "Kommunikationen";
    const KEY: &'static str = "id";
    const CREATE: Create = AdvowareState::add_komm;
    const UPDATE: Update = AdvowareState::put_komm;
    const LIST: List = |s, bet_nr| match s.read(bet_nr) {
        Some(rec) => Ok(rec["kommunikation"].clone()),
        None => Err((404, "Beteiligter nicht gefunden".into())),
    };
}

/// `…/Adressen`, in order, a PUT by `reihenfolgeIndex` ([`super::adressen`]).
struct Adressen;

impl Sub for Adressen {
    const NAME: &'static str = "Adressen";
    const KEY: &'static str = "index";
    const CREATE: Create = AdvowareState::add_adresse;
    const UPDATE: Update = AdvowareState::put_adresse;
    const LIST: List = |s, bet_nr| s.adressen(bet_nr).map(Value::Array);
}

/// The routes of a sub-resource; its `DELETE` is `403`, as a Beteiligter's.
fn sub<K: Sub>() -> Router<Arc<Mutex<AdvowareState>>> {
    let list = format!("{BET}/{{bet_nr}}/{}", K::NAME);
    let one = format!("{list}/{{{}}}", K::KEY);
    Router::new()
        .route(&list, get(sub_list::<K>).post(sub_create::<K>))
        .route(&one, put(sub_update::<K>).delete(forbidden))
}

/// A sub-resource's answer: `200` with the JSON, or the refusal.
fn answer(result: Result<Value, Refusal>) -> Answer {
    match result {
        Ok(v) => json(200, v),
        Err((status, m)) => refused(status, &m),
    }
}

/// `GET …/{NAME}`: the list.
async fn sub_list<K: Sub>(
    Ext(state): Shared,
    headers: HeaderMap,
    Path(bet_nr): Path<String>,
) -> Answer {
    let mut s = state.lock().unwrap();
    if let Err(a) = admit(&mut s, "GET", &headers) {
        return a;
    }
    answer((K::LIST)(&s, number(&bet_nr)))
}

/// `POST …/{NAME}`: the new record (with its `id` and `rowId`).
async fn sub_create<K: Sub>(
    Ext(state): Shared,
    headers: HeaderMap,
    Path(bet_nr): Path<String>,
    body: String,
) -> Answer {
    let mut s = state.lock().unwrap();
    if let Err(a) = admit(&mut s, "POST", &headers) {
        return a;
    }
    answer((K::CREATE)(&mut s, number(&bet_nr), &object(&body)))
}

/// `PUT …/{NAME}/{KEY}`: the record with its new `rowId`.
async fn sub_update<K: Sub>(
    Ext(state): Shared,
    headers: HeaderMap,
    Path((bet_nr, key)): Path<(String, String)>,
    body: String,
) -> Answer {
    let mut s = state.lock().unwrap();
    if let Err(a) = admit(&mut s, "PUT", &headers) {
        return a;
    }
    answer((K::UPDATE)(
        &mut s,
        number(&bet_nr),
        number(&key),
        &object(&body),
    ))
}

/// The `n`-th made-up Beteiligter: a person with a phone and an email.
pub fn seeded(n: u64) -> Value {
    let first = ["Angela", "Jürgen", "Miriam", "Tobias"][n as usize % 4];
    json!({
        "vorname": first, "name": format!("Mustermann{n}"), "anrede": "Frau", "geburtsdatum": "1980-01-05T00:00:00",
        "kommunikation": [{"kommKz": 1, "tlf": format!("+49 30 {:07}", 4_000_000 + n)}, {"kommKz": 4, "tlf": format!("person{n}@example.org")}],
    })
}

async fn seed(Ext(state): Shared, Query(q): Params, body: String) -> Json<Value> {
    let mut s = state.lock().unwrap();
    let mut items: Vec<Value> = serde_json::from_str(&body).unwrap_or_default();
    let count: u64 = param(&q, "count").and_then(|c| c.parse().ok()).unwrap_or(0);
    let first = s.beteiligte.len() as u64;
    items.extend((first + 1..=first + count).map(seeded));
    let ids: Vec<u64> = items
        .iter()
        .map(|i| s.create(i.as_object().unwrap_or(&Map::new())))
        .collect();
    Json(json!({"seeded": ids.len(), "betNr": ids}))
}

async fn add_komm(Ext(state): Shared, Query(q): Params, body: String) -> Answer {
    let mut s = state.lock().unwrap();
    let bet_nr = number(param(&q, "betNr").unwrap_or_default());
    answer(s.add_komm(bet_nr, &object(&body)))
}

async fn dump(Ext(state): Shared) -> Json<Value> {
    let s = state.lock().unwrap();
    Json(Value::Array(
        s.beteiligte
            .values()
            .map(|r| Value::Object(r.clone()))
            .collect(),
    ))
}

async fn count(Ext(state): Shared) -> Json<Value> {
    let s = state.lock().unwrap();
    let komm: usize = s
        .beteiligte
        .values()
        .map(|r| r["kommunikation"].as_array().map_or(0, Vec::len))
        .sum();
    Json(
        json!({"beteiligte": s.beteiligte.len(), "kommunikation": komm, "fields": FIELDS, "requests": s.gate.requests}),
    )
}
