//! The webhook port of `einklang sync --watch --listen` as the internet
//! sees it: idle sockets, slow clients, oversized bodies, replayed and
//! stale calls, bursts — and what the runs it starts are recorded as.
//! Each test is named after the defect it pins.

mod support;

use serde_json::{json, Value};
use std::io::{Read, Write};
use std::net::TcpStream;
use std::process::Command;
use std::time::{Duration, Instant};
use support::{agent, hmac_hex, Watching};

/// A `crm` connector on the emulator with `webhook` settings plus
/// `extra` (more keys of the `webhook` table), and job `j` pulling it.
fn config(url: &str, store: &str, extra: &str) -> String {
    format!(
        r#"store = "{store}"
[entities.contact]
name = "text"
[connectors.crm]
kind = "http"
base_url = "{url}"
list = {{ path = "/api/v4/contacts", records = "/_embedded/contacts", paginate = "next_link", next = "/_links/next/href" }}
webhook = {{ signature_header = "X-Signature", secret = "hook-secret-9", ids = ["/contacts/update/0/id"]{extra} }}
[map.crm.contact]
id = "id"
fields = {{ name = "name" }}
[jobs.j]
pull = ["crm"]
"#
    )
}

/// A watching `einklang sync j --watch --listen 127.0.0.1:0 --json`.
struct Watch {
    run: Watching,
    addr: String,
    path: std::path::PathBuf,
    _dir: tempfile::TempDir,
    _emu: einklang_emulator::Emulator,
}

impl Watch {
    /// Start on a fresh emulator (`contacts` in it); `ulimit`: the
    /// open-file limit of the watching process.
    fn start(extra: &str, args: &[&str], contacts: usize, ulimit: Option<u32>) -> Watch {
        let emu = einklang_emulator::Emulator::start(Default::default());
        for i in 0..contacts {
            emu.insert(json!({ "name": format!("Kontakt {i}") }));
        }
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("einklang.toml");
        let store = dir.path().join("hub.db");
        std::fs::write(&path, config(&emu.url, &store.display().to_string(), extra)).unwrap();
        let bin = env!("CARGO_BIN_EXE_einklang");
        let mut cmd = match ulimit {
            Some(n) => {
                let mut c = Command::new("sh");
                c.args(["-c", &format!("ulimit -n {n} && exec \"$0\" \"$@\""), bin]);
                c
            }
            None => Command::new(bin),
        };
        cmd.args([
            "--config",
            path.to_str().unwrap(),
            "sync",
            "j",
            "--watch",
            "--json",
        ])
        .args(["--listen", "127.0.0.1:0"])
        .args(args)
        .env_remove("EINKLANG_CONFIG");
        let (run, first) = Watching::spawn(&mut cmd, 1);
        let line = &first[0];
        let addr = line
            .split("http://")
            .nth(1)
            .unwrap_or_else(|| panic!("no address in {line:?}"))
            .split('/')
            .next()
            .unwrap()
            .to_string();
        Watch {
            run,
            addr,
            path,
            _dir: dir,
            _emu: emu,
        }
    }

    /// The next run report.
    fn report(&self, within: Duration) -> Value {
        self.run.report(within)
    }

    /// Reports until none comes for `gap`.
    fn until_quiet(&self, gap: Duration) -> Vec<Value> {
        self.run.until_quiet(gap)
    }

    /// `einklang runs --json`, newest first.
    fn runs(&self) -> Vec<Value> {
        let out = Command::new(env!("CARGO_BIN_EXE_einklang"))
            .args(["--config", self.path.to_str().unwrap(), "runs", "--json"])
            .args(["--limit", "1000"])
            .output()
            .unwrap();
        let runs: Value = serde_json::from_slice(&out.stdout).unwrap();
        runs.as_array().unwrap().clone()
    }

    fn webhook_runs(&self) -> Vec<String> {
        self.runs()
            .iter()
            .filter(|r| r["source"] == "webhook")
            .map(|r| r["triggered_by"].as_str().unwrap().to_string())
            .collect()
    }

    /// POST a body to `/webhook/crm` with headers; status and answer.
    fn post(&self, headers: &[(&str, &str)], body: &str) -> (u16, Value) {
        post(&self.addr, headers, body)
    }

    /// POST a body signed with the connector's secret.
    fn signed(&self, body: &str, more: &[(&str, &str)]) -> (u16, Value) {
        signed(&self.addr, body, more)
    }

    fn healthz(&self) -> (u16, Value) {
        let mut answer = agent()
            .get(format!("http://{}/healthz", self.addr))
            .call()
            .unwrap();
        let text = answer.body_mut().read_to_string().unwrap();
        (
            answer.status().as_u16(),
            serde_json::from_str(&text).unwrap_or(Value::Null),
        )
    }

    fn connect(&self) -> TcpStream {
        TcpStream::connect(&self.addr).unwrap()
    }
}

/// POST a body to `/webhook/crm` with headers; status and answer.
fn post(addr: &str, headers: &[(&str, &str)], body: &str) -> (u16, Value) {
    let mut req = ureq::http::Request::builder()
        .method("POST")
        .uri(format!("http://{addr}/webhook/crm"));
    for (k, v) in headers {
        req = req.header(*k, *v);
    }
    let mut answer = agent().run(req.body(body.to_string()).unwrap()).unwrap();
    let status = answer.status().as_u16();
    let text = answer.body_mut().read_to_string().unwrap();
    (status, serde_json::from_str(&text).unwrap_or(Value::Null))
}

/// POST a body signed with the connector's secret.
fn signed(addr: &str, body: &str, more: &[(&str, &str)]) -> (u16, Value) {
    let sig = format!("sha256={}", hmac_hex("hook-secret-9", body.as_bytes()));
    let mut headers = vec![("X-Signature", sig.as_str())];
    headers.extend_from_slice(more);
    post(addr, &headers, body)
}

fn update(id: &str) -> String {
    format!(r#"{{"contacts":{{"update":[{{"id":"{id}"}}]}}}}"#)
}

/// What a raw socket gets back within `within`: the bytes until the
/// server closes, and how long that took.
fn answer_of(mut s: TcpStream, within: Duration) -> (String, Duration) {
    let started = Instant::now();
    s.set_read_timeout(Some(within)).unwrap();
    let mut got = Vec::new();
    let _ = s.read_to_end(&mut got);
    (
        String::from_utf8_lossy(&got).into_owned(),
        started.elapsed(),
    )
}

/// The probe: 373 idle connections under `ulimit -n 256` made every
/// interval run fail with "Too many open files". Now the port keeps at
/// most a quarter of the limit open, closing the oldest idle socket for a
/// new one, and `/healthz` answers through it all.
#[test]
fn idle_connections_beyond_the_cap_do_not_stop_interval_runs_or_healthz() {
    let w = Watch::start("", &["--interval", "1"], 20, Some(256));
    assert_eq!(w.report(Duration::from_secs(30))["status"], "succeeded");
    let addr = w.addr.parse().unwrap();
    let idle: Vec<TcpStream> = (0..400)
        .filter_map(|_| TcpStream::connect_timeout(&addr, Duration::from_secs(2)).ok())
        .collect();
    assert_eq!(idle.len(), 400, "every connection was taken");
    for _ in 0..3 {
        let report = w.report(Duration::from_secs(30));
        assert_eq!(report["status"], "succeeded", "{report}");
    }
    let (status, health) = w.healthz();
    assert_eq!(status, 200, "{health}");
    assert_eq!((&health["ok"], &health["job"]), (&json!(true), &json!("j")));
    assert_eq!(health["max_connections"], 64, "256 / 4: {health}");
    assert!(health["connections"].as_u64().unwrap() <= 64, "{health}");
    assert_eq!(health["last_run"]["status"], "succeeded", "{health}");
    assert_eq!(health["last_run"]["source"], "interval", "{health}");
    assert_eq!(
        health["last_run"]["triggered_by"], "interval:1s",
        "{health}"
    );
    drop(idle);
}

/// The probe: a request claiming `Content-Length: 100 GB` got no answer.
/// Also: a chunked body over the cap, and a head over 16 KiB.
#[test]
fn a_huge_content_length_is_refused_at_once_with_413() {
    let w = Watch::start("", &["--interval", "120"], 1, None);
    w.report(Duration::from_secs(30));
    let mut s = w.connect();
    write!(
        s,
        "POST /webhook/crm HTTP/1.1\r\nHost: x\r\nX-Signature: sha256=00ff\r\nContent-Length: 100000000000\r\n\r\n"
    )
    .unwrap();
    let (text, took) = answer_of(s, Duration::from_secs(5));
    assert!(text.starts_with("HTTP/1.1 413"), "{text:?}");
    assert!(text.contains("over the limit of 1048576"), "{text}");
    assert!(took < Duration::from_secs(2), "{took:?}");
    // a request head over 16 KiB is refused
    let mut s = w.connect();
    let big = "a".repeat(20 * 1024);
    let _ = write!(
        s,
        "POST /webhook/crm HTTP/1.1\r\nHost: x\r\nX-Big: {big}\r\n\r\n"
    );
    let (text, _) = answer_of(s, Duration::from_secs(5));
    assert!(text.starts_with("HTTP/1.1 431"), "{text:?}");
    // a chunked body is cut off at the cap while it is read
    let mut s = w.connect();
    write!(
        s,
        "POST /webhook/crm HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
    )
    .unwrap();
    let chunk = vec![b'a'; 64 * 1024];
    let (text, _) = std::thread::scope(|scope| {
        let reader = s.try_clone().unwrap();
        let answer = scope.spawn(move || answer_of(reader, Duration::from_secs(10)));
        for _ in 0..32 {
            let ok = write!(s, "{:x}\r\n", chunk.len()).is_ok()
                && s.write_all(&chunk).is_ok()
                && s.write_all(b"\r\n").is_ok();
            if !ok {
                break;
            }
        }
        answer.join().unwrap()
    });
    assert!(text.starts_with("HTTP/1.1 413"), "{text:?}");
}

/// A slow-loris that sends a byte of the body, or of the headers, now
/// and then is dropped when the timeout (10 s by default) runs out.
#[test]
fn a_slow_body_or_slow_headers_are_cut_off_by_the_timeouts() {
    let w = Watch::start("", &["--interval", "120"], 1, None);
    w.report(Duration::from_secs(30));
    let trickle = |head: &str, then: &'static [u8]| {
        let mut s = w.connect();
        s.write_all(head.as_bytes()).unwrap();
        let reader = s.try_clone().unwrap();
        std::thread::spawn(move || {
            for b in then.iter().cycle().take(60) {
                std::thread::sleep(Duration::from_millis(500));
                if s.write_all(&[*b]).is_err() {
                    break;
                }
            }
        });
        answer_of(reader, Duration::from_secs(25))
    };
    let head = "POST /webhook/crm HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n";
    let idle_after_a_request = || {
        let mut s = w.connect();
        s.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
            .unwrap();
        answer_of(s, Duration::from_secs(25))
    };
    let ((body, body_took), (headers, headers_took), (kept, kept_took)) =
        std::thread::scope(|scope| {
            let body = scope.spawn(|| trickle(head, b"{"));
            let kept = scope.spawn(idle_after_a_request);
            let headers = trickle("POST /webhook/crm HTTP/1.1\r\n", b"X-Slow: yes\r\n");
            (body.join().unwrap(), headers, kept.join().unwrap())
        });
    assert!(body.starts_with("HTTP/1.1 408"), "{body:?}");
    assert!(body_took < Duration::from_secs(15), "{body_took:?}");
    assert!(!headers.contains("HTTP/1.1 2"), "{headers:?}");
    assert!(
        headers_took < Duration::from_secs(15),
        "closed by the header timeout: {headers_took:?}"
    );
    assert!(kept.starts_with("HTTP/1.1 200"), "{kept:?}");
    assert!(
        (Duration::from_secs(8)..Duration::from_secs(15)).contains(&kept_took),
        "a kept-alive connection idles at most the header timeout: {kept_took:?}"
    );
}

/// Over the cap with every connection in the middle of a request, a new
/// connection is answered 503 at once; when the slow bodies time out,
/// the port answers again.
#[test]
fn over_the_cap_with_every_connection_busy_a_new_one_gets_503() {
    let limits = ["--max-connections", "2", "--body-timeout", "2"];
    let w = Watch::start("", &[&["--interval", "120"][..], &limits].concat(), 1, None);
    w.report(Duration::from_secs(30));
    let slow: Vec<TcpStream> = (0..2)
        .map(|_| {
            let mut s = w.connect();
            s.write_all(b"POST /webhook/crm HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\n\r\n{")
                .unwrap();
            s
        })
        .collect();
    std::thread::sleep(Duration::from_millis(300));
    let mut s = w.connect();
    s.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
        .unwrap();
    let (text, took) = answer_of(s, Duration::from_secs(5));
    assert!(text.starts_with("HTTP/1.1 503"), "{text:?}");
    assert!(took < Duration::from_secs(1), "{took:?}");
    std::thread::sleep(Duration::from_secs(3));
    let (status, health) = w.healthz();
    assert_eq!((status, &health["max_connections"]), (200, &json!(2)));
    drop(slow);
}

/// The probe: one captured signed call replayed 30 times ran the job 30
/// times. A copy — the same signature, however encoded — is answered 200
/// "duplicate" and runs nothing.
#[test]
fn a_replayed_signed_call_runs_the_job_once() {
    let w = Watch::start("", &["--interval", "120"], 1, None);
    w.report(Duration::from_secs(30));
    let body = update("1");
    assert_eq!(w.signed(&body, &[]), (202, json!({"accepted": 1})));
    for _ in 0..30 {
        let copy = w.signed(&body, &[]);
        assert_eq!(copy, (200, json!({"duplicate": true, "ignored": true})));
    }
    let b64 = base64_of_hex(&hmac_hex("hook-secret-9", body.as_bytes()));
    assert_eq!(w.post(&[("X-Signature", &b64)], &body).0, 200, "re-encoded");
    assert_eq!(w.until_quiet(Duration::from_secs(2)).len(), 1);
    assert_eq!(w.webhook_runs(), ["webhook:crm"]);
    // another call is no copy
    assert_eq!(w.signed(&update("2"), &[]).0, 202);
    w.report(Duration::from_secs(30));
    assert_eq!(w.webhook_runs().len(), 2);
}

/// With `delivery_header`, the delivery id names the run, and a copy is
/// recognised by its id (a retry signed anew) as well as by its signature
/// (a captured call with the id changed).
#[test]
fn a_delivery_id_names_the_run_and_copies_are_ignored_by_id_or_signature() {
    let w = Watch::start(
        r#", delivery_header = "X-Delivery-Id""#,
        &["--interval", "120"],
        1,
        None,
    );
    w.report(Duration::from_secs(30));
    let body = update("1");
    assert_eq!(w.signed(&body, &[("X-Delivery-Id", "d-1")]).0, 202);
    let same_body = w.signed(&body, &[("X-Delivery-Id", "d-2")]);
    assert_eq!(same_body.1["duplicate"], true, "{same_body:?}");
    let same_id = w.signed(&update("2"), &[("X-Delivery-Id", "d-1")]);
    assert_eq!(same_id.1["duplicate"], true, "{same_id:?}");
    let (status, answer) = w.signed(&update("3"), &[]);
    assert_eq!(status, 401, "the id is required: {answer}");
    assert_eq!(w.until_quiet(Duration::from_secs(2)).len(), 1);
    assert_eq!(w.webhook_runs(), ["webhook:crm#d-1"]);
}

fn base64_of_hex(hex: &str) -> String {
    const A: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let bytes: Vec<u8> = (0..hex.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&hex[i..i + 2], 16).unwrap())
        .collect();
    let mut out = String::new();
    for chunk in bytes.chunks(3) {
        let n = chunk
            .iter()
            .enumerate()
            .fold(0u32, |n, (i, b)| n | (*b as u32) << (16 - 8 * i));
        for i in 0..=chunk.len() {
            out.push(A[(n >> (18 - 6 * i) & 63) as usize] as char);
        }
    }
    while !out.len().is_multiple_of(4) {
        out.push('=');
    }
    out
}

/// With a signed timestamp, a call older (or newer) than `tolerance_s`
/// is refused, even with a valid signature.
#[test]
fn a_timestamp_outside_the_tolerance_is_refused() {
    let extra =
        r#", timestamp_header = "X-Timestamp", signed = "{timestamp}.{body}", tolerance_s = 60"#;
    let w = Watch::start(extra, &["--interval", "120"], 1, None);
    w.report(Duration::from_secs(30));
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    let body = update("1");
    let call = |t: u64| {
        let sig = hmac_hex("hook-secret-9", format!("{t}.{body}").as_bytes());
        w.post(
            &[("X-Signature", &sig), ("X-Timestamp", &t.to_string())],
            &body,
        )
    };
    let (status, answer) = call(now - 3600);
    assert_eq!(status, 401, "{answer}");
    assert!(
        answer["error"]
            .as_str()
            .unwrap()
            .contains("tolerance_s = 60"),
        "{answer}"
    );
    assert_eq!(call(now + 3600).0, 401);
    let fresh = body.clone();
    let sig = hmac_hex("hook-secret-9", fresh.as_bytes());
    let unsigned_time = w.post(
        &[("X-Signature", &sig), ("X-Timestamp", &now.to_string())],
        &fresh,
    );
    assert_eq!(unsigned_time.0, 401, "the timestamp must be signed");
    assert_eq!(
        w.until_quiet(Duration::from_secs(2)).len(),
        0,
        "nothing ran"
    );
    assert_eq!(call(now).0, 202);
    w.report(Duration::from_secs(30));
    // a connector of no job of this watch
    let mut answer = agent()
        .post(format!("http://{}/webhook/erp", w.addr))
        .send("{}")
        .unwrap();
    assert_eq!(answer.status().as_u16(), 404);
    let text = answer.body_mut().read_to_string().unwrap();
    assert!(
        text.contains("connector `erp` takes no webhooks in this job"),
        "{text}"
    );
}

/// Webhook calls that queue while a run goes make one follow-up run, not
/// a run each: 30 calls, at most 2 runs, and every call accounted for.
#[test]
fn thirty_calls_during_a_run_make_at_most_two_runs() {
    let w = Watch::start("", &["--interval", "120"], 3000, None);
    w.report(Duration::from_secs(60));
    std::thread::scope(|scope| {
        let calls: Vec<_> = (0..30)
            .map(|i| {
                let addr = w.addr.as_str();
                scope.spawn(move || signed(addr, &update(&i.to_string()), &[]).0)
            })
            .collect();
        for call in calls {
            assert_eq!(call.join().unwrap(), 202);
        }
    });
    let reports = w.until_quiet(Duration::from_secs(3));
    let runs = w.webhook_runs();
    assert!((1..=2).contains(&runs.len()), "{runs:?}");
    assert_eq!(reports.len(), runs.len());
    let calls: usize = runs
        .iter()
        .map(|by| match by.split_once(" (") {
            Some((_, n)) => n.trim_end_matches(" calls)").parse::<usize>().unwrap(),
            None => 1,
        })
        .sum();
    assert_eq!(calls, 30, "{runs:?}");
}

/// The probe: webhook and interval runs were recorded as `by cli`. The
/// first run is manual by `--triggered-by`, then each says what woke it.
#[test]
fn watch_runs_record_their_source_and_trigger() {
    let args = ["--interval", "1", "--triggered-by", "eva"];
    let w = Watch::start("", &args, 1, None);
    w.report(Duration::from_secs(30));
    assert_eq!(w.signed(&update("1"), &[]).0, 202);
    let deadline = Instant::now() + Duration::from_secs(30);
    let wanted = |runs: &[Value]| {
        let has = |source: &str, by: &str| {
            runs.iter()
                .any(|r| r["source"] == source && r["triggered_by"] == by)
        };
        has("manual", "eva") && has("webhook", "webhook:crm") && has("interval", "interval:1s")
    };
    while !wanted(&w.runs()) {
        assert!(Instant::now() < deadline, "{:#?}", w.runs());
        w.report(Duration::from_secs(30));
    }
    let table = Command::new(env!("CARGO_BIN_EXE_einklang"))
        .args(["--config", w.path.to_str().unwrap(), "runs"])
        .output()
        .unwrap();
    let table = String::from_utf8_lossy(&table.stdout);
    let shown = |source: &str, by: &str| {
        table.lines().any(|l| {
            let cells: Vec<&str> = l.split_whitespace().collect();
            cells.get(2..4) == Some(&[source, by][..])
        })
    };
    assert!(shown("manual", "eva"), "{table}");
    assert!(shown("webhook", "webhook:crm"), "{table}");
    assert!(shown("interval", "interval:1s"), "{table}");
}

/// `einklang check` locates a webhook setting problem in the file.
#[test]
fn webhook_setting_problems_are_located() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("einklang.toml");
    let extra = r#", timestamp_header = "X-Timestamp""#;
    std::fs::write(&path, config("http://127.0.0.1:9", "hub.db", extra)).unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_einklang"))
        .args(["--config", path.to_str().unwrap(), "check"])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(!out.status.success());
    assert!(
        text.contains("einklang.toml:8:") && text.contains("needs `signed` with {timestamp}"),
        "{text}"
    );
}
