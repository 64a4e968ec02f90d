//! monday.com over HTTP: cursor paging, JSON-string column values,
//! partial changes, errors as HTTP 200, the complexity budget.

use crate::monday::MondayOptions;
use crate::testclient::{send, Reply};
use crate::{Emulator, Options};
use serde_json::{json, Value};

const COLUMNS: &[(&str, &str, &str)] = &[
    ("email", "E-Mail", "email"),
    ("phone", "Telefon", "phone"),
    ("text", "Firma", "text"),
    ("status", "Status", "status"),
];

fn gql(emu: &Emulator, query: &str, variables: Value) -> Reply {
    send(
        "POST",
        &emu.monday().api_url(),
        &[("Authorization", "monday-token")],
        &json!({"query": query, "variables": variables}),
    )
}

fn board_with(emu: &Emulator, n: u64) -> u64 {
    let m = emu.monday();
    let board = m.add_board("Mitarbeiter", COLUMNS);
    for i in 0..n {
        m.insert(
            board,
            &format!("P{i:02}"),
            json!({"email": {"email": format!("p{i}@bau.de"), "text": format!("p{i}@bau.de")}}),
        );
    }
    board
}

#[test]
fn items_pages_follow_the_cursor_until_it_is_null() {
    let emu = Emulator::start(Options::default());
    let board = board_with(&emu, 60);
    let first = gql(&emu, "query ($b: [ID!]) { boards(ids: $b) { items_page(limit: 25) { cursor items { id name } } } }", json!({"b": [board.to_string()]}));
    assert_eq!(first.status, 200);
    let page = &first.json()["data"]["boards"][0]["items_page"];
    assert_eq!(page["items"].as_array().unwrap().len(), 25);
    assert_eq!(
        page["items"][0],
        json!({"id": page["items"][0]["id"], "name": "P00"}),
        "only what was selected"
    );
    let mut cursor = page["cursor"].as_str().unwrap().to_string();
    let mut names = Vec::new();
    loop {
        let r = gql(&emu, "query ($c: String!) { next_items_page(limit: 25, cursor: $c) { cursor items { name } } }", json!({"c": cursor}));
        let page = r.json()["data"]["next_items_page"].clone();
        names.extend(
            page["items"]
                .as_array()
                .unwrap()
                .iter()
                .map(|i| i["name"].as_str().unwrap().to_string()),
        );
        match page["cursor"].as_str() {
            Some(c) => cursor = c.to_string(),
            None => break,
        }
    }
    assert_eq!(
        (names.len(), names[0].as_str(), names[34].as_str()),
        (35, "P25", "P59")
    );
    assert_eq!(emu.monday().count("POST"), 3);
}

#[test]
fn an_expired_cursor_is_an_error_with_http_200() {
    let emu = Emulator::start(Options::default());
    let board = board_with(&emu, 3);
    let r = gql(
        &emu,
        &format!("{{ boards(ids: {board}) {{ items_page(limit: 1) {{ cursor }} }} }}"),
        json!({}),
    );
    let cursor = r.json()["data"]["boards"][0]["items_page"]["cursor"]
        .as_str()
        .unwrap()
        .to_string();
    emu.monday().advance(3601);
    let r = gql(
        &emu,
        "query ($c: String!) { next_items_page(cursor: $c) { items { id } } }",
        json!({"c": cursor}),
    );
    assert_eq!(r.status, 200);
    let e = &r.json()["errors"][0];
    assert_eq!(e["extensions"]["code"], json!("CursorExpiredError"));
    assert!(
        e["message"]
            .as_str()
            .unwrap()
            .contains("cursor has expired"),
        "{e}"
    );
    assert_eq!(r.json()["data"]["next_items_page"], Value::Null);
}

#[test]
fn a_cursor_lives_60_minutes_in_either_query_and_a_made_up_one_is_invalid() {
    let emu = Emulator::start(Options::default());
    let board = board_with(&emu, 3);
    let first = format!("{{ boards(ids: {board}) {{ items_page(limit: 1) {{ cursor }} }} }}");
    let cursor_of = |r: &crate::testclient::Reply| {
        r.json()["data"]["boards"][0]["items_page"]["cursor"]
            .as_str()
            .unwrap()
            .to_string()
    };
    let cursor = cursor_of(&gql(&emu, &first, json!({})));
    let again = "query ($b: [ID!], $c: String) { boards(ids: $b) { items_page(limit: 1, cursor: $c) { cursor items { name } } } }";
    let vars = json!({"b": [board.to_string()], "c": cursor});
    // a minute before the hour it still continues, in items_page(cursor:) too
    emu.monday().advance(3540);
    let r = gql(&emu, again, vars.clone());
    assert_eq!(r.json()["errors"], Value::Null, "{}", r.body);
    let page = &r.json()["data"]["boards"][0]["items_page"];
    assert_eq!(page["items"][0]["name"], json!("P01"));
    // past the hour: an error, and no page that looks like the end
    emu.monday().advance(61);
    let r = gql(&emu, again, vars);
    assert_eq!(r.status, 200);
    assert_eq!(
        r.json()["errors"][0]["extensions"]["code"],
        json!("CursorExpiredError"),
        "{}",
        r.body
    );
    assert_eq!(r.json()["data"]["boards"], Value::Null);
    // a cursor never handed out
    let r = gql(
        &emu,
        "query ($c: String!) { next_items_page(cursor: $c) { items { id } } }",
        json!({"c": "bm90LWEtY3Vyc29y"}),
    );
    assert_eq!(
        r.json()["errors"][0]["extensions"]["code"],
        json!("CursorException")
    );
}

#[test]
fn column_values_are_written_and_read_as_json_strings() {
    let emu = Emulator::start(Options::default());
    let board = board_with(&emu, 0);
    let values = json!({"email": {"email": "anna@bau.de", "text": "anna@bau.de"}, "phone": {"phone": "+4917012345678", "countryShortName": "DE"}, "text": "Bau GmbH"});
    let r = gql(&emu, "mutation ($b: ID!, $v: JSON) { create_item(board_id: $b, item_name: \"Anna\", column_values: $v) { id column_values { id text value type ... on EmailValue { email } } } }",
        json!({"b": board, "v": values.to_string()}));
    assert_eq!(r.status, 200, "{}", r.body);
    let cvs = r.json()["data"]["create_item"]["column_values"].clone();
    let by = |id: &str| {
        cvs.as_array()
            .unwrap()
            .iter()
            .find(|c| c["id"] == json!(id))
            .unwrap()
            .clone()
    };
    let email = by("email");
    assert!(
        email["value"].is_string(),
        "value is a JSON string: {email}"
    );
    let parsed: Value = serde_json::from_str(email["value"].as_str().unwrap()).unwrap();
    assert_eq!(
        (
            parsed["email"].clone(),
            email["text"].clone(),
            email["email"].clone()
        ),
        (
            json!("anna@bau.de"),
            json!("anna@bau.de"),
            json!("anna@bau.de")
        )
    );
    let phone: Value = serde_json::from_str(by("phone")["value"].as_str().unwrap()).unwrap();
    assert_eq!(
        (
            phone["countryShortName"].clone(),
            by("phone")["text"].clone()
        ),
        (json!("DE"), json!("+4917012345678"))
    );
    assert_eq!(
        (by("text")["value"].clone(), by("text")["text"].clone()),
        (json!("\"Bau GmbH\""), json!("Bau GmbH"))
    );
    assert_eq!(
        (by("status")["value"].clone(), by("status")["text"].clone()),
        (Value::Null, json!("")),
        "empty columns read null and \"\""
    );
    assert!(
        by("phone").get("email").is_none(),
        "the fragment applies to EmailValue only"
    );
}

#[test]
fn changing_some_columns_keeps_the_others_and_empty_clears() {
    let emu = Emulator::start(Options::default());
    let board = board_with(&emu, 1);
    let item = emu.monday().all(board)[0]["id"]
        .as_str()
        .unwrap()
        .parse::<u64>()
        .unwrap();
    emu.monday().update(item, json!({"text": "Alt GmbH"}));
    let change = "mutation ($i: ID!, $b: ID!, $v: JSON!) { change_multiple_column_values(item_id: $i, board_id: $b, column_values: $v) { id } }";
    let r = gql(
        &emu,
        change,
        json!({"i": item, "b": board, "v": json!({"text": "", "status": {"label": "Done"}}).to_string()}),
    );
    assert_eq!(
        r.json()["data"]["change_multiple_column_values"]["id"],
        json!(item.to_string())
    );
    let stored = emu.monday().get(item).unwrap();
    let text = |id: &str| {
        stored["column_values"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["id"] == json!(id))
            .unwrap()["text"]
            .clone()
    };
    assert_eq!(
        (text("email"), text("text"), text("status")),
        (json!("p0@bau.de"), json!(""), json!("Done"))
    );
    let one = "mutation ($i: ID!, $b: ID!, $v: JSON!) { change_column_value(item_id: $i, board_id: $b, column_id: \"email\", value: $v) { id } }";
    let r = gql(
        &emu,
        one,
        json!({"i": item, "b": board, "v": "{\"email\": \"neu@bau.de\", \"text\": \"Neu\"}"}),
    );
    assert!(r.json()["errors"].is_null(), "{}", r.body);
    let simple = "mutation ($i: ID!, $b: ID!) { change_simple_column_value(item_id: $i, board_id: $b, column_id: \"text\", value: \"Neu GmbH\") { name } }";
    assert_eq!(
        gql(&emu, simple, json!({"i": item, "b": board})).json()["data"]
            ["change_simple_column_value"]["name"],
        json!("P00")
    );
    let stored = emu.monday().get(item).unwrap();
    let value = |id: &str| {
        stored["column_values"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["id"] == json!(id))
            .unwrap()["value"]
            .clone()
    };
    let email: Value = serde_json::from_str(value("email").as_str().unwrap()).unwrap();
    assert_eq!(
        (email["email"].clone(), value("text")),
        (json!("neu@bau.de"), json!("\"Neu GmbH\""))
    );
}

#[test]
fn bad_writes_are_errors_with_http_200_and_partial_data() {
    let emu = Emulator::start(Options::default());
    let board = board_with(&emu, 0);
    let create = "mutation ($b: ID!, $v: JSON) { create_item(board_id: $b, item_name: \"X\", column_values: $v) { id } }";
    let as_object = gql(&emu, create, json!({"b": board, "v": {"text": "x"}}));
    assert_eq!(as_object.status, 200);
    assert_eq!(
        as_object.json()["errors"][0]["extensions"]["code"],
        json!("ColumnValueException")
    );
    assert_eq!(as_object.json()["data"]["create_item"], Value::Null);
    let unknown = gql(&emu, create, json!({"b": board, "v": "{\"shoe\": \"42\"}"}));
    assert_eq!(
        unknown.json()["errors"][0]["extensions"]["code"],
        json!("InvalidColumnIdException")
    );
    let no_country = gql(
        &emu,
        create,
        json!({"b": board, "v": "{\"phone\": {\"phone\": \"+4917012345678\"}}"}),
    );
    assert_eq!(
        no_country.json()["errors"][0]["extensions"]["error_data"]["column_type"],
        json!("phone")
    );
    let both = gql(
        &emu,
        &format!("{{ boards(ids: [{board}]) {{ name }} nope {{ id }} }}"),
        json!({}),
    );
    assert_eq!(
        both.json()["data"]["boards"][0]["name"],
        json!("Mitarbeiter"),
        "the good field keeps its data"
    );
    assert_eq!(both.json()["errors"][0]["path"], json!(["nope"]));
    assert!(emu.monday().all(board).is_empty(), "nothing was created");
    let parse = gql(&emu, "{ boards(ids: ) { id } }", json!({}));
    assert_eq!(parse.status, 200);
    assert!(parse.json()["errors"][0]["message"]
        .as_str()
        .unwrap()
        .starts_with("Parse error"));
    let r = send(
        "POST",
        &emu.monday().api_url(),
        &[("Authorization", "wrong")],
        &json!({"query": "{ boards { id } }"}),
    );
    assert_eq!(r.status, 401);
}

#[test]
fn an_exhausted_complexity_budget_answers_200_with_retry_in_seconds() {
    let options = Options {
        monday: MondayOptions {
            budget: Some(2_500),
            ..MondayOptions::default()
        },
        ..Options::default()
    };
    let emu = Emulator::start(options);
    board_with(&emu, 1);
    let q = "{ complexity { query after } boards { id } }";
    let first = gql(&emu, q, json!({}));
    assert_eq!(
        first.json()["data"]["complexity"],
        json!({"query": 1000, "after": 1500})
    );
    assert!(gql(&emu, q, json!({})).json()["errors"].is_null());
    let third = gql(&emu, q, json!({}));
    assert_eq!(third.status, 200);
    let ext = &third.json()["errors"][0]["extensions"];
    assert_eq!(
        (ext["code"].clone(), ext["complexity_budget_left"].clone()),
        (json!("COMPLEXITY_BUDGET_EXHAUSTED"), json!(500))
    );
    assert!(
        ext["retry_in_seconds"].as_i64().unwrap() > 0 && !third.header("retry-after").is_empty()
    );
    emu.monday().advance(60);
    assert!(
        gql(&emu, q, json!({})).json()["errors"].is_null(),
        "a new minute, a new budget"
    );
}
