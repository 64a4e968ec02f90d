//! The run queue of `einklang serve` and its API tokens, on both stores.

use super::both;
use chrono::{DateTime, Utc};
use einklang_store::*;
use std::time::Duration;

fn queued(job: &str, key: Option<&str>, tick: Option<DateTime<Utc>>) -> QueuedRun {
    QueuedRun {
        run: NewRun {
            job: job.into(),
            source: if tick.is_some() {
                RunSource::Schedule
            } else {
                RunSource::Api
            },
            triggered_by: "token:ops".into(),
        },
        targets: None,
        dedupe_key: key.map(str::to_string),
        scheduled_for: tick,
        thorough: false,
        approves: None,
    }
}

const TTL: Duration = Duration::from_secs(30);

#[test]
fn a_queued_run_has_an_id_at_once_and_is_claimed_by_one_worker_in_order() {
    both(|s| {
        let a = s.enqueue("t", &queued("crm", None, None)).unwrap().unwrap();
        let mut b_run = queued("erp", None, None);
        let targets = [("espo".to_string(), vec!["7".to_string()])]
            .into_iter()
            .collect();
        b_run.targets = Some(targets);
        let b = s.enqueue("t", &b_run).unwrap().unwrap();
        assert!(b > a);
        assert_eq!(s.run("t", a).unwrap().unwrap().status, RunStatus::Queued);
        assert_eq!(s.queue_depth("t").unwrap(), 2);
        assert_eq!(s.queue_depth("other").unwrap(), 0, "scoped to the tenant");
        let first = s.claim("t", "w1", TTL).unwrap().unwrap();
        assert_eq!(
            (first.run_id, first.run.job.as_str(), first.attempts),
            (a, "crm", 1)
        );
        assert_eq!(first.run.source, RunSource::Api);
        assert_eq!(first.run.triggered_by, "token:ops");
        let second = s.claim("t", "w2", TTL).unwrap().unwrap();
        assert_eq!(second.run_id, b);
        assert_eq!(second.targets, b_run.targets);
        assert_eq!(s.claim("t", "w3", TTL).unwrap(), None, "both claimed");
        s.begin_queued("t", a).unwrap();
        assert_eq!(s.run("t", a).unwrap().unwrap().status, RunStatus::Running);
        s.complete("t", a, "w1").unwrap();
        assert_eq!(s.queue_depth("t").unwrap(), 1);
        assert!(s.heartbeat("t", "w2", TTL).unwrap());
        assert!(
            !s.heartbeat("t", "w1", TTL).unwrap(),
            "w1 holds nothing now"
        );
    });
}

#[test]
fn a_dead_workers_claim_expires_and_another_worker_takes_the_run_again() {
    both(|s| {
        let a = s.enqueue("t", &queued("crm", None, None)).unwrap().unwrap();
        let dead = s
            .claim("t", "dead", Duration::from_millis(1))
            .unwrap()
            .unwrap();
        assert_eq!(dead.run_id, a);
        std::thread::sleep(Duration::from_millis(20));
        let again = s.claim("t", "alive", TTL).unwrap().unwrap();
        assert_eq!((again.run_id, again.attempts), (a, 2));
        // the dead worker's late completion changes nothing
        s.complete("t", a, "dead").unwrap();
        assert_eq!(s.queue_depth("t").unwrap(), 1);
        s.complete("t", a, "alive").unwrap();
        assert_eq!(s.queue_depth("t").unwrap(), 0);
    });
}

#[test]
fn a_postponed_run_waits_its_delay_and_a_tick_is_queued_once() {
    both(|s| {
        let a = s.enqueue("t", &queued("crm", None, None)).unwrap().unwrap();
        s.claim("t", "w", TTL).unwrap().unwrap();
        s.postpone("t", a, "w", Duration::from_millis(300)).unwrap();
        assert_eq!(s.claim("t", "w", TTL).unwrap(), None, "not yet due");
        std::thread::sleep(Duration::from_millis(350));
        assert_eq!(s.claim("t", "w", TTL).unwrap().unwrap().run_id, a);

        let tick: DateTime<Utc> = "2026-12-06T03:00:00Z".parse().unwrap();
        assert_eq!(s.last_tick("t", "nightly").unwrap(), None);
        let key = "schedule:nightly:2026-12-06T03:00:00Z";
        let first = s
            .enqueue("t", &queued("nightly", Some(key), Some(tick)))
            .unwrap();
        assert!(first.is_some());
        let again = s
            .enqueue("t", &queued("nightly", Some(key), Some(tick)))
            .unwrap();
        assert_eq!(again, None, "a second process enqueuing the same tick");
        assert_eq!(s.last_tick("t", "nightly").unwrap(), Some(tick));
        let nightly = s.runs("t", 10).unwrap();
        assert_eq!(nightly.iter().filter(|r| r.job == "nightly").count(), 1);
    });
}

#[test]
fn tokens_are_kept_as_hashes_scoped_to_a_tenant_and_revoked_for_good() {
    both(|s| {
        assert!(s.add_token("t", "ops", Role::Operator, "hash-1").unwrap());
        assert!(
            !s.add_token("t", "ops", Role::Admin, "hash-2").unwrap(),
            "name taken"
        );
        assert!(
            s.add_token("u", "ops", Role::Viewer, "hash-3").unwrap(),
            "another tenant"
        );
        let found = s.token_by_hash("hash-1").unwrap().unwrap();
        assert_eq!((found.tenant.as_str(), found.role), ("t", Role::Operator));
        assert!(
            s.tokens("t").unwrap()[0].last_used_at.is_some(),
            "use noted"
        );
        assert_eq!(s.token_by_hash("nope").unwrap(), None);
        assert!(s.revoke_token("t", "ops").unwrap());
        assert!(!s.revoke_token("t", "ops").unwrap(), "already revoked");
        assert_eq!(s.token_by_hash("hash-1").unwrap(), None, "revoked");
        assert!(
            s.add_token("t", "ops", Role::Admin, "hash-4").unwrap(),
            "name free again"
        );
        let listed = s.tokens("t").unwrap();
        assert_eq!(listed.len(), 2);
        assert!(listed.iter().any(|t| t.revoked_at.is_some()));
        assert_eq!(s.token_by_hash("hash-3").unwrap().unwrap().tenant, "u");
    });
}

#[test]
fn workers_on_two_postgresql_connections_never_claim_the_same_run() {
    let Some(db) = einklang_testkit::PgDb::new("einklang_queue") else {
        return;
    };
    let mut s = open(&db.url).unwrap();
    let mut ids = Vec::new();
    for i in 0..200 {
        ids.push(
            s.enqueue("t", &queued(&format!("job{i}"), None, None))
                .unwrap()
                .unwrap(),
        );
    }
    let workers: Vec<_> = (0..4)
        .map(|w| {
            let url = db.url.clone();
            std::thread::spawn(move || {
                let mut s = open(&url).unwrap();
                let mut mine = Vec::new();
                while let Some(c) = s.claim("t", &format!("w{w}"), TTL).unwrap() {
                    mine.push(c.run_id);
                }
                mine
            })
        })
        .collect();
    let mut claimed: Vec<RunId> = workers
        .into_iter()
        .flat_map(|h| h.join().unwrap())
        .collect();
    claimed.sort();
    assert_eq!(claimed, ids, "every run claimed exactly once");
}

#[test]
fn webhook_calls_run_at_once_and_a_bursts_rest_coalesces_into_one_run_after_the_window() {
    both(|s| {
        let hook = NewRun {
            job: "crm".into(),
            source: RunSource::Webhook,
            triggered_by: "webhook:espo".into(),
        };
        let ids = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        let window = Duration::from_millis(400);
        let first = s
            .enqueue_webhook("t", &hook, "espo", &ids(&["1"]), window)
            .unwrap();
        let same = s
            .enqueue_webhook("t", &hook, "espo", &ids(&["2", "1"]), window)
            .unwrap();
        assert_eq!(first, same, "a call while the run waits joins it");
        let claimed = s.claim("t", "w", TTL).unwrap().unwrap();
        assert_eq!(
            claimed.run_id, first,
            "the burst's first run is due at once"
        );
        let targets = claimed.targets.unwrap();
        assert_eq!(targets["espo"], ids(&["1", "2"]));
        // calls while it runs: one more run, due when the window closes
        let next = s
            .enqueue_webhook("t", &hook, "espo", &ids(&["3"]), window)
            .unwrap();
        assert_ne!(next, first);
        let joined = s
            .enqueue_webhook("t", &hook, "advo", &ids(&["9"]), window)
            .unwrap();
        assert_eq!(joined, next);
        assert_eq!(s.claim("t", "w", TTL).unwrap(), None, "within the window");
        std::thread::sleep(Duration::from_millis(450));
        let trailing = s.claim("t", "w", TTL).unwrap().unwrap();
        assert_eq!(trailing.run_id, next);
        let t = trailing.targets.unwrap();
        assert_eq!(
            (t["espo"].clone(), t["advo"].clone()),
            (ids(&["3"]), ids(&["9"]))
        );
        // a call naming no record, or too many, makes an ordinary run
        std::thread::sleep(Duration::from_millis(450));
        let all = s.enqueue_webhook("t", &hook, "espo", &[], window).unwrap();
        let many: Vec<String> = (0..600).map(|i| i.to_string()).collect();
        assert_eq!(
            s.enqueue_webhook("t", &hook, "espo", &many, window)
                .unwrap(),
            all
        );
        let ordinary = s.claim("t", "w", TTL).unwrap().unwrap();
        assert_eq!((ordinary.run_id, ordinary.targets), (all, None));
        let over = s
            .enqueue_webhook("t", &hook, "espo", &many, window)
            .unwrap();
        std::thread::sleep(Duration::from_millis(450));
        let c = s.claim("t", "w", TTL).unwrap().unwrap();
        assert_eq!(
            (c.run_id, c.targets),
            (over, None),
            "over 500 ids: read everything"
        );
        assert_eq!(
            s.run("t", over).unwrap().unwrap().source,
            RunSource::Webhook
        );
    });
}

#[test]
fn the_claims_of_a_worker_whose_process_is_gone_are_given_back_at_once() {
    both(|s| {
        let a = s.enqueue("t", &queued("crm", None, None)).unwrap().unwrap();
        let host = einklang_store::lease::hostname();
        let dead = format!("{host}:{}-0", u32::MAX - 7);
        let alive = format!("{host}:{}-0", std::process::id());
        s.claim("t", &dead, TTL).unwrap().unwrap();
        let b = s.enqueue("t", &queued("erp", None, None)).unwrap().unwrap();
        s.claim("t", &alive, TTL).unwrap().unwrap();
        assert_eq!(s.claim("t", "w", TTL).unwrap(), None, "both held");
        assert_eq!(
            release_dead_claims(s, "t").unwrap(),
            1,
            "only the dead worker's"
        );
        let again = s.claim("t", "w", TTL).unwrap().unwrap();
        assert_eq!((again.run_id, again.attempts), (a, 2));
        assert_eq!(
            s.claim("t", "w2", TTL).unwrap(),
            None,
            "{b} stays with its live worker"
        );
    });
}

#[test]
fn a_thorough_run_is_claimed_as_thorough_and_remembered_per_job() {
    both(|s| {
        assert_eq!(s.last_thorough("t", "crm").unwrap(), None);
        let plain = s.enqueue("t", &queued("crm", None, None)).unwrap().unwrap();
        assert_eq!(
            s.last_thorough("t", "crm").unwrap(),
            None,
            "a plain run is not one"
        );
        let mut run = queued("crm", None, None);
        run.thorough = true;
        let before = Utc::now() - chrono::Duration::seconds(5);
        let deep = s.enqueue("t", &run).unwrap().unwrap();
        let at = s.last_thorough("t", "crm").unwrap().expect("remembered");
        assert!(at >= before && at <= Utc::now() + chrono::Duration::seconds(5));
        assert_eq!(s.last_thorough("t", "erp").unwrap(), None, "per job");
        assert_eq!(s.last_thorough("u", "crm").unwrap(), None, "per tenant");
        let first = s.claim("t", "w1", TTL).unwrap().unwrap();
        assert_eq!((first.run_id, first.thorough), (plain, false));
        let second = s.claim("t", "w1", TTL).unwrap().unwrap();
        assert_eq!((second.run_id, second.thorough), (deep, true));
    });
}

#[test]
fn a_job_is_waiting_while_a_run_of_it_is_queued_and_not_once_claimed() {
    both(|s| {
        assert!(!s.waiting("t", "crm").unwrap());
        s.enqueue("t", &queued("crm", None, None)).unwrap().unwrap();
        assert!(s.waiting("t", "crm").unwrap());
        assert!(!s.waiting("t", "erp").unwrap(), "per job");
        assert!(!s.waiting("u", "crm").unwrap(), "per tenant");
        s.claim("t", "w1", TTL).unwrap().unwrap();
        assert!(
            !s.waiting("t", "crm").unwrap(),
            "claimed: it may have read already"
        );
    });
}
