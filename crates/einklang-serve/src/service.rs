//! The service as a whole: workers, scheduler and API in one process,
//! and its shutdown. The port is served by [`crate::intake::conn`]
//! (a cap on connections, header timeouts). SIGTERM (or Ctrl-C) stops the
//! intake — the listener closes, requests in flight get up to
//! [`crate::intake::conn::DRAIN`] to be answered — and tells the workers and
//! the scheduler to stop; runs in flight get `[serve] shutdown_seconds`
//! to finish. A run still going then is left to the store's guarantees:
//! each batch it committed is whole, its leases and its queue claim
//! expire, and the next service takes the run again.
//!
//! On SQLite one service per hub file: the service holds the lease
//! `serve` while it runs, and a second `einklang serve` on the same file
//! refuses to start. On PostgreSQL any number share the work.

use crate::{Kick, Shared};
use einklang_config::{Config, StoreLocation};
use einklang_engine::{EngineError, Holding, LeaseOptions};
use einklang_store::HubStore;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Why the service could not start or stopped.
#[derive(Debug, thiserror::Error)]
pub enum ServeError {
    /// The store could not be opened.
    #[error("opening the hub store: {0}")]
    Store(#[from] einklang_store::StoreError),
    /// Another service holds this SQLite hub.
    #[error("another `einklang serve` runs on this SQLite hub ({0}); on SQLite one service at a time — stop it, or move the hub to PostgreSQL to run several")]
    SecondOnSqlite(String),
    /// The lease could not be taken.
    #[error("taking the service lease: {0}")]
    Lease(EngineError),
    /// The address could not be bound.
    #[error("listening on {addr}: {source}")]
    Listen {
        /// The address.
        addr: String,
        /// Why.
        source: std::io::Error,
    },
    /// A connector that takes webhooks could not be opened.
    #[error("opening a connector for webhooks: {0}")]
    Connector(einklang_connectors::ConnectorError),
    /// The HTTP server failed.
    #[error("serving HTTP: {0}")]
    Http(std::io::Error),
}

/// Run the service until SIGTERM or Ctrl-C; `listen` overrides
/// `[serve] listen`.
pub fn serve(config: Config, listen: Option<String>) -> Result<(), ServeError> {
    let config = Arc::new(config);
    let settings = config.serve.clone();
    let addr = listen.unwrap_or(settings.listen.clone());
    let tenants = crate::tenant_configs(&config);
    let mut alone = Vec::new();
    for c in tenants.values() {
        alone.extend(sqlite_alone(c)?);
    }
    crate::metrics::recorder();
    let kick = Arc::new(Kick::default());
    let poll = Duration::from_secs(settings.poll_seconds);
    let live = Arc::new(crate::live::LiveRuns::default());
    // per tenant: its workers, its scheduler, its notifier, its change listeners
    let mut threads = Vec::new();
    for (name, c) in &tenants {
        let prefix = format!(
            "{}:{}",
            einklang_store::lease::hostname(),
            std::process::id()
        );
        let prefix = match tenants.len() {
            1 => prefix,
            _ => format!("{prefix}-{name}"),
        };
        let pair = (Arc::clone(&kick), Arc::clone(&live));
        threads.extend(crate::worker::spawn(
            Arc::clone(c),
            &prefix,
            settings.workers,
            pair,
            poll,
        )?);
        let mut store = einklang_store::open(&c.store.as_open_str())?;
        let (sc, k) = (Arc::clone(c), Arc::clone(&kick));
        threads.push(std::thread::spawn(move || {
            crate::scheduler::run(&sc, store.as_mut(), &k, poll)
        }));
        let mut store = einklang_store::open(&c.store.as_open_str())?;
        let (nc, k) = (Arc::clone(c), Arc::clone(&kick));
        threads.push(std::thread::spawn(move || {
            crate::notify::run(&nc, store.as_mut(), &k, poll)
        }));
        let mut store = einklang_store::open(&c.store.as_open_str())?;
        let (cc, k) = (Arc::clone(c), Arc::clone(&kick));
        threads.push(std::thread::spawn(move || {
            crate::changes::run(&cc, store.as_mut(), &k)
        }));
    }
    let api_store = einklang_store::open(&config.store.as_open_str())?;
    let shared = Shared::new(Arc::clone(&config), api_store, Arc::clone(&kick), live)
        .map_err(ServeError::Connector)?;
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(ServeError::Http)?;
    let served = runtime.block_on(async {
        let listener = tokio::net::TcpListener::bind(&addr)
            .await
            .map_err(|source| ServeError::Listen {
                addr: addr.clone(),
                source,
            })?;
        let names: Vec<&String> = tenants.keys().collect();
        tracing::info!(addr = %addr, workers = settings.workers, tenants = ?names, "einklang serve listening");
        eprintln!(
            "einklang: serving on http://{addr} ({} worker(s) per tenant; tenants: {})",
            settings.workers,
            tenants.keys().cloned().collect::<Vec<_>>().join(", ")
        );
        let limits = shared.limits.clone();
        let slots = crate::intake::conn::Slots::new(limits.max_connections.max(1));
        let port = (slots, limits.header_timeout);
        crate::intake::conn::run(listener, crate::app(shared), port, stop_signal()).await;
        Ok::<(), ServeError>(())
    });
    kick.stop();
    let deadline = Instant::now() + Duration::from_secs(settings.shutdown_seconds);
    let mut left = 0;
    for h in threads {
        while !h.is_finished() && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(50));
        }
        match h.is_finished() {
            true => {
                let _ = h.join();
            }
            false => left += 1,
        }
    }
    if left > 0 {
        tracing::warn!(threads = left, "shutdown deadline passed with runs in flight: they are taken again by the next service");
        eprintln!("einklang: {left} run(s) still going at the shutdown deadline; they are taken again by the next service");
    }
    for (holding, mut store) in alone {
        let _ = holding.release(store.as_mut());
    }
    served
}

/// On SQLite: hold the lease `serve` (a second service refuses).
/// The lease `serve` on SQLite, with the handle it was taken on.
type Alone = Option<(Holding, Box<dyn HubStore>)>;

fn sqlite_alone(config: &Config) -> Result<Alone, ServeError> {
    if !matches!(config.store, StoreLocation::Sqlite(_)) {
        return Ok(None);
    }
    let mut store = einklang_store::open(&config.store.as_open_str())?;
    let names = vec!["serve".to_string()];
    match Holding::acquire(
        store.as_mut(),
        &config.tenant,
        names,
        ("serve", "einklang serve"),
        &LeaseOptions::default(),
    ) {
        Ok(h) => Ok(Some((h, store))),
        Err(e @ EngineError::Busy { .. }) => Err(ServeError::SecondOnSqlite(e.to_string())),
        Err(e) => Err(ServeError::Lease(e)),
    }
}

async fn stop_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {},
        _ = term => {},
    }
    tracing::info!("stop signal: no new requests, finishing runs in flight");
    eprintln!("einklang: stopping");
}
