//! The same two-way guarantees on the PostgreSQL hub store (a real server,
//! started by scripts/test; required when `CI=true`).

use crate::harness::*;
use einklang_connectors::memory::MemoryOptions;
use einklang_connectors::WriteErrorKind;
use einklang_engine::{resolve, Choice, CrashAt, CrashPoint};
use einklang_testkit::PgDb;
use serde_json::json;

#[test]
fn two_way_sync_on_postgres() {
    let Some(db) = PgDb::new("sync_two_way") else {
        return;
    };
    let config = TWO_WAY.replace("default = { authority = \"espo\" }", "default = \"review\"");
    let mut hub = Hub::on(
        &db.url,
        &config,
        &[
            ("espo", MemoryOptions::default()),
            ("advo", MemoryOptions::default()),
        ],
    );
    let espo = hub.remote("espo").insert(raw(
        json!({"name": "Anna Novak", "city": "Berlin", "phones": ["+49 30 1111111"]}),
    ));
    hub.remote("advo")
        .insert(raw(json!({"name": "Jürgen Müller", "ort": "München"})));
    hub.sync("sync");
    assert_quiet(&hub.sync("sync"));
    let (advo, _) = hub.find("advo", "name", "Anna Novak");
    // one field each side, a conflict on a third, a lost answer on the way
    hub.remote("espo").update(
        &espo,
        raw(json!({"phones": ["+49 30 1111111", "+49 30 2222222"], "city": "Hamburg"})),
    );
    hub.remote("advo")
        .update(&advo, raw(json!({"ort": "Köln", "name": "Anna Novak-Kos"})));
    hub.remote("advo").lose_next_answers(1);
    let r = hub.sync("sync");
    assert_eq!(count(&r, "held"), 1, "{:#?}", r.counters);
    hub.later(3600);
    hub.sync("sync");
    assert_eq!(
        hub.remote("espo").get(&espo).unwrap()["name"],
        json!("Anna Novak-Kos")
    );
    assert_eq!(
        hub.remote("advo").get(&advo).unwrap()["tel"],
        json!(["+49301111111", "+49302222222"])
    );
    let conflict = hub.store.conflicts("default", true, 5).unwrap().remove(0);
    resolve(
        hub.store.as_mut(),
        "default",
        conflict.id,
        Choice::Connector("espo".into()),
        "test",
    )
    .unwrap();
    hub.sync("sync");
    assert_eq!(
        hub.remote("advo").get(&advo).unwrap()["ort"],
        json!("Hamburg")
    );
    // a crash after the write, a delete, a failed write retried later
    hub.remote("espo").remove(&espo);
    hub.remote("espo")
        .insert(raw(json!({"name": "Maja Horvat"})));
    hub.crash(
        "sync",
        CrashAt {
            point: CrashPoint::AfterRemoteWrite,
            nth: 1,
        },
    );
    hub.remote("advo").fail_next(WriteErrorKind::Transient, 1);
    hub.later(3600);
    hub.sync("sync");
    hub.later(3600);
    hub.sync("sync");
    assert!(
        hub.remote("advo").get(&advo).is_none(),
        "the delete reached advo"
    );
    hub.find("advo", "name", "Maja Horvat");
    assert_eq!((hub.remote("espo").len(), hub.remote("advo").len()), (2, 2));
    assert_quiet(&hub.sync("sync"));
    let plan = hub.plan("sync");
    assert!(plan.plan.is_empty(), "{}", plan.plan);
}

/// The Supabase-style table of the seeds as a two-way peer of a CRM.
#[test]
fn a_postgres_table_syncs_both_ways_through_its_change_log() {
    let Some(db) = PgDb::new("sync_table") else {
        return;
    };
    let mut admin = postgres::Client::connect(&db.url, postgres::NoTls).unwrap();
    admin
        .batch_execute(
            "CREATE TABLE kontakte (id TEXT PRIMARY KEY, vorname TEXT, nachname TEXT, ort TEXT, telefon TEXT[]);
             INSERT INTO kontakte VALUES ('k1', 'Jürgen', 'Müller', 'München', ARRAY['089 1234567']);",
        )
        .unwrap();
    let config = format!(
        r#"
[entities.contact]
name = "text"
phones = "phones"
city = "text"

[connectors.crm]
kind = "jsonl"
path = "memory-crm.jsonl"

[connectors.db]
kind = "postgres_table"
url = "{url}"
table = "kontakte"
key = "id"
change_log = true

[map.crm.contact]
id = "id"
fields = {{ name = "name", phones = "phones", city = "city" }}

[map.db.contact]
id = "id"
[map.db.contact.fields]
name = {{ from = ["vorname", "nachname"], join = " ", direction = "pull" }}
phones = "telefon"
city = "ort"

[jobs.sync]
sync = ["crm", "db"]
"#,
        url = db.url
    );
    let mut hub = Hub::on(":memory:", &config, &[("crm", MemoryOptions::default())]);
    let mut install = einklang_connectors::open(
        "db",
        "postgres_table",
        &hub.config.connectors["db"].settings,
        std::path::Path::new("."),
    )
    .unwrap();
    install.install().unwrap();
    let crm = hub.remote("crm").insert(raw(
        json!({"name": "Anna Novak", "city": "Ljubljana", "phones": ["+386 41 123 456"]}),
    ));
    let r = hub.sync("sync");
    assert_eq!(count(&r, "created"), 2, "{:#?}", r.counters);
    let (_, jurgen) = hub.find("crm", "name", "Jürgen Müller");
    assert_eq!(
        (jurgen["city"].clone(), jurgen["phones"].clone()),
        (json!("München"), json!(["+49891234567"]))
    );
    let row = admin
        .query_one("SELECT ort, telefon FROM kontakte WHERE id = 'ek-1'", &[])
        .unwrap();
    assert_eq!(
        (row.get::<_, String>(0), row.get::<_, Vec<String>>(1)),
        ("Ljubljana".into(), vec!["+38641123456".to_string()])
    );
    assert_quiet(&hub.sync("sync"));
    // a change in the table reaches the CRM, one in the CRM the table
    admin
        .batch_execute("UPDATE kontakte SET ort = 'Augsburg' WHERE id = 'k1'")
        .unwrap();
    hub.remote("crm")
        .update(&crm, raw(json!({"city": "Maribor"})));
    let r = hub.sync("sync");
    assert_eq!(count(&r, "pushed_update"), 2, "{:#?}", r.counters);
    assert_eq!(
        hub.find("crm", "name", "Jürgen Müller").1["city"],
        json!("Augsburg")
    );
    let ort: String = admin
        .query_one("SELECT ort FROM kontakte WHERE id = 'ek-1'", &[])
        .unwrap()
        .get(0);
    assert_eq!(ort, "Maribor");
    assert_quiet(&hub.sync("sync"));
    // a row deleted in the table is deleted in the CRM
    admin
        .batch_execute("DELETE FROM kontakte WHERE id = 'k1'")
        .unwrap();
    let r = hub.sync("sync");
    assert_eq!(count(&r, "deleted"), 1, "{:#?}", r.counters);
    assert_eq!(hub.remote("crm").len(), 1);
    assert_quiet(&hub.sync("sync"));
}

/// Exclusive runs on the PostgreSQL store: a run another machine holds
/// refuses this one (with --wait it waits it out), and a holder that died
/// on another machine is taken over once its lease expires, its run then
/// `abandoned`.
#[test]
fn runs_are_exclusive_on_postgres_across_machines() {
    let Some(db) = PgDb::new("sync_leases") else {
        return;
    };
    let mut hub = Hub::on(
        &db.url,
        TWO_WAY,
        &[
            ("espo", MemoryOptions::default()),
            ("advo", MemoryOptions::default()),
        ],
    );
    hub.remote("espo").insert(raw(json!({"name": "Anna"})));
    let mut other = einklang_store::open(&db.url).unwrap();
    let run = other
        .start_run(
            "default",
            &einklang_store::NewRun {
                job: "sync".into(),
                source: einklang_store::RunSource::Manual,
                triggered_by: "elsewhere".into(),
            },
        )
        .unwrap();
    let request = |ttl: u64| einklang_store::LeaseRequest {
        names: vec!["job:sync".into()],
        holder: "remote-holder".into(),
        job: "sync".into(),
        triggered_by: "elsewhere".into(),
        pid: 4242,
        host: "another-machine".into(),
        ttl: std::time::Duration::from_secs(ttl),
    };
    other
        .acquire_leases("default", &request(2))
        .unwrap()
        .unwrap();
    other.attach_run("default", "remote-holder", run).unwrap();
    let refused = hub.run("sync", hub.options()).unwrap_err();
    let message = refused.to_string();
    assert!(
        matches!(refused, einklang_engine::EngineError::Busy { .. }),
        "{message}"
    );
    assert!(
        message.contains(&format!("run {run}")) && message.contains("another-machine"),
        "{message}"
    );
    assert_eq!(hub.remote("advo").len(), 0, "the refused run wrote nothing");
    // the other machine died: its lease expires, this run takes over
    let mut options = hub.options();
    options.lease.wait = Some(std::time::Duration::from_secs(10));
    let r = hub.run("sync", options).unwrap();
    assert_eq!(
        r.status,
        einklang_store::RunStatus::Succeeded,
        "{:?}",
        r.errors
    );
    assert_eq!(hub.remote("advo").len(), 1);
    let dead = other.run("default", run).unwrap().unwrap();
    assert_eq!(dead.status, einklang_store::RunStatus::Abandoned);
    assert!(
        other.leases("default").unwrap().is_empty(),
        "the run gave its leases back"
    );
}
