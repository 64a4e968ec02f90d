//! bench/incremental: a hub of N records linked to two in-process remotes
//! (`crm` and `erp`, each listing ids + version tokens like a REST API with
//! etags), synced with 0 %, 1 % and 10 % of the records changed on `crm`.
//! Prints seconds, hub store writes and remote writes of each sync, and the
//! ratio of each incremental sync's time to the full sync's.
//!
//! `cargo run --release -p einklang-engine --example incremental -- [N] [STORE]`
//! (N default 1,000,000; STORE default a fresh SQLite file under bench/out,
//! or a `postgres://` URL). The remotes have a change feed (like CardDAV's
//! sync-collection); `FEED=0` makes them list ids + versions only.

/// The allocator the `einklang` binary ships with.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

use einklang_config::ConnectorConfig;
use einklang_connectors::memory::{MemoryOptions, MemoryRemote};
use einklang_connectors::{Connector, ConnectorError, RawFields};
use einklang_engine::{run_job_with, ConnectorSource, NoProgress, RunOptions, RunReport};
use serde_json::json;
use std::collections::BTreeMap;
use std::path::Path;
use std::time::Instant;

const CONFIG: &str = r#"
[entities.contact]
first_name = "text"
last_name = "text"
email = "email"
city = "text"
postcode = "text"
status = "text"

[connectors.crm]
kind = "jsonl"
path = "memory-crm.jsonl"
[connectors.erp]
kind = "jsonl"
path = "memory-erp.jsonl"

[map.crm.contact]
id = "id"
fields = { first_name = "first_name", last_name = "last_name", email = "email", city = "city", postcode = "postcode", status = "status" }
[map.erp.contact]
id = "id"
fields = { first_name = "vorname", last_name = "nachname", email = "mail", city = "ort", postcode = "plz", status = "status" }

[jobs.sync]
sync = ["crm", "erp"]

[conflicts.contact]
default = { authority = "crm" }
"#;

struct Remotes(BTreeMap<String, MemoryRemote>);

impl ConnectorSource for Remotes {
    fn open(
        &mut self,
        cc: &ConnectorConfig,
        _: &Path,
    ) -> Result<Box<dyn Connector>, ConnectorError> {
        Ok(Box::new(self.0[&cc.name].connector(&cc.name)))
    }
}

const CITIES: [&str; 8] = [
    "Berlin",
    "München",
    "Hamburg",
    "Köln",
    "Ljubljana",
    "Wien",
    "Graz",
    "Maribor",
];
const FIRST: [&str; 8] = [
    "Anna", "Jürgen", "Maja", "Luka", "Sophie", "Tobias", "Eva", "Matej",
];
const LAST: [&str; 8] = [
    "Novak", "Müller", "Horvat", "Schmidt", "Krajnc", "Weber", "Kovač", "Fischer",
];

fn contact(i: usize) -> RawFields {
    let (f, l) = (FIRST[i % 8], LAST[(i / 8) % 8]);
    json!({
        "id": format!("c{i:08}"),
        "first_name": f, "last_name": l,
        "email": format!("{}.{}{i}@example.com", f.to_lowercase(), l.to_lowercase()),
        "city": CITIES[(i / 64) % 8], "postcode": format!("{:05}", 10000 + i % 89999),
        "status": "active",
    })
    .as_object()
    .unwrap()
    .clone()
}

fn count(r: &RunReport, k: &str) -> u64 {
    r.counters.get(k).copied().unwrap_or(0)
}

struct Row {
    name: String,
    seconds: f64,
    writes: u64,
    remote: u64,
    updated: u64,
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let n: usize = args
        .get(1)
        .and_then(|a| a.parse().ok())
        .unwrap_or(1_000_000);
    let out = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../bench/out");
    std::fs::create_dir_all(&out).unwrap();
    let store_at = args.get(2).cloned().unwrap_or_else(|| {
        let db = out.join("incremental.db");
        for suffix in ["", "-wal", "-shm"] {
            let _ = std::fs::remove_file(format!("{}{suffix}", db.display()));
        }
        db.display().to_string()
    });
    let cfg_path = out.join("incremental.toml");
    std::fs::write(&cfg_path, CONFIG).unwrap();
    let config = einklang_config::load(&cfg_path).expect("config");
    let mut store = einklang_store::open(&store_at).expect("store");
    // like CardDAV (sync-collection) or a change-logged table; FEED=0 for
    // remotes that only list ids + versions
    let feed = std::env::var("FEED").map_or(true, |v| v != "0");
    println!(
        "== remotes {} a change feed",
        if feed { "with" } else { "without" }
    );
    let options = |batch| MemoryOptions {
        batch_size: batch,
        change_feed: feed,
        ..MemoryOptions::default()
    };
    let crm = MemoryRemote::new(options(1000));
    let erp = MemoryRemote::new(options(1000));
    println!("== filling crm with {n} contacts");
    for i in 0..n {
        let mut c = contact(i);
        let id = c.remove("id").unwrap();
        crm.insert_with_id(id.as_str().unwrap(), c);
    }
    let mut remotes = Remotes(BTreeMap::from([
        ("crm".to_string(), crm.clone()),
        ("erp".to_string(), erp.clone()),
    ]));
    let mut rows = Vec::new();
    let mut sync =
        |name: &str, full: bool, store: &mut Box<dyn einklang_store::HubStore>| {
            let options = RunOptions {
                full,
                ..RunOptions::default()
            };
            let started = Instant::now();
            let r = run_job_with(
                &config,
                store.as_mut(),
                "sync",
                &options,
                &NoProgress,
                &mut remotes,
            )
            .expect("sync");
            let seconds = started.elapsed().as_secs_f64();
            let row = Row {
                name: name.to_string(),
                seconds,
                writes: count(&r, "writes"),
                remote: count(&r, "remote_writes"),
                updated: count(&r, "updated"),
            };
            println!(
            "{:<28} {:>8.2} s  {:>9} store writes  {:>9} remote writes  {:>8} hub updates  ({})",
            row.name, row.seconds, row.writes, row.remote, row.updated, r.status.as_str()
        );
            rows.push(row);
        };
    println!("== syncs");
    sync("full sync (first)", false, &mut store);
    assert_eq!(erp.len(), n, "every record reached erp");
    sync("0% changed", false, &mut store);
    sync("0% changed, again", false, &mut store);
    for (label, every) in [("1% changed", 100), ("10% changed", 10)] {
        for i in (0..n).step_by(every) {
            let id = format!("c{i:08}");
            crm.update(
                &id,
                json!({"city": format!("Neustadt {label}")})
                    .as_object()
                    .unwrap()
                    .clone(),
            );
        }
        sync(label, false, &mut store);
    }
    sync("0% changed, --full", true, &mut store);
    let full = rows[0].seconds;
    println!("== ratios (sync time ÷ full sync time)");
    for r in &rows[1..] {
        println!("{:<28} {:>7.2}%", r.name, 100.0 * r.seconds / full);
    }
    println!("targets: 1% sync ≤ 5% of the full sync's time; 0% sync writes nothing");
    let zero = &rows[1];
    assert_eq!(
        (zero.writes, zero.remote),
        (0, 0),
        "the 0% sync must write nothing"
    );
}
