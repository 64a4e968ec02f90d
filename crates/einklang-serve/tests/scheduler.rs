//! The scheduler driven by a clock of the test's own, against real
//! stores: a tick queues one run, missed ticks one run, two processes
//! one run between them.

mod common;

use chrono::{DateTime, Utc};
use einklang_serve::scheduler::tick;
use einklang_store::{RunSource, RunStatus};

fn at(s: &str) -> DateTime<Utc> {
    s.parse().unwrap()
}

fn ticks_on(store_url: Option<&str>) {
    let hub = common::hub_with(common::CONFIG, store_url);
    let (mut a, mut b) = (common::open(&hub.config), common::open(&hub.config));
    let since = at("2026-12-05T12:00:00Z");
    // nightly is 03:00 in Berlin: 02:00 UTC in winter
    assert!(
        tick(&hub.config, a.as_mut(), since, at("2026-12-06T01:59:59Z"))
            .unwrap()
            .is_empty()
    );
    let first = tick(&hub.config, a.as_mut(), since, at("2026-12-06T02:00:01Z")).unwrap();
    assert_eq!(first.len(), 1);
    let run = a.run("acme", first[0]).unwrap().unwrap();
    assert_eq!(
        (run.job.as_str(), run.source, run.status),
        ("nightly", RunSource::Schedule, RunStatus::Queued)
    );
    assert_eq!(run.triggered_by, "schedule:0 3 * * * Europe/Berlin");
    // a second process looking at the same moment: nothing more
    assert!(
        tick(&hub.config, b.as_mut(), since, at("2026-12-06T02:00:02Z"))
            .unwrap()
            .is_empty()
    );
    assert!(
        tick(&hub.config, a.as_mut(), since, at("2026-12-06T12:00:00Z"))
            .unwrap()
            .is_empty()
    );
    // down for three nights: one run at start, for the latest tick
    let back = tick(
        &hub.config,
        b.as_mut(),
        at("2026-12-09T10:00:00Z"),
        at("2026-12-09T10:00:00Z"),
    )
    .unwrap();
    assert_eq!(back.len(), 1, "three missed ticks make one run");
    assert_eq!(
        a.last_tick("acme", "nightly").unwrap(),
        Some(at("2026-12-09T02:00:00Z"))
    );
    let nightly: Vec<_> = a
        .runs("acme", 50)
        .unwrap()
        .into_iter()
        .filter(|r| r.job == "nightly")
        .collect();
    assert_eq!(nightly.len(), 2);
    // two processes at the same tick, racing: one run between them
    let now = at("2026-12-10T02:00:00Z");
    let config = std::sync::Arc::clone(&hub.config);
    let racers: Vec<_> = (0..2)
        .map(|_| {
            let config = std::sync::Arc::clone(&config);
            std::thread::spawn(move || {
                let mut s = common::open(&config);
                tick(&config, s.as_mut(), since, now).unwrap().len()
            })
        })
        .collect();
    let queued: usize = racers.into_iter().map(|h| h.join().unwrap()).sum();
    assert_eq!(queued, 1, "one of the two queued the tick");
    // the job without a schedule is never queued by the scheduler
    assert!(a
        .runs("acme", 50)
        .unwrap()
        .iter()
        .all(|r| r.job == "nightly"));
}

#[test]
fn ticks_missed_ticks_and_two_processes_on_sqlite() {
    ticks_on(None);
}

#[test]
fn ticks_missed_ticks_and_two_processes_on_postgresql() {
    if let Some(db) = einklang_testkit::PgDb::new("einklang_sched") {
        ticks_on(Some(&db.url));
    }
}

/// A job reading a connector that takes webhooks, and one that does not.
const SWEEPING: &str = r#"
store = "hub.db"
tenant = "acme"

[entities.contact]
name = "text"

[connectors.crm]
kind = "http"
base_url = "http://127.0.0.1:9"
list = { path = "/contacts", records = "/list" }
webhook = { signature_header = "X-Signature", secret = "s", ids = ["/id"] }

[connectors.people]
kind = "csv"
path = "people.csv"

[map.crm.contact]
id = "id"
fields = { name = "name" }

[map.people.contact]
id = "id"
fields = { name = "name" }

[jobs.crm]
pull = ["crm"]

[jobs.files]
pull = ["people"]

[serve]
sweep_minutes = 15
"#;

#[test]
fn the_sweep_queues_one_ordinary_run_per_period_of_each_job_taking_webhooks() {
    let config = SWEEPING;
    let hub = common::hub_with(config, None);
    let (mut a, mut b) = (common::open(&hub.config), common::open(&hub.config));
    let since = at("2026-12-06T10:00:00Z");
    let first = tick(&hub.config, a.as_mut(), since, at("2026-12-06T10:07:00Z")).unwrap();
    assert_eq!(
        first.len(),
        1,
        "one sweep, of the job reading a webhook connector"
    );
    let run = a.run("acme", first[0]).unwrap().unwrap();
    assert_eq!((run.job.as_str(), run.source), ("crm", RunSource::Sweep));
    assert_eq!(
        run.triggered_by, "sweep:15m recheck:24h",
        "no thorough run yet: the first sweep compares every record"
    );
    assert!(
        tick(&hub.config, b.as_mut(), since, at("2026-12-06T10:14:59Z"))
            .unwrap()
            .is_empty()
    );
    let second = tick(&hub.config, b.as_mut(), since, at("2026-12-06T10:15:00Z")).unwrap();
    assert_eq!(second.len(), 1);
    let run = a.run("acme", second[0]).unwrap().unwrap();
    assert_eq!(run.triggered_by, "sweep:15m", "the re-check is a day away");
    assert!(
        tick(&hub.config, a.as_mut(), since, at("2026-12-06T10:16:00Z"))
            .unwrap()
            .is_empty(),
        "another process, same period"
    );
    assert_eq!(
        a.last_tick("acme", "crm").unwrap(),
        None,
        "a sweep is no schedule tick"
    );
    // a day after the thorough run was queued, the sweep re-checks again
    let later = Utc::now() + chrono::Duration::hours(25);
    let third = tick(&hub.config, a.as_mut(), since, later).unwrap();
    assert_eq!(third.len(), 1);
    let claims: Vec<(i64, bool)> = std::iter::from_fn(|| {
        a.claim("acme", "w", std::time::Duration::from_secs(30))
            .unwrap()
            .map(|c| (c.run_id, c.thorough))
    })
    .collect();
    assert_eq!(
        claims,
        [(first[0], true), (second[0], false), (third[0], true)],
        "workers see which sweeps are thorough (and run them as `full`)"
    );
}

#[test]
fn recheck_hours_zero_never_makes_a_sweep_thorough() {
    let config = SWEEPING.replace("sweep_minutes = 15", "recheck_hours = 0");
    let hub = common::hub_with(&config, None);
    let mut a = common::open(&hub.config);
    let ids = tick(&hub.config, a.as_mut(), Utc::now(), Utc::now()).unwrap();
    assert_eq!(ids.len(), 1);
    let claimed = a
        .claim("acme", "w", std::time::Duration::from_secs(30))
        .unwrap()
        .unwrap();
    assert!(!claimed.thorough);
    assert_eq!(a.last_thorough("acme", "crm").unwrap(), None);
}
