//! The HTTP side of the monday emulator: `POST /monday/v2` (auth, faults,
//! the complexity budget, then the document) and the control routes under
//! `/_emulator/monday/`.

use super::{resolve, MondayState};
use crate::common::{header, json, json_with, param};
use crate::gql;
use crate::rest::Answer;
use axum::extract::{Query, State as Ext};
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde_json::{json, Map, Value};
use std::sync::{Arc, Mutex};

type Shared = Ext<Arc<Mutex<MondayState>>>;
type Params = Query<Vec<(String, String)>>;

/// The API route.
pub(crate) fn api(state: Arc<Mutex<MondayState>>) -> Router {
    Router::new()
        .route("/monday/v2", post(handle))
        .with_state(state)
}

/// `POST /_emulator/monday/drop-answers?count=N` (mutations only,
/// [`crate::lost`]), `POST /_emulator/monday/board` (`{"name", "columns": [[id, title, type]]}`),
/// `POST /_emulator/monday/seed?board=B` (a JSON list of `{name,
/// column_values}`, or `&count=N` made-up items), `GET
/// /_emulator/monday/list?board=B`, `GET /_emulator/monday/count`.
pub(crate) fn control(state: Arc<Mutex<MondayState>>) -> Router {
    Router::new()
        .route("/_emulator/monday/board", post(board))
        .route("/_emulator/monday/seed", post(seed))
        .route("/_emulator/monday/list", get(dump))
        .route("/_emulator/monday/count", get(count))
        .with_state(state.clone())
        .merge(crate::lost::control(
            "/_emulator/monday/drop-answers",
            state,
        ))
}

/// Auth, queued faults and the budget: the answer to give instead, if any.
fn admit(s: &mut MondayState, headers: &HeaderMap) -> Result<(), Answer> {
    s.gate.enter("POST");
    let auth = header(headers, "authorization");
    if auth.strip_prefix("Bearer ").unwrap_or(&auth) != s.options.token {
        let e = json!({"errors": [{"message": "Not Authenticated", "extensions": {"code": "UNAUTHENTICATED", "status_code": 401}}]});
        return Err(json(401, e));
    }
    if let Some(status) = s.gate.fault() {
        return Err(json(
            status,
            json!({"error_message": "Internal server error", "status_code": status}),
        ));
    }
    spend(s)
}

/// Charge the request's cost against the budget of the minute that began
/// with the first request charged to it.
fn spend(s: &mut MondayState) -> Result<(), Answer> {
    let now = s.clock.now();
    if now >= s.spent.0 + 60 {
        s.spent = (now, 0);
    }
    let (cost, Some(limit)) = (s.options.cost, s.options.budget) else {
        return Ok(());
    };
    if s.spent.1 + cost > limit {
        let retry = s.spent.0 + 60 - now;
        let ext = json!({"code": "COMPLEXITY_BUDGET_EXHAUSTED", "complexity": cost, "complexity_budget_left": limit - s.spent.1,
                         "complexity_budget_limit": limit, "retry_in_seconds": retry, "status_code": 429});
        let body = json!({"errors": [{"message": "Complexity budget exhausted", "extensions": ext}], "account_id": 1});
        return Err(json_with(200, body, &[("Retry-After", &retry.to_string())]));
    }
    s.spent.1 += cost;
    Ok(())
}

/// `POST /monday/v2` with `{query, variables}`.
async fn handle(Ext(state): Shared, headers: HeaderMap, body: String) -> Response {
    let mut s = state.lock().unwrap();
    if let Err(a) = admit(&mut s, &headers) {
        return a.into_response();
    }
    let Ok(req) = serde_json::from_str::<Value>(&body) else {
        return json(
            400,
            json!({"errors": [{"message": "Unexpected token in JSON body"}]}),
        )
        .into_response();
    };
    let op = match gql::parse(req["query"].as_str().unwrap_or("")) {
        Ok(op) => op,
        Err(m) => {
            return json(
                200,
                json!({"errors": [{"message": m, "extensions": {"code": "ParseError"}}], "account_id": 1}),
            )
            .into_response()
        }
    };
    let mut vars = op.defaults.clone();
    vars.extend(req["variables"].as_object().cloned().unwrap_or_default());
    let out = resolve::run(&mut s, &op, &vars);
    let posts = s.gate.count("POST");
    let jumps: i64 = s
        .jumps
        .iter()
        .filter(|(n, _)| *n == posts)
        .map(|(_, j)| j)
        .sum();
    s.clock.offset += jumps;
    if op.mutation && out.errors.is_empty() && s.gate.take_drop() {
        return crate::lost::severed();
    }
    let mut answer = json!({"data": out.data, "account_id": 1, "extensions": {"request_id": format!("emu-{}", s.gate.count("POST"))}});
    if !out.errors.is_empty() {
        answer["errors"] = Value::Array(out.errors);
    }
    json(200, answer).into_response()
}

async fn board(Ext(state): Shared, Json(body): Json<Value>) -> Json<Value> {
    let cols: Vec<(String, String, String)> = body["columns"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|c| {
            Some((
                c[0].as_str()?.to_string(),
                c[1].as_str()?.to_string(),
                c[2].as_str()?.to_string(),
            ))
        })
        .collect();
    let refs: Vec<(&str, &str, &str)> = cols
        .iter()
        .map(|(a, b, c)| (a.as_str(), b.as_str(), c.as_str()))
        .collect();
    let id = state
        .lock()
        .unwrap()
        .add_board(body["name"].as_str().unwrap_or("Board"), &refs);
    Json(json!({ "board": id }))
}

/// The `n`-th made-up item of a board: a name, and an email and a phone
/// where the board has columns of those types.
fn seeded_item(s: &MondayState, board: u64, n: u64) -> (String, Map<String, Value>) {
    let mut values = Map::new();
    for c in s
        .boards
        .get(&board)
        .map(|b| b.columns.as_slice())
        .unwrap_or_default()
    {
        match c.kind.as_str() {
            "email" => values.insert(c.id.clone(), json!({"email": format!("person{n}@example.org"), "text": format!("person{n}@example.org")})),
            "phone" => values.insert(c.id.clone(), json!({"phone": format!("+4917{:08}", n), "countryShortName": "DE"})),
            _ => None,
        };
    }
    (format!("Person {n}"), values)
}

async fn seed(Ext(state): Shared, Query(q): Params, body: String) -> Json<Value> {
    let mut s = state.lock().unwrap();
    let Some(board) = param(&q, "board").and_then(|b| b.parse::<u64>().ok()) else {
        return Json(json!({"error": "`board` is required"}));
    };
    let mut items: Vec<(String, Map<String, Value>)> = serde_json::from_str::<Vec<Value>>(&body)
        .unwrap_or_default()
        .iter()
        .map(|i| {
            (
                i["name"].as_str().unwrap_or("Item").to_string(),
                i["column_values"].as_object().cloned().unwrap_or_default(),
            )
        })
        .collect();
    let count: u64 = param(&q, "count").and_then(|c| c.parse().ok()).unwrap_or(0);
    items.extend((1..=count).map(|n| seeded_item(&s, board, n)));
    let mut ids = Vec::new();
    for (name, values) in items {
        match s.create_item(board, &name, &values) {
            Ok(id) => ids.push(id),
            Err(e) => return Json(e),
        }
    }
    Json(json!({"seeded": ids.len(), "ids": ids}))
}

async fn dump(Ext(state): Shared, Query(q): Params) -> Json<Value> {
    let s = state.lock().unwrap();
    let board = param(&q, "board")
        .and_then(|b| b.parse::<u64>().ok())
        .unwrap_or(0);
    let ids: Vec<u64> = s
        .boards
        .get(&board)
        .map(|b| b.items.keys().copied().collect())
        .unwrap_or_default();
    Json(Value::Array(
        ids.iter().filter_map(|i| s.item_json(board, *i)).collect(),
    ))
}

async fn count(Ext(state): Shared) -> Json<Value> {
    let s = state.lock().unwrap();
    let boards: Map<String, Value> = s
        .boards
        .values()
        .map(|b| (b.id.to_string(), json!(b.items.len())))
        .collect();
    Json(json!({"boards": boards, "requests": s.gate.requests}))
}
