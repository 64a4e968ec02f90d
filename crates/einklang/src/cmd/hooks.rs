//! The webhook receiver of `einklang sync JOB --watch --listen ADDR`.
//!
//! `POST /webhook/<connector>` is checked against that connector's
//! `webhook` settings (signature scheme, signed timestamp, ids in the
//! payload); a valid call wakes the watch loop, which syncs the records it
//! names (a targeted run, see `watch`).
//! Answers: 202 with the number of ids; 200 `text/plain` with the token
//! for Microsoft Graph's `?validationToken=` handshake (nothing runs); 200 `{"duplicate": true}` for a
//! copy of a call accepted within the replay window (nothing runs; 2xx so
//! the sender does not retry it); 401 for a bad or missing signature,
//! timestamp or delivery id (nothing runs); 404 for a connector of another
//! job or one without `webhook` settings; 413 for a body over
//! `--max-body` (by its `Content-Length` before anything is read, or
//! while reading a chunked one); 408 for a body not complete within
//! `--body-timeout`. `GET /healthz` answers 200 with the job, the last
//! run and the open connections.
//!
//! axum on a single-threaded tokio runtime in a thread of its own. The
//! port, the body limits, the check of a call and the recognition of
//! copies are `einklang serve`'s ([`einklang_serve::intake`]): this
//! receiver differs only in what a call does — it wakes the sync loop
//! (which stays synchronous) instead of queueing a run in the store.

use super::watch::Trigger;
use axum::extract::{Path, Request, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use einklang_config::Config;
use einklang_connectors::Connector;
use einklang_engine::RunReport;
use einklang_serve::intake::{self, body, conn, replay, Verdict};
use serde_json::{json, Value};
use std::collections::HashMap;
use std::sync::mpsc::{channel, Receiver, Sender};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// Limits of the webhook port (`sync --listen`).
#[derive(clap::Args, Clone, Debug)]
pub struct Limits {
    /// With `--listen`: connections served at once (default: a quarter
    /// of the open-file limit, at most 1024). Over it, the oldest
    /// connection without a request in progress is closed; when every
    /// one has a request in progress, a new one is answered 503.
    #[arg(long, requires = "listen")]
    max_connections: Option<usize>,
    /// With `--listen`: seconds a client has to send a request's headers
    /// (also the longest a kept-alive connection may sit idle).
    #[arg(long, default_value_t = 10, requires = "listen")]
    header_timeout: u64,
    /// With `--listen`: seconds a client has to send a request's body.
    #[arg(long, default_value_t = 10, requires = "listen")]
    body_timeout: u64,
    /// With `--listen`: the largest request body taken, in bytes.
    #[arg(long, default_value_t = 1 << 20, requires = "listen")]
    max_body: u64,
}

/// A verified webhook call, the first of its kind within the window.
pub struct Wake {
    /// The connector it came for.
    pub connector: String,
    /// The ids of the records it named.
    pub ids: Vec<String>,
    /// The sender's delivery id, when the settings name its header.
    pub delivery: Option<String>,
}

/// The running receiver: verified calls, and what `/healthz` tells.
pub struct Hooks {
    /// Verified calls, in order.
    pub wakes: Receiver<Wake>,
    shared: Arc<Shared>,
}

struct Shared {
    job: String,
    connectors: Mutex<HashMap<String, Box<dyn Connector>>>,
    wake: Sender<Wake>,
    replay: Mutex<replay::Replay>,
    last_run: Mutex<Value>,
    slots: Arc<conn::Slots>,
    body: body::Limits,
}

impl Hooks {
    /// Note a finished run for `/healthz`.
    pub fn ran(&self, report: &RunReport, trigger: &Trigger) {
        *self.shared.last_run.lock().expect("last run") = json!({
            "id": report.run_id,
            "status": report.status.as_str(),
            "source": trigger.source.as_str(),
            "triggered_by": trigger.by,
        });
    }
}

/// Start listening on `addr` for the job's connectors. Prints the address
/// on stderr.
pub fn start(
    addr: &str,
    config: &Config,
    job: &str,
    names: &[String],
    limits: &Limits,
) -> anyhow::Result<Hooks> {
    let mut connectors = HashMap::new();
    for name in names {
        if let Some(cc) = config.connectors.get(name) {
            let c = einklang_connectors::open(&cc.name, &cc.kind, &cc.settings, &config.base_dir)?;
            connectors.insert(name.clone(), c);
        }
    }
    let (tx, rx) = channel();
    let max = limits
        .max_connections
        .unwrap_or_else(conn::default_max_connections)
        .max(1);
    let shared = Arc::new(Shared {
        job: job.to_string(),
        connectors: Mutex::new(connectors),
        wake: tx,
        replay: Mutex::new(replay::Replay::new(replay::CAPACITY)),
        last_run: Mutex::new(Value::Null),
        slots: conn::Slots::new(max),
        body: body::Limits {
            max: limits.max_body,
            timeout: Duration::from_secs(limits.body_timeout),
        },
    });
    let listener = std::net::TcpListener::bind(addr)
        .map_err(|e| anyhow::anyhow!("listening on {addr}: {e}"))?;
    listener.set_nonblocking(true)?;
    eprintln!(
        "einklang: listening for webhooks on http://{}/webhook/<connector> (at most {max} connections)",
        listener.local_addr()?
    );
    let slots = shared.slots.clone();
    let app = Router::new()
        .route("/webhook/{connector}", post(receive))
        .route("/healthz", get(healthz))
        .with_state(shared.clone());
    let header_timeout = Duration::from_secs(limits.header_timeout.max(1));
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    std::thread::spawn(move || {
        runtime.block_on(async move {
            match tokio::net::TcpListener::from_std(listener) {
                Ok(l) => {
                    let forever = std::future::pending::<()>();
                    conn::run(l, app, (slots, header_timeout), forever).await
                }
                Err(e) => eprintln!("einklang: the webhook listener stopped: {e}"),
            }
        });
    });
    Ok(Hooks { wakes: rx, shared })
}

async fn healthz(State(shared): State<Arc<Shared>>) -> Json<Value> {
    let last_run = shared.last_run.lock().expect("last run").clone();
    Json(json!({
        "ok": true,
        "job": shared.job,
        "last_run": last_run,
        "connections": shared.slots.open(),
        "max_connections": shared.slots.max(),
    }))
}

async fn receive(
    State(shared): State<Arc<Shared>>,
    Path(connector): Path<String>,
    request: Request,
) -> Response {
    let not_here = || {
        let message = format!("connector `{connector}` takes no webhooks in this job");
        (StatusCode::NOT_FOUND, Json(json!({ "error": message }))).into_response()
    };
    if !shared
        .connectors
        .lock()
        .expect("connectors")
        .contains_key(&connector)
    {
        return not_here();
    }
    let (parts, body) = request.into_parts();
    let query = parts.uri.query().unwrap_or("").to_string();
    let body = match body::read(&parts.headers, body, &shared.body).await {
        Ok(body) => body,
        Err(refused) => return refused,
    };
    let verdict = {
        let connectors = shared.connectors.lock().expect("connectors");
        let call = (query.as_str(), &parts.headers, &body[..]);
        let c = connectors.get(&connector).map(|c| c.as_ref());
        intake::check(c, &connector, call, &shared.replay)
    };
    let delivery = match verdict {
        Verdict::NotHere => return not_here(),
        Verdict::Refused(reason) => {
            eprintln!("einklang: webhook for `{connector}` refused: {reason}");
            return (StatusCode::UNAUTHORIZED, Json(json!({"error": reason}))).into_response();
        }
        Verdict::Handshake(token) => return intake::handshake(token),
        Verdict::Copy => return intake::copy(),
        Verdict::Accepted(delivery) => delivery,
    };
    let n = delivery.ids.len();
    let _ = shared.wake.send(Wake {
        connector,
        ids: delivery.ids,
        delivery: delivery.id,
    });
    (StatusCode::ACCEPTED, Json(json!({"accepted": n}))).into_response()
}
