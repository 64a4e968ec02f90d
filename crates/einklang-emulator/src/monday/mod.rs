//! monday.com's GraphQL API over boards of items (seed 000: employees,
//! subcontractors and suppliers as three boards, read nightly). After the
//! monday API docs (developer.monday.com/api-reference): "Querying board
//! items" (`boards(ids:) { items_page(limit:) { cursor items { … } } }`,
//! then `next_items_page(cursor:, limit:)` until `cursor` is `null`; up to
//! 500 a page, default 25, cursors valid 60 minutes), "Items" mutations
//! (`create_item(board_id, item_name, column_values)`,
//! `change_multiple_column_values(item_id, board_id, column_values)`,
//! `change_column_value`, `change_simple_column_value`, `delete_item`),
//! "Error handling" (application errors are HTTP 200 with an `errors`
//! list, partial `data`, `extensions.code`) and "Rate limits" (complexity
//! budget: `COMPLEXITY_BUDGET_EXHAUSTED` with `retry_in_seconds`, in the
//! 2025-01 format, answered with HTTP 200 and `Retry-After`).
//!
//! `POST /monday/v2` with `{query, variables}` and `Authorization: <token>`
//! (no `Bearer`; a wrong token is `401`). Column values are JSON strings
//! (see [`values`]). The document is parsed ([`crate::gql`]) and answered
//! with exactly the fields selected. Made up: ids are counters; the
//! complexity model is a flat cost per request against a budget per
//! minute (from the first request charged to it, on the emulator's clock); `query_params` of `items_page` is
//! refused rather than half-emulated; the error code of a missing item is
//! `ResourceNotFoundException`.
//!
//! Cursors expire 60 minutes (emulator clock) after the page that handed
//! them out (monday's "Querying board items": a cursor is valid for 60
//! minutes). Continuing with an expired one — `next_items_page(cursor:)`
//! or `items_page(cursor:)` — is an error with HTTP 200, code
//! `CursorExpiredError` and a message saying the "cursor has expired":
//! monday's error-codes page does not list it; the code and words are the
//! ones public clients of the real API match its answers against. Never an
//! empty page that looks like the end of the listing (a client must start
//! again with `items_page`). A cursor never handed out is
//! `CursorException` (this emulator's choice). Writes can lose their
//! answers after they are applied: mutations only, see [`crate::lost`].

mod resolve;
mod routes;
#[cfg(test)]
mod tests;
pub mod values;

pub(crate) use routes::{api, control};
pub use values::Column;

use crate::common::{iso, Clock, Gate};
use serde_json::{json, Map, Value};
use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};

/// How the emulated monday account behaves.
#[derive(Clone, Debug)]
pub struct MondayOptions {
    /// The API token expected in `Authorization`.
    pub token: String,
    /// Complexity points a minute (none: unlimited).
    pub budget: Option<u64>,
    /// Complexity points every request costs.
    pub cost: u64,
}

impl Default for MondayOptions {
    fn default() -> MondayOptions {
        MondayOptions {
            token: "monday-token".into(),
            budget: None,
            cost: 1_000,
        }
    }
}

/// An item of a board.
#[derive(Clone, Debug, PartialEq)]
pub struct Item {
    /// Its id.
    pub id: u64,
    /// Its name.
    pub name: String,
    /// Creation time (epoch seconds).
    pub created_at: i64,
    /// Last change (epoch seconds).
    pub updated_at: i64,
    /// Stored values by column id, with the time each changed.
    pub values: BTreeMap<String, (Value, i64)>,
}

/// A board: its columns and items.
#[derive(Clone, Debug, PartialEq)]
pub struct Board {
    /// Its id.
    pub id: u64,
    /// Its name.
    pub name: String,
    /// Its columns, the `name` column first.
    pub columns: Vec<Column>,
    /// Its items by id.
    pub items: BTreeMap<u64, Item>,
}

/// Where a cursor continues: board, last item id given, expiry.
#[derive(Clone, Debug)]
pub(crate) struct Cursor {
    board: u64,
    after: u64,
    expires: i64,
}

/// The emulated account's boards, cursors and budget.
#[derive(Debug, Default)]
pub struct MondayState {
    /// Options.
    pub options: MondayOptions,
    /// The clock of `changed_at`, cursor expiry and the budget minute.
    pub clock: Clock,
    /// Counters and queued faults (HTTP statuses).
    pub gate: Gate,
    /// Boards by id.
    pub boards: BTreeMap<u64, Board>,
    cursors: HashMap<String, Cursor>,
    /// Seconds the clock jumps once the request with this number (of all
    /// `POST`s so far) has been answered: time passing mid-listing.
    pub(crate) jumps: Vec<(u64, i64)>,
    /// (start of the budget's minute, points spent in it).
    spent: (i64, u64),
    serial: u64,
}

/// A monday error entry: message, code, `status_code` and data.
pub fn error(message: &str, code: &str, data: Value) -> Value {
    json!({"message": message, "extensions": {"code": code, "status_code": 200, "error_data": data}})
}

impl MondayState {
    /// An empty account.
    pub fn new(options: MondayOptions) -> MondayState {
        MondayState {
            options,
            serial: 1_000_000_000,
            ..MondayState::default()
        }
    }

    /// Add a board with columns `(id, title, type)`; its id.
    pub fn add_board(&mut self, name: &str, columns: &[(&str, &str, &str)]) -> u64 {
        self.serial += 1;
        let mut cols = vec![Column {
            id: "name".into(),
            title: "Name".into(),
            kind: "name".into(),
            labels: Vec::new(),
        }];
        cols.extend(columns.iter().map(|(id, title, kind)| Column {
            id: id.to_string(),
            title: title.to_string(),
            kind: kind.to_string(),
            labels: if *kind == "status" {
                vec!["Working on it".into(), "Done".into(), "Stuck".into()]
            } else {
                Vec::new()
            },
        }));
        let id = self.serial;
        self.boards.insert(
            id,
            Board {
                id,
                name: name.into(),
                columns: cols,
                items: BTreeMap::new(),
            },
        );
        id
    }

    /// Create an item; its id, or an error entry.
    pub fn create_item(
        &mut self,
        board: u64,
        name: &str,
        values: &Map<String, Value>,
    ) -> Result<u64, Value> {
        if name.chars().count() > 255 {
            return Err(error(
                "Item name is too long",
                "ItemNameTooLongException",
                json!({}),
            ));
        }
        let now = self.clock.now();
        let b = self.boards.get(&board).ok_or_else(|| no_board(board))?;
        let parsed = parse_all(b, values)?;
        self.serial += 1;
        let mut item = Item {
            id: self.serial,
            name: name.into(),
            created_at: now,
            updated_at: now,
            values: BTreeMap::new(),
        };
        store(&mut item, parsed, now);
        let id = item.id;
        self.boards
            .get_mut(&board)
            .map(|b| b.items.insert(id, item));
        Ok(id)
    }

    /// Change some column values of an item (`name` renames it).
    pub fn change(
        &mut self,
        board: u64,
        item: u64,
        values: &Map<String, Value>,
    ) -> Result<(), Value> {
        let now = self.clock.now();
        let b = self.boards.get_mut(&board).ok_or_else(|| no_board(board))?;
        let parsed = parse_all(b, values)?;
        let it = b.items.get_mut(&item).ok_or_else(|| no_item(item))?;
        store(it, parsed, now);
        it.updated_at = now;
        Ok(())
    }

    /// The board holding an item.
    pub fn board_of(&self, item: u64) -> Option<u64> {
        self.boards
            .values()
            .find(|b| b.items.contains_key(&item))
            .map(|b| b.id)
    }

    /// An item as the API answers it (all fields; `column_values` of every
    /// column but `name`).
    pub fn item_json(&self, board: u64, item: u64) -> Option<Value> {
        let b = self.boards.get(&board)?;
        let it = b.items.get(&item)?;
        let values: Vec<Value> = b
            .columns
            .iter()
            .filter(|c| c.kind != "name")
            .map(|c| {
                let stored = it.values.get(&c.id);
                values::render(
                    c,
                    stored.map(|(v, _)| v),
                    &iso(stored.map_or(0, |(_, t)| *t)),
                )
            })
            .collect();
        Some(json!({
            "id": it.id.to_string(), "name": it.name, "state": "active",
            "created_at": iso(it.created_at), "updated_at": iso(it.updated_at),
            "board": {"id": b.id.to_string(), "name": b.name},
            "group": {"id": "topics", "title": "Group Title"},
            "column_values": values,
        }))
    }

    /// A board as the API answers it (`__board` lets `items_page` find it).
    pub fn board_json(&self, board: &Board) -> Value {
        let columns: Vec<Value> = board
            .columns
            .iter()
            .map(|c| json!({"id": c.id, "title": c.title, "type": c.kind, "settings_str": settings(c)}))
            .collect();
        json!({"__board": board.id, "id": board.id.to_string(), "name": board.name, "state": "active",
               "items_count": board.items.len(), "columns": columns})
    }
}

fn settings(c: &Column) -> String {
    let labels: Map<String, Value> = c
        .labels
        .iter()
        .enumerate()
        .map(|(i, l)| (i.to_string(), json!(l)))
        .collect();
    if labels.is_empty() {
        "{}".into()
    } else {
        json!({ "labels": labels }).to_string()
    }
}

fn no_board(board: u64) -> Value {
    error(
        &format!("The board {board} does not exist"),
        "InvalidBoardIdException",
        json!({"board_id": board}),
    )
}

fn no_item(item: u64) -> Value {
    let mut e = error(
        &format!("Item {item} not found"),
        "ResourceNotFoundException",
        json!({"item_id": item}),
    );
    e["extensions"]["status_code"] = json!(404);
    e
}

/// Every value of a write parsed against the board's columns.
fn parse_all(
    b: &Board,
    values: &Map<String, Value>,
) -> Result<Vec<(String, Option<Value>)>, Value> {
    let mut out = Vec::new();
    for (id, v) in values {
        let Some(col) = b.columns.iter().find(|c| &c.id == id) else {
            return Err(error(
                "This column ID doesn't exist for the board",
                "InvalidColumnIdException",
                json!({"column_id": id}),
            ));
        };
        let parsed = if col.kind == "name" {
            v.as_str()
                .map(|s| json!(s))
                .ok_or_else(|| "the name is a string".to_string())
        } else {
            values::parse(col, v).map(|p| p.unwrap_or(Value::Null))
        };
        match parsed {
            Ok(p) => out.push((id.clone(), Some(p).filter(|p| !p.is_null()))),
            Err(m) => {
                return Err(error(
                    &m,
                    "ColumnValueException",
                    json!({"column_id": id, "column_type": col.kind}),
                ))
            }
        }
    }
    Ok(out)
}

fn store(item: &mut Item, parsed: Vec<(String, Option<Value>)>, now: i64) {
    for (id, v) in parsed {
        match (id.as_str(), v) {
            ("name", Some(Value::String(n))) => item.name = n,
            (_, Some(v)) => {
                item.values.insert(id, (v, now));
            }
            (_, None) => {
                item.values.remove(&id);
            }
        }
    }
}

/// The monday account of a running emulator, for tests.
pub struct MondayHandle {
    pub(crate) url: String,
    pub(crate) state: Arc<Mutex<MondayState>>,
}

impl MondayHandle {
    /// The API's URL (`{emu}/monday/v2`), as `https://api.monday.com/v2`.
    pub fn api_url(&self) -> String {
        format!("{}/monday/v2", self.url)
    }

    /// Add a board with columns `(id, title, type)`; its id.
    pub fn add_board(&self, name: &str, columns: &[(&str, &str, &str)]) -> u64 {
        self.state.lock().unwrap().add_board(name, columns)
    }

    /// Add an item; `column_values` as the API takes them, but as an
    /// object (`{"email": {"email": "a@b.c", "text": "a@b.c"}}`); its id.
    pub fn insert(&self, board: u64, name: &str, column_values: Value) -> u64 {
        let values = column_values.as_object().cloned().unwrap_or_default();
        let made = self.state.lock().unwrap().create_item(board, name, &values);
        made.unwrap_or_else(|e| panic!("refused: {e}"))
    }

    /// Change column values of an item as another client would.
    pub fn update(&self, item: u64, column_values: Value) {
        let mut s = self.state.lock().unwrap();
        let board = s.board_of(item).expect("an item of a board");
        let values = column_values.as_object().cloned().unwrap_or_default();
        s.change(board, item, &values)
            .unwrap_or_else(|e| panic!("refused: {e}"));
    }

    /// Move the clock `secs` forward right after the `after_posts`-th
    /// request has been answered: a client reading a board page by page
    /// finds the next page's cursor expired (as a listing that pauses an
    /// hour would).
    pub fn advance_after(&self, after_posts: u64, secs: i64) {
        self.state.lock().unwrap().jumps.push((after_posts, secs));
    }

    /// Delete an item.
    pub fn delete(&self, item: u64) {
        let mut s = self.state.lock().unwrap();
        if let Some(b) = s.board_of(item) {
            s.boards.get_mut(&b).map(|b| b.items.remove(&item));
        }
    }

    /// An item as the API answers it (every field).
    pub fn get(&self, item: u64) -> Option<Value> {
        let s = self.state.lock().unwrap();
        s.item_json(s.board_of(item)?, item)
    }

    /// A board's items by id.
    pub fn all(&self, board: u64) -> Vec<Value> {
        let s = self.state.lock().unwrap();
        let ids: Vec<u64> = s
            .boards
            .get(&board)
            .map(|b| b.items.keys().copied().collect())
            .unwrap_or_default();
        ids.iter().filter_map(|i| s.item_json(board, *i)).collect()
    }
}

crate::common::controls!(MondayHandle);
