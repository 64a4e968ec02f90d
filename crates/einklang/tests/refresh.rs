//! Issue 14: a refresh job as a user runs it — a snapshot staged,
//! pre-checked and swapped in whole; a rerun that writes nothing; a
//! shrunken or empty snapshot that applies nothing and keeps its staging.

use einklang_store::{HubStore, RunStatus};
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn einklang(config: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_einklang"))
        .arg("--config")
        .arg(config)
        .args(args)
        .env_remove("EINKLANG_CONFIG")
        .output()
        .expect("einklang runs")
}

fn sync(config: &Path) -> Output {
    einklang(config, &["sync", "bookings"])
}

fn text(o: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

/// Leads `ids` as the source holds them (lead 7 with `price` `p7`).
fn write_leads(path: &Path, ids: impl Iterator<Item = u32>, p7: u32) {
    let lines: Vec<String> = ids
        .map(|i| {
            let price = if i == 7 { p7 } else { 100 + i };
            format!(r#"{{"id":"{i}","name":"Lead {i}","price":{price},"status":"confirmed"}}"#)
        })
        .collect();
    std::fs::write(path, lines.join("\n") + "\n").unwrap();
}

struct Hub {
    _dir: tempfile::TempDir,
    config: PathBuf,
    leads: PathBuf,
    db: PathBuf,
}

fn hub() -> Hub {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("einklang.toml");
    std::fs::write(
        &config,
        r#"
[entities.booking]
name = "text"
price = "number"
status = "text"

[connectors.leads]
kind = "jsonl"
path = "leads.jsonl"

[map.leads.booking]
id = "id"
fields = { name = "name", price = "price", status = "status" }

[jobs.bookings]
refresh = "leads"
"#,
    )
    .unwrap();
    Hub {
        leads: dir.path().join("leads.jsonl"),
        db: dir.path().join("einklang.db"),
        config,
        _dir: dir,
    }
}

fn store(h: &Hub) -> Box<dyn HubStore> {
    einklang_store::open(h.db.to_str().unwrap()).unwrap()
}

fn last_run(s: &mut dyn HubStore) -> einklang_store::Run {
    s.runs("default", 1).unwrap().remove(0)
}

fn counter(r: &einklang_store::Run, k: &str) -> u64 {
    r.counters.get(k).copied().unwrap_or(0)
}

fn counts<const N: usize>(r: &einklang_store::Run, keys: [&str; N]) -> [u64; N] {
    keys.map(|k| counter(r, k))
}

/// The hub's price of the booking linked to lead 7.
fn price_of_lead_7(s: &mut dyn HubStore) -> serde_json::Value {
    let link = s.find_links("default", "leads", "booking", &["7"]).unwrap()[0]
        .clone()
        .unwrap();
    let state = s
        .load_records("default", &[link.record_id])
        .unwrap()
        .remove(0)
        .unwrap();
    state.values["price"].clone()
}

/// Sync the job, expect it to succeed; the store and the run.
fn applied(h: &Hub) -> (Box<dyn HubStore>, einklang_store::Run) {
    let out = sync(&h.config);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let mut s = store(h);
    let run = last_run(s.as_mut());
    (s, run)
}

#[test]
fn a_refresh_applies_a_snapshot_whole_and_a_rerun_writes_nothing() {
    let h = hub();
    write_leads(&h.leads, 1..=100, 107);
    let (mut s, run) = applied(&h);
    assert_eq!(counts(&run, ["created", "staged"]), [100, 100]);
    assert_eq!(s.count_records("default", "booking").unwrap(), 100);
    let kept = s.staged_runs("default").unwrap();
    assert_eq!(
        (kept.len(), kept[0].run),
        (1, run.id),
        "applied: kept as the run's snapshot"
    );
    let history = s.last_history_id("default").unwrap();
    drop(s);

    // the same file again: known by its fingerprint, not even read
    let (mut s, run) = applied(&h);
    assert_eq!(
        counts(&run, ["sources_unchanged", "staged", "created", "updated"]),
        [1, 0, 0, 0]
    );
    assert_eq!(s.last_history_id("default").unwrap(), history);
    drop(s);
    // and with --full, read and compared: nothing written, not even history
    let out = einklang(&h.config, &["sync", "bookings", "--full"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let mut s = store(&h);
    let run = last_run(s.as_mut());
    assert_eq!(
        counts(&run, ["unchanged", "created", "updated"]),
        [100, 0, 0]
    );
    assert_eq!(s.last_history_id("default").unwrap(), history);
    drop(s);
    // the same file under a changed mapping is read again
    let config = std::fs::read_to_string(&h.config).unwrap();
    // (kept for the rest of the test)
    let uppercase = config.replace(
        "status = \"status\" }",
        "status = { from = \"status\", uppercase = true } }",
    );
    assert_ne!(config, uppercase);
    std::fs::write(&h.config, uppercase).unwrap();
    let (s, run) = applied(&h);
    assert_eq!(counts(&run, ["sources_unchanged", "updated"]), [0, 100]);
    drop(s);

    // one price changed, leads 91–100 gone (10 %, under max_drop)
    write_leads(&h.leads, 1..=90, 999);
    let (mut s, run) = applied(&h);
    assert_eq!(
        counts(&run, ["updated", "deleted", "unchanged"]),
        [1, 10, 89]
    );
    assert_eq!(s.count_records("default", "booking").unwrap(), 90);
    assert_eq!(price_of_lead_7(s.as_mut()), serde_json::json!(999));
    let kept: Vec<i64> = s
        .staged_runs("default")
        .unwrap()
        .iter()
        .map(|c| c.run)
        .collect();
    assert_eq!(
        kept,
        [run.id, run.id - 1],
        "the last two snapshots (keep_snapshots = 2)"
    );
    drop(s);

    // what changed between the last two: 10 gone, one price
    let out = einklang(&h.config, &["changes", "booking"]);
    let table = text(&out);
    assert!(
        table.contains("gone") && table.contains("10") && table.contains("price"),
        "{table}"
    );
    let out = einklang(&h.config, &["changes", "booking", "--csv"]);
    let csv = String::from_utf8_lossy(&out.stdout).to_string();
    let lines: Vec<&str> = csv.lines().collect();
    assert_eq!(lines[0], "change,external_id,field,old,new");
    assert_eq!(lines.len(), 12, "{csv}");
    assert!(lines.contains(&"changed,7,price,107,999"), "{csv}");
    assert_eq!(lines.iter().filter(|l| l.starts_with("gone,")).count(), 10);
    let only = einklang(
        &h.config,
        &["changes", "booking", "--field", "price", "--jsonl"],
    );
    let only = String::from_utf8_lossy(&only.stdout).to_string();
    assert_eq!(only.lines().count(), 1, "{only}");
    assert!(only.contains(r#""old":107,"new":999"#), "{only}");
}

#[test]
fn a_shrunken_or_empty_snapshot_applies_nothing_and_keeps_its_staging() {
    let h = hub();
    write_leads(&h.leads, 1..=100, 107);
    assert_eq!(sync(&h.config).status.code(), Some(0));
    // 40 % fewer: held for review, nothing applied, the snapshot kept
    write_leads(&h.leads, 1..=60, 5);
    let out = sync(&h.config);
    assert_eq!(out.status.code(), Some(4), "needs_review: {}", text(&out));
    assert!(text(&out).contains("40 % fewer"), "{}", text(&out));
    let mut s = store(&h);
    let run = last_run(s.as_mut());
    assert_eq!(run.status, RunStatus::NeedsReview);
    assert_eq!(s.count_records("default", "booking").unwrap(), 100);
    assert_eq!(
        price_of_lead_7(s.as_mut()),
        serde_json::json!(107),
        "not even the changes applied"
    );
    let staged = s.staged_counts("default", run.id).unwrap();
    assert_eq!(staged[0].records, 60, "kept for inspection");
    drop(s);
    let held = run.id.to_string();
    let listed = text(&einklang(&h.config, &["staging"]));
    assert!(listed.contains(&held) && listed.contains("60"), "{listed}");
    let shown = text(&einklang(&h.config, &["staging", &held, "--limit", "2"]));
    assert!(
        shown.contains("\"Lead 1\"") && !shown.contains("\"Lead 3\""),
        "{shown}"
    );

    // a person looked: approve applies the held snapshot as it was staged
    let out = einklang(&h.config, &["approve", &held, "--by", "eva"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let mut s = store(&h);
    let applied = last_run(s.as_mut());
    assert!(
        applied.triggered_by.contains("approves run"),
        "{}",
        applied.triggered_by
    );
    assert_eq!(
        (counter(&applied, "deleted"), counter(&applied, "updated")),
        (40, 1)
    );
    assert_eq!(s.count_records("default", "booking").unwrap(), 60);
    let kept: Vec<(i64, u64)> = s
        .staged_runs("default")
        .unwrap()
        .iter()
        .map(|c| (c.run, c.records))
        .collect();
    assert_eq!(
        kept,
        [(applied.id, 60), (applied.id - 2, 100)],
        "the approved snapshot is now the applying run's"
    );
    drop(s);
    let again = einklang(&h.config, &["approve", &held]);
    assert_ne!(again.status.code(), Some(0));
    assert!(
        text(&again).contains("not needs_review") || text(&again).contains("no staged records"),
        "{}",
        text(&again)
    );

    // an empty snapshot: the run fails, the hub stays
    std::fs::write(&h.leads, "").unwrap();
    let out = sync(&h.config);
    assert_ne!(out.status.code(), Some(0), "{}", text(&out));
    assert!(text(&out).contains("no booking record"), "{}", text(&out));
    let mut s = store(&h);
    assert_eq!(last_run(s.as_mut()).status, RunStatus::Failed);
    assert_eq!(s.count_records("default", "booking").unwrap(), 60);
}

/// Seed 004 with `examples/employes` against the employes.nl-like
/// emulator: a snapshot of every employee with their first contract, then
/// a raise and a new hire show in `einklang changes`; payroll answering
/// 40 % fewer employees is held, not applied.
#[test]
fn the_employes_example_snapshots_and_lists_a_raise_and_a_new_hire() {
    let emu = einklang_emulator::Emulator::start(Default::default());
    let e = emu.employes();
    let ids = e.seed(110);
    let dir = tempfile::tempdir().unwrap();
    let example =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples/employes/einklang.toml");
    let toml = std::fs::read_to_string(example).unwrap();
    let toml = toml.replace(
        "base_url = \"http://127.0.0.1:8099/employes/v4/7f1c-kinderopvang\"",
        &format!("base_url = \"{}\"", e.base_url()),
    );
    let config = dir.path().join("einklang.toml");
    std::fs::write(&config, &toml).unwrap();
    std::fs::create_dir(dir.path().join("out")).unwrap();
    let run = |args: &[&str]| {
        Command::new(env!("CARGO_BIN_EXE_einklang"))
            .arg("--config")
            .arg(&config)
            .args(args)
            .env("EMPLOYES_TOKEN", e.token())
            .env_remove("EINKLANG_CONFIG")
            .output()
            .unwrap()
    };
    let out = run(&["sync", "employees"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert!(text(&out).contains("110"), "{}", text(&out));
    // the job's other two steps: the office's sheet and the payroll export
    let lines = |name: &str| {
        let text = std::fs::read_to_string(dir.path().join("out").join(name)).unwrap();
        text.lines().count()
    };
    assert_eq!((lines("employees.csv"), lines("payroll.jsonl")), (111, 110));

    e.amend(&ids[4], serde_json::json!({"salary": "4100.00"}));
    e.insert(serde_json::json!({"first_name": "Lotte", "surname": "Mulder", "email": "lotte@kinderopvang.example"}));
    let out = run(&["sync", "employees"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let out = run(&["changes", "employee", "--jsonl"]);
    let lines: Vec<serde_json::Value> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 2, "{lines:?}");
    let raise = lines.iter().find(|l| l["change"] == "changed").unwrap();
    assert_eq!(
        (raise["external_id"].as_str(), raise["field"].as_str()),
        (Some(ids[4].as_str()), Some("salary"))
    );
    assert_eq!(raise["new"], serde_json::json!(4100.0));
    let hire = lines.iter().find(|l| l["change"] == "new").unwrap();
    assert_eq!(hire["new"]["first_name"], "Lotte");

    // the same from the hub's history: the last hour holds the first
    // refresh's 110 new employees, the raise and the hire
    let jsonl = |args: &[&str]| -> Vec<serde_json::Value> {
        let out = run(args);
        assert!(out.status.success(), "{}", text(&out));
        String::from_utf8_lossy(&out.stdout)
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect()
    };
    let since = jsonl(&["changes", "employee", "--since", "1h", "--jsonl"]);
    let new = since.iter().filter(|l| l["change"] == "new").count();
    assert_eq!(new, 111, "110 and the hire: {since:?}");
    let salary = jsonl(&[
        "changes", "employee", "--since", "1h", "--field", "salary", "--jsonl",
    ]);
    let raised: Vec<_> = salary.iter().filter(|l| l["change"] == "changed").collect();
    assert_eq!(raised.len(), 1, "{salary:?}");
    assert_eq!(raised[0]["new"], serde_json::json!(4100.0));
    assert!(jsonl(&["changes", "employee", "--since", "2099-01-01", "--jsonl"]).is_empty());

    // the third step failing after the first two succeeded: partial
    let broken = toml.replace("out/payroll.jsonl", "missing-dir/payroll.jsonl");
    std::fs::write(&config, broken).unwrap();
    e.amend(&ids[5], serde_json::json!({"salary": "3999.00"}));
    let out = run(&["sync", "employees", "--json"]);
    assert_eq!(out.status.code(), Some(3), "partial: {}", text(&out));
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let steps = report["steps"].as_array().unwrap();
    assert_eq!(steps.len(), 3);
    assert!(
        steps[0]["error"].is_null() && steps[1]["error"].is_null(),
        "{steps:?}"
    );
    assert_eq!(steps[0]["counters"]["updated"], 1);
    assert!(steps[2]["error"].as_str().unwrap().contains("missing-dir"));
    std::fs::write(&config, &toml).unwrap();

    for id in &ids[..45] {
        e.remove(id);
    }
    let out = run(&["sync", "employees"]);
    assert_eq!(out.status.code(), Some(4), "held: {}", text(&out));
    let mut s = einklang_store::open(dir.path().join("einklang.db").to_str().unwrap()).unwrap();
    assert_eq!(s.count_records("default", "employee").unwrap(), 111);
}

/// Issue 14 item 5: a job of ordered steps whose later step fails after
/// an earlier one succeeded ends `partial` (exit 3), with each step's
/// counters and error in the report — the refresh stays applied.
#[test]
fn a_later_step_failing_makes_the_run_partial_with_each_steps_result() {
    let h = hub();
    write_leads(&h.leads, 1..=3, 107);
    let text = std::fs::read_to_string(&h.config).unwrap().replace(
        "[jobs.bookings]\nrefresh = \"leads\"",
        "[connectors.export]\nkind = \"csv\"\npath = \"missing-dir/export.csv\"\n\n[map.export.booking]\nid = \"id\"\nfields = { name = \"name\" }\n\n[jobs.bookings]\nsteps = [{ refresh = \"leads\" }, { push = \"export\" }]",
    );
    std::fs::write(&h.config, text).unwrap();
    let out = einklang(&h.config, &["sync", "bookings", "--json"]);
    assert_eq!(out.status.code(), Some(3), "partial: {}", self::text(&out));
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(report["status"], "partial");
    let steps = report["steps"].as_array().unwrap();
    assert_eq!(
        (
            steps[0]["action"].as_str(),
            steps[0]["counters"]["created"].as_u64()
        ),
        (Some("refresh"), Some(3))
    );
    assert!(steps[0]["error"].is_null());
    assert_eq!(steps[1]["action"], "push");
    assert!(
        steps[1]["error"].as_str().unwrap().contains("missing-dir"),
        "{}",
        steps[1]
    );
    let mut s = store(&h);
    assert_eq!(
        s.count_records("default", "booking").unwrap(),
        3,
        "the refresh stays applied"
    );
    // the steps are kept with the run, for `runs RUN` and the API
    let run = report["run_id"].as_i64().unwrap().to_string();
    let out = einklang(&h.config, &["runs", &run, "--json"]);
    let kept: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(kept["run"]["status"], "partial");
    let kept = kept["steps"].as_array().unwrap();
    assert_eq!(kept.len(), 2);
    assert_eq!(kept[0]["counters"]["created"], 3);
    assert!(kept[1]["error"].as_str().unwrap().contains("missing-dir"));
    let out = einklang(&h.config, &["runs", &run]);
    assert!(
        self::text(&out).contains("push export → booking"),
        "{}",
        self::text(&out)
    );
}

/// `check` warns of a refresh job whose connector takes webhooks: each
/// call would read and swap everything again.
#[test]
fn check_warns_of_a_refresh_driven_by_webhooks() {
    let h = hub();
    let out = einklang(&h.config, &["check"]);
    assert!(!text(&out).contains("warning"), "{}", text(&out));
    let config = |webhook: &str| {
        format!(
            r#"
[entities.booking]
name = "text"

[connectors.shop]
kind = "http"
base_url = "http://127.0.0.1:9"
list = {{ path = "/orders" }}
{webhook}

[map.shop.booking]
id = "id"
fields = {{ name = "name" }}

[jobs.bookings]
refresh = "shop"
"#
        )
    };
    std::fs::write(&h.config, config("")).unwrap();
    let out = einklang(&h.config, &["check"]);
    assert!(
        out.status.success() && !text(&out).contains("warning"),
        "{}",
        text(&out)
    );
    let hook = r#"webhook = { scheme = "secret", secret_param = "token", secret = "s3cret-token", ids = ["/id"] }"#;
    std::fs::write(&h.config, config(hook)).unwrap();
    let out = einklang(&h.config, &["check"]);
    let said = text(&out);
    assert!(out.status.success(), "{said}");
    assert!(
        said.contains("warning: job `bookings` refreshes connector `shop`, which has a `webhook`"),
        "{said}"
    );
}

/// A ref field moved by a pull is read as the source's id, not resolved:
/// `check` says so; the same mapping in a refresh is not warned of.
#[test]
fn check_warns_of_a_ref_outside_a_refresh() {
    let h = hub();
    let config = |job: &str| {
        format!(
            r#"
[entities.client]
name = "text"

[entities.booking]
name = "text"
client = "ref<client>"

[connectors.shop]
kind = "jsonl"
path = "orders.jsonl"

[map.shop.booking]
id = "id"
fields = {{ name = "name", client = "client_id" }}

[jobs.bookings]
{job} = "shop"
"#
        )
    };
    std::fs::write(&h.config, config("refresh")).unwrap();
    let out = einklang(&h.config, &["check"]);
    assert!(!text(&out).contains("warning"), "{}", text(&out));
    std::fs::write(&h.config, config("pull")).unwrap();
    let out = einklang(&h.config, &["check"]);
    let said = text(&out);
    assert!(out.status.success(), "{said}");
    assert!(
        said.contains("warning: job `bookings` moves `booking.client` (a ref) through connector `shop` outside a refresh"),
        "{said}"
    );
}

/// A step with `needs_previous = true` runs only after the step before it
/// succeeded: after a held refresh it is skipped (its report says why),
/// after an applied one it runs.
#[test]
fn a_step_that_needs_the_previous_one_is_skipped_when_that_one_did_not_succeed() {
    let h = hub();
    write_leads(&h.leads, 1..=10, 107);
    let text = std::fs::read_to_string(&h.config).unwrap().replace(
        "[jobs.bookings]\nrefresh = \"leads\"",
        "[connectors.export]\nkind = \"csv\"\npath = \"export.csv\"\n\n[map.export.booking]\nid = \"id\"\nfields = { name = \"name\" }\n\n[jobs.bookings]\nsteps = [{ refresh = \"leads\" }, { push = \"export\", needs_previous = true }]",
    );
    std::fs::write(&h.config, text).unwrap();
    let export = h.config.parent().unwrap().join("export.csv");
    let out = einklang(&h.config, &["sync", "bookings", "--json"]);
    assert_eq!(out.status.code(), Some(0), "{}", self::text(&out));
    let rows = |p: &Path| std::fs::read_to_string(p).unwrap().lines().count();
    assert_eq!(rows(&export), 11, "the push ran: a header and 10 rows");
    // half the leads gone: the refresh is held, the push skipped
    write_leads(&h.leads, 1..=5, 108);
    let out = einklang(&h.config, &["sync", "bookings", "--json"]);
    assert_eq!(out.status.code(), Some(4), "held: {}", self::text(&out));
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let push = &report["steps"][1];
    assert_eq!(push["action"], "push");
    assert!(
        push["error"].as_str().unwrap().starts_with("skipped"),
        "{push}"
    );
    assert_eq!(rows(&export), 11, "nothing written");
    // a first step cannot need one before it
    let bad = std::fs::read_to_string(&h.config).unwrap().replace(
        "[{ refresh = \"leads\" }, ",
        "[{ refresh = \"leads\", needs_previous = true }, ",
    );
    std::fs::write(&h.config, bad).unwrap();
    let out = einklang(&h.config, &["check"]);
    assert!(
        self::text(&out).contains("no step comes before it"),
        "{}",
        self::text(&out)
    );
}

/// A count check holds a snapshot whose total looks fine but whose
/// confirmed bookings fell by more than the check allows (an API that
/// lost one status); approving applies it.
#[test]
fn a_count_check_holds_a_snapshot_that_lost_one_status() {
    let h = hub();
    let leads = |confirmed: u32| {
        let lines: Vec<String> = (1..=10)
            .map(|i| {
                let status = if i <= confirmed { "confirmed" } else { "lost" };
                format!(r#"{{"id":"{i}","name":"Lead {i}","price":{i},"status":"{status}"}}"#)
            })
            .collect();
        std::fs::write(&h.leads, lines.join("\n") + "\n").unwrap();
    };
    let config = std::fs::read_to_string(&h.config).unwrap().replace(
        "[jobs.bookings]\nrefresh = \"leads\"",
        "[jobs.bookings]\nrefresh = \"leads\"\nchecks = [{ entity = \"booking\", filter = \"status = 'confirmed'\", max_drop = \"50%\" }, { entity = \"booking\", min = 5 }]",
    );
    std::fs::write(&h.config, config).unwrap();
    leads(6);
    let (s, run) = applied(&h);
    assert_eq!(counter(&run, "check booking where status = 'confirmed'"), 6);
    drop(s);
    // as many leads, but only 2 confirmed: 67 % fewer than 6
    leads(2);
    let out = einklang(&h.config, &["sync", "bookings", "--json"]);
    assert_eq!(out.status.code(), Some(4), "held: {}", text(&out));
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let note = report["steps"][0]["notes"][0].as_str().unwrap();
    assert!(
        note.contains("check booking where status = 'confirmed': 2 records against 6"),
        "{note}"
    );
    let mut s = store(&h);
    let confirmed = |s: &mut dyn HubStore| {
        let records = s.live_records("default", "booking", 0, 100).unwrap();
        records
            .iter()
            .filter(|(_, v)| v["status"] == "confirmed")
            .count()
    };
    assert_eq!(confirmed(s.as_mut()), 6, "nothing applied");
    drop(s);
    let held = report["run_id"].as_i64().unwrap().to_string();
    let out = einklang(&h.config, &["approve", &held]);
    assert!(out.status.success(), "{}", text(&out));
    let mut s = store(&h);
    assert_eq!(confirmed(s.as_mut()), 2, "approved: applied");
}
