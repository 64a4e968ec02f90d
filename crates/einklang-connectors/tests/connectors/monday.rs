//! monday.com boards through the `graphql` connector against the emulator:
//! `items_page` cursors walked to the end, and a cursor that expires
//! while the walk is under way — the read fails, naming the connector, and
//! never hands on the pages it had as if they were the whole board (a
//! half listing taken as complete would delete the rest).

use crate::settings;
use einklang_connectors::{open, Connector};
use einklang_emulator::{Emulator, Options};
use serde_json::json;
use std::path::Path;

/// A board of `n` items and the `graphql` connector `monday` reading it
/// two items a page, as examples/mailboxes-monday does.
fn board(emu: &Emulator, n: u64) -> Box<dyn Connector> {
    let m = emu.monday();
    let board = m.add_board("Mitarbeiter", &[("text", "Text", "text")]);
    for i in 0..n {
        m.insert(board, &format!("P{i}"), json!({}));
    }
    let s = json!({
        "url": m.api_url(),
        "auth": {"header": "Authorization", "value": "monday-token"},
        "version": "updated_at",
        "list": {"query": "query($board: [ID!], $cursor: String){ boards(ids: $board){ items_page(limit: 2, cursor: $cursor){ cursor items{ id name updated_at } } } }",
                 "variables": {"board": board.to_string()}, "records": "/data/boards/0/items_page/items",
                 "paginate": "cursor", "cursor_param": "cursor", "next": "/data/boards/0/items_page/cursor"},
    });
    open("monday", "graphql", &settings(s), Path::new(".")).unwrap()
}

#[test]
fn a_board_is_read_page_by_page_to_the_last_cursor() {
    let emu = Emulator::start(Options::default());
    let mut c = board(&emu, 5);
    let names: Vec<_> = c
        .read()
        .unwrap()
        .map(|i| match i {
            einklang_connectors::ReadItem::Record(r) => r.fields["name"].clone(),
            other => panic!("{other:?}"),
        })
        .collect();
    assert_eq!(names, ["P0", "P1", "P2", "P3", "P4"]);
    assert_eq!(emu.monday().count("POST"), 3, "three pages of two");
}

#[test]
fn a_cursor_that_expires_mid_walk_fails_the_read_instead_of_ending_it() {
    let emu = Emulator::start(Options::default());
    let mut c = board(&emu, 5);
    // the hour passes after the second page: the third page's cursor is stale
    emu.monday().advance_after(2, 3601);
    // the pages before it are handed on, then the read ends broken
    let items: Vec<_> = c.read().unwrap().collect();
    let records = items
        .iter()
        .filter(|i| matches!(i, einklang_connectors::ReadItem::Record(_)));
    assert_eq!(records.count(), 4, "two pages of two");
    let message = match items.last() {
        Some(einklang_connectors::ReadItem::Broken(r)) => r.reason.clone(),
        other => panic!("a read of 5 records ended as if complete: {other:?}"),
    };
    assert!(message.contains("connector `monday`"), "{message}");
    assert!(message.contains("cursor has expired"), "{message}");
    assert_eq!(emu.monday().count("POST"), 3, "no page after the refusal");
    // the next read starts again with a fresh cursor and sees every item
    assert_eq!(c.read().unwrap().count(), 5);
}
