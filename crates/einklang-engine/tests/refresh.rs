//! Refresh steps end to end (issue 14), on SQLite and PostgreSQL: a crash
//! inside the swap leaves the hub exactly as before, a dry run plans the
//! swap and writes nothing, a bad record is quarantined while the rest
//! is applied.

mod common;

use einklang_config::Config;
use einklang_engine::{run_job, CrashAt, CrashPoint, EngineError, NoProgress, RunOptions};
use einklang_store::{HubStore, RunStatus};
use std::path::Path;

const CONFIG: &str = r#"
store = "hub.db"

[entities.booking]
name = "text"
price = "number"

[connectors.leads]
kind = "jsonl"
path = "leads.jsonl"

[map.leads.booking]
id = "id"
fields = { name = "name", price = "price" }

[jobs.bookings]
refresh = "leads"
"#;

fn leads(dir: &Path, n: u32, price: u32) {
    let lines: Vec<String> = (1..=n)
        .map(|i| format!(r#"{{"id":"{i}","name":"Lead {i}","price":{}}}"#, price + i))
        .collect();
    std::fs::write(dir.join("leads.jsonl"), lines.join("\n") + "\n").unwrap();
}

fn setup(store_line: Option<&str>) -> (tempfile::TempDir, Config) {
    let (dir, config) = common::config_in_dir(CONFIG, store_line);
    leads(dir.path(), 5_000, 100);
    (dir, config)
}

/// Every booking's (external id, price), sorted.
fn prices(store: &mut dyn HubStore) -> Vec<(String, serde_json::Value)> {
    let mut out = Vec::new();
    let mut after = 0;
    loop {
        let page = store
            .live_records("default", "booking", after, 1_000)
            .unwrap();
        let Some(last) = page.last() else { break };
        after = last.0;
        out.extend(
            page.into_iter()
                .map(|(_, v)| (v["name"].to_string(), v["price"].clone())),
        );
    }
    out.sort_by(|a, b| a.0.cmp(&b.0));
    out
}

fn scenario(config: &Config, store: &mut dyn HubStore, dir: &Path) {
    let run = |store: &mut dyn HubStore, options: RunOptions| {
        run_job(config, store, "bookings", &options, &NoProgress)
    };
    let first = run(store, RunOptions::default()).unwrap();
    assert_eq!(first.status, RunStatus::Succeeded);
    let before = prices(store);
    assert_eq!(before.len(), 5_000);
    let history = store.last_history_id("default").unwrap();

    // every price changed, 200 leads gone: the process dies after the
    // first page of the swap was written — none of it stays
    leads(dir, 4_800, 500);
    let crash = RunOptions {
        crash: Some(CrashAt {
            point: CrashPoint::InSwap,
            nth: 1,
        }),
        ..RunOptions::default()
    };
    match run(store, crash) {
        Err(EngineError::Crashed(CrashPoint::InSwap)) => {}
        other => panic!("expected the injected crash: {other:?}"),
    }
    assert_eq!(prices(store), before, "the hub as before the swap");
    assert_eq!(store.last_history_id("default").unwrap(), history);

    // a dry run plans the swap and writes nothing
    let dry = run(
        store,
        RunOptions {
            dry_run: true,
            ..RunOptions::default()
        },
    )
    .unwrap();
    let counts = &dry.plan.counts;
    assert_eq!(counts.get("leads pull update"), Some(&4_800), "{counts:?}");
    assert_eq!(counts.get("leads pull delete"), Some(&200), "{counts:?}");
    assert_eq!(prices(store), before);

    // a line that is no JSON is quarantined; the rest is applied whole,
    // but no record is deleted as absent: the bad line may be one of them
    let good = std::fs::read_to_string(dir.join("leads.jsonl")).unwrap();
    std::fs::write(dir.join("leads.jsonl"), format!("{good}{{not json\n")).unwrap();
    let applied = run(store, RunOptions::default()).unwrap();
    assert_eq!(applied.status, RunStatus::Partial, "quarantined: partial");
    let c = |r: &einklang_engine::RunReport, k: &str| r.counters.get(k).copied().unwrap_or(0);
    assert_eq!(
        (
            c(&applied, "updated"),
            c(&applied, "deleted"),
            c(&applied, "quarantined")
        ),
        (4_800, 0, 1)
    );
    let notes = applied.steps.iter().flat_map(|s| &s.notes);
    assert!(
        notes.clone().any(|n| n.contains("no readable id")),
        "{applied:?}"
    );
    assert_eq!(prices(store).len(), 5_000);
    // the line mended: now the 200 go
    std::fs::write(dir.join("leads.jsonl"), good).unwrap();
    let mended = run(store, RunOptions::default()).unwrap();
    assert_eq!((c(&mended, "updated"), c(&mended, "deleted")), (0, 200));
    let after = prices(store);
    assert_eq!(after.len(), 4_800);
    assert!(after.iter().all(|(_, p)| p.as_i64().unwrap() > 500));
}

#[test]
fn a_refresh_is_all_or_nothing_plans_and_quarantines_on_sqlite() {
    let (dir, config) = setup(None);
    let mut store = einklang_store::open(&config.store.as_open_str()).unwrap();
    scenario(&config, store.as_mut(), dir.path());
}

#[test]
fn a_refresh_is_all_or_nothing_plans_and_quarantines_on_postgres() {
    common::on_postgres("einklang_refresh", setup, scenario);
}

/// A swap longer than the leases live: on SQLite it holds the write lock
/// the lease keeper needs, so it renews the leases itself, inside the
/// transaction — else the run's own fence would refuse its writes.
#[test]
fn a_swap_longer_than_the_lease_renews_it_from_inside() {
    let (dir, config) = setup(None);
    let mut store = einklang_store::open(&config.store.as_open_str()).unwrap();
    outlasting_the_lease(&config, store.as_mut(), dir.path(), 80_000);
}

/// The same on PostgreSQL, where the swap's fence check holds the lease
/// rows (the keeper's renewal waits for the commit) and `now()` inside
/// the swap is its start: renewals must take the clock's time.
#[test]
fn a_swap_longer_than_the_lease_renews_it_from_inside_on_postgres() {
    common::on_postgres("einklang_refresh_lease", setup, |c, s, d| {
        outlasting_the_lease(c, s, d, 20_000)
    });
}

fn outlasting_the_lease(config: &Config, store: &mut dyn HubStore, dir: &Path, n: u32) {
    leads(dir, n, 100);
    let options = RunOptions {
        lease: einklang_engine::LeaseOptions {
            ttl: std::time::Duration::from_millis(1_000),
            ..Default::default()
        },
        ..RunOptions::default()
    };
    // leases of 1 s: the SQLite swap of 80,000 records outlasts them
    // (without the renewal inside the swap it fails LeaseLost); no clock
    // is asserted, a timed test is noise on a shared machine
    let report = run_job(config, store, "bookings", &options, &NoProgress).unwrap();
    assert_eq!(report.status, RunStatus::Succeeded, "{:?}", report.errors);
    assert_eq!(prices(store).len(), n as usize);
    // and the next runs still hold their leases after such a swap, also
    // writing right after it (the third drops the oldest snapshot)
    for price in [300, 500] {
        leads(dir, n, price);
        let again = run_job(config, store, "bookings", &options, &NoProgress).unwrap();
        assert_eq!(again.status, RunStatus::Succeeded, "{:?}", again.errors);
    }
}
