//! Emulators of the SaaS APIs of the seeds, for einklang's `http` and
//! `graphql` connectors, written from the systems' public documentation
//! and from what the seeds report of them, ugly cases included. One
//! [`Emulator`] is one HTTP server; each system answers under a prefix of
//! its own, so a connector's base URL is the emulator's URL plus the
//! prefix (the part after the real host stays as the real API has it):
//!
//! | system | prefix and routes | module | source |
//! | --- | --- | --- | --- |
//! | Kommo contacts (and events) | `/api/v4/contacts`, `/api/v4/events`, `/oauth2/token` | [`rest`] | Kommo API v4 |
//! | Kommo leads | `/api/v4/leads`, `/api/v4/leads/custom_fields` | [`kommo_leads`] | Kommo API v4, seed 003 |
//! | Relay-style GraphQL (Hero) | `/graphql` | [`graphql`] | seed 000 |
//! | Microsoft Graph contacts | `/graph/v1.0/users/{user}/contacts`, `/login/{tenant}/oauth2/v2.0/token` | [`graph`] | Graph v1.0 docs, seed 000 |
//! | monday.com | `/monday/v2` | [`monday`] | monday API docs, seed 000 |
//! | EspoCRM | `/espo/api/v1/{Entity}`, `/espo/api/v1/Webhook` | [`espo`] | Espo docs, seed 002 |
//! | Advoware | `/advoware/api/v1/advonet/Beteiligte…`, `/advoware/api/v1/Token` | [`advoware`] | seed 002 |
//! | employes.nl-like payroll | `/employes/v4/{company}/employees…` | [`employes`] | seed 004 (no public reference) |
//!
//! In a test: `let emu = Emulator::start(Options::default())`, then a
//! handle per system arranges and inspects its records as another client
//! of it would — [`Emulator::insert`]/[`Emulator::get`]/… for Kommo
//! contacts, [`Emulator::leads`], [`Emulator::graph`], [`Emulator::monday`],
//! [`Emulator::espo`], [`Emulator::advoware`], [`Emulator::employes`], each with `insert`, `get`,
//! `all`, `update`, `delete`, request counters (`requests`, `count`) and,
//! where the system has them, queued failures (`fail_next`) and a clock
//! (`advance`); [`Emulator::request_log`] names the latest API requests of
//! every system with their paths (`GET /advoware/api/v1/advonet/Beteiligte/3`),
//! to tell a listing from a read by id. Each system's options (credentials, limits, quirks that
//! can be switched) are a field of [`Options`]; its default credentials
//! are its module's defaults.
//!
//! The Kommo contacts API: pages of `limit` with `_links.next.href`, `204
//! No Content` for a page past the end and for a record that does not
//! exist, `filter[updated_at][from]` (epoch seconds), creates as a JSON
//! array answered with ids, `If-Match` on a record's `version`, deletes in
//! `/api/v4/events`. Auth (shared with the leads): a static API key
//! header, or OAuth2 client credentials at `/oauth2/token` whose tokens
//! expire. A rate limit answers `429` with `Retry-After`. Tests can make
//! the next requests fail (a status, an HTML page, a cut-off body).
//!
//! Control routes under `/_emulator/` seed, change, list and count from
//! outside the process, for the binary: [`control`] for Kommo contacts,
//! `/_emulator/{leads,graph,monday,espo,advoware,employes}/…` for the others (each
//! module's `control` routes). They are not counted, need no credentials
//! and never fail on purpose.
//!
//! Every system can lose the answers of its writes ([`lost`]): the next N
//! successful writes are applied and their connections closed without an
//! answer — a handle's `drop_answers(n)` (and [`Emulator::drop_answers`]
//! for Kommo contacts and leads), or `POST /_emulator/drop-answers?count=N`
//! and `POST /_emulator/{graph,monday,espo,advoware}/drop-answers?count=N`.

pub mod advoware;
pub mod common;
pub mod control;
#[cfg(test)]
mod control_tests;
pub mod employes;
pub mod espo;
pub mod gql;
pub mod graph;
pub mod graphql;
pub mod kommo_leads;
pub mod lost;
#[cfg(test)]
mod lost_tests;
pub mod monday;
pub mod rest;
#[cfg(test)]
mod testclient;

use crate::lost::LossyRoutes;
use axum::routing::{get, post};
use axum::Router;
use serde_json::{Map, Value};
use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime};

/// How the emulator behaves.
#[derive(Clone, Debug, Default)]
pub struct Options {
    /// Requests per second before `429` (none: unlimited).
    pub rps: Option<u32>,
    /// OAuth2 client id and secret (none: the API key is checked).
    pub oauth: Option<(String, String)>,
    /// Lifetime of OAuth2 tokens in seconds (default 3600).
    pub token_ttl_s: u64,
    /// API key expected in `X-Api-Key` when there is no OAuth2.
    pub api_key: Option<String>,
    /// The `Authorization: Basic …` value expected (base64 of
    /// `user:password`) when there is neither OAuth2 nor an API key.
    pub basic: Option<String>,
    /// The Microsoft Graph tenant (see [`graph`]).
    pub graph: graph::GraphOptions,
    /// The monday.com account (see [`monday`]).
    pub monday: monday::MondayOptions,
    /// The EspoCRM (see [`espo`]).
    pub espo: espo::EspoOptions,
    /// The Advoware Kanzlei (see [`advoware`]).
    pub advoware: advoware::AdvowareOptions,
    /// The employes.nl-like payroll company (see [`employes`]).
    pub employes: employes::EmployesOptions,
}

/// A failure the next requests answer with.
#[derive(Clone, Debug)]
pub enum Fault {
    /// This status, with a JSON error body.
    Status(u16),
    /// `502` with an HTML page from a proxy.
    Html,
    /// `200` with the first half of the real body.
    Truncated,
    /// The connection closed before a byte of the answer (a proxy or the
    /// network losing it): [`lost::severed`].
    Drop,
    /// The request answered as usual: queued before a fault, it makes
    /// that fault hit a later request (the fifth page of a listing).
    Pass,
}

/// The emulator's data and counters.
#[derive(Default)]
pub struct State {
    /// Options.
    pub options: Options,
    /// Contacts by id.
    pub contacts: BTreeMap<u64, Map<String, Value>>,
    /// Deletion events: (contact id, epoch seconds).
    pub deleted: Vec<(u64, i64)>,
    /// Next id.
    pub next_id: u64,
    /// Live tokens and their expiry.
    pub tokens: Vec<(String, Instant)>,
    /// Requests by method (API calls only).
    pub requests: BTreeMap<String, u64>,
    /// Request times within the last second, for the rate limit.
    pub recent: Vec<Instant>,
    /// Failures queued for the next API requests.
    pub faults: Vec<Fault>,
    /// The emulator's clock offset in seconds (tests move time forward).
    pub clock_offset: i64,
    /// The account's leads (see [`kommo_leads`]).
    pub leads: kommo_leads::Leads,
    /// Successful writes (contacts and leads) whose answers are still to be
    /// lost (see [`lost`]).
    pub drops: u32,
}

impl State {
    /// Epoch seconds now (with the test offset).
    pub fn now(&self) -> i64 {
        let secs = SystemTime::now()
            .duration_since(SystemTime::UNIX_EPOCH)
            .map(|d| d.as_secs() as i64)
            .unwrap_or(0);
        secs + self.clock_offset
    }

    /// Store a contact; the stored record with id, times and version.
    pub fn put(&mut self, id: Option<u64>, mut fields: Map<String, Value>) -> Map<String, Value> {
        let now = self.now();
        let id = id.unwrap_or_else(|| {
            self.next_id += 1;
            self.next_id
        });
        let old = self.contacts.get(&id).cloned();
        let version = old
            .as_ref()
            .and_then(|o| o.get("version"))
            .and_then(Value::as_u64)
            .unwrap_or(0)
            + 1;
        let mut record = old.unwrap_or_default();
        for k in ["id", "version", "updated_at", "created_at"] {
            fields.remove(k);
        }
        for (k, v) in fields {
            if v.is_null() {
                record.remove(&k);
            } else {
                record.insert(k, v);
            }
        }
        record.insert("id".into(), Value::from(id));
        record.entry("created_at").or_insert(Value::from(now));
        record.insert("updated_at".into(), Value::from(now));
        record.insert("version".into(), Value::from(version));
        self.contacts.insert(id, record.clone());
        record
    }
}

/// A running emulator.
pub struct Emulator {
    /// Its base URL (`http://127.0.0.1:PORT`).
    pub url: String,
    /// Its state, to arrange data and read counters in tests.
    pub state: Arc<Mutex<State>>,
    systems: Systems,
    busy: Arc<control::Busy>,
}

/// The states of the emulated systems beside the Kommo account.
#[derive(Clone)]
struct Systems {
    graph: Arc<Mutex<graph::GraphState>>,
    monday: Arc<Mutex<monday::MondayState>>,
    espo: Arc<Mutex<espo::EspoState>>,
    advoware: Arc<Mutex<advoware::AdvowareState>>,
    employes: Arc<Mutex<employes::EmployesState>>,
}

impl Systems {
    fn new(options: &Options) -> Systems {
        Systems {
            graph: Arc::new(Mutex::new(graph::GraphState::new(options.graph.clone()))),
            monday: Arc::new(Mutex::new(monday::MondayState::new(options.monday.clone()))),
            espo: Arc::new(Mutex::new(espo::EspoState::new(options.espo.clone()))),
            advoware: Arc::new(Mutex::new(advoware::AdvowareState::new(
                options.advoware.clone(),
            ))),
            employes: Arc::new(Mutex::new(employes::EmployesState::new(
                options.employes.clone(),
            ))),
        }
    }
}

impl Emulator {
    /// Start on a free port of 127.0.0.1, in a thread of its own.
    pub fn start(options: Options) -> Emulator {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("a free port");
        Emulator::serve(listener, options)
    }

    /// Start on `addr` (`127.0.0.1:8099`; port 0: a free one), in a thread
    /// of its own; an error when the address cannot be bound.
    pub fn start_on(addr: &str, options: Options) -> std::io::Result<Emulator> {
        let listener = std::net::TcpListener::bind(addr)?;
        Ok(Emulator::serve(listener, options))
    }

    fn serve(listener: std::net::TcpListener, mut options: Options) -> Emulator {
        if options.token_ttl_s == 0 {
            options.token_ttl_s = 3600;
        }
        let systems = Systems::new(&options);
        let state = Arc::new(Mutex::new(State {
            options,
            ..State::default()
        }));
        let url = format!("http://{}", listener.local_addr().expect("an address"));
        listener.set_nonblocking(true).expect("non-blocking");
        let busy = Arc::new(control::Busy::default());
        let app = router(state.clone(), &systems, busy.clone());
        std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("a runtime");
            rt.block_on(async move {
                let listener = tokio::net::TcpListener::from_std(listener).expect("a listener");
                axum::serve(listener, app).await.expect("serving");
            });
        });
        Emulator {
            url,
            state,
            systems,
            busy,
        }
    }

    /// Apply the next `n` successful writes of contacts and leads, then
    /// close their connections without an answer (see [`lost`]).
    pub fn drop_answers(&self, n: u32) {
        use lost::Lossy;
        self.state.lock().unwrap().drop_answers(n);
    }

    /// Queue failures for the next API requests.
    pub fn fail_next(&self, faults: &[Fault]) {
        self.state
            .lock()
            .unwrap()
            .faults
            .extend(faults.iter().cloned());
    }

    /// Forget the failures still queued; how many there were.
    pub fn clear_faults(&self) -> usize {
        std::mem::take(&mut self.state.lock().unwrap().faults).len()
    }

    /// API requests so far, by method.
    pub fn requests(&self) -> BTreeMap<String, u64> {
        self.state.lock().unwrap().requests.clone()
    }

    /// Requests of one method.
    pub fn count(&self, method: &str) -> u64 {
        self.requests().get(method).copied().unwrap_or(0)
    }

    /// Add a contact as another client would; its id.
    pub fn insert(&self, fields: Value) -> u64 {
        let fields = fields.as_object().cloned().unwrap_or_default();
        let record = self.state.lock().unwrap().put(None, fields);
        record["id"].as_u64().unwrap_or(0)
    }

    /// Change a contact as another client would.
    pub fn update(&self, id: u64, fields: Value) {
        let fields = fields.as_object().cloned().unwrap_or_default();
        self.state.lock().unwrap().put(Some(id), fields);
    }

    /// Delete a contact as another client would.
    pub fn delete(&self, id: u64) {
        let mut s = self.state.lock().unwrap();
        let now = s.now();
        if s.contacts.remove(&id).is_some() {
            s.deleted.push((id, now));
        }
    }

    /// A contact as stored.
    pub fn get(&self, id: u64) -> Option<Map<String, Value>> {
        self.state.lock().unwrap().contacts.get(&id).cloned()
    }

    /// All contacts.
    pub fn all(&self) -> Vec<Map<String, Value>> {
        self.state
            .lock()
            .unwrap()
            .contacts
            .values()
            .cloned()
            .collect()
    }

    /// The account's leads (`/api/v4/leads`), to arrange and inspect.
    pub fn leads(&self) -> kommo_leads::LeadsHandle {
        kommo_leads::LeadsHandle {
            state: self.state.clone(),
        }
    }

    /// The Microsoft Graph tenant (`/graph/v1.0`, `/login/{tenant}/…`).
    pub fn graph(&self) -> graph::GraphHandle {
        graph::GraphHandle {
            url: self.url.clone(),
            state: self.systems.graph.clone(),
        }
    }

    /// The monday.com account (`/monday/v2`).
    pub fn monday(&self) -> monday::MondayHandle {
        monday::MondayHandle {
            url: self.url.clone(),
            state: self.systems.monday.clone(),
        }
    }

    /// The EspoCRM (`/espo/api/v1`).
    pub fn espo(&self) -> espo::EspoHandle {
        espo::EspoHandle {
            url: self.url.clone(),
            state: self.systems.espo.clone(),
        }
    }

    /// The Advoware Kanzlei (`/advoware/api/v1/…`).
    pub fn advoware(&self) -> advoware::AdvowareHandle {
        advoware::AdvowareHandle {
            url: self.url.clone(),
            state: self.systems.advoware.clone(),
        }
    }

    /// The employes.nl-like payroll company (`/employes/v4/{company}`).
    pub fn employes(&self) -> employes::EmployesHandle {
        employes::EmployesHandle {
            url: self.url.clone(),
            state: self.systems.employes.clone(),
        }
    }

    /// The latest API requests of every system (at most 10 000), oldest
    /// first, as `METHOD /path?query`: `GET /advoware/api/v1/advonet/Beteiligte/3`.
    pub fn request_log(&self) -> Vec<String> {
        self.busy.log()
    }

    /// Forget the API requests logged so far.
    pub fn clear_request_log(&self) {
        self.busy.clear_log();
    }

    /// Move the emulator's clock (its `updated_at` times) forward.
    pub fn advance(&self, secs: i64) {
        self.state.lock().unwrap().clock_offset += secs;
    }
}

fn router(state: Arc<Mutex<State>>, systems: &Systems, busy: Arc<control::Busy>) -> Router {
    let kommo = Router::new()
        .route("/api/v4/contacts", get(rest::list).post(rest::create))
        .route(
            "/api/v4/contacts/{id}",
            get(rest::one).patch(rest::update).delete(rest::remove),
        )
        .route("/api/v4/events", get(rest::events))
        .merge(kommo_leads::api())
        .lossy(&state)
        .route("/oauth2/token", post(rest::token))
        .route("/graphql", post(graphql::handle))
        .with_state(state.clone());
    let kommo_control = Router::new()
        .route("/_emulator/stats", get(control::stats))
        .route("/_emulator/reset-stats", post(control::reset_stats))
        .route("/_emulator/seed", post(control::seed))
        .route("/_emulator/touch", post(control::touch))
        .merge(kommo_leads::control())
        .with_state(state.clone())
        .merge(lost::control("/_emulator/drop-answers", state));
    Router::new()
        .merge(kommo)
        .merge(graph::api(systems.graph.clone()))
        .merge(monday::api(systems.monday.clone()))
        .merge(espo::api(systems.espo.clone()))
        .merge(advoware::api(systems.advoware.clone()))
        .merge(employes::api(systems.employes.clone()))
        .route_layer(axum::middleware::from_fn_with_state(
            busy.clone(),
            control::timed,
        ))
        .merge(kommo_control)
        .merge(graph::control(systems.graph.clone()))
        .merge(monday::control(systems.monday.clone()))
        .merge(espo::control(systems.espo.clone()))
        .merge(advoware::control(systems.advoware.clone()))
        .merge(employes::control(systems.employes.clone()))
        .layer(axum::Extension(busy))
}

/// Shared checks of every API request: counting, the rate limit, queued
/// faults and auth. `Err` is the answer to give instead.
pub(crate) fn admit(
    state: &mut State,
    method: &str,
    headers: &axum::http::HeaderMap,
) -> Result<Option<Fault>, rest::Answer> {
    *state.requests.entry(method.to_string()).or_default() += 1;
    let now = Instant::now();
    state
        .recent
        .retain(|t| now.duration_since(*t) < Duration::from_secs(1));
    if let Some(rps) = state.options.rps {
        if state.recent.len() >= rps as usize {
            *state.requests.entry("429".to_string()).or_default() += 1;
            return Err(rest::answer(
                429,
                serde_json::json!({"title": "Too Many Requests", "status": 429}),
                &[("Retry-After", "1")],
            ));
        }
    }
    state.recent.push(now);
    let header = |k: &str| {
        headers
            .get(k)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .to_string()
    };
    let authorised = match (&state.options.oauth, &state.options.api_key) {
        (Some(_), _) => {
            let token = header("authorization");
            let token = token.strip_prefix("Bearer ").unwrap_or("");
            state
                .tokens
                .iter()
                .any(|(t, until)| t == token && *until > now)
        }
        (None, Some(key)) => header("x-api-key") == *key,
        (None, None) => match &state.options.basic {
            Some(b) => header("authorization") == format!("Basic {b}"),
            None => true,
        },
    };
    if !authorised {
        return Err(rest::answer(
            401,
            serde_json::json!({"title": "Unauthorized", "status": 401, "detail": "token expired or invalid"}),
            &[],
        ));
    }
    if state.faults.is_empty() {
        return Ok(None);
    }
    match state.faults.remove(0) {
        Fault::Status(s) => Err(rest::answer(s, serde_json::json!({"title": "Injected failure", "status": s}), &[])),
        Fault::Html => Err(rest::Answer {
            status: 502,
            headers: vec![("Content-Type".into(), "text/html".into())],
            body: "<!DOCTYPE html><html><head><title>502 Bad Gateway</title></head><body><h1>Bad Gateway</h1></body></html>".into(),
        }),
        Fault::Truncated => Ok(Some(Fault::Truncated)),
        Fault::Drop => Err(rest::Answer {
            status: rest::SEVERED,
            headers: Vec::new(),
            body: String::new(),
        }),
        Fault::Pass => Ok(None),
    }
}
