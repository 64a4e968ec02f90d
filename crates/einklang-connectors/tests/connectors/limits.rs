//! Rate limits that hold, against the emulator's Kommo-style API counting
//! requests per sliding second (`rps`: one more within any second is
//! answered 429): at `rate_limit` equal to the server's limit not one 429,
//! one connector alone or two of one API account reading at once (they
//! share one window).

use crate::http::kommo;
use einklang_connectors::open;
use einklang_emulator::{Emulator, Options};
use serde_json::{json, Value};
use std::path::Path;
use std::time::{Duration, Instant};

const KEY: &str = "k-limits-1";

/// A Kommo at 7 requests per second with `n` contacts, and settings that
/// list them one per page (a request per record) at `rate_limit = 7`,
/// with no retries: a 429 would fail the read.
fn kommo_at_7(n: usize, key: &str) -> (Emulator, Value) {
    let emu = Emulator::start(Options {
        rps: Some(7),
        api_key: Some(KEY.into()),
        ..Options::default()
    });
    for i in 0..n {
        emu.insert(json!({"name": format!("P{i}")}));
    }
    let mut s = kommo(&emu.url, json!({"header": "X-Api-Key", "value": key}));
    s["list"]["params"]["limit"] = json!(1);
    s["rate_limit"] = json!(7);
    s["retry"] = json!({"attempts": 1});
    (emu, s)
}

/// Read everything with a connector named `name`: records read.
fn read(name: &str, s: &Value) -> usize {
    let mut c = open(name, "http", &crate::settings(s.clone()), Path::new(".")).unwrap();
    c.read().unwrap().count()
}

#[test]
fn sixty_requests_at_a_limit_of_7_meet_no_429() {
    let (emu, s) = kommo_at_7(60, KEY);
    let started = Instant::now();
    assert_eq!(read("crm", &s), 60);
    assert_eq!(emu.count("429"), 0, "{:?}", emu.requests());
    let sent = emu.count("GET") as f64;
    assert!(sent >= 60.0, "a page per record: {sent}");
    // sanity: no more than 7 a second can have gone out
    let floor = Duration::from_secs_f64((sent - 7.0) / 7.0);
    assert!(started.elapsed() >= floor, "{:?}", started.elapsed());
}

#[test]
fn two_connectors_of_one_account_share_one_window() {
    let (emu, s) = kommo_at_7(24, KEY);
    let threads: Vec<_> = ["crm.anna", "crm.ben"]
        .into_iter()
        .map(|name| {
            let s = s.clone();
            std::thread::spawn(move || read(name, &s))
        })
        .collect();
    for t in threads {
        assert_eq!(t.join().unwrap(), 24);
    }
    assert_eq!(emu.count("429"), 0, "{:?}", emu.requests());
}

#[test]
fn a_token_request_to_the_api_host_counts_against_the_limit() {
    let emu = Emulator::start(Options {
        oauth: Some(("einklang-limits".into(), "cl-limits".into())),
        ..Options::default()
    });
    emu.insert(json!({"name": "A"}));
    let auth = json!({"oauth2": {"token_url": format!("{}/oauth2/token", emu.url),
                      "client_id": "einklang-limits", "client_secret": "cl-limits"}});
    let mut s = kommo(&emu.url, auth);
    s["rate_limit"] = json!(1);
    let started = Instant::now();
    assert_eq!(read("crm", &s), 1);
    // the token request and the listing: one a second, so the listing
    // started a second after the token came
    assert_eq!((emu.count("TOKEN"), emu.count("GET")), (1, 1));
    assert!(
        started.elapsed() >= Duration::from_secs(1),
        "{:?}",
        started.elapsed()
    );
}
