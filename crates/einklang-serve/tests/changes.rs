//! Changes a `postgres_table` reports (NOTIFY from its change log) queue
//! a run of the jobs reading it — one while one is still waiting — and a
//! worker runs it: the record arrives without a schedule or a webhook; a
//! listener whose connection is cut listens again.

mod common;

use einklang_serve::{changes, Kick};
use einklang_store::{RunSource, RunStatus};
use std::sync::Arc;
use std::time::{Duration, Instant};

fn config(url: &str) -> String {
    format!(
        r#"
store = "hub.db"
tenant = "acme"

[entities.contact]
name = "text"

[connectors.db]
kind = "postgres_table"
url = "{url}"
table = "kontakte"
key = "id"
change_log = true

[map.db.contact]
id = "id"
fields = {{ name = "name" }}

[jobs.j]
pull = ["db"]
"#
    )
}

#[test]
fn a_reported_change_queues_one_run_and_a_worker_syncs_it() {
    let Some(db) = einklang_testkit::PgDb::new("serve_changes") else {
        return;
    };
    let (mut c, hub) = table_hub(&db);

    // a burst of reports while a run waits: that one run, no more
    let mut store = common::open(&hub.config);
    let first = changes::wake(&hub.config, store.as_mut(), "db").unwrap();
    assert_eq!(first.len(), 1);
    assert!(changes::wake(&hub.config, store.as_mut(), "db")
        .unwrap()
        .is_empty());
    assert!(changes::wake(&hub.config, store.as_mut(), "other")
        .unwrap()
        .is_empty());
    let run = store.run("acme", first[0]).unwrap().unwrap();
    assert_eq!(
        (run.source, run.triggered_by.as_str()),
        (RunSource::Notify, "notify:db")
    );

    // the listener and a worker at work: an insert arrives by itself
    let (kick, worker) = common::worker(&hub);
    wait_for(|| store.queue_depth("acme").unwrap() == 0);
    let (listening, listener) = listen(&hub);
    std::thread::sleep(Duration::from_millis(300)); // LISTEN is in place
    c.batch_execute("INSERT INTO kontakte VALUES ('k1', 'Anna Berg')")
        .unwrap();
    wait_for(|| store.find_links("acme", "db", "contact", &["k1"]).unwrap()[0].is_some());
    listening.stop();
    listener.join().unwrap();
    kick.stop();
    worker.join().unwrap();
    let runs = store.runs("acme", 10).unwrap();
    assert_eq!(runs.len(), 2, "the first run and the one the insert made");
    assert!(runs
        .iter()
        .all(|r| r.source == RunSource::Notify && r.status == RunStatus::Succeeded));
}

/// A table `kontakte` in `db` with its change log installed, and a hub
/// reading it.
fn table_hub(db: &einklang_testkit::PgDb) -> (postgres::Client, common::Hub) {
    let mut c = postgres::Client::connect(&db.url, postgres::NoTls).unwrap();
    c.batch_execute("CREATE TABLE kontakte (id TEXT PRIMARY KEY, name TEXT)")
        .unwrap();
    let hub = common::hub_with(&config(&db.url), None);
    let cc = &hub.config.connectors["db"];
    einklang_connectors::open(&cc.name, &cc.kind, &cc.settings, &hub.config.base_dir)
        .unwrap()
        .install()
        .unwrap();
    (c, hub)
}

/// The hub's change listeners at work on a thread; stop them with the
/// kick's `stop`.
fn listen(hub: &common::Hub) -> (Arc<Kick>, std::thread::JoinHandle<()>) {
    let listening = Arc::new(Kick::default());
    let config = Arc::clone(&hub.config);
    let k = Arc::clone(&listening);
    let listener = std::thread::spawn(move || {
        let mut store = common::open(&config);
        changes::run(&config, store.as_mut(), &k)
    });
    (listening, listener)
}

fn wait_for(mut done: impl FnMut() -> bool) {
    let until = Instant::now() + Duration::from_secs(20);
    while !done() {
        assert!(Instant::now() < until, "not within 20 s");
        std::thread::sleep(Duration::from_millis(25));
    }
}

/// The listener's connection cut (the database restarted, a proxy
/// dropped it): it is opened again after a pause and changes wake the
/// job again.
#[test]
fn a_listener_whose_connection_is_cut_listens_again() {
    let Some(db) = einklang_testkit::PgDb::new("serve_relisten") else {
        return;
    };
    let (mut c, hub) = table_hub(&db);
    let (listening, listener) = listen(&hub);
    let listeners = |c: &mut postgres::Client| -> i64 {
        c.query_one(
            "SELECT count(*) FROM pg_stat_activity
             WHERE query = 'LISTEN einklang_changes' AND pid <> pg_backend_pid()
               AND datname = current_database()",
            &[],
        )
        .unwrap()
        .get(0)
    };
    wait_for(|| listeners(&mut c) == 1);
    c.batch_execute(
        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity
         WHERE query = 'LISTEN einklang_changes' AND pid <> pg_backend_pid()
           AND datname = current_database()",
    )
    .unwrap();
    // it notices at its next wait, rests 5 s, and listens again
    wait_for(|| listeners(&mut c) == 0);
    let cut = Instant::now();
    wait_for(|| listeners(&mut c) == 1);
    assert!(cut.elapsed() >= Duration::from_secs(3), "after its rest");
    let mut store = common::open(&hub.config);
    assert!(store.runs("acme", 10).unwrap().is_empty());
    c.batch_execute("INSERT INTO kontakte VALUES ('k1', 'Anna Berg')")
        .unwrap();
    wait_for(|| store.waiting("acme", "j").unwrap());
    listening.stop();
    listener.join().unwrap();
    let runs = store.runs("acme", 10).unwrap();
    assert_eq!(runs.len(), 1);
    assert_eq!(runs[0].triggered_by, "notify:db");
}
