//! Leases on both stores: all or nothing, expiry and dead processes,
//! abandoned runs, renewal from a second connection, and the fence that
//! stops a run which lost its leases from writing.

use super::*;
use einklang_store::lease::hostname;
use std::time::Duration;

fn request(holder: &str, names: &[&str], ttl_s: u64) -> LeaseRequest {
    LeaseRequest {
        names: names.iter().map(|n| n.to_string()).collect(),
        holder: holder.into(),
        job: "contacts".into(),
        triggered_by: "test".into(),
        pid: std::process::id(),
        host: hostname(),
        ttl: Duration::from_secs(ttl_s),
    }
}

fn names(s: &mut dyn HubStore) -> Vec<(String, String)> {
    s.leases("t1")
        .unwrap()
        .into_iter()
        .map(|l| (l.name, l.holder))
        .collect()
}

fn status(s: &mut dyn HubStore, run: RunId) -> RunStatus {
    s.run("t1", run).unwrap().unwrap().status
}

#[test]
fn leases_are_taken_all_or_nothing() {
    both(|s| {
        let a = request("A", &["job:x", "connector:crm"], 60);
        s.acquire_leases("t1", &a).unwrap().unwrap();
        let b = request("B", &["job:y", "connector:crm"], 60);
        let held = s.acquire_leases("t1", &b).unwrap().unwrap_err();
        assert_eq!(
            (held.name.as_str(), held.holder.as_str()),
            ("connector:crm", "A")
        );
        // B got nothing, not even the free `job:y`
        assert_eq!(
            names(s),
            vec![
                ("connector:crm".into(), "A".into()),
                ("job:x".into(), "A".into())
            ]
        );
        // another tenant is another world
        s.acquire_leases("t2", &b).unwrap().unwrap();
        s.release_leases("t1", "A").unwrap();
        s.acquire_leases("t1", &b).unwrap().unwrap();
        assert_eq!(names(s).len(), 2);
    });
}

#[test]
fn an_expired_lease_is_taken_over_and_its_run_abandoned() {
    both(|s| {
        let run = new_run(s);
        s.acquire_leases("t1", &request("A", &["job:x"], 0))
            .unwrap()
            .unwrap();
        s.attach_run("t1", "A", run).unwrap();
        std::thread::sleep(Duration::from_millis(20));
        s.acquire_leases("t1", &request("B", &["job:x"], 60))
            .unwrap()
            .unwrap();
        assert_eq!(status(s, run), RunStatus::Abandoned);
        let errors = s.run("t1", run).unwrap().unwrap().errors;
        assert!(
            errors[0].contains("stopped without finishing"),
            "{errors:?}"
        );
        // A learns it lost them
        assert!(!s.renew_leases("t1", "A", Duration::from_secs(60)).unwrap());
        assert!(s.renew_leases("t1", "B", Duration::from_secs(60)).unwrap());
    });
}

#[test]
fn a_dead_process_frees_its_lease_at_once_on_its_own_host_only() {
    both(|s| {
        // a process id above any pid_max: gone
        let mut dead = request("A", &["job:x"], 3600);
        dead.pid = u32::MAX - 7;
        s.acquire_leases("t1", &dead).unwrap().unwrap();
        s.acquire_leases("t1", &request("B", &["job:x"], 60))
            .unwrap()
            .unwrap();
        s.release_leases("t1", "B").unwrap();
        // the same pid on another machine: only its expiry counts
        dead.host = "another-machine".into();
        s.acquire_leases("t1", &dead).unwrap().unwrap();
        let held = s
            .acquire_leases("t1", &request("B", &["job:x"], 60))
            .unwrap()
            .unwrap_err();
        assert_eq!(held.host, "another-machine");
    });
}

#[test]
fn running_runs_without_a_live_lease_are_reaped_after_the_grace() {
    both(|s| {
        let orphan = new_run(s); // its process died before it took a lease
        let leased = new_run(s);
        s.acquire_leases("t1", &request("A", &["job:x"], 60))
            .unwrap()
            .unwrap();
        s.attach_run("t1", "A", leased).unwrap();
        // within the grace nothing happens (a run may be about to attach)
        assert!(s
            .reap_abandoned("t1", Duration::from_secs(60))
            .unwrap()
            .is_empty());
        std::thread::sleep(Duration::from_millis(1100));
        let reaped = s.reap_abandoned("t1", Duration::from_secs(1)).unwrap();
        assert_eq!(reaped, vec![orphan]);
        assert_eq!(status(s, orphan), RunStatus::Abandoned);
        assert_eq!(status(s, leased), RunStatus::Running);
    });
}

#[test]
fn leases_are_renewed_through_a_second_connection() {
    both(|s| {
        s.acquire_leases("t1", &request("A", &["job:x"], 1))
            .unwrap()
            .unwrap();
        let mut keeper = s.reopen().unwrap().expect("a file or server store reopens");
        let before = s.leases("t1").unwrap()[0].expires_at;
        assert!(keeper
            .renew_leases("t1", "A", Duration::from_secs(3600))
            .unwrap());
        let after = s.leases("t1").unwrap()[0].expires_at;
        assert!(
            after - before > chrono::Duration::seconds(3000),
            "{before} → {after}"
        );
    });
}

#[test]
fn a_fenced_run_that_lost_its_lease_writes_nothing() {
    both(|s| {
        let (run, ids) = {
            let run = new_run(s);
            let ids = s
                .apply("t1", run, &[create("a", fields(json!({"name": "Ann"})))])
                .unwrap();
            (run, ids)
        };
        s.acquire_leases("t1", &request("A", &["job:x"], 1))
            .unwrap()
            .unwrap();
        s.set_fence(Some(Fence {
            holder: "A".into(),
            count: 1,
        }));
        let write = |name: &str| SyncBatch {
            records: vec![RecordWrite {
                record_id: ids[0],
                values: Some(fields(json!({ "name": name }))),
                deleted: None,
                origin: "crm".into(),
                history: FieldChanges::new(),
            }],
            ..Default::default()
        };
        // while the lease holds, writes go through
        s.apply_sync("t1", run, &write("Ann B")).unwrap();
        // it expires and another run takes it over
        std::thread::sleep(Duration::from_millis(1100));
        let mut other = s.reopen().unwrap().unwrap();
        other
            .acquire_leases("t1", &request("B", &["job:x"], 60))
            .unwrap()
            .unwrap();
        let err = s.apply_sync("t1", run, &write("Ann C")).unwrap_err();
        assert!(matches!(err, StoreError::LeaseLost), "{err}");
        let err = s
            .apply("t1", run, &[create("b", fields(json!({"name": "Bo"})))])
            .unwrap_err();
        assert!(matches!(err, StoreError::LeaseLost), "{err}");
        s.set_fence(None);
        let rec = s.record("t1", "contact", ids[0]).unwrap().unwrap();
        assert_eq!(rec.values["name"], json!("Ann B"));
        assert_eq!(s.count_records("t1", "contact").unwrap(), 1);
    });
}

#[test]
fn a_run_whose_lease_went_stale_is_reaped_without_grace() {
    both(|s| {
        let run = new_run(s);
        let mut dead = request("A", &["job:x"], 3600);
        dead.pid = u32::MAX - 7; // killed
        s.acquire_leases("t1", &dead).unwrap().unwrap();
        s.attach_run("t1", "A", run).unwrap();
        let reaped = s.reap_abandoned("t1", Duration::from_secs(3600)).unwrap();
        assert_eq!(reaped, vec![run]);
        assert_eq!(status(s, run), RunStatus::Abandoned);
    });
}
