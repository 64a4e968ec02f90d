//! `einklang serve`: the always-on service. One process runs
//! - the **HTTP API** ([`app`], axum; the binary and the tests use the
//!   same router): health, jobs, triggering runs (202 with the run id),
//!   runs and their progress, behind API tokens ([`auth`]);
//! - the **run queue's workers** ([`worker`]): threads, each with a store
//!   handle of its own, that claim queued runs and run them through the
//!   engine, under the engine's leases (never two runs of one job at once);
//! - the **dashboard** ([`dashboard`]): HTML pages at `/` over the same
//!   data, whose buttons call the API;
//! - the **scheduler** ([`scheduler`]): `schedule`/`tz` of each job, one
//!   run for the latest tick not yet queued.
//!
//! Everything that must survive the process is in the store: a queued run
//! is a run row of status `queued` plus a queue row
//! ([`einklang_store::RunQueue`]), so any process on the same PostgreSQL
//! can work it off and a restart forgets nothing.

pub mod answers;
pub mod api;
pub mod auth;
pub mod changes;
pub mod connectors;
pub mod dashboard;
pub mod decisions;
pub mod events;
pub mod intake;
pub mod live;
pub mod metrics;
pub mod notify;
pub mod records;
pub mod scheduler;
pub mod service;
pub mod snapshots;
pub mod tokens;
pub mod webhooks;
pub mod worker;

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use einklang_config::Config;
use einklang_store::{HubStore, StoreError};
use std::sync::{Arc, Condvar, Mutex};
use std::time::Instant;

pub use api::app;

/// What the API's handlers share.
pub struct Shared {
    /// The configuration as each tenant it serves runs it
    /// ([`Config::for_tenant`]).
    pub configs: std::collections::BTreeMap<String, Arc<Config>>,
    /// The API's store handle (runs of the workers have their own).
    store: Mutex<Box<dyn HubStore>>,
    /// Wakes idle workers when a run is queued.
    pub kick: Arc<Kick>,
    /// The connectors that take webhooks, by tenant.
    pub(crate) receivers: Mutex<std::collections::BTreeMap<String, webhooks::Receivers>>,
    /// Webhook calls accepted lately, to recognise their copies.
    pub(crate) replay: Mutex<intake::replay::Replay>,
    /// The limits of the port ([`intake::Limits`]).
    pub limits: intake::Limits,
    /// Progress of the runs this process works on.
    pub live: Arc<live::LiveRuns>,
    /// When the service started.
    pub started: Instant,
    /// The dashboard's signed-in browsers.
    pub sessions: dashboard::session::Sessions,
}

impl Shared {
    /// State over `store` for every tenant of `config` (one: its
    /// `tenant`, without `[tenants]`), with the connectors that take
    /// webhooks opened.
    pub fn new(
        config: Arc<Config>,
        store: Box<dyn HubStore>,
        kick: Arc<Kick>,
        live: Arc<live::LiveRuns>,
    ) -> Result<Arc<Shared>, einklang_connectors::ConnectorError> {
        let configs = tenant_configs(&config);
        let mut receivers = std::collections::BTreeMap::new();
        for (tenant, c) in &configs {
            receivers.insert(tenant.clone(), webhooks::receivers(c)?);
        }
        Ok(Arc::new(Shared {
            configs,
            store: Mutex::new(store),
            kick,
            receivers: Mutex::new(receivers),
            replay: Mutex::new(intake::replay::Replay::new(intake::replay::CAPACITY)),
            limits: intake::Limits::default(),
            live,
            started: Instant::now(),
            sessions: Default::default(),
        }))
    }

    /// The config of the caller's tenant; a tenant this service does not
    /// serve has nothing here (404).
    pub fn config_of(&self, tenant: &str) -> Result<Arc<Config>, ApiError> {
        self.configs.get(tenant).cloned().ok_or_else(|| {
            ApiError::NotFound("nothing of this token's tenant is served here".into())
        })
    }

    /// Run `f` on the API's store handle, off the async threads; its
    /// error (a store error, a decision's refusal) becomes the answer.
    pub async fn with_store<T: Send + 'static, E: Into<ApiError> + Send + 'static>(
        self: &Arc<Self>,
        f: impl FnOnce(&mut dyn HubStore) -> Result<T, E> + Send + 'static,
    ) -> Result<T, ApiError> {
        let me = Arc::clone(self);
        tokio::task::spawn_blocking(move || {
            let mut store = me.store.lock().unwrap_or_else(|p| p.into_inner());
            f(store.as_mut())
        })
        .await
        .map_err(|e| ApiError::Internal(format!("a store call panicked: {e}")))?
        .map_err(Into::into)
    }
}

/// Wakes workers waiting for work (a queued run), or tells them to stop.
#[derive(Default)]
pub struct Kick {
    state: Mutex<(u64, bool)>,
    cond: Condvar,
}

impl Kick {
    /// Something was queued.
    pub fn kick(&self) {
        let mut s = self.state.lock().unwrap_or_else(|p| p.into_inner());
        s.0 += 1;
        self.cond.notify_all();
    }

    /// Stop: workers finish their run and take no new one.
    pub fn stop(&self) {
        let mut s = self.state.lock().unwrap_or_else(|p| p.into_inner());
        s.1 = true;
        self.cond.notify_all();
    }

    /// Whether [`Self::stop`] was called.
    pub fn stopping(&self) -> bool {
        self.state.lock().unwrap_or_else(|p| p.into_inner()).1
    }

    /// Wait up to `timeout` for a kick or a stop; true when stopping.
    pub fn wait(&self, seen: &mut u64, timeout: std::time::Duration) -> bool {
        let s = self.state.lock().unwrap_or_else(|p| p.into_inner());
        let (s, _) = self
            .cond
            .wait_timeout_while(s, timeout, |s| s.0 == *seen && !s.1)
            .unwrap_or_else(|p| p.into_inner());
        *seen = s.0;
        s.1
    }
}

/// An API error: its status and a message for the caller.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// 401.
    #[error("{0}")]
    Unauthorized(String),
    /// 403.
    #[error("{0}")]
    Forbidden(String),
    /// 404.
    #[error("{0}")]
    NotFound(String),
    /// 400.
    #[error("{0}")]
    BadRequest(String),
    /// 409: decided already, or a run holds what it needs.
    #[error("{0}")]
    Conflict(String),
    /// 500: the store failed.
    #[error("store: {0}")]
    Store(#[from] StoreError),
    /// 500.
    #[error("{0}")]
    Internal(String),
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let status = match &self {
            ApiError::Unauthorized(_) => StatusCode::UNAUTHORIZED,
            ApiError::Forbidden(_) => StatusCode::FORBIDDEN,
            ApiError::NotFound(_) => StatusCode::NOT_FOUND,
            ApiError::BadRequest(_) => StatusCode::BAD_REQUEST,
            ApiError::Conflict(_) => StatusCode::CONFLICT,
            ApiError::Store(_) | ApiError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        };
        if status.is_server_error() {
            tracing::error!(error = %self, "API request failed");
        }
        let answer = answers::ErrorAnswer {
            error: self.to_string(),
        };
        let mut response = (status, Json(answer)).into_response();
        if status == StatusCode::UNAUTHORIZED {
            response.headers_mut().insert(
                axum::http::header::WWW_AUTHENTICATE,
                axum::http::HeaderValue::from_static("Bearer"),
            );
        }
        response
    }
}

/// `config` as each tenant it serves runs it.
pub fn tenant_configs(config: &Config) -> std::collections::BTreeMap<String, Arc<Config>> {
    config
        .tenant_names()
        .into_iter()
        .filter_map(|t| config.for_tenant(&t).map(|c| (t, Arc::new(c))))
        .collect()
}

/// `s` cut to at most `max` characters.
pub(crate) fn clip(s: &str, max: usize) -> String {
    s.chars().take(max).collect()
}
