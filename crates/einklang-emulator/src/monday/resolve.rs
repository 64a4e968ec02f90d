//! Answers a parsed monday operation: each root field resolved
//! (`boards`, `items`, `next_items_page`, `complexity`; the item
//! mutations), cut down to its selection, errors collected with their
//! path while the other fields keep their data (monday's partial data).

use super::{error, values, MondayState};
use crate::gql::{project, Field, Operation, Selection};
use base64::Engine;
use serde_json::{json, Map, Value};

/// The `data` and `errors` of an answer.
#[derive(Debug, Default)]
pub struct Outcome {
    /// Root field → value (`null` where it failed).
    pub data: Map<String, Value>,
    /// The errors, each with its `path`.
    pub errors: Vec<Value>,
}

/// Run every root field of `op`.
pub fn run(s: &mut MondayState, op: &Operation, vars: &Map<String, Value>) -> Outcome {
    let mut out = Outcome::default();
    for f in op.fields() {
        let raw = if op.mutation {
            mutation(s, f, vars)
        } else {
            query(s, f, vars)
        };
        match raw {
            Ok(raw) => {
                let v = project(&raw, &f.selection, &mut |obj, field| {
                    hook(s, obj, field, vars)
                });
                out.data.insert(f.key().to_string(), v);
            }
            Err(mut e) => {
                e["path"] = json!([f.key()]);
                out.data.insert(f.key().to_string(), Value::Null);
                out.errors.push(e);
            }
        }
    }
    out
}

/// An id argument given as a number or a string.
fn id(v: Option<Value>) -> Option<u64> {
    match v? {
        Value::Number(n) => n.as_u64(),
        Value::String(s) => s.parse().ok(),
        _ => None,
    }
}

/// An ids argument: a list, or one id.
fn ids(v: Option<Value>) -> Option<Vec<u64>> {
    match v? {
        Value::Array(list) => Some(list.into_iter().filter_map(|v| id(Some(v))).collect()),
        one => id(Some(one)).map(|i| vec![i]),
    }
}

fn unknown(f: &Field, on: &str) -> Value {
    json!({"message": format!("Cannot query field \"{}\" on type \"{on}\".", f.name)})
}

fn query(s: &mut MondayState, f: &Field, vars: &Map<String, Value>) -> Result<Value, Value> {
    match f.name.as_str() {
        "boards" => {
            if uses_query_params(&f.selection) {
                return Err(error(
                    "query_params of items_page is not supported by the emulator",
                    "InvalidArgumentException",
                    json!({}),
                ));
            }
            if let Some(e) = stale_cursor(s, &f.selection, vars) {
                return Err(e);
            }
            let wanted = ids(f.arg("ids", vars));
            let boards: Vec<Value> = s
                .boards
                .values()
                .filter(|b| wanted.as_ref().is_none_or(|w| w.contains(&b.id)))
                .map(|b| s.board_json(b))
                .collect();
            Ok(Value::Array(boards))
        }
        "items" => {
            let wanted = ids(f.arg("ids", vars)).unwrap_or_default();
            Ok(Value::Array(
                wanted
                    .iter()
                    .filter_map(|i| s.item_json(s.board_of(*i)?, *i))
                    .collect(),
            ))
        }
        "next_items_page" => {
            let cursor = f
                .arg("cursor", vars)
                .and_then(|c| c.as_str().map(str::to_string))
                .unwrap_or_default();
            continued(s, &cursor, limit(f, vars))
        }
        "complexity" => {
            let (cost, left) = (
                s.options.cost,
                s.options.budget.map(|b| b.saturating_sub(s.spent.1)),
            );
            let reset = s.spent.0 + 60 - s.clock.now();
            Ok(
                json!({"query": cost, "after": left, "before": left.map(|l| l + cost), "reset_in_x_seconds": reset}),
            )
        }
        _ => Err(unknown(f, "Query")),
    }
}

fn uses_query_params(selection: &[Selection]) -> bool {
    selection.iter().any(|s| match s {
        Selection::Field(f) => {
            (f.name == "items_page" && f.args.iter().any(|(k, _)| k == "query_params"))
                || uses_query_params(&f.selection)
        }
        Selection::Inline { selection, .. } => uses_query_params(selection),
    })
}

fn limit(f: &Field, vars: &Map<String, Value>) -> usize {
    f.arg("limit", vars)
        .and_then(|l| l.as_u64())
        .unwrap_or(25)
        .clamp(1, 500) as usize
}

/// Computes fields whose value depends on their arguments.
fn hook(
    s: &mut MondayState,
    obj: &Map<String, Value>,
    f: &Field,
    vars: &Map<String, Value>,
) -> Option<Value> {
    match f.name.as_str() {
        "items_page" => {
            let board = obj.get("__board")?.as_u64()?;
            match f
                .arg("cursor", vars)
                .and_then(|c| c.as_str().map(str::to_string))
            {
                // checked by `stale_cursor` before the boards resolve
                Some(c) => Some(continued(s, &c, limit(f, vars)).unwrap_or(Value::Null)),
                None => Some(page(s, board, 0, limit(f, vars))),
            }
        }
        "column_values" => {
            let all = obj.get("column_values")?.as_array()?;
            let wanted: Option<Vec<Value>> = f
                .arg("ids", vars)
                .map(|v| if v.is_array() { v } else { json!([v]) })
                .and_then(|v| v.as_array().cloned());
            let types: Option<Vec<Value>> = f
                .arg("types", vars)
                .map(|v| if v.is_array() { v } else { json!([v]) })
                .and_then(|v| v.as_array().cloned());
            let kept = all.iter().filter(|c| {
                wanted.as_ref().is_none_or(|w| w.contains(&c["id"]))
                    && types.as_ref().is_none_or(|t| t.contains(&c["type"]))
            });
            Some(Value::Array(kept.cloned().collect()))
        }
        _ => None,
    }
}

/// A page of a board's items after item `after`, with a cursor when more follow.
fn page(s: &mut MondayState, board: u64, after: u64, limit: usize) -> Value {
    let ids: Vec<u64> = s
        .boards
        .get(&board)
        .map(|b| b.items.range(after + 1..).map(|(id, _)| *id).collect())
        .unwrap_or_default();
    let items: Vec<Value> = ids
        .iter()
        .take(limit)
        .filter_map(|i| s.item_json(board, *i))
        .collect();
    let cursor = match (ids.len() > limit, ids.get(limit.saturating_sub(1))) {
        (true, Some(last)) => {
            s.serial += 1;
            let token = base64::engine::general_purpose::STANDARD_NO_PAD
                .encode(format!("1,{board},{last},{}", s.serial));
            let expires = s.clock.now() + 3600;
            s.cursors.insert(
                token.clone(),
                super::Cursor {
                    board,
                    after: *last,
                    expires,
                },
            );
            json!(token)
        }
        _ => Value::Null,
    };
    json!({"cursor": cursor, "items": items})
}

/// The page a cursor continues with; an expired or unknown cursor is an
/// error (see [`cursor_error`]).
fn continued(s: &mut MondayState, cursor: &str, limit: usize) -> Result<Value, Value> {
    let c = live(s, cursor)?;
    Ok(page(s, c.board, c.after, limit))
}

/// The cursor, while it can be continued.
fn live(s: &MondayState, cursor: &str) -> Result<super::Cursor, Value> {
    match s.cursors.get(cursor) {
        Some(c) if c.expires > s.clock.now() => Ok(c.clone()),
        c => Err(cursor_error(cursor, c.is_some())),
    }
}

/// monday's error for a cursor past its 60 minutes, `CursorExpiredError`
/// (the code and the words "cursor has expired" are what clients of the
/// real API match, see the module doc); a cursor never issued is this
/// emulator's `CursorException`.
fn cursor_error(cursor: &str, expired: bool) -> Value {
    if expired {
        let m =
            "The cursor has expired: cursors are valid for 60 minutes, start again with items_page";
        error(m, "CursorExpiredError", json!({"cursor": cursor}))
    } else {
        error(
            "Cursor is invalid",
            "CursorException",
            json!({"cursor": cursor}),
        )
    }
}

/// The error of the first `items_page(cursor:)` in a selection whose
/// cursor cannot continue: the `boards` field fails as a whole, as it
/// would not answer a page that does not exist.
fn stale_cursor(
    s: &MondayState,
    selection: &[Selection],
    vars: &Map<String, Value>,
) -> Option<Value> {
    selection.iter().find_map(|sel| match sel {
        Selection::Field(f) if f.name == "items_page" => {
            let cursor = f.arg("cursor", vars)?.as_str()?.to_string();
            live(s, &cursor).err()
        }
        Selection::Field(f) => stale_cursor(s, &f.selection, vars),
        Selection::Inline { selection, .. } => stale_cursor(s, selection, vars),
    })
}

fn mutation(s: &mut MondayState, f: &Field, vars: &Map<String, Value>) -> Result<Value, Value> {
    let missing = |what: &str| {
        error(
            &format!("missing or invalid argument {what}"),
            "InvalidArgumentException",
            json!({}),
        )
    };
    let board = || id(f.arg("board_id", vars)).ok_or_else(|| missing("board_id"));
    let item = || id(f.arg("item_id", vars)).ok_or_else(|| missing("item_id"));
    let cv_error = |m: String| error(&m, "ColumnValueException", json!({}));
    let item_id = match f.name.as_str() {
        "create_item" => {
            let name = f
                .arg("item_name", vars)
                .and_then(|n| n.as_str().map(str::to_string))
                .ok_or_else(|| missing("item_name"))?;
            let values = values::decode(f.arg("column_values", vars).as_ref()).map_err(cv_error)?;
            s.create_item(board()?, &name, &values)?
        }
        "change_multiple_column_values" => {
            let values = values::decode(f.arg("column_values", vars).as_ref()).map_err(cv_error)?;
            changed(s, board()?, item()?, values)?
        }
        "change_column_value" | "change_simple_column_value" => {
            let column = f
                .arg("column_id", vars)
                .and_then(|c| c.as_str().map(str::to_string))
                .ok_or_else(|| missing("column_id"))?;
            let value = single_value(f, vars).map_err(cv_error)?;
            changed(s, board()?, item()?, Map::from_iter([(column, value)]))?
        }
        "delete_item" => {
            let i = item()?;
            let b = s.board_of(i).ok_or_else(|| super::no_item(i))?;
            s.boards.get_mut(&b).map(|b| b.items.remove(&i));
            return Ok(json!({"id": i.to_string(), "state": "deleted"}));
        }
        _ => return Err(unknown(f, "Mutation")),
    };
    let b = s.board_of(item_id).unwrap_or(0);
    Ok(s.item_json(b, item_id).unwrap_or(Value::Null))
}

/// The `value` of `change_column_value` (a JSON string, decoded) or of
/// `change_simple_column_value` (taken as it is).
fn single_value(f: &Field, vars: &Map<String, Value>) -> Result<Value, String> {
    match (f.name.as_str(), f.arg("value", vars).unwrap_or(Value::Null)) {
        ("change_column_value", Value::String(text)) => {
            serde_json::from_str(&text).map_err(|_| format!("value is not JSON: {text}"))
        }
        ("change_column_value", other) => Err(format!("value must be a JSON string, not {other}")),
        (_, v) => Ok(v),
    }
}

fn changed(
    s: &mut MondayState,
    board: u64,
    item: u64,
    values: Map<String, Value>,
) -> Result<u64, Value> {
    s.change(board, item, &values)?;
    Ok(item)
}
