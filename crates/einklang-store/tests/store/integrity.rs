//! The store's invariants on both stores (`einklang doctor`): each
//! inconsistency made on purpose (by store calls or raw SQL), found with
//! its ids, repaired where that is safe and then found no more, and left
//! alone (still found) where it is not.

use super::*;
use einklang_store::lease::hostname;
use std::collections::BTreeMap;
use std::time::Duration;

/// Runs raw SQL on a second connection to the store.
type Raw<'a> = &'a mut dyn FnMut(&str);

/// Like `both`, with a second connection for raw SQL that breaks things.
fn both_raw(case: fn(&mut dyn HubStore, Raw<'_>)) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("hub.db");
    let mut store = open(path.to_str().unwrap()).unwrap();
    let raw = rusqlite::Connection::open(&path).unwrap();
    case(store.as_mut(), &mut |sql| raw.execute_batch(sql).unwrap());
    if let Some(db) = einklang_testkit::PgDb::new("einklang_store") {
        let mut pg = open(&db.url).unwrap();
        let mut client = ::postgres::Client::connect(&db.url, ::postgres::NoTls).unwrap();
        case(pg.as_mut(), &mut |sql| client.batch_execute(sql).unwrap());
    }
}

fn options() -> IntegrityOptions {
    IntegrityOptions::default()
}

/// What the checks find, as (check → example ids), leaving out what holds.
fn found(s: &mut dyn HubStore, tenant: &str) -> BTreeMap<Check, Vec<String>> {
    let findings = s.check_integrity(tenant, &options()).unwrap();
    assert_eq!(findings.len(), Check::ALL.len());
    findings
        .into_iter()
        .filter(|f| f.count > 0)
        .map(|f| {
            assert_eq!(f.count as usize, f.examples.len(), "{f:?}");
            (f.check, f.examples)
        })
        .collect()
}

fn ids(ids: &[i64]) -> Vec<String> {
    ids.iter().map(i64::to_string).collect()
}

/// Run every repair; returns what each fixed (non-zero only).
fn repair_all(s: &mut dyn HubStore) -> BTreeMap<Check, u64> {
    let run = new_run(s);
    Check::ALL
        .into_iter()
        .map(|c| (c, s.repair_integrity("t1", run, c, &options()).unwrap()))
        .filter(|(_, n)| *n > 0)
        .collect()
}

/// Contacts "1", "2", ... on `crm`: their record ids and link ids.
fn contacts(s: &mut dyn HubStore, n: usize) -> (Vec<RecordId>, Vec<i64>) {
    let run = new_run(s);
    let changes: Vec<Change> = (1..=n)
        .map(|i| create(&i.to_string(), fields(json!({"name": format!("N{i}")}))))
        .collect();
    let records = s.apply("t1", run, &changes).unwrap();
    let links = records
        .iter()
        .map(|&r| s.links_of("t1", r).unwrap()[0].id)
        .collect();
    (records, links)
}

fn merge(s: &mut dyn HubStore, survivor: RecordId, merged: RecordId) -> i64 {
    let version = |s: &mut dyn HubStore, id| {
        s.load_records("t1", &[id]).unwrap()[0]
            .as_ref()
            .unwrap()
            .version
    };
    let m = MergeWrite {
        entity: "contact".into(),
        survivor,
        merged,
        expect_versions: (version(s, survivor), version(s, merged)),
        values: fields(json!({"name": "merged"})),
        probability: 0.99,
        reason: "auto".into(),
    };
    let run = new_run(s);
    s.merge("t1", run, &m).unwrap()
}

fn tombstone(record: RecordId, dirty: bool) -> SyncBatch {
    let mut history = FieldChanges::new();
    history.insert(
        "_deleted".into(),
        FieldChange {
            old: json!(false),
            new: json!(true),
        },
    );
    SyncBatch {
        records: vec![RecordWrite {
            record_id: record,
            values: None,
            deleted: Some(true),
            origin: "crm".into(),
            history,
        }],
        dirty: if dirty {
            vec![(record, None)]
        } else {
            Vec::new()
        },
        ..Default::default()
    }
}

fn state(link: i64, status: LinkStatus) -> LinkChange {
    LinkChange::State {
        link_id: link,
        status,
        attempts: 0,
        next_attempt_at: None,
        last_error: None,
    }
}

fn entry(link: i64, record: RecordId, key: &str, state: &str) -> OutboxEntry {
    OutboxEntry {
        id: 0,
        link_id: link,
        record_id: record,
        connector: "crm".into(),
        entity: "contact".into(),
        op: OutboxOp::Update,
        idem_key: key.into(),
        payload: Default::default(),
        new_base: Fields::new(),
        target: "x".into(),
        expected_version: None,
        state: state.into(),
    }
}

fn status_of(s: &mut dyn HubStore, record: RecordId) -> LinkStatus {
    s.links_of("t1", record).unwrap()[0].status
}

#[test]
fn a_healthy_store_passes_every_check_and_tenants_stay_apart() {
    both_raw(|s, raw| {
        let (records, links) = contacts(s, 3);
        merge(s, records[0], records[1]);
        let run = new_run(s);
        let batch = SyncBatch {
            outbox: vec![OutboxWrite::Queue(entry(
                links[2], records[2], "k1", "sending",
            ))],
            ..tombstone(records[2], true)
        };
        s.apply_sync("t1", run, &batch).unwrap();
        let lease = LeaseRequest {
            names: vec!["job:x".into()],
            holder: "me".into(),
            job: "x".into(),
            triggered_by: "test".into(),
            pid: std::process::id(),
            host: hostname(),
            ttl: Duration::from_secs(60),
        };
        s.acquire_leases("t1", &lease).unwrap().unwrap();
        s.attach_run("t1", "me", run).unwrap();
        // another tenant's broken row
        raw("INSERT INTO match_keyed (record_id, tenant, version) VALUES (999999, 't2', 1)");

        let findings = s.check_integrity("t1", &options()).unwrap();
        let order: Vec<Check> = findings.iter().map(|f| f.check).collect();
        assert_eq!(order, Check::ALL);
        for f in &findings {
            assert!(!f.is_problem() && f.count == 0, "{f:?}");
            assert!(f.examples.is_empty());
        }
        let keyed = &findings[Check::ALL
            .iter()
            .position(|c| *c == Check::MatchKeyedOfMissing)
            .unwrap()];
        assert_eq!(keyed.message, "every keyed record exists");
        assert_eq!(
            found(s, "t2"),
            [(Check::MatchKeyedOfMissing, ids(&[999999]))].into()
        );
        assert!(repair_all(s).is_empty(), "nothing to repair in t1");
        assert_eq!(found(s, "t2").len(), 1, "t1's repair left t2 alone");
    });
}

#[test]
fn dangling_and_misplaced_links_are_reported_and_left_alone() {
    both_raw(|s, raw| {
        let (records, links) = contacts(s, 3);
        raw(&format!(
            "UPDATE links SET record_id = 999999 WHERE id = {}",
            links[2]
        ));
        merge(s, records[0], records[1]);
        // the merged record's link back on it, as if the merge had missed it
        raw(&format!(
            "UPDATE links SET record_id = {} WHERE id = {}",
            records[1], links[1]
        ));
        let expected: BTreeMap<Check, Vec<String>> = [
            (Check::LinksWithoutRecord, ids(&[links[2]])),
            (Check::LinksOnMergedRecord, ids(&[links[1]])),
        ]
        .into();
        assert_eq!(found(s, "t1"), expected);
        let f = s.check_integrity("t1", &options()).unwrap();
        assert!(f[0].is_problem() && f[0].repair.is_none());
        assert!(
            f[0].message.starts_with("1 link(s) point at"),
            "{}",
            f[0].message
        );
        assert!(repair_all(s).is_empty());
        assert_eq!(found(s, "t1"), expected, "report only");
    });
}

#[test]
fn a_tombstone_whose_clean_link_never_got_its_delete_is_marked_dirty() {
    both(|s| {
        let (records, links) = contacts(s, 3);
        let run = new_run(s);
        // owes: tombstoned, its link left clean
        s.apply_sync("t1", run, &tombstone(records[0], false))
            .unwrap();
        // fine: the tombstone marked the link dirty
        s.apply_sync("t1", run, &tombstone(records[1], true))
            .unwrap();
        // fine: settled clean after the tombstone (on_delete = "ignore")
        s.apply_sync("t1", run, &tombstone(records[2], true))
            .unwrap();
        let settled = SyncBatch {
            links: vec![state(links[2], LinkStatus::Clean)],
            ..Default::default()
        };
        s.apply_sync("t1", run, &settled).unwrap();

        assert_eq!(
            found(s, "t1"),
            [(Check::TombstonesOwingDelete, ids(&[links[0]]))].into()
        );
        assert_eq!(repair_all(s), [(Check::TombstonesOwingDelete, 1)].into());
        assert_eq!(status_of(s, records[0]), LinkStatus::Dirty);
        let link = &s.links_of("t1", records[0]).unwrap()[0];
        assert!(link
            .last_error
            .as_deref()
            .unwrap()
            .contains("einklang doctor"));
        assert_eq!(status_of(s, records[2]), LinkStatus::Clean, "not touched");
        assert!(found(s, "t1").is_empty());
    });
}

#[test]
fn outbox_entries_without_their_link_are_removed_the_others_reported() {
    both(|s| {
        let (records, links) = contacts(s, 2);
        let run = new_run(s);
        let batch = SyncBatch {
            outbox: vec![
                OutboxWrite::Queue(entry(links[0], records[0], "fine", "sending")),
                OutboxWrite::Queue(entry(999999, records[0], "orphan", "sending")),
                OutboxWrite::Queue(entry(links[0], records[1], "other", "sending")),
                OutboxWrite::Queue(entry(links[1], records[1], "held", "unknown")),
            ],
            ..Default::default()
        };
        s.apply_sync("t1", run, &batch).unwrap();
        let outbox = s.outbox("t1", "crm", "contact").unwrap();
        let id_of = |key: &str| outbox.iter().find(|e| e.idem_key == key).unwrap().id;
        let findings = s.check_integrity("t1", &options()).unwrap();
        let held = findings
            .iter()
            .find(|f| f.check == Check::OutboxUnknown)
            .unwrap();
        assert!(held.info && !held.is_problem(), "{held:?}");
        assert!(
            held.message.contains("the oldest since"),
            "{}",
            held.message
        );
        assert_eq!(
            found(s, "t1"),
            [
                (Check::OutboxWithoutLink, ids(&[id_of("orphan")])),
                (Check::OutboxOtherRecord, ids(&[id_of("other")])),
                (Check::OutboxUnknown, ids(&[id_of("held")])),
            ]
            .into()
        );
        assert_eq!(repair_all(s), [(Check::OutboxWithoutLink, 1)].into());
        let left: Vec<String> = s
            .outbox("t1", "crm", "contact")
            .unwrap()
            .into_iter()
            .map(|e| e.idem_key)
            .collect();
        assert_eq!(left, ["fine", "other", "held"]);
        assert_eq!(found(s, "t1").len(), 2);
    });
}

#[test]
fn merges_and_merged_into_must_agree() {
    both_raw(|s, raw| {
        let (r, _) = contacts(s, 5);
        merge(s, r[0], r[1]);
        let broken = merge(s, r[2], r[3]);
        raw(&format!(
            "UPDATE records SET merged_into = NULL WHERE id = {}",
            r[3]
        ));
        // merged into r[0] without a merge (its link now on a merged record)
        raw(&format!(
            "UPDATE records SET merged_into = {} WHERE id = {}",
            r[0], r[4]
        ));
        let links = s.links_of("t1", r[4]).unwrap();
        assert_eq!(
            found(s, "t1"),
            [
                (Check::LinksOnMergedRecord, ids(&[links[0].id])),
                (Check::MergesNotInPlace, ids(&[broken])),
                (Check::MergedWithoutMerge, ids(&[r[4]])),
            ]
            .into()
        );
        assert!(repair_all(s).is_empty(), "report only");
        assert_eq!(found(s, "t1").len(), 3);
    });
}

#[test]
fn match_keys_of_gone_records_are_deleted_once_the_matcher_has_passed_them() {
    both_raw(|s, raw| {
        let (r, _) = contacts(s, 2);
        let cursor = s.last_history_id("t1").unwrap();
        let keys = [(r[0], vec![1, 2]), (r[1], vec![2, 3])];
        s.set_match_keys("t1", "contact", &keys, true, Some(("sig", cursor)))
            .unwrap();
        let run = new_run(s);
        s.apply_sync("t1", run, &tombstone(r[1], true)).unwrap();
        raw("INSERT INTO match_keys (tenant, entity, key, record_id) VALUES ('t1', 'contact', 9, 888888)");
        raw("INSERT INTO match_keyed (record_id, tenant, version) VALUES (999999, 't1', 1)");
        // the tombstone is after the keys' cursor: the matcher's next refresh drops its keys
        assert_eq!(
            found(s, "t1"),
            [
                (Check::MatchKeysOfGone, ids(&[888888])),
                (Check::MatchKeyedOfMissing, ids(&[999999])),
            ]
            .into()
        );
        // the matcher passed it (cursor moved) without dropping its keys
        let now = s.last_history_id("t1").unwrap();
        s.set_match_keys("t1", "contact", &[], false, Some(("sig", now)))
            .unwrap();
        assert_eq!(
            found(s, "t1")[&Check::MatchKeysOfGone],
            ids(&[r[1], 888888])
        );
        assert_eq!(
            repair_all(s),
            [(Check::MatchKeysOfGone, 3), (Check::MatchKeyedOfMissing, 1)].into()
        );
        assert!(found(s, "t1").is_empty());
        assert_eq!(
            s.key_counts("t1", "contact", &[1, 2, 3]).unwrap(),
            [1, 1, 0]
        );
    });
}

#[test]
fn stale_leases_and_runs_of_dead_processes_are_ended() {
    both(|s| {
        let lease = |holder: &str, names: &[&str], pid: u32| LeaseRequest {
            names: names.iter().map(|n| n.to_string()).collect(),
            holder: holder.into(),
            job: "x".into(),
            triggered_by: "test".into(),
            pid,
            host: hostname(),
            ttl: Duration::from_secs(60),
        };
        // a process that cannot exist on this host held these
        s.acquire_leases(
            "t1",
            &lease("dead", &["job:x", "entity:contact"], u32::MAX - 1),
        )
        .unwrap()
        .unwrap();
        let lost = new_run(s);
        s.attach_run("t1", "dead", lost).unwrap();
        s.acquire_leases("t1", &lease("me", &["job:y"], std::process::id()))
            .unwrap()
            .unwrap();
        let mine = new_run(s);
        s.attach_run("t1", "me", mine).unwrap();
        let young = new_run(s); // no lease yet, within the grace

        assert_eq!(
            found(s, "t1"),
            [
                (
                    Check::StaleLeases,
                    vec!["entity:contact".into(), "job:x".into()]
                ),
                (Check::RunsWithoutLease, ids(&[lost])),
            ]
            .into()
        );
        let run = new_run(s);
        let fixed = s
            .repair_integrity("t1", run, Check::StaleLeases, &options())
            .unwrap();
        assert_eq!(fixed, 2);
        assert_eq!(
            s.run("t1", lost).unwrap().unwrap().status,
            RunStatus::Abandoned
        );
        let held: Vec<String> = s
            .leases("t1")
            .unwrap()
            .into_iter()
            .map(|l| l.name)
            .collect();
        assert_eq!(held, ["job:y"]);
        assert!(found(s, "t1").is_empty());

        // past the grace, a run without a lease is over
        let no_grace = IntegrityOptions {
            grace: Duration::ZERO,
            ..options()
        };
        std::thread::sleep(Duration::from_millis(20));
        let f = s.check_integrity("t1", &no_grace).unwrap();
        let runs = f
            .iter()
            .find(|f| f.check == Check::RunsWithoutLease)
            .unwrap();
        assert_eq!(runs.examples, ids(&[young, run]));
        assert_eq!(
            s.repair_integrity("t1", run, Check::RunsWithoutLease, &no_grace)
                .unwrap(),
            2
        );
        assert_eq!(
            s.run("t1", young).unwrap().unwrap().status,
            RunStatus::Abandoned
        );
        assert_eq!(
            s.run("t1", mine).unwrap().unwrap().status,
            RunStatus::Running
        );
    });
}

#[test]
fn open_conflicts_without_their_link_or_record_are_reported() {
    both_raw(|s, raw| {
        let (r, links) = contacts(s, 3);
        let conflict = |record, link| NewConflict {
            record_id: record,
            entity: "contact".into(),
            link_id: link,
            connector: "crm".into(),
            field: "name".into(),
            hub_value: json!("a"),
            remote_value: json!("b"),
            policy: "review".into(),
            resolution: "held".into(),
        };
        let run = new_run(s);
        let batch = SyncBatch {
            conflicts: vec![
                conflict(r[0], links[0]),
                conflict(r[1], links[1]),
                // made on r[1] for a link of r[2]
                conflict(r[1], links[2]),
            ],
            ..Default::default()
        };
        s.apply_sync("t1", run, &batch).unwrap();
        let open = s.conflicts("t1", true, 10).unwrap();
        let id_of = |link: i64| open.iter().find(|c| c.link_id == link).unwrap().id;
        let (elsewhere, gone) = (id_of(links[2]), id_of(links[1]));
        assert_eq!(
            found(s, "t1"),
            [(Check::ConflictsAdrift, ids(&[elsewhere]))].into()
        );
        raw(&format!(
            "UPDATE conflicts SET link_id = 999999 WHERE id = {gone}"
        ));
        let mut adrift = vec![elsewhere, gone];
        adrift.sort_unstable();
        assert_eq!(
            found(s, "t1"),
            [(Check::ConflictsAdrift, ids(&adrift))].into()
        );
        assert!(repair_all(s).is_empty(), "report only");
        assert_eq!(found(s, "t1").len(), 1);
    });
}
