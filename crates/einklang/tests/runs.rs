//! Runs as an office runs them, carelessly: two syncs of one job at once,
//! a killed sync, and the exit codes a script or a monitor reads.
//!
//! The job is the two-way example (a `;` CSV client list ↔ a vCard
//! folder), scaled to 2,000 + 2,000 people.

use einklang_store::lease::hostname;
use einklang_store::{HubStore, LeaseRequest};
use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

const CONFIG: &str = r#"
region = "DE"

[entities.contact]
first_name = "text"
last_name  = "text"
emails     = "emails"
phones     = "phones"

[connectors.office]
kind = "csv"
path = "data/mandanten.csv"
delimiter = ";"

[connectors.phone]
kind = "vcard"
path = "data/phonebook"

[map.office.contact]
id = "Nr"

[map.office.contact.fields]
first_name = "Vorname"
last_name  = "Nachname"
emails     = "E-Mail"
phones     = "Telefon"

[map.phone.contact]
id = "uid"

[map.phone.contact.fields]
first_name = "n.given"
last_name  = "n.family"
emails     = "email"
phones     = "tel"

[jobs.office-phone]
sync = ["office", "phone"]

[conflicts.contact]
default = { authority = "office" }
emails  = "review"
"#;

struct Office {
    dir: tempfile::TempDir,
}

impl Office {
    /// The job with `n` clients in the CSV and `n` other people on the phone.
    fn new(n: usize) -> Self {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("einklang.toml"), CONFIG).unwrap();
        let data = dir.path().join("data");
        std::fs::create_dir_all(data.join("phonebook")).unwrap();
        let mut csv = String::from("Nr;Vorname;Nachname;E-Mail;Telefon\n");
        for i in 0..n {
            csv.push_str(&format!(
                "M-{i};Vor{i};Nach{i};m{i}@example.org;+49 89 {:07}\n",
                1_000_000 + i
            ));
        }
        std::fs::write(data.join("mandanten.csv"), csv).unwrap();
        for i in 0..n {
            let card = format!(
                "BEGIN:VCARD\r\nVERSION:3.0\r\nUID:phone-{i}\r\nFN:Tel{i} Fon{i}\r\nN:Fon{i};Tel{i};;;\r\nEMAIL:p{i}@example.org\r\nEND:VCARD\r\n"
            );
            std::fs::write(data.join(format!("phonebook/phone-{i}.vcf")), card).unwrap();
        }
        Office { dir }
    }

    fn config(&self) -> PathBuf {
        self.dir.path().join("einklang.toml")
    }

    fn command(&self, args: &[&str]) -> Command {
        let mut c = Command::new(env!("CARGO_BIN_EXE_einklang"));
        c.arg("--config")
            .arg(self.config())
            .args(args)
            .env_remove("EINKLANG_CONFIG")
            .env_remove("EINKLANG_LOG");
        c
    }

    fn run(&self, args: &[&str]) -> Output {
        self.command(args).output().expect("einklang runs")
    }

    fn spawn(&self, args: &[&str]) -> Child {
        self.command(args)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("einklang starts")
    }

    fn store(&self) -> Box<dyn HubStore> {
        let db = self.dir.path().join("einklang.db");
        einklang_store::open(&db.display().to_string()).unwrap()
    }

    /// Client numbers in the CSV, each once.
    fn csv_ids(&self) -> Vec<String> {
        let text = std::fs::read_to_string(self.dir.path().join("data/mandanten.csv")).unwrap();
        text.lines()
            .skip(1)
            .map(|l| l.split(';').next().unwrap().to_string())
            .collect()
    }

    /// UIDs of the cards in the phone book.
    fn card_uids(&self) -> Vec<String> {
        let dir = self.dir.path().join("data/phonebook");
        let mut uids = Vec::new();
        for entry in std::fs::read_dir(dir).unwrap() {
            let text = std::fs::read_to_string(entry.unwrap().path()).unwrap();
            let uid = text.lines().find_map(|l| l.strip_prefix("UID:")).unwrap();
            uids.push(uid.trim().to_string());
        }
        uids
    }

    /// After a quiescent sync: every person once on each side, in the hub
    /// once, and one more sync writes nothing.
    fn assert_whole(&self, people: usize) {
        let out = self.run(&["sync", "office-phone", "--json"]);
        assert_eq!(out.status.code(), Some(0), "{}", text(&out));
        let again = self.run(&["sync", "office-phone", "--json"]);
        let report: serde_json::Value = serde_json::from_slice(&again.stdout).unwrap();
        assert_eq!(
            report["counters"]["writes"].as_u64().unwrap_or(0),
            0,
            "{report:#}"
        );
        let (csv, cards) = (self.csv_ids(), self.card_uids());
        assert_eq!(csv.len(), people, "CSV rows");
        assert_eq!(
            csv.iter().collect::<HashSet<_>>().len(),
            people,
            "CSV ids doubled"
        );
        assert_eq!(cards.len(), people, "cards");
        assert_eq!(
            cards.iter().collect::<HashSet<_>>().len(),
            people,
            "UIDs doubled"
        );
        let hub = self.store().count_records("default", "contact").unwrap();
        assert_eq!(hub, people as u64, "hub records");
    }
}

fn text(o: &Output) -> String {
    format!(
        "exit {:?}\n{}\n{}",
        o.status.code(),
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

/// Hold the job's lease from this (live) process, as a running sync would.
fn hold(store: &mut dyn HubStore, names: &[&str]) {
    let request = LeaseRequest {
        names: names.iter().map(|n| n.to_string()).collect(),
        holder: "test-holder".into(),
        job: "office-phone".into(),
        triggered_by: "alice@office".into(),
        pid: std::process::id(),
        host: hostname(),
        ttl: Duration::from_secs(600),
    };
    store.acquire_leases("default", &request).unwrap().unwrap();
}

#[test]
fn a_second_sync_of_a_running_job_is_refused_naming_the_run() {
    let office = Office::new(20);
    let first = office.run(&["sync", "office-phone"]);
    assert_eq!(first.status.code(), Some(0), "{}", text(&first));
    let mut store = office.store();
    hold(store.as_mut(), &["job:office-phone"]);

    let refused = office.run(&["sync", "office-phone"]);
    assert_eq!(refused.status.code(), Some(5), "{}", text(&refused));
    let message = String::from_utf8_lossy(&refused.stderr);
    for part in [
        "job `office-phone` is in use",
        "alice@office",
        &format!("process {}", std::process::id()),
        "--wait",
    ] {
        assert!(message.contains(part), "{part:?} not in: {message}");
    }
    // a plan of it is refused too (it would read what the run writes)
    assert_eq!(office.run(&["plan", "office-phone"]).status.code(), Some(5));

    // --wait waits, then still refuses
    let started = Instant::now();
    let waited = office.run(&["sync", "office-phone", "--wait", "1"]);
    assert_eq!(waited.status.code(), Some(5), "{}", text(&waited));
    assert!(started.elapsed() >= Duration::from_secs(1));
    assert!(String::from_utf8_lossy(&waited.stderr).contains("waited 1s"));

    // … and goes on once the holder is done
    let child = office.spawn(&["sync", "office-phone", "--wait", "60"]);
    std::thread::sleep(Duration::from_millis(500));
    store.release_leases("default", "test-holder").unwrap();
    let out = child.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert!(
        store.leases("default").unwrap().is_empty(),
        "the run gave its leases back"
    );
}

#[test]
fn a_sync_touching_a_connector_another_job_writes_is_refused() {
    let office = Office::new(5);
    let mut store = office.store();
    hold(store.as_mut(), &["connector:phone"]);
    let refused = office.run(&["sync", "office-phone"]);
    assert_eq!(refused.status.code(), Some(5), "{}", text(&refused));
    assert!(String::from_utf8_lossy(&refused.stderr).contains("connector `phone` is in use"));
}

/// The defect: two syncs of one job started 0.2–1.5 s apart deleted 1,500
/// of 2,000 cards, lost CSV rows or made duplicate cards.
#[test]
fn two_syncs_of_one_job_at_once_lose_and_double_nothing() {
    for delay_ms in [0u64, 200, 700] {
        let office = Office::new(2000);
        let a = office.spawn(&["sync", "office-phone"]);
        std::thread::sleep(Duration::from_millis(delay_ms));
        let b = office.spawn(&["sync", "office-phone"]);
        let (a, b) = (a.wait_with_output().unwrap(), b.wait_with_output().unwrap());
        let codes = [a.status.code(), b.status.code()];
        // each ran alone or was refused; never both at once
        for (o, code) in [(&a, codes[0]), (&b, codes[1])] {
            assert!(matches!(code, Some(0) | Some(5)), "{}", text(o));
        }
        assert!(codes.contains(&Some(0)), "one of them ran");
        office.assert_whole(4000);
    }
}

#[test]
fn a_killed_sync_is_marked_abandoned_and_the_next_one_runs() {
    let office = Office::new(2000);
    let mut child = office.spawn(&["sync", "office-phone"]);
    // kill it mid-run: once its run is recorded
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let runs = office.store().runs("default", 5).unwrap();
        if runs
            .iter()
            .any(|r| r.status == einklang_store::RunStatus::Running)
        {
            break;
        }
        assert!(Instant::now() < deadline, "the run never started");
        std::thread::sleep(Duration::from_millis(20));
    }
    std::thread::sleep(Duration::from_millis(300));
    child.kill().unwrap();
    child.wait().unwrap();

    let runs = office.run(&["runs", "--json"]);
    let runs: serde_json::Value = serde_json::from_slice(&runs.stdout).unwrap();
    let killed = runs.as_array().unwrap().last().unwrap();
    assert_eq!(killed["status"], "abandoned", "{runs:#}");
    assert!(killed["errors"][0]
        .as_str()
        .unwrap()
        .contains("stopped without finishing"));
    office.assert_whole(4000);
}

#[test]
fn exit_codes_tell_succeeded_partial_needs_review_and_usage_errors() {
    let office = Office::new(3);
    assert_eq!(office.run(&["sync", "office-phone"]).status.code(), Some(0));
    // a conflict held for review: 4
    let csv = office.dir.path().join("data/mandanten.csv");
    let text_of = |p: &Path| std::fs::read_to_string(p).unwrap();
    std::fs::write(
        &csv,
        text_of(&csv).replace("m1@example.org", "office@example.org"),
    )
    .unwrap();
    let card = office.dir.path().join("data/phonebook/ek-2.vcf");
    let card = if card.exists() {
        card
    } else {
        find_card(&office, "m1@example.org")
    };
    std::fs::write(
        &card,
        text_of(&card).replace("m1@example.org", "phone@example.org"),
    )
    .unwrap();
    let held = office.run(&["sync", "office-phone"]);
    assert_eq!(held.status.code(), Some(4), "{}", text(&held));
    // a quarantined record: 3 (the held conflict is settled first)
    let resolved = office.run(&["resolve", "1", "--take", "hub"]);
    assert_eq!(resolved.status.code(), Some(0), "{}", text(&resolved));
    let mut rows = text_of(&csv);
    rows.push_str("M-bad;\"unclosed;x;y;z\n");
    std::fs::write(&csv, rows).unwrap();
    let partial = office.run(&["sync", "office-phone"]);
    assert_eq!(partial.status.code(), Some(3), "{}", text(&partial));
    // an unknown job and a broken config: 2
    assert_eq!(office.run(&["sync", "nope"]).status.code(), Some(2));
    std::fs::write(office.config(), "[entities.contact]\nname = \"nonsense\"\n").unwrap();
    assert_eq!(office.run(&["sync", "office-phone"]).status.code(), Some(2));
}

fn find_card(office: &Office, email: &str) -> PathBuf {
    let dir = office.dir.path().join("data/phonebook");
    std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|p| std::fs::read_to_string(p).unwrap().contains(email))
        .unwrap_or_else(|| panic!("no card with {email}"))
}

/// Defect (issue 9): `EINKLANG_LOG=trace` printed nothing. At debug an
/// operator sees the run, its steps, every remote call (method, path,
/// status, duration) and every store transaction — and never the key.
#[test]
fn einklang_log_debug_tells_what_happens_without_secrets() {
    let emu = einklang_emulator::Emulator::start(einklang_emulator::Options {
        api_key: Some("very-secret-key-77".into()),
        ..Default::default()
    });
    emu.insert(serde_json::json!({"name": "Ann"}));
    let dir = tempfile::tempdir().unwrap();
    let config = format!(
        r#"
[entities.contact]
name = "text"

[connectors.crm]
kind = "http"
base_url = "{url}"
auth = {{ header = "X-Api-Key", value = "${{CRM_KEY}}" }}
list = {{ path = "/api/v4/contacts", records = "/_embedded/contacts" }}

[connectors.export]
kind = "csv"
path = "export.csv"

[map.crm.contact]
id = "id"
fields = {{ name = "name" }}

[map.export.contact]
id = "id"
fields = {{ name = "name" }}

[jobs.j]
pull = ["crm"]
push = ["export"]
"#,
        url = emu.url
    );
    let path = dir.path().join("einklang.toml");
    std::fs::write(&path, config).unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_einklang"))
        .args(["--config", path.to_str().unwrap(), "sync", "j"])
        .env("EINKLANG_LOG", "debug")
        .env("CRM_KEY", "very-secret-key-77")
        .env_remove("EINKLANG_CONFIG")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let log = String::from_utf8_lossy(&out.stderr);
    for part in [
        "run started",
        "job=j",
        "GET",
        "/api/v4/contacts",
        "status=200",
        "store transaction",
        "op=\"apply_sync\"",
        "run finished",
    ] {
        assert!(log.contains(part), "{part:?} not in the log:\n{log}");
    }
    assert!(
        !log.contains("very-secret-key-77"),
        "the key leaked:\n{log}"
    );
}

/// Defect (issue 9): `sync` exited 0 with a whole connector unreachable.
#[test]
fn an_unreachable_connector_makes_the_run_partial_not_succeeded() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("a.csv"), "id,name\n1,Ann\n").unwrap();
    let config = r#"
[entities.contact]
name = "text"

[connectors.file]
kind = "csv"
path = "a.csv"

[connectors.crm]
kind = "http"
base_url = "http://127.0.0.1:9"
list = { path = "/contacts", records = "/items" }
retry = { attempts = 1 }

[map.file.contact]
id = "id"
fields = { name = "name" }

[map.crm.contact]
id = "id"
fields = { name = "name" }

[jobs.j]
pull = ["file", "crm"]
"#;
    let path = dir.path().join("einklang.toml");
    std::fs::write(&path, config).unwrap();
    let run = |args: &[&str]| {
        Command::new(env!("CARGO_BIN_EXE_einklang"))
            .arg("--config")
            .arg(&path)
            .args(args)
            .env_remove("EINKLANG_CONFIG")
            .output()
            .unwrap()
    };
    let out = run(&["sync", "j"]);
    assert_eq!(out.status.code(), Some(3), "{}", text(&out));
    assert!(
        String::from_utf8_lossy(&out.stdout).contains("failed"),
        "{}",
        text(&out)
    );
    // every step failing is a failed run
    std::fs::remove_file(dir.path().join("a.csv")).unwrap();
    let out = run(&["sync", "j"]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
}

/// Defect (issue 9): `sync --watch` next to a manual sync reverted 50 user
/// edits in the vCards while the hub and the CSV kept the new values — a
/// divergence no later sync saw. Both now go through the job's lease.
#[test]
fn a_watch_beside_manual_syncs_reverts_no_edit() {
    let office = Office::new(300);
    let first = office.run(&["sync", "office-phone"]);
    assert_eq!(first.status.code(), Some(0), "{}", text(&first));
    let mut watch = office.spawn(&["sync", "office-phone", "--watch", "--interval", "1"]);
    let cards = office.dir.path().join("data/phonebook");
    let mut edited = Vec::new();
    for round in 0..5 {
        for i in (round * 10)..(round * 10 + 10) {
            let card = cards.join(format!("phone-{i}.vcf"));
            let text = std::fs::read_to_string(&card).unwrap();
            let new = text.replace(&format!("N:Fon{i};"), &format!("N:Edited{round}x{i};"));
            std::fs::write(&card, new).unwrap();
            edited.push((i, format!("Edited{round}x{i}")));
        }
        let out = office.run(&["sync", "office-phone", "--wait", "60"]);
        assert!(matches!(out.status.code(), Some(0)), "{}", text(&out));
    }
    std::thread::sleep(Duration::from_millis(1500));
    watch.kill().unwrap();
    watch.wait().unwrap();
    let out = office.run(&["sync", "office-phone", "--json"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let csv = std::fs::read_to_string(office.dir.path().join("data/mandanten.csv")).unwrap();
    for (i, name) in &edited {
        let card = std::fs::read_to_string(cards.join(format!("phone-{i}.vcf"))).unwrap();
        assert!(
            card.contains(&format!("N:{name};")),
            "card {i} reverted: {card}"
        );
        assert!(csv.contains(&format!(";{name};")), "{name} not in the CSV");
    }
    office.assert_whole(600);
}

/// Issue 10: `show` and `explain` read only the hub — they work on a
/// machine that has the config but not the connectors' secrets.
#[test]
fn hub_commands_work_without_connector_secrets() {
    let office = Office::new(3);
    assert_eq!(office.run(&["sync", "office-phone"]).status.code(), Some(0));
    let mut config = std::fs::read_to_string(office.config()).unwrap();
    config.push_str("\n[connectors.crm]\nkind = \"http\"\nbase_url = \"https://crm.example\"\nauth = { header = \"X-Api-Key\", value = \"${NOT_SET_HERE}\" }\nlist = { path = \"/c\", records = \"/items\" }\n");
    std::fs::write(office.config(), config).unwrap();
    for args in [
        &["show", "contact", "1"][..],
        &["runs"],
        &["quarantine"],
        &["conflicts"],
        &["merges"],
    ] {
        let out = office
            .command(args)
            .env_remove("NOT_SET_HERE")
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(0), "{args:?}: {}", text(&out));
    }
    // a command that reaches connectors still names what is missing
    let out = office
        .command(&["sync", "office-phone"])
        .env_remove("NOT_SET_HERE")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    assert!(String::from_utf8_lossy(&out.stderr).contains("NOT_SET_HERE"));
}

/// Issue 14 (seed 004): the employes.nl-like emulator read through the
/// `http` connector as a user would configure it — 1-based pages of 25
/// until an empty one, a bearer token, each employee's contracts read from
/// their own endpoint (`children` with `list`), money as text — and a
/// second snapshot after a raise and a new hire changes just those.
#[test]
fn employees_snapshot_from_the_employes_emulator_pages_and_reads_contracts() {
    let emu = einklang_emulator::Emulator::start(Default::default());
    let e = emu.employes();
    let ids = e.seed(57);
    let dir = tempfile::tempdir().unwrap();
    let config = format!(
        r#"
[entities.employee]
employee_number = "number"
first_name = "text"
surname = "text"
email = "email"
function = "text"
started = "date"
salary = "number"
hours_per_week = "number"

[connectors.employes]
kind = "http"
base_url = "{base}"
auth = {{ header = "Authorization", value = "Bearer ${{EMPLOYES_TOKEN}}" }}
list = {{ path = "/employees", records = "/data", paginate = "page", page_param = "page", size_param = "per_page", size = 25, first_page = 1 }}
get = {{ path = "/employees/{{id}}", missing = [404] }}

[connectors.employes.children.employments]
list = {{ path = "/employees/{{parent}}/employments", records = "/data" }}
read_only = ["start_date", "end_date", "hours_per_week", "salary", "salary_period", "function"]
blank = {{ function = "" }}

[map.employes.employee]
id = "id"

[map.employes.employee.fields]
employee_number = "employee_number"
first_name = "first_name"
surname = "surname"
email = "email"
function = "employments[0].function"
started = "employments[0].start_date"
salary = "employments[0].salary"
hours_per_week = "employments[0].hours_per_week"

[jobs.snapshot]
pull = ["employes"]
"#,
        base = e.base_url()
    );
    let path = dir.path().join("einklang.toml");
    std::fs::write(&path, config).unwrap();
    let sync = || {
        Command::new(env!("CARGO_BIN_EXE_einklang"))
            .args(["--config", path.to_str().unwrap(), "sync", "snapshot"])
            .env("EMPLOYES_TOKEN", e.token())
            .env_remove("EINKLANG_CONFIG")
            .output()
            .unwrap()
    };
    let out = sync();
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert!(text(&out).contains("57 created"), "{}", text(&out));
    // 3 pages of employees (the third short), one contract list each
    let log = emu.request_log();
    let pages = log.iter().filter(|l| l.contains("/employees?")).count();
    let contracts = log.iter().filter(|l| l.ends_with("/employments")).count();
    assert_eq!((pages, contracts), (3, 57), "{log:?}");
    let mut store = einklang_store::open(dir.path().join("einklang.db").to_str().unwrap()).unwrap();
    let first = e.get(&ids[0]).unwrap();
    let contract = &e.employments(&ids[0])[0];
    let (_, values) = store
        .live_records("default", "employee", 0, 1)
        .unwrap()
        .remove(0);
    assert_eq!(values["first_name"], first["first_name"]);
    assert_eq!(
        values["salary"].as_f64(),
        contract["salary"].as_str().unwrap().parse::<f64>().ok()
    );
    assert_eq!(values["hours_per_week"], contract["hours_per_week"]);

    // a raise for one, a new hire: the next snapshot changes just those
    e.amend(&ids[3], serde_json::json!({"salary": "4100.00"}));
    e.seed(1);
    let out = sync();
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let report = text(&out);
    assert!(
        report.contains("1 created, 1 updated, 56 unchanged"),
        "{report}"
    );
}
