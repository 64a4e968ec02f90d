//! A Relay-style GraphQL API over the same contacts (as Hero's):
//! `contacts(first, after, since)` with `pageInfo { endCursor hasNextPage }`,
//! `contact(id)`, and the mutations `createContact(input)`,
//! `updateContact(id, input)`, `deleteContact(id)`. It is not a GraphQL
//! engine: it answers by the root field the document names and returns the
//! whole objects (a real server returns what was selected; einklang reads
//! only what it selected). Errors come as `200` with an `errors` list.

use crate::{admit, State};
use axum::extract::State as Ext;
use axum::http::HeaderMap;
use serde_json::{json, Map, Value};
use std::sync::{Arc, Mutex};

use crate::rest::{answer, Answer};

fn node(c: &Map<String, Value>) -> Value {
    let mut n = c.clone();
    n.insert("id".into(), Value::String(c["id"].to_string()));
    Value::Object(n)
}

fn error(message: &str) -> Answer {
    answer(
        200,
        json!({"data": null, "errors": [{"message": message}]}),
        &[],
    )
}

/// `POST /graphql` with `{query, variables}`.
pub async fn handle(
    Ext(state): Ext<Arc<Mutex<State>>>,
    headers: HeaderMap,
    body: String,
) -> Answer {
    let mut s = state.lock().unwrap();
    if let Err(a) = admit(&mut s, "POST", &headers) {
        return a;
    }
    let Ok(req) = serde_json::from_str::<Value>(&body) else {
        return answer(
            400,
            json!({"errors": [{"message": "the body is not JSON"}]}),
            &[],
        );
    };
    let query = req["query"].as_str().unwrap_or("").to_string();
    let vars = req["variables"].as_object().cloned().unwrap_or_default();
    let id_of = |v: Option<&Value>| -> Option<u64> {
        match v? {
            Value::String(s) => s.parse().ok(),
            Value::Number(n) => n.as_u64(),
            _ => None,
        }
    };
    let input = vars
        .get("input")
        .and_then(Value::as_object)
        .cloned()
        .unwrap_or_default();
    if query.contains("createContact") {
        if input.is_empty() {
            return error(
                "Variable \"$input\" of required type \"ContactInput!\" was not provided.",
            );
        }
        let r = s.put(None, input);
        return answer(200, json!({"data": {"createContact": node(&r)}}), &[]);
    }
    if query.contains("updateContact") {
        let Some(id) = id_of(vars.get("id")).filter(|id| s.contacts.contains_key(id)) else {
            return answer(
                200,
                json!({"data": {"updateContact": null}, "errors": [{"message": "Contact not found", "extensions": {"code": "NOT_FOUND"}}]}),
                &[],
            );
        };
        let r = s.put(Some(id), input);
        return answer(200, json!({"data": {"updateContact": node(&r)}}), &[]);
    }
    if query.contains("deleteContact") {
        let now = s.now();
        let removed = id_of(vars.get("id")).and_then(|id| s.contacts.remove(&id).map(|c| (id, c)));
        return match removed {
            Some((id, c)) => {
                s.deleted.push((id, now));
                answer(200, json!({"data": {"deleteContact": node(&c)}}), &[])
            }
            None => answer(200, json!({"data": {"deleteContact": null}}), &[]),
        };
    }
    if query.contains("contacts") {
        let first = vars
            .get("first")
            .and_then(Value::as_u64)
            .unwrap_or(50)
            .clamp(1, 100) as usize;
        let after = id_of(vars.get("after")).unwrap_or(0);
        let since = vars
            .get("since")
            .and_then(|v| v.as_i64().or_else(|| v.as_str()?.parse().ok()));
        let matching: Vec<&Map<String, Value>> = s
            .contacts
            .range(after + 1..)
            .map(|(_, c)| c)
            .filter(|c| since.is_none_or(|f| c["updated_at"].as_i64().unwrap_or(0) >= f))
            .collect();
        let nodes: Vec<Value> = matching.iter().take(first).map(|c| node(c)).collect();
        let end = nodes.last().map(|n| n["id"].clone()).unwrap_or(Value::Null);
        let more = matching.len() > first;
        return answer(
            200,
            json!({"data": {"contacts": {"nodes": nodes, "pageInfo": {"endCursor": end, "hasNextPage": more}}}}),
            &[],
        );
    }
    if query.contains("contact") {
        let c = id_of(vars.get("id"))
            .and_then(|id| s.contacts.get(&id))
            .map(node);
        return answer(200, json!({"data": {"contact": c}}), &[]);
    }
    error("Cannot query this field")
}
