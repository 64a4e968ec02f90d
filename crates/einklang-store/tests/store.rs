//! One test suite for both hub stores: every case runs against SQLite (a
//! temporary file) and against the real PostgreSQL named by
//! `EINKLANG_TEST_PG` (a fresh database per case). Without that variable the
//! PostgreSQL half is skipped with a note, and fails when `CI=true`.

use einklang_core::{content_hash, ContentHash, Fields};
use einklang_store::*;
use serde_json::json;

fn fields(v: serde_json::Value) -> Fields {
    v.as_object().unwrap().clone().into_iter().collect()
}

fn both(case: fn(&mut dyn HubStore)) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("hub.db");
    let mut store = open(path.to_str().unwrap()).unwrap();
    case(store.as_mut());
    if let Some(db) = einklang_testkit::PgDb::new("einklang_store") {
        let mut pg = open(&db.url).unwrap();
        case(pg.as_mut());
    }
}

fn link(id: &str, values: &Fields) -> LinkWrite {
    LinkWrite {
        connector: "crm".into(),
        external_id: id.into(),
        base: values.clone(),
        content_hash: content_hash(values),
        version: Some(format!("v-{id}")),
    }
}

fn history_of(values: &Fields) -> FieldChanges {
    values
        .iter()
        .map(|(k, v)| {
            (
                k.clone(),
                FieldChange {
                    old: serde_json::Value::Null,
                    new: v.clone(),
                },
            )
        })
        .collect()
}

fn create(id: &str, values: Fields) -> Change {
    Change::Create {
        entity: "contact".into(),
        link: link(id, &values),
        history: history_of(&values),
        values,
    }
}

fn new_run(store: &mut dyn HubStore) -> RunId {
    store
        .start_run(
            "t1",
            &NewRun {
                job: "crm".into(),
                source: RunSource::Manual,
                triggered_by: "test".into(),
            },
        )
        .unwrap()
}

/// `load_records` answers in the order asked, an id named twice twice
/// (two links of one connector can lead to one merged record).
#[test]
fn load_records_answers_each_id_asked_in_order() {
    both(|s| {
        let run = new_run(s);
        let ids = s
            .apply(
                "t1",
                run,
                &[
                    create("1", fields(json!({"name": "A"}))),
                    create("2", fields(json!({"name": "B"}))),
                ],
            )
            .unwrap();
        let asked = [ids[1], ids[0], 999_999, ids[1]];
        let states = s.load_records("t1", &asked).unwrap();
        let got: Vec<Option<i64>> = states.iter().map(|s| s.as_ref().map(|s| s.id)).collect();
        assert_eq!(got, [Some(ids[1]), Some(ids[0]), None, Some(ids[1])]);
        assert_eq!(states[3].as_ref().unwrap().values["name"], json!("B"));
    });
}

#[test]
fn migrate_is_idempotent() {
    both(|s| {
        s.migrate().unwrap();
        s.migrate().unwrap();
        assert_eq!(s.count_records("t1", "contact").unwrap(), 0);
    });
}

#[test]
fn create_find_load_update_round_trip() {
    both(|s| {
        let run = new_run(s);
        let anna = fields(json!({"first_name": "Anna", "email": "anna@novak.si"}));
        let ids = s
            .apply(
                "t1",
                run,
                &[
                    create("7", anna.clone()),
                    create("8", fields(json!({"first_name": "Jürgen"}))),
                ],
            )
            .unwrap();
        assert_eq!(ids.len(), 2);
        let keys = s
            .find_links("t1", "crm", "contact", &["8", "nope", "7"])
            .unwrap();
        assert!(keys[1].is_none());
        let key7 = keys[2].clone().unwrap();
        assert_eq!(
            (key7.record_id, key7.content_hash, key7.version.as_deref()),
            (ids[0], content_hash(&anna), Some("v-7"))
        );
        assert!(
            s.find_links("t2", "crm", "contact", &["7"]).unwrap()[0].is_none(),
            "tenants are separate"
        );
        let loaded = s
            .load_for_update("t1", std::slice::from_ref(&key7))
            .unwrap()
            .remove(0)
            .unwrap();
        assert_eq!(
            (
                loaded.values.clone(),
                loaded.base.clone(),
                loaded.entity.as_str()
            ),
            (anna.clone(), anna.clone(), "contact")
        );

        let run2 = new_run(s);
        let newer = fields(json!({"first_name": "Ana", "email": "anna@novak.si"}));
        let mut history = FieldChanges::new();
        history.insert(
            "first_name".into(),
            FieldChange {
                old: json!("Anna"),
                new: json!("Ana"),
            },
        );
        let update = Change::Update {
            record_id: key7.record_id,
            link_id: key7.link_id,
            values: newer.clone(),
            link: link("7", &newer),
            history,
        };
        s.apply("t1", run2, &[update]).unwrap();
        let rec = s.record("t1", "contact", key7.record_id).unwrap().unwrap();
        assert_eq!(rec.values, newer);
        assert!(rec.updated_at >= rec.created_at);
        assert!(s.record("t1", "company", key7.record_id).unwrap().is_none());
        let hist = s.history_of("t1", key7.record_id).unwrap();
        assert_eq!(hist.len(), 2);
        assert_eq!(
            (hist[0].run_id, hist[1].run_id, hist[1].origin.as_str()),
            (run, run2, "crm")
        );
        assert_eq!(
            hist[1].changes["first_name"],
            FieldChange {
                old: json!("Anna"),
                new: json!("Ana")
            }
        );
        assert_eq!(hist[0].changes["email"].new, json!("anna@novak.si"));
        let links = s.links_of("t1", key7.record_id).unwrap();
        assert_eq!(links.len(), 1);
        assert_eq!(
            (
                links[0].external_id.as_str(),
                links[0].status,
                links[0].base.clone()
            ),
            ("7", LinkStatus::Clean, newer.clone())
        );
        assert_eq!(
            links[0].content_hash,
            format!("{:032x}", content_hash(&newer).0)
        );
        assert_eq!(
            s.find_links("t1", "crm", "contact", &["7"]).unwrap()[0]
                .as_ref()
                .unwrap()
                .content_hash,
            content_hash(&newer)
        );
    });
}

#[test]
fn one_link_per_external_id() {
    both(|s| {
        let run = new_run(s);
        s.apply("t1", run, &[create("1", fields(json!({"a": 1})))])
            .unwrap();
        assert!(s
            .apply(
                "t1",
                run,
                &[
                    create("2", fields(json!({"a": 2}))),
                    create("1", fields(json!({"a": 3})))
                ]
            )
            .is_err());
        // the failed batch left nothing behind
        assert_eq!(s.count_records("t1", "contact").unwrap(), 1);
    });
}

#[test]
fn runs_and_quarantine() {
    both(|s| {
        let run = new_run(s);
        assert_eq!(
            s.run("t1", run).unwrap().unwrap().status,
            RunStatus::Running
        );
        let bad = NewQuarantine {
            connector: "crm".into(),
            entity: "contact".into(),
            external_id: None,
            position: "line 4".into(),
            raw: "4;too;many\tfields\\here\0".into(),
            reason: "expected 3 fields".into(),
        };
        s.quarantine("t1", run, std::slice::from_ref(&bad)).unwrap();
        let mut counters = Counters::new();
        counters.insert("created".into(), 2);
        s.finish_run(
            "t1",
            run,
            &RunOutcome {
                status: RunStatus::Partial,
                counters: counters.clone(),
                errors: vec!["oops".into()],
            },
        )
        .unwrap();
        let other = new_run(s);
        let runs = s.runs("t1", 10).unwrap();
        assert_eq!(runs.iter().map(|r| r.id).collect::<Vec<_>>(), [other, run]);
        let done = s.run("t1", run).unwrap().unwrap();
        assert_eq!(
            (done.status, done.counters, done.errors, done.job.as_str()),
            (
                RunStatus::Partial,
                counters,
                vec!["oops".to_string()],
                "crm"
            )
        );
        assert!(done.finished_at.is_some());
        assert!(s.runs("t2", 10).unwrap().is_empty());
        let q = s.quarantined("t1", Some(run), 10).unwrap();
        assert_eq!(q.len(), 1);
        assert_eq!(
            (q[0].position.as_str(), q[0].reason.as_str()),
            ("line 4", "expected 3 fields")
        );
        assert!(q[0].raw.starts_with("4;too;many\tfields\\here"));
        assert!(s.quarantined("t1", Some(other), 10).unwrap().is_empty());
        assert_eq!(s.quarantined("t1", None, 10).unwrap().len(), 1);
    });
}

/// `interval` and `notify` (the watch loop's sources) are stored in the
/// text column as they are and read back: no migration needed.
#[test]
fn every_run_source_round_trips() {
    both(|s| {
        for (source, by) in [
            (RunSource::Manual, "cli"),
            (RunSource::Schedule, "scheduler"),
            (RunSource::Webhook, "webhook:crm#d-1"),
            (RunSource::Api, "api:eva"),
            (RunSource::Interval, "interval:60s"),
            (RunSource::Notify, "notify:db"),
        ] {
            let new = NewRun {
                job: "crm".into(),
                source,
                triggered_by: by.into(),
            };
            let id = s.start_run("t1", &new).unwrap();
            let run = s.run("t1", id).unwrap().unwrap();
            assert_eq!((run.source, run.triggered_by.as_str()), (source, by));
            assert_eq!(RunSource::parse(source.as_str()), Some(source));
        }
    });
}

#[test]
fn source_fingerprints() {
    both(|s| {
        assert_eq!(s.source_fingerprint("t1", "crm", "contact").unwrap(), None);
        s.set_source_fingerprint("t1", "crm", "contact", "xxh3:1")
            .unwrap();
        s.set_source_fingerprint("t1", "crm", "contact", "xxh3:2")
            .unwrap();
        assert_eq!(
            s.source_fingerprint("t1", "crm", "contact")
                .unwrap()
                .as_deref(),
            Some("xxh3:2")
        );
        assert_eq!(s.source_fingerprint("t1", "crm", "company").unwrap(), None);
    });
}

#[test]
fn large_batch_and_odd_text() {
    both(|s| {
        let run = new_run(s);
        let changes: Vec<Change> = (0..5000)
            .map(|i| {
                create(
                    &format!("id-{i}"),
                    fields(json!({"name": format!("Zoë\t\"{i}\"\n\\ž"), "n": i})),
                )
            })
            .collect();
        let ids = s.apply("t1", run, &changes).unwrap();
        assert_eq!(ids.len(), 5000);
        assert_eq!(s.count_records("t1", "contact").unwrap(), 5000);
        let rec = s.record("t1", "contact", ids[4999]).unwrap().unwrap();
        assert_eq!(rec.values["name"], json!("Zoë\t\"4999\"\n\\ž"));
        let keys = s
            .find_links("t1", "crm", "contact", &["id-0", "id-4999"])
            .unwrap();
        assert_eq!(keys[1].as_ref().unwrap().record_id, ids[4999]);
        assert_ne!(keys[0].as_ref().unwrap().content_hash, ContentHash(0));
    });
}

#[path = "store/history.rs"]
mod history;
#[path = "store/identity.rs"]
mod identity;
#[path = "store/ignored.rs"]
mod ignored;
#[path = "store/integrity.rs"]
mod integrity;
#[path = "store/lease.rs"]
mod lease;
#[path = "store/listings.rs"]
mod listings;
#[path = "store/queue.rs"]
mod queue;
#[path = "store/staging.rs"]
mod staging;
#[path = "store/sync.rs"]
mod sync;
