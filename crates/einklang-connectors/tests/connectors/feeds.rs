//! Change feeds of every shape against the seed-system emulators: EspoCRM's
//! `modifiedAt` (`YYYY-MM-DD HH:MM:SS`, UTC, no zone) asked with a
//! strftime `{since}`; a window that keeps a change written while the
//! previous read was under way; Microsoft Graph's contacts delta query
//! (`@odata.nextLink` pages, the `@odata.deltaLink` stored as the cursor,
//! `@removed` entries as deletes, `410 Gone` as a forgotten cursor); and the
//! settings checks of `changes`.

use crate::settings;
use einklang_connectors::{open, validate_settings, Connector, ReadItem};
use einklang_emulator::{Emulator, Options};
use einklang_testkit::{graph_connector, graph_with_contacts, GRAPH_MAILBOX};
use serde_json::{json, Value};
use std::path::Path;

fn connect(s: Value) -> Box<dyn Connector> {
    open("crm", "http", &settings(s), Path::new(".")).unwrap()
}

/// EspoCRM's contacts with a `modifiedAt` window written as `format`.
pub fn espo_settings(url: &str, format: Option<&str>, overlap_s: u64) -> Value {
    let mut changes = json!({
        "params": {"maxSize": 200, "orderBy": "createdAt", "order": "asc", "where[0][type]": "after", "where[0][attribute]": "modifiedAt", "where[0][value]": "{since}"},
        "overlap_s": overlap_s,
    });
    if let Some(f) = format {
        changes["format"] = json!(f);
        changes["tz"] = json!("UTC");
    }
    json!({
        "base_url": url,
        "auth": {"header": "X-Api-Key", "value": "espo-api-key"},
        "version": "versionNumber",
        "list": {"path": "/Contact", "records": "/list", "paginate": "offset", "offset_param": "offset",
                 "size_param": "maxSize", "size": 2, "params": {"orderBy": "createdAt", "order": "asc"}},
        "changes": changes,
        "get": {"path": "/Contact/{id}"},
        "update": {"method": "PATCH", "path": "/Contact/{id}"},
    })
}

fn changed_ids(c: &mut dyn Connector, cursor: &str) -> Vec<String> {
    let feed = c.changes(cursor).unwrap().expect("the cursor is known");
    feed.changed.into_iter().map(|l| l.id).collect()
}

#[test]
fn espo_changes_in_its_zoneless_utc_format_find_an_edit() {
    let emu = Emulator::start(Options::default());
    let espo = emu.espo();
    espo.advance(-3600);
    let a = espo.insert("Contact", json!({"lastName": "Alt"}));
    espo.insert("Contact", json!({"lastName": "Bestand"}));
    espo.advance(3600);
    let mut c = connect(espo_settings(
        &espo.api_url(),
        Some("%Y-%m-%d %H:%M:%S"),
        60,
    ));
    let cursor = c.cursor().unwrap();
    assert!(
        chrono::NaiveDateTime::parse_from_str(&cursor, "%Y-%m-%d %H:%M:%S").is_ok(),
        "the cursor is Espo's own time text: {cursor}"
    );
    assert_eq!(changed_ids(c.as_mut(), &cursor), Vec::<String>::new());
    espo.update("Contact", &a, json!({"lastName": "Neu"}));
    let gets = espo.count("GET");
    assert_eq!(changed_ids(c.as_mut(), &cursor), vec![a.clone()]);
    assert_eq!(espo.count("GET") - gets, 1, "one listing");

    // the same window as rfc3339 is compared as text by Espo and misses it
    let mut rfc = connect(espo_settings(&espo.api_url(), None, 60));
    let since = rfc.cursor().unwrap();
    assert!(since.contains('T'), "{since}");
    espo.update("Contact", &a, json!({"lastName": "Neuer"}));
    assert_eq!(changed_ids(rfc.as_mut(), &since), Vec::<String>::new());
    assert_eq!(changed_ids(c.as_mut(), &cursor), vec![a]);
}

#[test]
fn a_change_written_while_a_read_pages_is_seen_by_the_next_read() {
    let emu = Emulator::start(Options::default());
    let espo = emu.espo();
    espo.advance(-3600);
    let ids: Vec<String> = (0..5)
        .map(|i| espo.insert("Contact", json!({"lastName": format!("K{i}")})))
        .collect();
    espo.advance(3600);
    // no overlap at all: the window alone must keep the change
    let mut s = espo_settings(&espo.api_url(), Some("%Y-%m-%d %H:%M:%S"), 0);
    s["changes"]["params"]["maxSize"] = json!(2);
    let mut c = connect(s);
    let start = c.cursor().unwrap();
    espo.update("Contact", &ids[1], json!({"lastName": "K1 neu"}));
    espo.update("Contact", &ids[2], json!({"lastName": "K2 neu"}));
    // the read pages two at a time (oldest first); after its first page
    // another user edits K0, which moves into the page already read
    let gets = espo.count("GET");
    espo.update_during_list(gets + 1, "Contact", &ids[0], json!({"lastName": "K0 neu"}));
    let first = c.changes(&start).unwrap().unwrap();
    let seen: Vec<String> = first.changed.iter().map(|l| l.id.clone()).collect();
    assert!(!seen.contains(&ids[0]), "written after its page: {seen:?}");
    assert_eq!(
        espo.get("Contact", &ids[0]).unwrap()["lastName"],
        json!("K0 neu")
    );
    let next = changed_ids(c.as_mut(), &first.cursor);
    assert!(next.contains(&ids[0]), "the next read sees it: {next:?}");

    // a slow commit: stamped 30 s before it lands, kept by overlap_s = 60
    let mut c = connect(espo_settings(
        &espo.api_url(),
        Some("%Y-%m-%d %H:%M:%S"),
        60,
    ));
    let start = c.cursor().unwrap();
    let read = c.changes(&start).unwrap().unwrap();
    espo.advance(-30);
    espo.update("Contact", &ids[3], json!({"lastName": "K3 langsam"}));
    espo.advance(30);
    assert!(changed_ids(c.as_mut(), &read.cursor).contains(&ids[3]));
}

/// Microsoft Graph contacts of one mailbox with the delta feed: the
/// settings of the testkit's [`graph_connector`] table.
pub fn graph(emu: &Emulator, mailbox: &str) -> Value {
    let g = emu.graph();
    let table = graph_connector("crm", &g.base_url(), &g.token_url(), mailbox);
    let mut config: Value = toml::from_str(&table).expect("the testkit's table is TOML");
    let mut s = config["connectors"]["crm"].take();
    s.as_object_mut().expect("a table").remove("kind");
    s
}

#[test]
fn graph_delta_links_are_the_cursor_removals_are_deletes_and_410_reads_in_full() {
    let (emu, ids) = graph_with_contacts(12);
    let g = emu.graph();
    let mut c = connect(graph(&emu, GRAPH_MAILBOX));
    // the first round (two pages of 10) is the cursor and the full read
    let cursor = c.cursor().unwrap();
    assert!(cursor.contains("deltatoken"), "{cursor}");
    assert_eq!(g.count("GET"), 2, "two pages of the round");
    let read: Vec<_> = c.read().unwrap().collect();
    assert_eq!(read.len(), 12);
    assert_eq!(g.count("GET"), 2, "the read is the round just walked");
    // a second read lists again
    assert_eq!(c.read().unwrap().count(), 12);
    let gets = g.count("GET");

    let quiet = c.changes(&cursor).unwrap().unwrap();
    assert!(
        quiet.changed.is_empty() && quiet.deleted.is_empty(),
        "{quiet:?}"
    );
    assert_eq!(g.count("GET") - gets, 1);

    g.update(GRAPH_MAILBOX, &ids[0], json!({"surname": "Neu"}));
    g.delete(GRAPH_MAILBOX, &ids[1]);
    let feed = c.changes(&quiet.cursor).unwrap().unwrap();
    let changed: Vec<&str> = feed.changed.iter().map(|l| l.id.as_str()).collect();
    assert_eq!(
        (changed, feed.deleted.clone()),
        (vec![ids[0].as_str()], vec![ids[1].clone()])
    );
    let gets = g.count("GET");
    let fetched = c.fetch(&[ids[0].clone()]).unwrap();
    let ReadItem::Record(r) = &fetched[0] else {
        panic!("{fetched:?}")
    };
    assert_eq!(
        (r.fields["surname"].clone(), g.count("GET")),
        (json!("Neu"), gets)
    );
    assert_eq!(
        r.version,
        g.get(GRAPH_MAILBOX, &ids[0]).unwrap()["changeKey"]
            .as_str()
            .map(String::from)
    );

    // more changes than a page: the round follows nextLink to its deltaLink
    for id in &ids[2..] {
        g.update(GRAPH_MAILBOX, id, json!({"jobTitle": "Bauleiter"}));
    }
    let big = c.changes(&feed.cursor).unwrap().unwrap();
    assert_eq!(big.changed.len(), 10);
    assert!(big.deleted.is_empty());

    // a forgotten token: no feed, so the engine reads in full
    g.expire_delta_tokens();
    assert!(c.changes(&big.cursor).unwrap().is_none());
    let fresh = c.cursor().unwrap();
    let mut read: Vec<String> = c
        .read()
        .unwrap()
        .map(|i| match i {
            ReadItem::Record(r) => r.fields["id"].as_str().unwrap().to_string(),
            other => panic!("{other:?}"),
        })
        .collect();
    read.sort();
    let mut live: Vec<String> = ids.iter().filter(|i| **i != ids[1]).cloned().collect();
    live.sort();
    assert_eq!(
        read, live,
        "the full read after 410: every live contact once"
    );
    assert!(c.changes(&fresh).unwrap().unwrap().changed.is_empty());
    // a cursor of another feed kind (the settings changed) reads in full too
    assert!(c.changes("2026-01-26 10:00:00").unwrap().is_none());
}

#[test]
fn change_settings_are_checked() {
    let problems = |changes: Value| -> Vec<String> {
        let mut s = espo_settings("http://x", None, 60);
        s["changes"] = changes;
        validate_settings("http", &settings(s))
            .into_iter()
            .map(|p| p.message)
            .collect()
    };
    let since = json!({"where[0][value]": "{since}"});
    assert_eq!(
        problems(json!({"params": since, "format": "%Y-%m-%d %H:%M:%S", "tz": "Europe/Berlin"})),
        Vec::<String>::new()
    );
    assert_eq!(
        problems(json!({"params": since, "format": "%d.%m.%Y %H:%M"})),
        Vec::<String>::new()
    );
    for (bad, says) in [
        (
            json!({"params": since, "format": "%Y-%m-%d %H:%M:%S %#z"}),
            "cannot be written",
        ),
        (
            json!({"params": since, "format": "%Q"}),
            "cannot be written",
        ),
        (
            json!({"params": since, "format": "gestern"}),
            "cannot be written",
        ),
        (
            json!({"params": since, "format": "%Y-%m-%d", "tz": "Mars/Olympus"}),
            "unknown time zone",
        ),
        (
            json!({"params": since, "format": "epoch", "tz": "UTC"}),
            "`tz` is the zone",
        ),
        (
            json!({"params": since, "removed": "/@removed"}),
            "belongs to a delta feed",
        ),
        (
            json!({"path": "/delta", "delta": "@odata.deltaLink"}),
            "JSON pointers",
        ),
        (
            json!({"path": "/delta", "delta": "/@odata.deltaLink", "overlap_s": 5}),
            "no time window",
        ),
        (
            json!({"path": "/delta", "delta": "/@odata.deltaLink", "params": since}),
            "leave \"{since}\" out",
        ),
        (
            json!({"path": "/delta", "delta": "/d", "expired": "410"}),
            "list of HTTP statuses",
        ),
        (json!({"path": "/delta"}), "must use \"{since}\""),
    ] {
        let found = problems(bad.clone());
        assert!(found.iter().any(|m| m.contains(says)), "{bad}: {found:?}");
    }
    let mut s = espo_settings("http://x", None, 60);
    s["changes"] = json!({"path": "/delta", "delta": "/@odata.deltaLink"});
    s["deletes"] = json!({"path": "/gone", "params": {"since": "{since}"}});
    let p = validate_settings("http", &settings(s));
    assert!(
        p.iter()
            .any(|p| p.message.contains("shows its deletes itself")),
        "{p:?}"
    );
}
