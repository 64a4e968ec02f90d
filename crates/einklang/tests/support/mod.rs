//! What the tests of `einklang sync --watch` share (`mod support;` in
//! each): the watching process with its run reports and its stderr
//! collected on threads of their own, an HTTP agent that returns every
//! status, and HMAC signatures as a SaaS makes them.

// Each test binary uses the part it needs.
#![allow(dead_code)]

use serde_json::Value;
use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc::{channel, Receiver};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// A running `einklang sync … --watch --json`, killed when dropped.
pub struct Watching {
    child: Child,
    reports: Mutex<Receiver<Value>>,
    stderr: Arc<Mutex<Vec<String>>>,
}

impl Watching {
    /// Spawn `cmd` with its output piped. The first `before` lines of its
    /// stderr are read here and returned (such as the line naming the
    /// address it listens on); the rest, and every run report on stdout
    /// (each pretty-printed, ending with a closing brace alone on its
    /// line), are collected as they come.
    pub fn spawn(cmd: &mut Command, before: usize) -> (Watching, Vec<String>) {
        let mut child = (cmd.stdout(Stdio::piped()).stderr(Stdio::piped()))
            .spawn()
            .unwrap();
        let mut err = BufReader::new(child.stderr.take().unwrap()).lines();
        let first: Vec<String> = (0..before).map(|_| err.next().unwrap().unwrap()).collect();
        let stderr = Arc::new(Mutex::new(first.clone()));
        let sink = stderr.clone();
        std::thread::spawn(move || err.for_each(|l| sink.lock().unwrap().push(l.unwrap())));
        let (tx, reports) = channel();
        let out = child.stdout.take().unwrap();
        std::thread::spawn(move || {
            let mut text = String::new();
            for line in BufReader::new(out).lines() {
                let line = line.unwrap();
                text.push_str(&line);
                if line == "}" {
                    let _ = tx.send(serde_json::from_str::<Value>(&text).unwrap());
                    text.clear();
                }
            }
        });
        let watching = Watching {
            child,
            reports: Mutex::new(reports),
            stderr,
        };
        (watching, first)
    }

    /// The next run report; a panic showing the stderr when none comes
    /// within `within`.
    pub fn report(&self, within: Duration) -> Value {
        self.reports
            .lock()
            .unwrap()
            .recv_timeout(within)
            .unwrap_or_else(|e| {
                panic!(
                    "no run report within {within:?} ({e}); stderr: {:#?}",
                    self.stderr.lock().unwrap()
                )
            })
    }

    /// Reports until none comes for `gap`.
    pub fn until_quiet(&self, gap: Duration) -> Vec<Value> {
        let reports = self.reports.lock().unwrap();
        std::iter::from_fn(|| reports.recv_timeout(gap).ok()).collect()
    }

    /// The stderr lines so far.
    pub fn stderr(&self) -> Vec<String> {
        self.stderr.lock().unwrap().clone()
    }
}

impl Drop for Watching {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// An HTTP agent that returns every status as an answer (10 s timeout).
pub fn agent() -> ureq::Agent {
    ureq::Agent::config_builder()
        .http_status_as_error(false)
        .timeout_global(Some(Duration::from_secs(10)))
        .build()
        .into()
}

/// HMAC-SHA256 in hex, as a SaaS signs its webhooks.
pub fn hmac_hex(secret: &str, content: &[u8]) -> String {
    use hmac::{KeyInit, Mac};
    let mut mac = hmac::Hmac::<sha2::Sha256>::new_from_slice(secret.as_bytes()).unwrap();
    mac.update(content);
    mac.finalize()
        .into_bytes()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}
