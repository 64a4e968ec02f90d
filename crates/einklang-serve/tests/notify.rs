//! Notifications: a failed run and new conflicts told once each, as JSON
//! and as Slack text, retried past a refusal, never told twice.

mod common;

use chrono::Utc;
use einklang_engine::{run_job, NoProgress, RunOptions};
use einklang_serve::notify::{deliver, look, save};
use std::io::{BufRead, BufReader, Read, Write};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// A receiver on a port of its own: refuses the first `refuse` calls with
/// 500, then answers 200; keeps each call's path and body.
/// The calls a receiver took: path and body.
type Calls = Arc<Mutex<Vec<(String, String)>>>;

fn receiver(refuse: usize) -> (String, Calls) {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let got = Arc::new(Mutex::new(Vec::new()));
    let seen = Arc::clone(&got);
    std::thread::spawn(move || {
        let mut n = 0;
        for conn in listener.incoming() {
            let mut conn = conn.unwrap();
            let mut reader = BufReader::new(conn.try_clone().unwrap());
            let mut line = String::new();
            reader.read_line(&mut line).unwrap();
            let path = line.split(' ').nth(1).unwrap_or("").to_string();
            let mut length = 0;
            loop {
                let mut h = String::new();
                reader.read_line(&mut h).unwrap();
                if h.trim().is_empty() {
                    break;
                }
                if let Some(v) = h.to_ascii_lowercase().strip_prefix("content-length:") {
                    length = v.trim().parse().unwrap();
                }
            }
            let mut body = vec![0; length];
            reader.read_exact(&mut body).unwrap();
            n += 1;
            let status = if n <= refuse {
                "500 Internal Server Error"
            } else {
                "200 OK"
            };
            if n > refuse {
                seen.lock()
                    .unwrap()
                    .push((path, String::from_utf8(body).unwrap()));
            }
            let _ = write!(
                conn,
                "HTTP/1.1 {status}\r\ncontent-length: 0\r\nconnection: close\r\n\r\n"
            );
        }
    });
    (url, got)
}

#[test]
fn a_failed_run_and_new_conflicts_are_told_once_each_retried_past_a_refusal() {
    let (url, got) = receiver(1);
    let config = format!(
        r#"
store = "hub.db"
tenant = "acme"

[entities.contact]
name = "text"
email = "text"

[connectors.people]
kind = "csv"
path = "people.csv"

[connectors.crm]
kind = "csv"
path = "crm.csv"

[connectors.gone]
kind = "csv"
path = "gone/nothing.csv"

[map.people.contact]
id = "id"
fields = {{ name = "name", email = "email" }}

[map.crm.contact]
id = "id"
fields = {{ name = "name", email = "email" }}

[map.gone.contact]
id = "id"
fields = {{ name = "name" }}

[jobs.both]
sync = ["people", "crm"]

[jobs.broken]
pull = ["gone"]

[[serve.notify]]
url = "{url}/json"

[[serve.notify]]
url = "{url}/slack"
format = "slack"
on = ["failed"]
"#
    );
    let hub = common::hub_with(&config, None);
    std::fs::write(hub.dir.path().join("crm.csv"), "id,name,email\n").unwrap();
    let mut store = common::open(&hub.config);
    let t0 = Utc::now();
    let (events, cursor) = look(&hub.config, store.as_mut(), t0).unwrap();
    assert!(events.is_empty(), "the first look tells nothing old");
    save(&hub.config, store.as_mut(), &cursor).unwrap();

    let run = |job: &str, store: &mut dyn einklang_store::HubStore| {
        let _ = run_job(&hub.config, store, job, &RunOptions::default(), &NoProgress);
    };
    run("both", store.as_mut());
    let edit = |file: &str, to: &str| {
        let path = hub.dir.path().join(file);
        let text = std::fs::read_to_string(&path).unwrap();
        std::fs::write(&path, text.replace("Anna Berg", to)).unwrap();
    };
    edit("people.csv", "Anna B.");
    edit("crm.csv", "Anna Lind");
    run("both", store.as_mut());
    run("broken", store.as_mut());
    let (events, cursor) = look(&hub.config, store.as_mut(), Utc::now()).unwrap();
    let kinds: Vec<&str> = events.iter().map(|e| e.event.as_str()).collect();
    assert_eq!(kinds, ["needs_review", "failed", "conflicts"], "{events:?}");
    let tiny = [Duration::from_millis(10); 3];
    assert_eq!(
        deliver(&hub.config.serve.notify, &events, &tiny),
        0,
        "all delivered"
    );
    save(&hub.config, store.as_mut(), &cursor).unwrap();
    let calls = got.lock().unwrap().clone();
    let json_calls: Vec<serde_json::Value> = calls
        .iter()
        .filter(|(p, _)| p == "/json")
        .map(|(_, b)| serde_json::from_str(b).unwrap())
        .collect();
    assert_eq!(json_calls.len(), 3, "{calls:?}");
    assert_eq!(json_calls[1]["event"], "failed");
    assert_eq!(json_calls[1]["job"], "broken");
    assert_eq!(json_calls[2]["count"], 1);
    let slack: Vec<&String> = calls
        .iter()
        .filter(|(p, _)| p == "/slack")
        .map(|(_, b)| b)
        .collect();
    assert_eq!(slack.len(), 1, "only `failed` goes to the Slack target");
    let text: serde_json::Value = serde_json::from_str(slack[0]).unwrap();
    assert!(
        text["text"]
            .as_str()
            .unwrap()
            .contains("job `broken` ended failed"),
        "{text}"
    );

    // nothing new: nothing told
    let (events, _) = look(&hub.config, store.as_mut(), Utc::now()).unwrap();
    assert!(events.is_empty(), "{events:?}");
}

#[test]
fn a_target_that_never_answers_is_given_up_after_its_retries() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}/hook", listener.local_addr().unwrap());
    drop(listener); // nobody listens there
    let target = einklang_config::Notify {
        url,
        format: einklang_config::NotifyFormat::Json,
        on: vec!["failed".into()],
    };
    let event = einklang_serve::notify::Event {
        event: "failed".into(),
        body: serde_json::json!({ "event": "failed" }),
        text: "x".into(),
    };
    let started = std::time::Instant::now();
    let failed = deliver(&[target], &[event], &[Duration::from_millis(20); 3]);
    assert_eq!(failed, 1);
    assert!(
        started.elapsed() >= Duration::from_millis(60),
        "three retries waited"
    );
}
