//! `POST /webhooks/{connector}`: a call checked against the connector's
//! `webhook` settings (signature scheme, signed timestamp, shared secret,
//! Microsoft Graph's handshake — the connector decides,
//! `Connector::webhook`), then queued as a targeted run of every job that
//! reads the connector ([`einklang_store::RunQueue::enqueue_webhook`]):
//! committed before the 202, so an accepted call is never lost; the first
//! call of a burst runs at once, the rest of `[serve] webhook_window_ms`
//! makes one more run.
//!
//! No API token: the sender proves itself by the connector's scheme.
//! Answers: 202 `{"accepted": ids, "runs": [...]}`; 200 with the token for
//! Graph's `validationToken`; 200 `{"duplicate": true}` for a copy of a
//! call accepted within its window (its MAC or delivery id seen: nothing
//! queued, 2xx so the sender stops retrying); 401 when the scheme refuses
//! the call; 404 for a connector that takes no webhooks or that no job
//! reads; 413 for a body over 1 MiB, 408 for one that takes over 10 s
//! ([`crate::intake`]).

use crate::intake::{self, Verdict};
use crate::{ApiError, Shared};
use axum::extract::{Path, Request, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use einklang_config::{Config, Step};
use einklang_connectors::Connector;
use einklang_store::{NewRun, RunSource};
use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

/// The connectors that take webhooks, opened once.
pub type Receivers = HashMap<String, Box<dyn Connector>>;

/// Open every connector a job reads that has `webhook` settings.
pub fn receivers(config: &Config) -> Result<Receivers, einklang_connectors::ConnectorError> {
    let mut out = Receivers::new();
    for name in config
        .jobs
        .values()
        .flat_map(|j| j.steps.iter().flat_map(step_connectors))
    {
        if out.contains_key(&name) {
            continue;
        }
        let Some(cc) = config.connectors.get(&name) else {
            continue;
        };
        if !cc.settings.contains_key("webhook") {
            continue;
        }
        let c = einklang_connectors::open(&cc.name, &cc.kind, &cc.settings, &config.base_dir)?;
        out.insert(name, c);
    }
    Ok(out)
}

/// The connectors a step names.
pub(crate) fn step_connectors(step: &Step) -> Vec<String> {
    match step {
        Step::Pull { connector, .. }
        | Step::Push { connector, .. }
        | Step::Refresh { connector, .. } => vec![connector.clone()],
        Step::Sync { connectors, .. } => connectors.clone(),
    }
}

/// The jobs whose steps name `connector`.
fn jobs_of(config: &Config, connector: &str) -> Vec<String> {
    config
        .jobs
        .values()
        .filter(|j| {
            j.steps
                .iter()
                .any(|s| step_connectors(s).iter().any(|c| c == connector))
        })
        .map(|j| j.name.clone())
        .collect()
}

/// The route of a service serving one tenant.
#[utoipa::path(post, path = "/webhooks/{connector}", tag = "webhooks", params(("connector" = String, Path, description = "a connector with `webhook` settings")), request_body(content = String, description = "as the sender posts it; checked by the connector's scheme"), responses((status = 202, body = crate::answers::WebhookQueued, description = "queued: `accepted` ids, `runs`"), (status = 200, description = "Microsoft Graph handshake: the validation token (text/plain), or `{\"duplicate\": true}` for a copy of an accepted call"), (status = 413, description = "the body is over 1 MiB"), (status = 401, body = crate::answers::ErrorAnswer, description = "the scheme refused the call"), (status = 404, body = crate::answers::ErrorAnswer, description = "the connector takes no webhooks here, or the service serves several tenants (use /webhooks/{tenant}/{connector})")))]
pub async fn receive(
    State(s): State<Arc<Shared>>,
    Path(connector): Path<String>,
    request: Request,
) -> Result<Response, ApiError> {
    let tenant = match s.configs.keys().collect::<Vec<_>>()[..] {
        [one] => one.clone(),
        _ => {
            return Err(ApiError::NotFound(
                "this service serves several tenants: post to /webhooks/{tenant}/{connector}"
                    .into(),
            ))
        }
    };
    take(s, (tenant, connector), request).await
}

/// The route naming the tenant.
#[utoipa::path(post, path = "/webhooks/{tenant}/{connector}", tag = "webhooks", params(("tenant" = String, Path, description = "a tenant this service serves"), ("connector" = String, Path, description = "a connector with `webhook` settings")), request_body(content = String, description = "as the sender posts it; checked by the tenant's connector's scheme"), responses((status = 202, body = crate::answers::WebhookQueued, description = "queued: `accepted` ids, `runs`"), (status = 200, description = "Microsoft Graph handshake: the validation token (text/plain), or `{\"duplicate\": true}` for a copy of an accepted call"), (status = 413, description = "the body is over 1 MiB"), (status = 401, body = crate::answers::ErrorAnswer, description = "the scheme refused the call"), (status = 404, body = crate::answers::ErrorAnswer, description = "no such tenant here, or its connector takes no webhooks")))]
pub async fn receive_for(
    State(s): State<Arc<Shared>>,
    Path((tenant, connector)): Path<(String, String)>,
    request: Request,
) -> Result<Response, ApiError> {
    take(s, (tenant, connector), request).await
}

/// A call for `connector` of `tenant`, checked and queued.
async fn take(
    s: Arc<Shared>,
    (tenant, connector): (String, String),
    request: Request,
) -> Result<Response, ApiError> {
    let config = s.config_of(&tenant).map_err(|_| {
        ApiError::NotFound(format!("no tenant `{}` here", crate::clip(&tenant, 100)))
    })?;
    let not_here = || {
        ApiError::NotFound(format!(
            "connector `{}` takes no webhooks here",
            crate::clip(&connector, 100)
        ))
    };
    let jobs = jobs_of(&config, &connector);
    if jobs.is_empty() {
        return Err(not_here());
    }
    let (parts, body) = request.into_parts();
    let body = match intake::body::read(&parts.headers, body, &s.limits.body).await {
        Ok(body) => body,
        Err(refused) => return Ok(refused),
    };
    let tenant_key = format!("{tenant}/{connector}");
    let verdict = {
        let receivers = s.receivers.lock().unwrap_or_else(|p| p.into_inner());
        let c = receivers.get(&tenant).and_then(|r| r.get(&connector));
        let call = (parts.uri.query().unwrap_or(""), &parts.headers, &body[..]);
        intake::check(c.map(|c| c.as_ref()), &tenant_key, call, &s.replay)
    };
    let delivery = match verdict {
        Verdict::NotHere => return Err(not_here()),
        Verdict::Refused(reason) => {
            tracing::warn!(connector = %connector, %reason, "webhook refused");
            return Err(ApiError::Unauthorized(reason));
        }
        Verdict::Handshake(token) => return Ok(intake::handshake(token)),
        Verdict::Copy => {
            tracing::debug!(connector = %connector, "a copy of an accepted webhook call");
            return Ok(intake::copy());
        }
        Verdict::Accepted(d) => d,
    };
    let by = match &delivery.id {
        Some(id) => format!("webhook:{connector}#{}", crate::clip(id, 64)),
        None => format!("webhook:{connector}"),
    };
    let window = Duration::from_millis(config.serve.webhook_window_ms);
    let ids = delivery.ids.clone();
    let name = connector.clone();
    let queued = s
        .with_store(move |st| {
            jobs.iter()
                .map(|job| {
                    let run = NewRun {
                        job: job.clone(),
                        source: RunSource::Webhook,
                        triggered_by: by.clone(),
                    };
                    st.enqueue_webhook(&tenant, &run, &name, &ids, window)
                })
                .collect::<Result<Vec<_>, _>>()
        })
        .await;
    let runs = match queued {
        Ok(runs) => runs,
        Err(e) => {
            // not queued: the sender's retry is a new call, not a copy
            let mut replay = s.replay.lock().unwrap_or_else(|p| p.into_inner());
            replay.forget(&tenant_key, &delivery);
            return Err(e);
        }
    };
    s.kick.kick();
    tracing::debug!(connector = %connector, ids = delivery.ids.len(), ?runs, "webhook queued");
    let answer = crate::answers::WebhookQueued {
        accepted: delivery.ids.len(),
        runs,
    };
    Ok((StatusCode::ACCEPTED, Json(answer)).into_response())
}
