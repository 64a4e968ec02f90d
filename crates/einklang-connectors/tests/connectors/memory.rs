//! The in-process connector: server ids, faults, options and call counts.

use crate::{create, delete, obj, update, update_if};
use einklang_connectors::memory::{Calls, MemoryOptions, MemoryRemote};
use einklang_connectors::{Connector, Listed, Lookup, ReadItem, WriteErrorKind, WriteOp};
use serde_json::json;

/// `n` records inserted through the handle, `{"n": i}`.
fn insert_n(remote: &MemoryRemote, n: usize) -> Vec<String> {
    (0..n)
        .map(|i| remote.insert(obj(json!({"n": i}))))
        .collect()
}

fn setup(options: MemoryOptions) -> (MemoryRemote, impl Connector) {
    let remote = MemoryRemote::new(options);
    let connector = remote.connector("mem");
    (remote, connector)
}

#[test]
fn memory_assigns_ids_and_finds_a_create_whose_answer_was_lost() {
    let (remote, mut c) = setup(MemoryOptions::default());
    assert!(!c.capabilities().client_ids);
    remote.lose_next_answers(1);
    let lost = c
        .write("id", &[create("ek-1", json!({"name": "Anna"}))])
        .unwrap();
    let err = lost[0].as_ref().unwrap_err();
    assert_eq!(err.kind, WriteErrorKind::Transient);
    assert!(
        err.message
            .starts_with("connector `mem`: create of `ek-1`:"),
        "{}",
        err.message
    );
    assert_eq!(remote.len(), 1, "the write was carried out");
    let found = c.find_created("id", "ek-1").unwrap().found().unwrap();
    assert_eq!(found.id, "m-1");
    assert_eq!(found.version, remote.version_of("m-1"));
    assert_eq!(
        remote.get("m-1").unwrap(),
        obj(json!({"id": "m-1", "name": "Anna"}))
    );
    assert_eq!(c.find_created("id", "ek-2").unwrap(), Lookup::Absent);
    // Without client ids a re-sent create makes a second record.
    let again = c.write("id", &[create("ek-1", json!({}))]).unwrap();
    assert_eq!(again[0].as_ref().unwrap().id, "m-2");
    assert_eq!(remote.calls().find_created, 2);
}

#[test]
fn memory_with_client_ids_uses_the_marker_and_does_not_duplicate() {
    let (remote, mut c) = setup(MemoryOptions {
        client_ids: true,
        ..MemoryOptions::default()
    });
    for note in ["a", "b"] {
        let r = c
            .write("id", &[create("ek-7", json!({"note": note}))])
            .unwrap();
        assert_eq!(r[0].as_ref().unwrap().id, "ek-7");
    }
    assert_eq!(remote.records().len(), 1);
    assert_eq!(remote.get("ek-7").unwrap()["note"], json!("b"));
}

#[test]
fn memory_forbids_deletes_when_told() {
    let (remote, mut c) = setup(MemoryOptions {
        deletes: false,
        ..MemoryOptions::default()
    });
    let id = remote.insert(obj(json!({"name": "Anna"})));
    assert!(!c.capabilities().delete);
    let r = c.write("id", &[delete(&id), delete("missing")]).unwrap();
    for result in r {
        assert_eq!(result.unwrap_err().kind, WriteErrorKind::Forbidden);
    }
    assert!(remote.get(&id).is_some());
    assert_eq!(remote.calls().deletes, 2);
}

#[test]
fn memory_drops_fields_it_cannot_write() {
    let writable = Some(vec!["name".to_string()]);
    let (remote, mut c) = setup(MemoryOptions {
        writable: writable.clone(),
        ..MemoryOptions::default()
    });
    assert_eq!(c.capabilities().writable, writable);
    let r = c.write("id", &[create("ek-1", json!({"name": "A", "secret": 1}))]);
    let id = r.unwrap().remove(0).unwrap().id;
    c.write("id", &[update(&id, json!({"name": "B", "secret": 2}))])
        .unwrap()
        .remove(0)
        .unwrap();
    assert_eq!(
        remote.get(&id).unwrap(),
        obj(json!({"id": id, "name": "B"}))
    );
}

#[test]
fn memory_fail_next_fails_without_writing() {
    let (remote, mut c) = setup(MemoryOptions::default());
    let rate_limited = WriteErrorKind::RateLimited {
        retry_after_secs: Some(30),
    };
    remote.fail_next(rate_limited.clone(), 2);
    let ops: Vec<WriteOp> = (1..=3)
        .map(|i| create(&format!("ek-{i}"), json!({})))
        .collect();
    let r = c.write("id", &ops).unwrap();
    assert_eq!(r[0].as_ref().unwrap_err().kind, rate_limited);
    assert_eq!(r[1].as_ref().unwrap_err().kind, rate_limited);
    assert_eq!(r[2].as_ref().unwrap().id, "m-1");
    assert_eq!(remote.len(), 1);
    assert_eq!(c.find_created("id", "ek-1").unwrap(), Lookup::Absent);
}

#[test]
fn memory_lists_ids_and_versions_and_fetches_by_id() {
    let (remote, mut c) = setup(MemoryOptions::default());
    let ids = insert_n(&remote, 3);
    let listed = c.list().unwrap();
    let want: Vec<Listed> = ids
        .iter()
        .map(|id| Listed {
            id: id.clone(),
            version: remote.version_of(id),
        })
        .collect();
    assert_eq!(listed, want);
    let old = remote.version_of(&ids[1]).unwrap();
    assert!(remote.update(&ids[1], obj(json!({"n": null, "m": 1}))));
    let new = remote.version_of(&ids[1]).unwrap();
    assert!(new.parse::<u64>().unwrap() > old.parse::<u64>().unwrap());
    let fetched = c.fetch(&[ids[1].clone(), "gone".into()]).unwrap();
    let [ReadItem::Record(r)] = fetched.as_slice() else {
        panic!("{fetched:?}")
    };
    assert_eq!(r.position, format!("id {}", ids[1]));
    assert_eq!(r.fields, obj(json!({"id": ids[1], "m": 1})));
    assert_eq!(r.version, Some(new));
    let calls = remote.calls();
    assert_eq!(
        (calls.list, calls.fetch, calls.fetched, calls.read),
        (1, 1, 1, 0)
    );
}

#[test]
fn memory_without_list_versions_cannot_list() {
    let (_remote, mut c) = setup(MemoryOptions {
        list_versions: false,
        ..MemoryOptions::default()
    });
    assert!(!c.capabilities().list_versions);
    let err = c.list().unwrap_err().to_string();
    assert_eq!(err, "connector `mem` (memory) cannot list ids and versions");
    assert!(c.fetch(&["m-1".into()]).is_err());
}

#[test]
fn memory_counts_calls_n_changes_make_n_writes() {
    let (remote, mut c) = setup(MemoryOptions::default());
    let ids = insert_n(&remote, 5);
    let _ = c.read().unwrap().count();
    remote.reset_calls();
    let ops: Vec<WriteOp> = ids[..3]
        .iter()
        .map(|id| update(id, json!({"n": 9})))
        .chain([create("ek-1", json!({})), delete(&ids[4])])
        .collect();
    assert!(c.write("id", &ops).unwrap().iter().all(Result::is_ok));
    let want = Calls {
        write_calls: 1,
        creates: 1,
        updates: 3,
        deletes: 1,
        ..Calls::default()
    };
    assert_eq!(remote.calls(), want);
}

#[test]
fn memory_versions_come_from_one_clock_and_the_fingerprint_follows_it() {
    let (remote, mut c) = setup(MemoryOptions {
        fingerprint: true,
        ..MemoryOptions::default()
    });
    let before = c.fingerprint().unwrap().unwrap();
    let a = remote.insert(obj(json!({})));
    let b = remote.insert(obj(json!({})));
    assert_eq!(remote.version_of(&a).as_deref(), Some("1"));
    assert_eq!(remote.version_of(&b).as_deref(), Some("2"));
    let after = c.fingerprint().unwrap().unwrap();
    assert_ne!(before, after);
    remote.remove(&a).unwrap();
    assert_ne!(c.fingerprint().unwrap().unwrap(), after);
    let r = c.write("id", &[update(&b, json!({"x": 1}))]).unwrap();
    assert_eq!(r[0].as_ref().unwrap().version.as_deref(), Some("4"));
    let (_, mut plain) = setup(MemoryOptions::default());
    assert_eq!(plain.fingerprint().unwrap(), None);
}

#[test]
fn memory_create_answer_can_lack_the_version() {
    let (remote, mut c) = setup(MemoryOptions {
        version_in_create_response: false,
        ..MemoryOptions::default()
    });
    let r = c.write("id", &[create("ek-1", json!({}))]).unwrap();
    let outcome = r[0].as_ref().unwrap();
    assert_eq!(outcome.version, None);
    assert!(remote.version_of(&outcome.id).is_some());
}

#[test]
fn memory_conflicts_on_a_stale_version_unless_told_otherwise() {
    for conditional in [true, false] {
        let (remote, mut c) = setup(MemoryOptions {
            conditional_writes: conditional,
            ..MemoryOptions::default()
        });
        let id = remote.insert(obj(json!({"n": 1})));
        let seen = remote.version_of(&id);
        remote.update(&id, obj(json!({"n": 2})));
        let r = c
            .write("id", &[update_if(&id, json!({"n": 3}), seen)])
            .unwrap();
        match conditional {
            true => assert_eq!(r[0].as_ref().unwrap_err().kind, WriteErrorKind::Conflict),
            false => assert!(r[0].is_ok()),
        }
        let n = if conditional { 2 } else { 3 };
        assert_eq!(remote.get(&id).unwrap()["n"], json!(n));
    }
}

#[test]
fn memory_refuses_a_call_bigger_than_its_batch_size() {
    let (remote, mut c) = setup(MemoryOptions {
        batch_size: 2,
        ..MemoryOptions::default()
    });
    assert_eq!(c.capabilities().batch_size, 2);
    let ops: Vec<WriteOp> = (0..3).map(|i| create(&i.to_string(), json!({}))).collect();
    assert!(c.write("id", &ops).is_err());
    assert!(remote.is_empty());
}

#[test]
fn memory_connector_is_a_sendable_boxed_connector() {
    let remote = MemoryRemote::default();
    let mut boxed: Box<dyn Connector> = Box::new(remote.connector("mem"));
    let handle = std::thread::spawn(move || boxed.write("id", &[create("ek", json!({}))]));
    handle.join().unwrap().unwrap().remove(0).unwrap();
    assert_eq!(remote.len(), 1);
    assert_eq!(remote.calls().write_calls, 1);
}

#[test]
fn memory_change_feed_reports_each_changed_id_once_and_deletions() {
    let remote = MemoryRemote::new(MemoryOptions {
        change_feed: true,
        ..MemoryOptions::default()
    });
    let mut c = remote.connector("m");
    assert!(c.capabilities().change_feed);
    let a = remote.insert(json!({"n": 1}).as_object().unwrap().clone());
    let start = c.cursor().unwrap();
    let b = remote.insert(json!({"n": 2}).as_object().unwrap().clone());
    remote.update(&b, json!({"n": 3}).as_object().unwrap().clone());
    remote.update(&b, json!({"n": 4}).as_object().unwrap().clone());
    remote.remove(&a);
    let feed = c.changes(&start).unwrap().unwrap();
    assert_eq!(
        feed.changed,
        vec![einklang_connectors::Listed {
            id: b.clone(),
            version: remote.version_of(&b)
        }]
    );
    assert_eq!(feed.deleted, vec![a]);
    let again = c.changes(&feed.cursor).unwrap().unwrap();
    assert!(again.changed.is_empty() && again.deleted.is_empty());
    assert_eq!(
        c.changes("not a cursor").unwrap(),
        None,
        "an unknown cursor: read in full"
    );
    assert_eq!(remote.calls().changes, 3);
    let plain = MemoryRemote::new(MemoryOptions::default()).connector("p");
    assert!(!plain.capabilities().change_feed);
}
