//! The probe of issue 9 through the binary: a CSV client list ↔ a REST CRM
//! (the in-repo emulator) without `marker_field` or `find`, behind a fault
//! proxy that drops the answers of some creates after the CRM made the
//! record. The probe found 325 CRM records for 320 people, then 5 copies
//! in the CSV; now every person is in the CRM, the CSV and the hub once.

use einklang_emulator::{Emulator, Options};
use einklang_testkit::proxy::{FaultProxy, Mode, Rule};
use serde_json::Value;
use std::collections::BTreeSet;
use std::path::Path;
use std::process::Command;
use std::time::Duration;

const PEOPLE: usize = 20;
const LOST: usize = 5;
const KEY: &str = "key-cli-lost-1";

fn config(url: &str) -> String {
    format!(
        r#"
[entities.contact]
name = "text"
email = "email"

[connectors.office]
kind = "csv"
path = "office.csv"

[connectors.crm]
kind = "http"
base_url = "{url}"
auth = {{ header = "X-Api-Key", value = "{KEY}" }}
version = "version"
list = {{ path = "/api/v4/contacts", paginate = "next_link", next = "/_links/next/href", params = {{ limit = 7 }}, records = "/_embedded/contacts" }}
get = {{ path = "/api/v4/contacts/{{id}}", missing = [204, 404] }}
create = {{ path = "/api/v4/contacts", body = ["{{record}}"], record = "/_embedded/contacts/0" }}
update = {{ path = "/api/v4/contacts/{{id}}" }}
delete = {{ path = "/api/v4/contacts/{{id}}" }}
conditional = "If-Match"

[map.office.contact]
id = "Nr"
fields = {{ name = "Name", email = "E-Mail" }}

[map.crm.contact]
id = "id"
fields = {{ name = "name", email = "email" }}

[jobs.clients]
sync = ["office", "crm"]
"#
    )
}

/// `einklang sync clients --json` in `dir`: exit code and report.
fn sync(dir: &Path) -> (Option<i32>, Value) {
    let out = Command::new(env!("CARGO_BIN_EXE_einklang"))
        .arg("--config")
        .arg(dir.join("einklang.toml"))
        .args(["sync", "clients", "--json"])
        .env_remove("EINKLANG_CONFIG")
        .env_remove("EINKLANG_LOG")
        .output()
        .expect("einklang runs");
    let report = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "{e}: {}\n{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        )
    });
    (out.status.code(), report)
}

fn counter(report: &Value, key: &str) -> u64 {
    report["counters"][key].as_u64().unwrap_or(0)
}

/// The e-mails of the CSV's rows (header skipped).
fn csv_emails(dir: &Path) -> Vec<String> {
    let text = std::fs::read_to_string(dir.join("office.csv")).unwrap();
    text.lines()
        .skip(1)
        .filter(|l| !l.trim().is_empty())
        .map(|l| l.rsplit(',').next().unwrap().to_string())
        .collect()
}

/// Defect (issue 9): lost create answers on an `http` connector without
/// `marker_field` duplicated records in the CRM and then in the CSV.
#[test]
fn lost_create_answers_on_http_without_marker_duplicate_nothing() {
    let emu = Emulator::start(Options {
        api_key: Some(KEY.into()),
        ..Options::default()
    });
    let proxy = FaultProxy::start(Mode::Http, &emu.url).unwrap();
    // every third create loses its answer, five in all
    for _ in 0..LOST {
        proxy.add(
            Rule::delay(Duration::ZERO)
                .method("POST")
                .path("/api/v4/contacts")
                .times(2),
        );
        proxy.add(
            Rule::drop_answer()
                .method("POST")
                .path("/api/v4/contacts")
                .once(),
        );
    }
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("einklang.toml"), config(&proxy.url())).unwrap();
    let mut csv = String::from("Nr,Name,E-Mail\n");
    for i in 0..PEOPLE {
        csv.push_str(&format!("K-{i},Person {i},p{i}@example.org\n"));
    }
    std::fs::write(dir.path().join("office.csv"), csv).unwrap();

    let (code, first) = sync(dir.path());
    assert_eq!(code, Some(3), "a partial run: {first:#}");
    assert_eq!(proxy.counters().answers_dropped, LOST as u64);
    assert_eq!(counter(&first, "push_failed"), LOST as u64, "{first:#}");
    assert_eq!(emu.all().len(), PEOPLE, "every create landed");

    let (code, second) = sync(dir.path());
    assert_eq!(code, Some(0), "{second:#}");
    assert_eq!(counter(&second, "claimed"), LOST as u64, "{second:#}");
    assert_eq!(emu.count("POST"), PEOPLE as u64, "no create sent again");

    let (code, quiet) = sync(dir.path());
    assert_eq!(code, Some(0), "{quiet:#}");
    assert_eq!(
        (counter(&quiet, "writes"), counter(&quiet, "remote_writes")),
        (0, 0),
        "{quiet:#}"
    );

    let crm: BTreeSet<String> = emu
        .all()
        .iter()
        .map(|c| c["email"].as_str().unwrap().to_string())
        .collect();
    assert_eq!((emu.all().len(), crm.len()), (PEOPLE, PEOPLE), "{crm:?}");
    let office = csv_emails(dir.path());
    let unique: BTreeSet<&String> = office.iter().collect();
    assert_eq!((office.len(), unique.len()), (PEOPLE, PEOPLE), "{office:?}");
    let mut store = einklang_store::open(dir.path().join("einklang.db").to_str().unwrap()).unwrap();
    let hub = store
        .live_records("default", "contact", 0, 1_000_000)
        .unwrap();
    assert_eq!(hub.len(), PEOPLE);
}

/// `einklang CMD…` in `dir`: its output.
fn einklang(dir: &Path, args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_einklang"))
        .arg("--config")
        .arg(dir.join("einklang.toml"))
        .args(args)
        .env_remove("EINKLANG_CONFIG")
        .env_remove("EINKLANG_LOG")
        .output()
        .expect("einklang runs")
}

/// Issue 11: a write the CRM answered 500 (all three tries) leaves the
/// link `failed` with its next try and the error — in the store, in
/// `einklang show` (text and JSON, never `syncing`) and in `einklang
/// runs` (the run `partial`, one failed write) — also after a sync before
/// the retry is due, which reads the CRM first.
#[test]
fn a_write_answered_500_shows_failed_in_show_and_runs_as_in_the_store() {
    let emu = Emulator::start(Options {
        api_key: Some(KEY.into()),
        ..Options::default()
    });
    let proxy = FaultProxy::start(Mode::Http, &emu.url).unwrap();
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("einklang.toml"), config(&proxy.url())).unwrap();
    let csv = |email: &str| format!("Nr,Name,E-Mail\nK-1,Anna Novak,{email}\n");
    std::fs::write(dir.path().join("office.csv"), csv("anna@novak.si")).unwrap();
    assert_eq!(sync(dir.path()).0, Some(0));
    assert_eq!(emu.all().len(), 1);

    std::fs::write(dir.path().join("office.csv"), csv("anna@neu.example")).unwrap();
    proxy.add(Rule::inject(500).method("PATCH").times(3));
    let (code, report) = sync(dir.path());
    assert_eq!(code, Some(3), "partial: {report:#}");
    assert_eq!(counter(&report, "push_failed"), 1, "{report:#}");

    for round in ["after the failed run", "after a sync before the retry"] {
        let mut store =
            einklang_store::open(dir.path().join("einklang.db").to_str().unwrap()).unwrap();
        let record = store.live_records("default", "contact", 0, 10).unwrap()[0].0;
        let stored = store
            .links_of("default", record)
            .unwrap()
            .into_iter()
            .find(|l| l.connector == "crm")
            .unwrap();
        drop(store);
        assert_eq!(stored.status.as_str(), "failed", "{round}");
        let error = stored.last_error.clone().unwrap();
        assert!(
            error.contains("PATCH") && error.contains("500"),
            "{round}: {error}"
        );
        let next = stored.next_attempt_at.expect("a next attempt");

        let id = record.to_string();
        let shown = einklang(dir.path(), &["show", "contact", &id, "--json"]);
        let shown: Value = serde_json::from_slice(&shown.stdout).unwrap();
        let link = shown["links"]
            .as_array()
            .unwrap()
            .iter()
            .find(|l| l["connector"] == "crm")
            .unwrap()
            .clone();
        assert_eq!(link["status"], "failed", "{round}: {link:#}");
        assert_eq!(link["last_error"], Value::from(error.clone()), "{round}");
        assert_eq!(
            link["next_attempt_at"],
            serde_json::to_value(next).unwrap(),
            "{round}"
        );
        let text = String::from_utf8_lossy(&einklang(dir.path(), &["show", "contact", &id]).stdout)
            .to_string();
        assert!(
            text.contains("failed ×1, next try")
                && text.contains("→ 500")
                && !text.contains("syncing"),
            "{round}: {text}"
        );

        let runs: Value =
            serde_json::from_slice(&einklang(dir.path(), &["runs", "--json"]).stdout).unwrap();
        let failed_run = runs
            .as_array()
            .unwrap()
            .iter()
            .find(|r| r["counters"]["push_failed"] == 1)
            .expect("the run with the failed write");
        assert_eq!(failed_run["status"], "partial");
        let table = String::from_utf8_lossy(&einklang(dir.path(), &["runs"]).stdout).to_string();
        let header = table.lines().next().unwrap();
        let at = header.rfind(" failed").unwrap() + 1;
        let row = table
            .lines()
            .find(|l| l.split_whitespace().next() == Some(&failed_run["id"].to_string()[..]))
            .unwrap();
        assert!(row.contains(" partial "), "{table}");
        assert_eq!(row.get(at..).map(str::trim), Some("1"), "{table}");

        if round.starts_with("after the failed") {
            let (code, again) = sync(dir.path());
            assert_eq!(code, Some(0), "nothing due, nothing failed: {again:#}");
            assert_eq!(counter(&again, "push_failed"), 0, "{again:#}");
        }
    }
    assert_eq!(emu.all()[0]["email"], "anna@novak.si", "not written yet");
}
