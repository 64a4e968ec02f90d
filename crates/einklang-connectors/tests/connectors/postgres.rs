//! `postgres_table` against a real PostgreSQL (started by scripts/test;
//! required when `CI=true`): the compliance kit, server-assigned keys with
//! a marker column (or without one), and the trigger change log that never
//! logs our writes.

use crate::{create, obj, settings, update};
use einklang_connectors::{open, Connector, Lookup, ReadItem, WriteErrorKind, WriteOp};
use einklang_testkit::PgDb;
use serde_json::json;

/// A `postgres_table` connector on `table` of `db`, with `extra` settings.
pub fn connector(db: &PgDb, table: &str, extra: serde_json::Value) -> Box<dyn Connector> {
    connector_at(&db.url, table, extra)
}

/// The same on the database at `url` (e.g. through a fault proxy).
pub fn connector_at(url: &str, table: &str, extra: serde_json::Value) -> Box<dyn Connector> {
    let mut s = json!({"url": url, "table": table, "key": "id"});
    s.as_object_mut()
        .unwrap()
        .extend(extra.as_object().unwrap().clone());
    open(
        "pg",
        "postgres_table",
        &settings(s),
        std::path::Path::new("."),
    )
    .unwrap()
}

#[test]
fn kit_postgres_table() {
    let Some(db) = PgDb::new("conn_kit") else {
        return;
    };
    db.sql(
        "CREATE TABLE public.kontakte (id TEXT PRIMARY KEY, fn TEXT, note TEXT, title TEXT, extra TEXT);
         INSERT INTO kontakte VALUES ('K-1', 'Bestand', NULL, NULL, 'keep');",
    );
    crate::kit::run(connector(&db, "public.kontakte", json!({})).as_mut(), "id");
    let caps = connector(&db, "kontakte", json!({})).capabilities();
    assert!(caps.list_versions && caps.conditional_writes && caps.client_ids && !caps.change_feed);
}

/// Defect (issue 9): `ids = "server"` without `marker_column` was refused,
/// though the engine can hold such a table's lost creates until a read
/// finds their rows.
#[test]
fn server_keys_without_a_marker_column_are_allowed_and_cannot_tell() {
    let check = |ids: &str| {
        einklang_connectors::validate_settings(
            "postgres_table",
            &settings(json!({"url": "postgres://x/y", "table": "t", "key": "id", "ids": ids})),
        )
    };
    assert!(check("server").is_empty(), "{:?}", check("server"));
    assert!(check("both")[0].message.contains("`ids` must be"));
    // no column to look in: no query, no connection
    let mut c = connector_at("postgres://127.0.0.1:1/none", "t", json!({"ids": "server"}));
    let caps = c.capabilities();
    assert!(!caps.client_ids && !caps.finds_created, "{caps:?}");
    assert_eq!(c.find_created("id", "ek-1").unwrap(), Lookup::CannotTell);
}

#[test]
fn server_keys_and_the_marker_column_find_a_lost_create() {
    let Some(db) = PgDb::new("conn_serial") else {
        return;
    };
    db.sql("CREATE TABLE kunden (id BIGSERIAL PRIMARY KEY, name TEXT, since DATE, einklang_marker TEXT);");
    let mut c = connector(
        &db,
        "kunden",
        json!({"ids": "server", "marker_column": "einklang_marker"}),
    );
    let results = c
        .write(
            "id",
            &[create(
                "ek-7",
                json!({"name": "Anna", "since": "2025-03-01"}),
            )],
        )
        .unwrap();
    let created = results[0].as_ref().unwrap();
    assert_eq!(created.id, "1", "the table assigned the key");
    let found = c.find_created("id", "ek-7").unwrap().found().unwrap();
    assert_eq!(
        (found.id.as_str(), found.version.clone()),
        ("1", created.version.clone())
    );
    assert_eq!(c.find_created("id", "ek-8").unwrap(), Lookup::Absent);
    let rows = c.fetch(&["1".into()]).unwrap();
    let ReadItem::Record(r) = &rows[0] else {
        panic!("{rows:?}")
    };
    assert_eq!(
        (r.fields["name"].clone(), r.fields["since"].clone()),
        (json!("Anna"), json!("2025-03-01"))
    );
    let bad = c
        .write("id", &[update("1", json!({"since": "not a date"}))])
        .unwrap();
    let e = bad[0].as_ref().unwrap_err();
    assert_eq!(e.kind, WriteErrorKind::Rejected);
    assert!(
        e.message.contains("pg") && e.message.contains("`1`") && !e.message.contains(&db.url),
        "{}",
        e.message
    );
    let unknown = c.write("id", &[update("1", json!({"nope": 1}))]).unwrap();
    assert_eq!(
        unknown[0].as_ref().unwrap_err().kind,
        WriteErrorKind::Rejected
    );
}

#[test]
fn the_change_log_reports_others_changes_and_never_ours() {
    let Some(db) = PgDb::new("conn_log") else {
        return;
    };
    db.sql(
        "CREATE TABLE bookings (id TEXT PRIMARY KEY, car TEXT, status TEXT);
            INSERT INTO bookings VALUES ('b1', 'Golf', 'open'), ('b2', 'Polo', 'open');",
    );
    let mut c = connector(&db, "bookings", json!({"change_log": true}));
    assert!(c.capabilities().change_feed);
    let installed = c.install().unwrap();
    assert!(
        installed.iter().any(|i| i.contains("trigger")),
        "{installed:?}"
    );
    c.install().unwrap(); // idempotent
    let start = c.cursor().unwrap();
    db.sql(
        "UPDATE bookings SET status = 'won' WHERE id = 'b1';
            INSERT INTO bookings VALUES ('b3', 'Clio', 'open');
            DELETE FROM bookings WHERE id = 'b2';
            UPDATE bookings SET status = 'lost' WHERE id = 'b1';",
    );
    // our own writes are not logged
    let ours = c
        .write(
            "id",
            &[
                create("ek-1", json!({"car": "Up", "status": "open"})),
                update("b3", json!({"car": "Clio RS"})),
            ],
        )
        .unwrap();
    assert!(ours.iter().all(Result::is_ok), "{ours:?}");
    let feed = c.changes(&start).unwrap().unwrap();
    let mut changed: Vec<_> = feed.changed.iter().map(|l| l.id.as_str()).collect();
    changed.sort();
    assert_eq!(changed, ["b1", "b3"]);
    assert_eq!(feed.deleted, ["b2"]);
    let b3 = feed.changed.iter().find(|l| l.id == "b3").unwrap();
    assert_eq!(
        b3.version,
        ours[1].as_ref().unwrap().version,
        "the feed shows the current version"
    );
    let again = c.changes(&feed.cursor).unwrap().unwrap();
    assert!(
        again.changed.is_empty() && again.deleted.is_empty(),
        "{again:?}"
    );
    let stale = c
        .write(
            "id",
            &[WriteOp::Update {
                id: "b1".into(),
                fields: obj(json!({"car": "x"})),
                expected_version: Some("1".into()),
            }],
        )
        .unwrap();
    assert_eq!(
        stale[0].as_ref().unwrap_err().kind,
        WriteErrorKind::Conflict
    );
}

#[test]
fn an_updated_at_column_gives_the_rows_changed_since_the_last_read() {
    let Some(db) = PgDb::new("conn_upd") else {
        return;
    };
    db.sql(
        "CREATE TABLE bookings (id TEXT PRIMARY KEY, kunde TEXT, updated_at TIMESTAMPTZ NOT NULL DEFAULT now());
         INSERT INTO bookings (id, kunde, updated_at) VALUES ('b1', 'Ann', now() - interval '1 hour'),
                ('b2', 'Bob', now() - interval '1 hour'), ('b3', 'Cem', now() - interval '1 hour')",
    );
    let mut c = connector(&db, "bookings", json!({"updated_column": "updated_at"}));
    assert!(c.capabilities().change_feed);
    let cursor = c.cursor().unwrap();
    assert!(cursor.starts_with("updated:"), "{cursor}");
    let quiet = c.changes(&cursor).unwrap().unwrap();
    assert!(quiet.changed.is_empty(), "{quiet:?}");
    // the application bumps updated_at on its writes
    db.sql(
        "UPDATE bookings SET kunde = 'Bob B.', updated_at = now() WHERE id = 'b2';
            INSERT INTO bookings (id, kunde) VALUES ('b4', 'Dana')",
    );
    let feed = c.changes(&cursor).unwrap().unwrap();
    let mut ids: Vec<&str> = feed.changed.iter().map(|l| l.id.as_str()).collect();
    ids.sort();
    assert_eq!(ids, ["b2", "b4"]);
    assert!(feed.deleted.is_empty() && feed.cursor.starts_with("updated:"));
    let problems = einklang_connectors::validate_settings(
        "postgres_table",
        &settings(
            json!({"url": "postgres://x/y", "table": "t", "key": "id", "change_log": true, "updated_column": "updated_at"}),
        ),
    );
    assert!(problems[0].message.contains("choose one"), "{problems:?}");
}
