//! `GET /api/connectors` (viewer): each connector of the caller's tenant
//! with its health — its links that are not clean, by status (what it
//! still owes; counted over their partial index), when its jobs
//! last ended well (from the runs), and what this process saw of its
//! remote calls ([`einklang_connectors::health`]: last success, recent
//! failures, how often the server asked to slow down). The dashboard's
//! overview shows it.

use crate::answers::{CallFailure, ConnectorHealth, ConnectorsHealth};
use crate::auth::Caller;
use crate::{ApiError, Shared};
use axum::extract::State;
use axum::Json;
use einklang_store::{Role, RunStatus};
use std::collections::BTreeMap;
use std::sync::Arc;

/// The route.
#[utoipa::path(get, path = "/api/connectors", tag = "service", security(("token" = [])), responses((status = 200, body = crate::answers::ConnectorsHealth, description = "each connector: kind, links not clean by status, last good run, calls seen by this process"), (status = 401, body = crate::answers::ErrorAnswer, description = "no token, or an unknown or revoked one"), (status = 403, body = crate::answers::ErrorAnswer, description = "the token's role is too low"), (status = 404, body = crate::answers::ErrorAnswer, description = "another tenant's token")))]
pub(crate) async fn connectors(
    State(s): State<Arc<Shared>>,
    caller: Caller,
) -> Result<Json<ConnectorsHealth>, ApiError> {
    caller.needs(Role::Viewer)?;
    let config = s.config_of(caller.tenant())?;
    let tenant = caller.tenant().to_string();
    let (open, runs) = s
        .with_store(move |st| {
            Ok::<_, einklang_store::StoreError>((st.open_links(&tenant)?, st.runs(&tenant, 500)?))
        })
        .await?;
    let connectors = config
        .connectors
        .values()
        .map(|c| {
            let links: BTreeMap<String, u64> = open
                .iter()
                .filter(|(name, _, _)| name == &c.name)
                .map(|(_, status, n)| (status.clone(), *n))
                .collect();
            let jobs: Vec<&str> = config
                .jobs
                .values()
                .filter(|j| {
                    j.steps.iter().any(|st| {
                        crate::webhooks::step_connectors(st)
                            .iter()
                            .any(|n| n == &c.name)
                    })
                })
                .map(|j| j.name.as_str())
                .collect();
            let last_good_run = runs
                .iter()
                .filter(|r| jobs.contains(&r.job.as_str()))
                .find(|r| r.status == RunStatus::Succeeded)
                .and_then(|r| r.finished_at);
            let seen = einklang_connectors::health::of(&c.name);
            ConnectorHealth {
                name: c.name.clone(),
                kind: c.kind.clone(),
                links,
                last_good_run,
                calls: seen.calls,
                last_success: seen.last_success,
                failures: seen.failures,
                throttled: seen.throttled,
                rate_limit_waits: seen.rate_limit_waits,
                rate_limit_wait_ms: seen.rate_limit_wait_ms,
                recent_failures: seen
                    .recent_failures
                    .into_iter()
                    .map(|f| CallFailure {
                        at: f.at,
                        method: f.method,
                        path: f.path,
                        error: f.error,
                    })
                    .collect(),
            }
        })
        .collect();
    let links_capped =
        open.iter().map(|(_, _, n)| n).sum::<u64>() > einklang_store::OPEN_LINKS_COUNTED;
    Ok(Json(ConnectorsHealth {
        connectors,
        links_capped,
    }))
}
