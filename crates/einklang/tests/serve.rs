//! `einklang serve` as an operator runs it: a token made with
//! `einklang token create`, the service on a real port, a run triggered
//! and polled over HTTP, a second service on the same SQLite hub refused,
//! and SIGTERM ending it cleanly.

mod support;

use serde_json::Value;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};
use support::agent;

const CONFIG: &str = r#"
store = "hub.db"

[entities.contact]
name = "text"
email = "text"

[connectors.people]
kind = "csv"
path = "people.csv"

[map.people.contact]
id = "id"
fields = { name = "name", email = "email" }

[jobs.import]
pull = ["people"]

[serve]
workers = 1
shutdown_seconds = 10
"#;

fn einklang(dir: &Path) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_einklang"));
    c.current_dir(dir)
        .arg("--config")
        .arg(dir.join("einklang.toml"));
    c
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn request(method: &str, url: &str, token: Option<&str>) -> (u16, Value, Option<String>) {
    let mut req = ureq::http::Request::builder().method(method).uri(url);
    if let Some(t) = token {
        req = req.header("Authorization", format!("Bearer {t}"));
    }
    let mut answer = agent().run(req.body(String::new()).unwrap()).unwrap();
    let location = answer
        .headers()
        .get("location")
        .map(|l| l.to_str().unwrap().to_string());
    let text = answer.body_mut().read_to_string().unwrap();
    (
        answer.status().as_u16(),
        serde_json::from_str(&text).unwrap_or(Value::Null),
        location,
    )
}

fn serve(dir: &Path, port: u16) -> Child {
    einklang(dir)
        .args(["serve", "--listen", &format!("127.0.0.1:{port}")])
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap()
}

fn wait_ready(base: &str) {
    let started = Instant::now();
    while started.elapsed() < Duration::from_secs(20) {
        if std::net::TcpStream::connect(base.trim_start_matches("http://")).is_ok() {
            return;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    panic!("einklang serve did not listen on {base}");
}

#[test]
fn a_token_a_triggered_run_polled_to_its_end_one_service_per_sqlite_hub_and_a_clean_sigterm() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("einklang.toml"), CONFIG).unwrap();
    std::fs::write(
        dir.path().join("people.csv"),
        "id,name,email\n1,Anna Berg,anna@example.org\n2,Bo Lind,bo@example.org\n",
    )
    .unwrap();
    let token = operator_token(dir.path());
    assert!(token.starts_with("ek_") && token.len() > 60, "{token}");
    let stored = std::fs::read(dir.path().join("hub.db")).unwrap();
    let needle = token.as_bytes();
    assert!(
        !stored.windows(needle.len()).any(|w| w == needle),
        "the token itself never reaches the store"
    );

    let port = free_port();
    let base = format!("http://127.0.0.1:{port}");
    let mut child = serve(dir.path(), port);
    wait_ready(&base);
    let (status, _, _) = request("POST", &format!("{base}/api/jobs/import/runs"), None);
    assert_eq!(status, 401);
    let (status, body, location) = request(
        "POST",
        &format!("{base}/api/jobs/import/runs"),
        Some(&token),
    );
    assert_eq!(status, 202, "{body}");
    let location = location.expect("a Location to poll");
    assert_eq!(location, format!("/api/runs/{}", body["run_id"]));
    let started = Instant::now();
    let mut run = Value::Null;
    while started.elapsed() < Duration::from_secs(30) {
        run = request("GET", &format!("{base}{location}"), Some(&token)).1;
        if run["status"] == "succeeded" {
            break;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    assert_eq!(run["status"], "succeeded", "{run}");
    assert_eq!(run["counters"]["created"], 2);
    assert_eq!(run["triggered_by"], "token:ops");

    // a second service on the same SQLite file refuses, naming why
    let second = einklang(dir.path())
        .args(["serve", "--listen", &format!("127.0.0.1:{}", free_port())])
        .output()
        .unwrap();
    assert!(!second.status.success());
    let said = String::from_utf8_lossy(&second.stderr);
    assert!(
        said.contains("another `einklang serve` runs on this SQLite hub"),
        "{said}"
    );

    // the token revoked: refused at once
    let revoked = einklang(dir.path())
        .args(["token", "revoke", "ops"])
        .output()
        .unwrap();
    assert!(revoked.status.success());
    let (status, _, _) = request("GET", &format!("{base}/api/runs"), Some(&token));
    assert_eq!(status, 401, "a revoked token");

    #[cfg(unix)]
    {
        let pid = rustix::process::Pid::from_raw(child.id() as i32).unwrap();
        rustix::process::kill_process(pid, rustix::process::Signal::TERM).unwrap();
        let started = Instant::now();
        let status = loop {
            if let Some(s) = child.try_wait().unwrap() {
                break s;
            }
            assert!(
                started.elapsed() < Duration::from_secs(20),
                "still running after SIGTERM"
            );
            std::thread::sleep(Duration::from_millis(50));
        };
        assert!(status.success(), "{status:?}");
    }
    #[cfg(not(unix))]
    child.kill().unwrap();
}

/// Two services on one PostgreSQL: a run creating 10,000 contacts at a
/// CRM, the service running it killed with SIGKILL part-way, the other
/// one finishing — every contact created exactly once.
#[test]
fn two_services_on_postgresql_and_a_kill_minus_9_create_every_record_once() {
    let Some(db) = einklang_testkit::PgDb::new("serve_two") else {
        return;
    };
    let (emu, dir, token) = crm_push(&db.url, "");
    let (port_a, port_b) = (free_port(), free_port());
    let mut a = serve(dir.path(), port_a);
    let base_a = format!("http://127.0.0.1:{port_a}");
    wait_ready(&base_a);
    // two runs asked for: A takes the first, the second waits for the job
    for _ in 0..2 {
        let (status, body, _) = request(
            "POST",
            &format!("{base_a}/api/jobs/clients/runs"),
            Some(&token),
        );
        assert_eq!(status, 202, "{body}");
    }
    let started = Instant::now();
    while emu.all().len() < 3_000 {
        assert!(
            started.elapsed() < Duration::from_secs(120),
            "A wrote {} in 2 min",
            emu.all().len()
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    let mut b = serve(dir.path(), port_b);
    wait_ready(&format!("http://127.0.0.1:{port_b}"));
    a.kill().unwrap(); // SIGKILL: no shutdown, claims and leases left behind
    a.wait().unwrap();
    let at_kill = emu.all().len();
    assert!(
        at_kill < 10_000,
        "A finished before it was killed ({at_kill})"
    );

    // B takes both runs at once: A's claim and A's leases belong to a
    // process gone from this host; the run A was running runs again
    // under its id
    let base_b = format!("http://127.0.0.1:{port_b}");
    let started = Instant::now();
    loop {
        let (_, runs, _) = request("GET", &format!("{base_b}/api/runs"), Some(&token));
        let runs = runs["runs"].as_array().cloned().unwrap_or_default();
        let succeeded = runs.iter().filter(|r| r["status"] == "succeeded").count();
        let (_, ready, _) = request("GET", &format!("{base_b}/readyz"), None);
        if succeeded == 2 && ready["queued_runs"] == 0 {
            break;
        }
        assert!(
            started.elapsed() < Duration::from_secs(150),
            "not done: {runs:?}, {} written",
            emu.all().len()
        );
        std::thread::sleep(Duration::from_millis(200));
    }
    let contacts = emu.all();
    assert_eq!(contacts.len(), 10_000, "every contact created once");
    let mut emails: Vec<String> = contacts
        .iter()
        .map(|c| c["email"].as_str().unwrap_or("").to_string())
        .collect();
    emails.sort();
    emails.dedup();
    assert_eq!(emails.len(), 10_000, "no contact twice");
    assert_eq!(emu.count("POST"), 10_000, "one create request per contact");
    let (_, runs, _) = request("GET", &format!("{base_b}/api/runs"), Some(&token));
    let statuses: Vec<&str> = runs["runs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["status"].as_str().unwrap())
        .collect();
    assert!(statuses.iter().all(|s| *s == "succeeded"), "{runs}");
    b.kill().unwrap();
    let _ = b.wait();
}

/// A hub (`store`) whose job `clients` syncs 10,000 office contacts with a
/// CRM on a fresh emulator — 10,000 creates for its first run — with
/// `[serve] workers = 1` and `serve_extra` lines; an operator token.
fn crm_push(
    store: &str,
    serve_extra: &str,
) -> (einklang_emulator::Emulator, tempfile::TempDir, String) {
    let emu = einklang_emulator::Emulator::start(Default::default());
    let dir = tempfile::tempdir().unwrap();
    let config = format!(
        r#"
store = "{store}"

[entities.contact]
name = "text"
email = "email"

[connectors.office]
kind = "csv"
path = "office.csv"

{crm}

[map.office.contact]
id = "Nr"
fields = {{ name = "Name", email = "E-Mail" }}

{clients}{serve_extra}
"#,
        store = store,
        crm = crm_connector(&emu.url),
        clients = CLIENTS,
    );
    std::fs::write(dir.path().join("einklang.toml"), config).unwrap();
    let mut csv = String::from("Nr,Name,E-Mail\n");
    for i in 0..10_000 {
        csv.push_str(&format!("{i},Kontakt {i},k{i}@example.org\n"));
    }
    std::fs::write(dir.path().join("office.csv"), csv).unwrap();
    let token = operator_token(dir.path());

    (emu, dir, token)
}

/// SIGTERM while a run creates 10,000 contacts, with a 1 s shutdown
/// deadline: the service stops within it, leaving the run to the next
/// start, which finishes it — every contact created exactly once.
#[cfg(unix)]
#[test]
fn sigterm_mid_run_stops_at_the_deadline_and_the_next_start_finishes_the_run_once() {
    let dir_store = tempfile::tempdir().unwrap();
    let store = dir_store.path().join("hub.db");
    let (emu, dir, token) = crm_push(store.to_str().unwrap(), "shutdown_seconds = 1");
    let port = free_port();
    let base = format!("http://127.0.0.1:{port}");
    let mut a = serve(dir.path(), port);
    wait_ready(&base);
    let (status, body, _) = request(
        "POST",
        &format!("{base}/api/jobs/clients/runs"),
        Some(&token),
    );
    assert_eq!(status, 202, "{body}");
    let run = body["run_id"].as_i64().unwrap();
    let started = Instant::now();
    while emu.all().len() < 2_000 {
        assert!(
            started.elapsed() < Duration::from_secs(120),
            "{} written",
            emu.all().len()
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    let pid = rustix::process::Pid::from_raw(a.id() as i32).unwrap();
    rustix::process::kill_process(pid, rustix::process::Signal::TERM).unwrap();
    let stopping = Instant::now();
    let exit = loop {
        if let Some(s) = a.try_wait().unwrap() {
            break s;
        }
        assert!(
            stopping.elapsed() < Duration::from_secs(15),
            "still running after SIGTERM"
        );
        std::thread::sleep(Duration::from_millis(20));
    };
    assert!(exit.success(), "{exit:?}");
    let mut said = String::new();
    std::io::Read::read_to_string(a.stderr.as_mut().unwrap(), &mut said).unwrap();
    let at_stop = emu.all().len();
    assert!(
        at_stop < 10_000,
        "the run finished before the deadline ({at_stop}); nothing was cut off"
    );
    assert!(
        said.contains("still going at the shutdown deadline"),
        "{said}"
    );

    // the next start takes the run again under its id and finishes it
    let port = free_port();
    let base = format!("http://127.0.0.1:{port}");
    let mut b = serve(dir.path(), port);
    wait_ready(&base);
    let started = Instant::now();
    loop {
        let (_, r, _) = request("GET", &format!("{base}/api/runs/{run}"), Some(&token));
        let (_, ready, _) = request("GET", &format!("{base}/readyz"), None);
        if r["status"] == "succeeded" && ready["queued_runs"] == 0 {
            break;
        }
        assert!(started.elapsed() < Duration::from_secs(120), "{r}");
        std::thread::sleep(Duration::from_millis(100));
    }
    assert_eq!(emu.all().len(), 10_000, "every contact once");
    assert_eq!(emu.count("POST"), 10_000, "one create request each");
    b.kill().unwrap();
    let _ = b.wait();
}

/// `request` with a JSON body.
fn request_json(url: &str, token: &str, body: &Value) -> (u16, Value) {
    let req = ureq::http::Request::builder()
        .method("POST")
        .uri(url)
        .header("Authorization", format!("Bearer {token}"))
        .header("content-type", "application/json")
        .body(body.to_string())
        .unwrap();
    let mut answer = agent().run(req).unwrap();
    let text = answer.body_mut().read_to_string().unwrap();
    (
        answer.status().as_u16(),
        serde_json::from_str(&text).unwrap_or(Value::Null),
    )
}

/// Two services on one PostgreSQL work off 10,000 queued record syncs
/// (`POST /api/records/contact/sync`, 500 hub ids a call): each reads
/// its records from a database table by id and writes the change to a
/// CRM. The service at work is killed with SIGKILL part-way; the other
/// finishes — every contact updated, by exactly one write each.
#[test]
fn two_services_work_off_10_000_queued_record_syncs_and_a_kill_minus_9_writes_none_twice() {
    let Some(db) = einklang_testkit::PgDb::new("serve_syncs") else {
        return;
    };
    let mut pg = postgres::Client::connect(&db.url, postgres::NoTls).unwrap();
    pg.batch_execute(
        "CREATE TABLE kontakte (nr TEXT PRIMARY KEY, name TEXT, email TEXT);
         INSERT INTO kontakte SELECT i::text, 'Kontakt ' || i, 'k' || i || '@example.org'
         FROM generate_series(0, 9999) i;",
    )
    .unwrap();
    let emu = einklang_emulator::Emulator::start(Default::default());
    let dir = tempfile::tempdir().unwrap();
    let config = format!(
        r#"
store = "{url}"

[entities.contact]
name = "text"
email = "email"

[connectors.office]
kind = "postgres_table"
url = "{url}"
table = "kontakte"
key = "nr"

{crm}

[map.office.contact]
id = "nr"
fields = {{ name = "name", email = "email" }}

{clients}"#,
        url = db.url,
        crm = crm_connector(&emu.url),
        clients = CLIENTS,
    );
    std::fs::write(dir.path().join("einklang.toml"), config).unwrap();
    let token = operator_token(dir.path());

    // the first run links every contact (10,000 creates at the CRM)
    let (port_a, port_b) = (free_port(), free_port());
    let a = serve(dir.path(), port_a);
    let base_a = format!("http://127.0.0.1:{port_a}");
    wait_ready(&base_a);
    let (status, queued, _) = request(
        "POST",
        &format!("{base_a}/api/jobs/clients/runs"),
        Some(&token),
    );
    assert_eq!(status, 202, "{queued}");
    let first = queued["run_id"].as_i64().unwrap();
    let started = Instant::now();
    loop {
        let (_, run, _) = request("GET", &format!("{base_a}/api/runs/{first}"), Some(&token));
        if run["status"] == "succeeded" {
            break;
        }
        assert!(
            run["status"] == "queued" || run["status"] == "running",
            "{run}"
        );
        assert!(started.elapsed() < Duration::from_secs(180), "{run}");
        std::thread::sleep(Duration::from_millis(100));
    }
    assert_eq!(emu.count("POST"), 10_000);

    // every contact changes in the table; 10,000 record syncs are queued
    pg.batch_execute("UPDATE kontakte SET name = name || ' neu'")
        .unwrap();
    let ids: Vec<i64> = pg
        .query(
            "SELECT id FROM records WHERE entity = 'contact' AND merged_into IS NULL ORDER BY id",
            &[],
        )
        .unwrap()
        .iter()
        .map(|r| r.get(0))
        .collect();
    assert_eq!(ids.len(), 10_000);
    let b = serve(dir.path(), port_b);
    let base_b = format!("http://127.0.0.1:{port_b}");
    wait_ready(&base_b);
    for (n, chunk) in ids.chunks(500).enumerate() {
        let base = if n % 2 == 0 { &base_a } else { &base_b };
        let body = serde_json::json!({ "ids": chunk, "user": "maria@example.org" });
        let (status, answer) =
            request_json(&format!("{base}/api/records/contact/sync"), &token, &body);
        assert_eq!(status, 202, "{answer}");
        let queued = answer["records"].as_array().unwrap();
        assert!(queued.iter().all(|r| r["status"] == "queued"), "{answer}");
    }

    // the service at work — the one holding the job's lease — dies
    // part-way
    let started = Instant::now();
    let holder = loop {
        let written = emu.count("PATCH") + emu.count("PUT");
        let holder: Option<i64> = pg
            .query_opt(
                "SELECT pid FROM leases WHERE name = 'job:clients' AND expires_at > now()",
                &[],
            )
            .unwrap()
            .map(|r| r.get(0));
        if let Some(pid) = holder.filter(|_| written >= 3_000) {
            break pid as u32;
        }
        assert!(started.elapsed() < Duration::from_secs(180), "slow");
        std::thread::sleep(Duration::from_millis(5));
    };
    let (mut dead, mut b, base_b) = match holder == a.id() {
        true => (a, b, base_b),
        false => {
            assert_eq!(holder, b.id(), "the lease is one of the two services'");
            (b, a, base_a)
        }
    };
    dead.kill().unwrap();
    dead.wait().unwrap();
    let at_kill = emu.count("PATCH") + emu.count("PUT");
    assert!(at_kill < 10_000, "all written before the kill ({at_kill})");

    // the other one works off the rest
    let started = Instant::now();
    loop {
        let (_, ready, _) = request("GET", &format!("{base_b}/readyz"), None);
        if ready["queued_runs"] == 0 {
            break;
        }
        assert!(
            started.elapsed() < Duration::from_secs(240),
            "not done: {ready}, {} written",
            emu.count("PATCH") + emu.count("PUT")
        );
        std::thread::sleep(Duration::from_millis(200));
    }
    let (_, runs, _) = request("GET", &format!("{base_b}/api/runs?limit=100"), Some(&token));
    let runs = runs["runs"].as_array().unwrap().clone();
    assert_eq!(runs.len(), 21, "the first run and 20 record syncs");
    assert!(runs.iter().all(|r| r["status"] == "succeeded"), "{runs:?}");
    let contacts = emu.all();
    assert_eq!(contacts.len(), 10_000, "no contact created twice");
    assert!(
        contacts
            .iter()
            .all(|c| c["name"].as_str().is_some_and(|n| n.ends_with(" neu"))),
        "every contact updated"
    );
    assert_eq!(emu.count("POST"), 10_000);
    assert_eq!(
        emu.count("PATCH") + emu.count("PUT"),
        10_000,
        "one write per changed contact, none twice ({at_kill} at the kill): {}",
        serde_json::to_string_pretty(&runs).unwrap()
    );
    b.kill().unwrap();
    let _ = b.wait();
}

/// The CRM on the emulator at `emu`, as the jobs `clients` write it.
fn crm_connector(emu: &str) -> String {
    format!(
        r#"[connectors.crm]
kind = "http"
base_url = "{emu}"
list = {{ path = "/api/v4/contacts", paginate = "next_link", next = "/_links/next/href", params = {{ limit = 250 }}, records = "/_embedded/contacts" }}
get = {{ path = "/api/v4/contacts/{{id}}", missing = [204, 404] }}
create = {{ path = "/api/v4/contacts", body = ["{{record}}"], record = "/_embedded/contacts/0" }}
update = {{ path = "/api/v4/contacts/{{id}}" }}
"#
    )
}

/// The CRM's mapping, the job `clients` syncing `office` with it, one
/// worker.
const CLIENTS: &str = r#"[map.crm.contact]
id = "id"
fields = { name = "name", email = "email" }

[jobs.clients]
sync = ["office", "crm"]

[serve]
workers = 1
"#;

/// An operator token of the hub in `dir`, made as an operator would.
fn operator_token(dir: &Path) -> String {
    let made = einklang(dir)
        .args(["token", "create", "ops", "--role", "operator"])
        .output()
        .unwrap();
    assert!(
        made.status.success(),
        "{}",
        String::from_utf8_lossy(&made.stderr)
    );
    String::from_utf8(made.stdout).unwrap().trim().to_string()
}
