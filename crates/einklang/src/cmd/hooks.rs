//! The webhook receiver of `einklang sync JOB --watch --listen ADDR`:
//! `POST /webhook/<connector>` is checked against that connector's
//! `webhook` settings (HMAC signature, ids in the payload); a valid call
//! wakes the watch loop, which syncs the job at once. Answers: 202 with
//! the number of ids, 401 for a bad or missing signature (nothing runs),
//! 404 for a connector of another job or one without `webhook` settings.
//! axum on a single-threaded tokio runtime in a thread of its own; the
//! sync loop stays synchronous.

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::routing::post;
use axum::{Json, Router};
use einklang_config::Config;
use einklang_connectors::Connector;
use serde_json::json;
use std::collections::HashMap;
use std::sync::mpsc::{channel, Receiver, Sender};
use std::sync::{Arc, Mutex};

/// A verified webhook call.
pub struct Wake {
    /// The connector it came for.
    pub connector: String,
    /// How many record ids it named.
    pub ids: usize,
}

struct Shared {
    connectors: Mutex<HashMap<String, Box<dyn Connector>>>,
    wake: Mutex<Sender<Wake>>,
}

/// Start listening on `addr` for the job's connectors; the channel of
/// verified calls. Prints the address on stderr.
pub fn start(addr: &str, config: &Config, names: &[String]) -> anyhow::Result<Receiver<Wake>> {
    let mut connectors = HashMap::new();
    for name in names {
        if let Some(cc) = config.connectors.get(name) {
            let c = einklang_connectors::open(&cc.name, &cc.kind, &cc.settings, &config.base_dir)?;
            connectors.insert(name.clone(), c);
        }
    }
    let (tx, rx) = channel();
    let shared = Arc::new(Shared {
        connectors: Mutex::new(connectors),
        wake: Mutex::new(tx),
    });
    let listener = std::net::TcpListener::bind(addr)
        .map_err(|e| anyhow::anyhow!("listening on {addr}: {e}"))?;
    listener.set_nonblocking(true)?;
    eprintln!(
        "einklang: listening for webhooks on http://{}/webhook/<connector>",
        listener.local_addr()?
    );
    let app = Router::new()
        .route("/webhook/{connector}", post(receive))
        .with_state(shared);
    std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("a runtime");
        rt.block_on(async move {
            let listener = tokio::net::TcpListener::from_std(listener).expect("a listener");
            if let Err(e) = axum::serve(listener, app).await {
                eprintln!("einklang: the webhook listener stopped: {e}");
            }
        });
    });
    Ok(rx)
}

async fn receive(
    State(shared): State<Arc<Shared>>,
    Path(connector): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> (StatusCode, Json<serde_json::Value>) {
    let headers: Vec<(String, String)> = headers
        .iter()
        .filter_map(|(k, v)| Some((k.as_str().to_string(), v.to_str().ok()?.to_string())))
        .collect();
    let verdict = {
        let connectors = shared.connectors.lock().expect("connectors");
        connectors
            .get(&connector)
            .and_then(|c| c.webhook(&headers, &body))
    };
    match verdict {
        None => (
            StatusCode::NOT_FOUND,
            Json(
                json!({"error": format!("connector `{connector}` takes no webhooks in this job")}),
            ),
        ),
        Some(Err(reason)) => {
            eprintln!("einklang: webhook for `{connector}` refused: {reason}");
            (StatusCode::UNAUTHORIZED, Json(json!({"error": reason})))
        }
        Some(Ok(delivery)) => {
            let n = delivery.ids.len();
            let _ = shared
                .wake
                .lock()
                .expect("channel")
                .send(Wake { connector, ids: n });
            (StatusCode::ACCEPTED, Json(json!({"accepted": n})))
        }
    }
}
