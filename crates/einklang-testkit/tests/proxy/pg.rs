//! The PostgreSQL proxy in front of the test server.

use einklang_testkit::proxy::{FaultProxy, Mode, Rule};
use einklang_testkit::PgDb;
use std::time::{Duration, Instant};

/// A fresh database with a table `t`, and a proxy in front of its server;
/// the URL of the database through the proxy.
fn setup(tag: &str) -> Option<(PgDb, FaultProxy, String)> {
    let db = PgDb::new(tag)?;
    db.sql("CREATE TABLE t (id INT PRIMARY KEY, note TEXT)");
    let proxy = FaultProxy::start(Mode::Pg, &db.url).unwrap();
    let url = db.url_via(proxy.addr());
    assert_ne!(url, db.url);
    Some((db, proxy, url))
}

fn count(db: &PgDb) -> i64 {
    db.client()
        .query_one("SELECT count(*) FROM t", &[])
        .unwrap()
        .get(0)
}

fn connect(url: &str) -> postgres::Client {
    postgres::Client::connect(url, postgres::NoTls).unwrap()
}

#[test]
fn a_commit_whose_answer_was_dropped_is_committed() {
    let Some((db, proxy, url)) = setup("proxy_commit") else {
        return;
    };
    let rule = proxy.add(Rule::drop_answer().method("COMMIT").once());
    let mut c = connect(&url);
    let mut tx = c.transaction().unwrap();
    tx.execute("INSERT INTO t VALUES (1, 'committed')", &[])
        .unwrap();
    let lost = tx.commit();
    assert!(lost.is_err(), "the client must not see the commit's answer");
    assert_eq!(count(&db), 1, "the server committed");
    assert_eq!(proxy.hits(rule), 1);
    assert_eq!(proxy.counters().answers_dropped, 1);
    // a new connection through the proxy works
    assert_eq!(
        connect(&url)
            .query_one("SELECT count(*) FROM t", &[])
            .unwrap()
            .get::<_, i64>(0),
        1
    );
}

#[test]
fn a_prepared_commit_whose_answer_was_dropped_is_committed() {
    let Some((db, proxy, url)) = setup("proxy_prepared") else {
        return;
    };
    proxy.add(Rule::drop_answer().method("COMMIT").once());
    let mut c = connect(&url);
    c.batch_execute("BEGIN; INSERT INTO t VALUES (2, 'x')")
        .unwrap();
    // `execute` sends Parse, Bind, Execute, Sync: the extended protocol
    assert!(c.execute("COMMIT", &[]).is_err());
    assert_eq!(count(&db), 1);
}

#[test]
fn a_reset_statement_is_never_run() {
    let Some((db, proxy, url)) = setup("proxy_reset") else {
        return;
    };
    proxy.add(Rule::reset().method("INSERT").once());
    let mut c = connect(&url);
    assert!(c.execute("INSERT INTO t VALUES (3, 'x')", &[]).is_err());
    assert_eq!(count(&db), 0);
    assert_eq!(proxy.counters().resets, 1);
}

#[test]
fn a_delayed_answer_arrives_late_and_whole() {
    let Some((_db, proxy, url)) = setup("proxy_delay") else {
        return;
    };
    proxy.add(
        Rule::delay(Duration::from_millis(300))
            .method("SELECT")
            .path("pg_sleep(0)"),
    );
    let mut c = connect(&url);
    let started = Instant::now();
    let row = c
        .query_one("SELECT 41 + 1, pg_sleep(0)::text", &[])
        .unwrap();
    assert_eq!(row.get::<_, i32>(0), 42);
    assert!(started.elapsed() >= Duration::from_millis(300));
    assert_eq!(proxy.counters().delayed, 1);
}

#[test]
fn big_results_and_many_statements_pass_unchanged() {
    let Some((db, proxy, url)) = setup("proxy_bytes") else {
        return;
    };
    let mut c = connect(&url);
    let big: String = c
        .query_one("SELECT repeat('abcdefghij', 500000)", &[])
        .unwrap()
        .get(0);
    assert_eq!(big.len(), 5_000_000);
    assert!(big.starts_with("abcdefghij") && big.ends_with("abcdefghij"));
    let mut tx = c.transaction().unwrap();
    for i in 0..200 {
        tx.execute("INSERT INTO t VALUES ($1, $2)", &[&i, &format!("row {i}")])
            .unwrap();
    }
    tx.commit().unwrap();
    let text: String = c
        .query_one("SELECT string_agg(note, ',' ORDER BY id) FROM t", &[])
        .unwrap()
        .get(0);
    let direct: String = db
        .client()
        .query_one("SELECT string_agg(note, ',' ORDER BY id) FROM t", &[])
        .unwrap()
        .get(0);
    assert_eq!(text, direct);
    assert_eq!(count(&db), 200);
    let counters = proxy.counters();
    assert!(counters.bytes_down > 5_000_000, "{counters:?}");
    assert_eq!(counters.answers_dropped + counters.resets, 0);
}
