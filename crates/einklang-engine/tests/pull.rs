//! End-to-end pull: files on disk → config → engine → hub store, against
//! SQLite and (when `EINKLANG_TEST_PG` is set) a real PostgreSQL.

mod common;

use einklang_config::Config;
use einklang_engine::{run_job, NoProgress, RunOptions, RunReport};
use einklang_store::{HubStore, RunStatus};
use serde_json::json;
use std::path::Path;

const CONFIG: &str = r#"
store = "hub.db"
region = "DE"
max_field_bytes = 200

[entities.contact]
first_name = "text"
last_name = "text"
email = "email"
phones = "phones"
birthday = "date"
status = { type = "enum", values = ["lead", "customer"] }

[connectors.crm]
kind = "csv"
path = "crm.csv"
delimiter = ";"

[connectors.dump]
kind = "jsonl"
path = "dump.jsonl"

[map.crm.contact]
id = "Nr"
filter = "Status != 'lost'"
[map.crm.contact.fields]
first_name = "Vorname"
last_name = "Nachname"
email = { from = "E-Mail", lowercase = true }
phones = { from = ["Telefon", "Mobil"] }
birthday = { from = "Geburtstag", date = "%d.%m.%Y" }
status = { from = "Status", map = { "neu" = "lead", "kunde" = "customer" } }

[map.dump.contact]
id = "id"
[map.dump.contact.fields]
first_name = { from = "name", split_name = "first" }
last_name = { from = "name", split_name = "last" }
email = "email"

[jobs.crm]
pull = ["crm"]

[jobs.all]
pull = ["crm", "dump"]
"#;

const CRM: &str = "Nr;Vorname;Nachname;E-Mail;Telefon;Mobil;Geburtstag;Status
1;Jürgen;Müller;Juergen.Mueller@Example.DE;089 1234567;0171 2345678;03.02.1980;neu
2;Anna;Novak;anna@novak.si;+386 41 123 456;;;kunde
3;Lost;Lead;lost@example.com;;;;lost
4;Broken;Line;too;many;fields;here;neu;extra
5;Bad;Email;not-an-email;;;;neu
1;Dupe;Id;dupe@example.com;;;;neu
6;Zoe;Smith;zoe@example.co.uk;;;31.12.1999;kunde
";

fn write(dir: &Path, name: &str, text: &str) {
    std::fs::write(dir.join(name), text).unwrap();
}

fn setup(store_line: Option<&str>) -> (tempfile::TempDir, Config) {
    let dir = tempfile::tempdir().unwrap();
    let text = match store_line {
        Some(url) => CONFIG.replace("store = \"hub.db\"", &format!("store = \"{url}\"")),
        None => CONFIG.to_string(),
    };
    write(dir.path(), "einklang.toml", &text);
    write(dir.path(), "crm.csv", CRM);
    write(
        dir.path(),
        "dump.jsonl",
        "{\"id\": 10, \"name\": \"Maria van der Berg\", \"email\": \"maria@berg.nl\"}\n",
    );
    let config = einklang_config::load(&dir.path().join("einklang.toml")).expect("config loads");
    (dir, config)
}

fn sync(config: &Config, store: &mut dyn HubStore, job: &str, full: bool) -> RunReport {
    let options = RunOptions {
        full,
        ..RunOptions::default()
    };
    run_job(config, store, job, &options, &NoProgress).expect("run succeeds")
}

fn count(r: &RunReport, k: &str) -> u64 {
    r.counters.get(k).copied().unwrap_or(0)
}

fn scenario(config: &Config, store: &mut dyn HubStore, dir: &Path) {
    let tenant = config.tenant.clone();
    // First pull: 7 data lines; 1 filtered, 2 quarantined (field count,
    // duplicate id), 1 kept with its invalid e-mail address flagged.
    let r = sync(config, store, "crm", false);
    assert_eq!(r.status, RunStatus::Partial);
    assert_eq!(
        (
            count(&r, "read"),
            count(&r, "created"),
            count(&r, "filtered"),
            count(&r, "flagged")
        ),
        (7, 4, 1, 1)
    );
    assert_eq!(count(&r, "quarantined"), 2);
    let q = store.quarantined(&tenant, Some(r.run_id), 10).unwrap();
    let reasons: Vec<String> = q
        .iter()
        .map(|q| format!("{}: {}", q.position, q.reason))
        .collect();
    assert!(
        reasons.iter().any(|r| r.starts_with("line 5:")),
        "{reasons:?}"
    );
    let bad = store.find_links(&tenant, "crm", "contact", &["5"]).unwrap()[0]
        .clone()
        .expect("the record with the bad address is kept")
        .record_id;
    let bad = store.record(&tenant, "contact", bad).unwrap().unwrap();
    assert_eq!(bad.values["email"]["invalid"], json!("not-an-email"));
    assert_eq!(bad.values["last_name"], json!("Email"));
    assert!(
        reasons
            .iter()
            .any(|r| r.contains("duplicate external id `1`")),
        "{reasons:?}"
    );

    // The record is normalised and carries its link and history.
    let links = store.find_links(&tenant, "crm", "contact", &["1"]).unwrap();
    let id = links[0].as_ref().expect("link of crm 1").record_id;
    let rec = store.record(&tenant, "contact", id).unwrap().unwrap();
    assert_eq!(rec.values["email"], json!("juergen.mueller@example.de"));
    assert_eq!(
        rec.values["phones"],
        json!(["+49891234567", "+491712345678"])
    );
    assert_eq!(rec.values["birthday"], json!("1980-02-03"));
    assert_eq!(rec.values["status"], json!("lead"));
    assert_eq!(store.history_of(&tenant, id).unwrap().len(), 1);

    // Unchanged source: skipped by fingerprint, no writes.
    let r = sync(config, store, "crm", false);
    assert_eq!(count(&r, "writes"), 0);
    assert!(r.steps[0].source_unchanged);
    // A full reconcile compares every record and still writes nothing.
    let r = sync(config, store, "crm", true);
    assert_eq!((count(&r, "writes"), count(&r, "unchanged")), (0, 4));

    // One field changes at the source: one update, history old → new.
    let changed = CRM.replace("Anna;Novak;anna@novak.si", "Anna;Novak-Kos;anna@novak.si");
    write(dir, "crm.csv", &changed);
    let r = sync(config, store, "crm", false);
    assert_eq!(
        (
            count(&r, "updated"),
            count(&r, "created"),
            count(&r, "writes")
        ),
        (1, 0, 2),
        "the record and its link's base"
    );
    let id2 = store.find_links(&tenant, "crm", "contact", &["2"]).unwrap()[0]
        .clone()
        .unwrap()
        .record_id;
    let history = store.history_of(&tenant, id2).unwrap();
    let last = history.last().unwrap();
    assert_eq!(last.origin, "crm");
    assert_eq!(last.changes["last_name"].old, json!("Novak"));
    assert_eq!(last.changes["last_name"].new, json!("Novak-Kos"));

    // A job over two connectors; the missing file of a third would fail only its step.
    let r = sync(config, store, "all", false);
    assert_eq!(r.status, RunStatus::Succeeded, "{:?}", r.errors);
    assert_eq!(count(&r, "created"), 1);
    assert_eq!(store.count_records(&tenant, "contact").unwrap(), 5);
    std::fs::remove_file(dir.join("dump.jsonl")).unwrap();
    let r = sync(config, store, "all", false);
    assert_eq!(r.status, RunStatus::Partial);
    assert!(
        r.errors.iter().any(|e| e.contains("dump.jsonl")),
        "{:?}",
        r.errors
    );

    let runs = store.runs(&tenant, 10).unwrap();
    assert_eq!(runs.len(), 6);
    assert_eq!(runs[0].status, RunStatus::Partial);
}

#[test]
fn pull_end_to_end_sqlite() {
    let (dir, config) = setup(None);
    let mut store = einklang_store::open(&config.store.as_open_str()).unwrap();
    scenario(&config, store.as_mut(), dir.path());
}

#[test]
fn pull_end_to_end_postgres() {
    common::on_postgres("engine", setup, scenario);
}

/// A JSONL source with an id holding a NUL and an e-mail with quotes after
/// the domain: the first record quarantined with the reason, the second
/// kept with its address flagged, the good one read.
#[test]
fn nul_in_id_quarantined_and_quoted_email_flagged_in_a_run() {
    let dir = tempfile::tempdir().unwrap();
    let config = r#"
store = "hub.db"

[entities.contact]
name = "text"
email = "email"

[connectors.dump]
kind = "jsonl"
path = "dump.jsonl"

[map.dump.contact]
id = "id"
[map.dump.contact.fields]
name = "name"
email = "email"

[jobs.dump]
pull = ["dump"]
"#;
    write(dir.path(), "einklang.toml", config);
    let lines = [
        r#"{"id": "a\u0000b", "name": "Nul", "email": "nul@example.org"}"#,
        r#"{"id": "b1", "name": "Quotes", "email": "b1@example.org\"x\"y"}"#,
        r#"{"id": "c1", "name": "Good", "email": "Good+Tag@Example.ORG"}"#,
    ];
    write(dir.path(), "dump.jsonl", &(lines.join("\n") + "\n"));
    let config = einklang_config::load(&dir.path().join("einklang.toml")).unwrap();
    let mut store = einklang_store::open(&config.store.as_open_str()).unwrap();
    let r = sync(&config, store.as_mut(), "dump", false);
    assert_eq!(r.status, RunStatus::Partial);
    assert_eq!(
        (
            count(&r, "created"),
            count(&r, "quarantined"),
            count(&r, "flagged")
        ),
        (2, 1, 1)
    );
    let q = store
        .quarantined(&config.tenant, Some(r.run_id), 10)
        .unwrap();
    let mut reasons: Vec<String> = q
        .iter()
        .map(|q| format!("{}: {}", q.position, q.reason))
        .collect();
    reasons.sort();
    assert!(
        reasons[0].starts_with("line 1: external id field `id` holds a control character (U+0000)"),
        "{reasons:?}"
    );
    assert_eq!(reasons.len(), 1, "{reasons:?}");
    let quotes = store
        .find_links(&config.tenant, "dump", "contact", &["b1"])
        .unwrap();
    let quotes = quotes[0].as_ref().expect("b1 is kept").record_id;
    let quotes = store
        .record(&config.tenant, "contact", quotes)
        .unwrap()
        .unwrap();
    assert_eq!(
        quotes.values["email"]["invalid"],
        json!("b1@example.org\"x\"y")
    );
    assert!(quotes.values["email"]["reason"]
        .as_str()
        .unwrap()
        .contains("is not an email address"));
    let link = store
        .find_links(&config.tenant, "dump", "contact", &["c1"])
        .unwrap();
    let id = link[0].as_ref().expect("c1 is read").record_id;
    let rec = store
        .record(&config.tenant, "contact", id)
        .unwrap()
        .unwrap();
    assert_eq!(rec.values["email"], json!("good+tag@example.org"));
}

/// What a progress receiver hears: each step, its records, its counters.
#[derive(Default)]
struct Heard(std::sync::Mutex<Vec<String>>);

impl einklang_engine::Progress for Heard {
    fn step(&self, label: &str) {
        self.0.lock().unwrap().push(format!("step {label}"));
    }
    fn records(&self, n: u64) {
        self.0.lock().unwrap().push(format!("records {n}"));
    }
    fn step_done(&self) {
        self.0.lock().unwrap().push("done".into());
    }
    fn counters(&self, c: &einklang_store::Counters) {
        let read = c.get("read").copied().unwrap_or(0);
        let created = c.get("created").copied().unwrap_or(0);
        self.0
            .lock()
            .unwrap()
            .push(format!("counters read={read} created={created}"));
    }
}

#[test]
fn progress_hears_each_batch_with_the_reads_counters_so_far() {
    let (_dir, config) = setup(None);
    let mut store = einklang_store::open(&config.store.as_open_str()).unwrap();
    let heard = Heard::default();
    let job = config.jobs.keys().next().unwrap().clone();
    let report = run_job(
        &config,
        store.as_mut(),
        &job,
        &RunOptions::default(),
        &heard,
    )
    .unwrap();
    let heard = heard.0.lock().unwrap().clone();
    assert!(
        heard.first().is_some_and(|h| h.starts_with("step ")),
        "{heard:?}"
    );
    let counters: Vec<&String> = heard
        .iter()
        .filter(|h| h.starts_with("counters "))
        .collect();
    assert!(!counters.is_empty(), "{heard:?}");
    // the first step's counters after its last batch are its read's totals
    let first_done = heard.iter().position(|h| h == "done").unwrap();
    let last = heard[..first_done]
        .iter()
        .rev()
        .find(|h| h.starts_with("counters "))
        .unwrap();
    let step = &report.steps[0];
    let expected = format!(
        "counters read={} created={}",
        step.counters.get("read").copied().unwrap_or(0),
        step.counters.get("created").copied().unwrap_or(0)
    );
    assert_eq!(last, &expected, "{heard:?}");
}
