//! Control routes under `/_emulator/`, for benchmarks and manual runs
//! against the `einklang-emulator` binary. They are not part of the
//! emulated API: they are not counted, not rate limited, need no
//! credentials and never fail on purpose.
//!
//! - `GET /_emulator/stats`: API requests by method, the seconds spent
//!   answering them (`server_seconds`: with one client at a time, the part
//!   of its wall time that is the emulator's), and the number of contacts
//!   and deletion events;
//! - `POST /_emulator/reset-stats`: the same, then the request counts and
//!   seconds start again from zero;
//! - `POST /_emulator/seed?count=N&age_s=S`: add N deterministic contacts
//!   (see [`State::seed`]), written S seconds ago (default 3600);
//! - `POST /_emulator/touch?count=N&field=name`: change one field of N
//!   contacts spread evenly over all of them, as another client would
//!   (see [`State::touch`]).

use crate::State;
use axum::extract::{Query, Request, State as Ext};
use axum::middleware::Next;
use axum::response::Response;
use axum::{Extension, Json};
use serde_json::{json, Map, Value};
use std::collections::{HashMap, VecDeque};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Instant;

/// Time spent answering API requests, in nanoseconds, and the latest
/// requests themselves (for tests: [`crate::Emulator::request_log`]).
#[derive(Debug, Default)]
pub struct Busy {
    nanos: AtomicU64,
    log: Mutex<VecDeque<String>>,
}

/// API requests the log keeps, the latest.
const LOG_KEEP: usize = 10_000;

impl Busy {
    fn seconds(&self) -> f64 {
        self.nanos.load(Ordering::Relaxed) as f64 / 1e9
    }

    /// The latest API requests, oldest first, as `METHOD /path?query`.
    pub fn log(&self) -> Vec<String> {
        self.log.lock().unwrap().iter().cloned().collect()
    }

    /// Forget the requests logged so far.
    pub fn clear_log(&self) {
        self.log.lock().unwrap().clear();
    }
}

/// Middleware of the API routes: logs each request and adds its time to
/// [`Busy`].
pub async fn timed(Ext(busy): Ext<Arc<Busy>>, request: Request, next: Next) -> Response {
    let line = format!("{} {}", request.method(), request.uri());
    {
        let mut log = busy.log.lock().unwrap();
        if log.len() == LOG_KEEP {
            log.pop_front();
        }
        log.push_back(line);
    }
    let start = Instant::now();
    let response = next.run(request).await;
    busy.nanos
        .fetch_add(start.elapsed().as_nanos() as u64, Ordering::Relaxed);
    response
}

type Shared = Ext<Arc<Mutex<State>>>;
type Params = Query<HashMap<String, String>>;

const FIRST: &[&str] = &[
    "Anna", "Jürgen", "Tobias", "Miriam", "Andreas", "Amelia", "Luka", "Sofia", "Matej", "Eva",
    "Jonas", "Lea", "Marko", "Petra", "Felix", "Nina",
];
const LAST: &[&str] = &[
    "Novak",
    "Schneider",
    "Köhler",
    "Zimmermann",
    "Schäfer",
    "Thompson",
    "Horvat",
    "Müller",
    "Kovačič",
    "Weber",
    "Krajnc",
    "Fischer",
    "Wagner",
    "Zupan",
    "Becker",
    "Hoffmann",
];
const CITIES: &[&str] = &[
    "Berlin",
    "Hamburg",
    "München",
    "Köln",
    "Frankfurt am Main",
    "Ljubljana",
    "Graz",
    "Wien",
];

/// A well-mixed number from a contact's index (splitmix64).
fn mix(mut x: u64) -> u64 {
    x = x.wrapping_add(0x9E37_79B9_7F4A_7C15);
    x = (x ^ (x >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    x = (x ^ (x >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    x ^ (x >> 31)
}

/// The fields of the `n`-th seeded contact (from 1): always the same.
pub fn seeded_contact(n: u64) -> Map<String, Value> {
    let h = mix(n);
    let first = FIRST[(h % FIRST.len() as u64) as usize];
    let last = LAST[((h >> 8) % LAST.len() as u64) as usize];
    let city = CITIES[((h >> 16) % CITIES.len() as u64) as usize];
    let ascii = |s: &str| {
        s.to_lowercase()
            .replace('ü', "ue")
            .replace('ö', "oe")
            .replace('ä', "ae")
            .replace('č', "c")
    };
    let mut m = Map::new();
    m.insert("name".into(), json!(format!("{first} {last}")));
    m.insert("first_name".into(), json!(first));
    m.insert("last_name".into(), json!(last));
    m.insert(
        "email".into(),
        json!(format!("{}.{}{n}@example.org", ascii(first), ascii(last))),
    );
    m.insert(
        "phone".into(),
        json!(format!("+49 30 {:07}", 2_000_000 + n % 8_000_000)),
    );
    m.insert("city".into(), json!(city));
    m
}

impl State {
    /// Add `count` deterministic contacts ([`seeded_contact`], numbered
    /// after the contacts already there), created and updated `age_s`
    /// seconds ago: a change feed asked for "since now" does not see them.
    pub fn seed(&mut self, count: u64, age_s: i64) -> u64 {
        self.clock_offset -= age_s;
        let from = self.next_id;
        for n in from + 1..=from + count {
            self.put(None, seeded_contact(n));
        }
        self.clock_offset += age_s;
        count
    }

    /// Change `field` of `count` contacts spread evenly over all of them
    /// (every `len / count`-th), as another client would: the value gets
    /// the contact's new version as a suffix (`Anna Novak #2`), so every
    /// touch is a real change; `updated_at` and `version` move on. The ids
    /// touched.
    pub fn touch(&mut self, count: u64, field: &str) -> Vec<u64> {
        let ids: Vec<u64> = self.contacts.keys().copied().collect();
        let count = (count as usize).min(ids.len());
        if count == 0 {
            return Vec::new();
        }
        let step = ids.len() / count;
        let chosen: Vec<u64> = (0..count).map(|i| ids[i * step]).collect();
        for &id in &chosen {
            let current = &self.contacts[&id];
            let version = current.get("version").and_then(Value::as_u64).unwrap_or(0);
            let base = current
                .get(field)
                .and_then(Value::as_str)
                .map(|s| s.split(" #").next().unwrap_or(s).to_string())
                .unwrap_or_else(|| "touched".into());
            let mut fields = Map::new();
            fields.insert(field.into(), json!(format!("{base} #{}", version + 1)));
            self.put(Some(id), fields);
        }
        chosen
    }

    /// Requests by method, contacts and deletion events, as JSON.
    pub fn stats(&self) -> Value {
        let writes: u64 = ["POST", "PATCH", "PUT", "DELETE"]
            .iter()
            .filter_map(|m| self.requests.get(*m))
            .sum();
        json!({
            "requests": self.requests,
            "writes": writes,
            "contacts": self.contacts.len(),
            "deleted": self.deleted.len(),
        })
    }
}

fn number(q: &HashMap<String, String>, key: &str, default: i64) -> Result<i64, Json<Value>> {
    match q.get(key) {
        None => Ok(default),
        Some(v) => v
            .parse()
            .map_err(|_| Json(json!({"error": format!("`{key}` must be a number, not {v:?}")}))),
    }
}

/// `GET /_emulator/stats`.
pub async fn stats(Ext(state): Shared, Extension(busy): Extension<Arc<Busy>>) -> Json<Value> {
    let mut stats = state.lock().unwrap().stats();
    stats["server_seconds"] = json!(busy.seconds());
    Json(stats)
}

/// `POST /_emulator/reset-stats`: the counts before the reset.
pub async fn reset_stats(Ext(state): Shared, Extension(busy): Extension<Arc<Busy>>) -> Json<Value> {
    let mut s = state.lock().unwrap();
    let mut before = s.stats();
    before["server_seconds"] = json!(busy.seconds());
    s.requests.clear();
    busy.nanos.store(0, Ordering::Relaxed);
    Json(before)
}

/// `POST /_emulator/seed?count=N&age_s=S`.
pub async fn seed(Ext(state): Shared, Query(q): Params) -> Json<Value> {
    let (count, age) = match (number(&q, "count", 0), number(&q, "age_s", 3600)) {
        (Ok(c), Ok(a)) => (c.max(0) as u64, a),
        (Err(e), _) | (_, Err(e)) => return e,
    };
    let mut s = state.lock().unwrap();
    let seeded = s.seed(count, age);
    Json(json!({"seeded": seeded, "contacts": s.contacts.len()}))
}

/// `POST /_emulator/touch?count=N&field=name`.
pub async fn touch(Ext(state): Shared, Query(q): Params) -> Json<Value> {
    let count = match number(&q, "count", 1) {
        Ok(c) => c.max(0) as u64,
        Err(e) => return e,
    };
    let field = q.get("field").map_or("name", String::as_str);
    let mut s = state.lock().unwrap();
    let touched = s.touch(count, field);
    Json(json!({
        "touched": touched.len(),
        "field": field,
        "first": touched.first(),
        "last": touched.last(),
        "now": s.now(),
    }))
}
