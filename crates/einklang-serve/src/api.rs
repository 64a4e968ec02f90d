//! The routes of the HTTP API (JSON). Every `/api` route needs a token
//! ([`crate::auth`]); `/healthz` and `/readyz` do not.
//!
//! | route | role | what |
//! | --- | --- | --- |
//! | `GET /openapi.json` | – | the OpenAPI 3.1 document, generated from the handlers' annotations |
//! | `GET /healthz` | – | the process answers |
//! | `GET /readyz` | – | the store answers (503 otherwise) |
//! | `GET /metrics` | viewer | Prometheus text ([`crate::metrics`]) |
//! | `GET /api/jobs` | viewer | each job: schedule, zone, next tick, last run |
//! | `GET /api/connectors` | viewer | each connector's health ([`crate::connectors`]) |
//! | `POST /api/jobs/{job}/runs` | operator | queue a run: 202, `{"run_id", "status": "queued"}`, `Location: /api/runs/{id}` |
//! | `GET /api/runs?job=&status=&before=&limit=` | viewer | recent runs, newest first |
//! | `GET /api/runs/{id}` | viewer | one run: status, counters, errors, live `progress` |
//! | `GET /api/runs/{id}/events` | viewer | the same as Server-Sent Events until it ends ([`crate::events`]) |
//! | `/api/records…`, `/api/mappings…`, `/api/quarantine`, `/lookup/phone` | viewer / operator | [`crate::records`] |
//! | `/api/conflicts…`, `/api/reviews…` | viewer / operator | [`crate::decisions`] |
//! | `POST /webhooks/{connector}` | the connector's `webhook` scheme | queue a targeted run ([`crate::webhooks`]) |

use crate::answers::{Health, JobView, Jobs, Queued, Ready, RunView, Runs};
use crate::auth::Caller;
use crate::{ApiError, Shared};
use axum::extract::{Path, Query, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use chrono::Utc;
use einklang_core::schedule::Schedule;
use einklang_store::{NewRun, QueuedRun, Role, Run, RunSource, RunStatus};
use serde::Deserialize;
use std::sync::Arc;

/// The OpenAPI document's frame: title, the token scheme, the tags.
#[derive(utoipa::OpenApi)]
#[openapi(
    info(title = "einklang", description = "The HTTP API of `einklang serve`: jobs and runs, records, decisions, webhooks. Every `/api` route needs `Authorization: Bearer <token>` (`einklang token create`)."),
    modifiers(&BearerToken),
    tags(
        (name = "service", description = "health, readiness, metrics"),
        (name = "jobs", description = "jobs and starting runs"),
        (name = "runs", description = "runs and their outcome"),
        (name = "records", description = "hub records, mappings, syncing records now, quarantine"),
        (name = "decisions", description = "conflicts and review pairs"),
        (name = "snapshots", description = "refresh staging, approving held refreshes, recent changes"),
        (name = "webhooks", description = "calls from the connected systems"),
        (name = "tokens", description = "API tokens of the caller's tenant (admin)"),
    )
)]
struct ApiDoc;

struct BearerToken;

impl utoipa::Modify for BearerToken {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
        let components = openapi.components.get_or_insert_with(Default::default);
        let scheme = HttpBuilder::new().scheme(HttpAuthScheme::Bearer).build();
        components.add_security_scheme("token", SecurityScheme::Http(scheme));
    }
}

/// The routes and the OpenAPI document generated from their annotations
/// (one list: a route is in the document because it is in the router).
fn routes() -> (Router<Arc<Shared>>, utoipa::openapi::OpenApi) {
    use utoipa::OpenApi;
    use utoipa_axum::routes;
    utoipa_axum::router::OpenApiRouter::with_openapi(ApiDoc::openapi())
        .routes(routes!(healthz))
        .routes(routes!(readyz))
        .routes(routes!(crate::metrics::metrics))
        .routes(routes!(jobs))
        .routes(routes!(crate::connectors::connectors))
        .routes(routes!(trigger))
        .routes(routes!(runs))
        .routes(routes!(run))
        .routes(routes!(crate::events::events))
        .routes(routes!(crate::records::record))
        .routes(routes!(crate::records::search))
        .routes(routes!(crate::records::sync))
        .routes(routes!(crate::records::mapping))
        .routes(routes!(crate::records::quarantine))
        .routes(routes!(crate::records::lookup_phone))
        .routes(routes!(crate::records::links))
        .routes(routes!(crate::records::retry))
        .routes(routes!(crate::records::merges))
        .routes(routes!(crate::records::unmerge))
        .routes(routes!(crate::records::compare))
        .routes(routes!(crate::tokens::list, crate::tokens::create))
        .routes(routes!(crate::tokens::revoke))
        .routes(routes!(crate::decisions::conflicts))
        .routes(routes!(crate::decisions::resolve))
        .routes(routes!(crate::decisions::reviews))
        .routes(routes!(crate::decisions::review))
        .routes(routes!(crate::decisions::decide))
        .routes(routes!(crate::decisions::dedupe))
        .routes(routes!(crate::snapshots::staging))
        .routes(routes!(crate::snapshots::staging_of))
        .routes(routes!(crate::snapshots::approve))
        .routes(routes!(crate::snapshots::changes))
        .routes(routes!(crate::snapshots::changes_csv))
        .routes(routes!(crate::webhooks::receive))
        .routes(routes!(crate::webhooks::receive_for))
        .split_for_parts()
}

/// The OpenAPI 3.1 document of the API (served at `/openapi.json`).
pub fn openapi() -> utoipa::openapi::OpenApi {
    routes().1
}

/// The service's router over `state`.
pub fn app(state: Arc<Shared>) -> Router {
    let (router, doc) = routes();
    let doc = Arc::new(doc);
    let origins = state
        .configs
        .values()
        .next()
        .map(|c| c.serve.cors_origins.clone())
        .unwrap_or_default();
    let router = router
        .route(
            "/openapi.json",
            get(move || async move { Json(doc.as_ref().clone()) }),
        )
        .merge(crate::dashboard::routes())
        .with_state(state)
        .layer(axum::middleware::from_fn(traced));
    match cors(&origins) {
        Some(layer) => router.layer(layer),
        None => router,
    }
}

/// Every request in a span (method, path — never the query, which can
/// hold an e-mail searched for), and its answer as an event: status and
/// duration in ms (`debug`; a 5xx at `warn`).
async fn traced(request: axum::extract::Request, next: axum::middleware::Next) -> Response {
    use tracing::Instrument;
    let (method, path) = (request.method().clone(), request.uri().path().to_string());
    let span = tracing::debug_span!("http", %method, path = %path);
    let started = std::time::Instant::now();
    let response = next.run(request).instrument(span.clone()).await;
    let (status, ms) = (
        response.status().as_u16(),
        started.elapsed().as_millis() as u64,
    );
    span.in_scope(|| match status {
        500.. => tracing::warn!(status, ms, "answered"),
        _ => tracing::debug!(status, ms, "answered"),
    });
    response
}

/// `[serve] cors_origins` as a CORS layer: those origins (or any, for
/// `*`) may call the API from a browser page with a bearer token (no
/// cookies are used, so none are allowed); the `Location` of a queued
/// run is readable. None without origins: browsers keep their
/// same-origin rule.
fn cors(origins: &[String]) -> Option<tower_http::cors::CorsLayer> {
    use axum::http::{HeaderValue, Method};
    use tower_http::cors::{AllowOrigin, CorsLayer};
    if origins.is_empty() {
        return None;
    }
    let allow = match origins.iter().any(|o| o == "*") {
        true => AllowOrigin::any(),
        false => AllowOrigin::list(origins.iter().filter_map(|o| HeaderValue::from_str(o).ok())),
    };
    Some(
        CorsLayer::new()
            .allow_origin(allow)
            .allow_methods([Method::GET, Method::POST, Method::DELETE])
            .allow_headers([header::AUTHORIZATION, header::CONTENT_TYPE])
            .expose_headers([header::LOCATION])
            .max_age(std::time::Duration::from_secs(600)),
    )
}

#[utoipa::path(get, path = "/healthz", tag = "service", responses((status = 200, body = crate::answers::Health, description = "the process answers")))]
async fn healthz(State(s): State<Arc<Shared>>) -> Json<Health> {
    Json(Health {
        status: "ok",
        uptime_seconds: s.started.elapsed().as_secs(),
    })
}

#[utoipa::path(get, path = "/readyz", tag = "service", responses((status = 200, body = crate::answers::Ready, description = "the store answers; `queued_runs`"), (status = 503, body = crate::answers::Ready, description = "the store does not answer")))]
async fn readyz(State(s): State<Arc<Shared>>) -> Response {
    let tenants: Vec<String> = s.configs.keys().cloned().collect();
    let depth = move |st: &mut dyn einklang_store::HubStore| {
        let mut n = 0;
        for t in &tenants {
            n += st.queue_depth(t)?;
        }
        Ok::<_, einklang_store::StoreError>(n)
    };
    match s.with_store(depth).await {
        Ok(depth) => Json(Ready {
            status: "ready",
            queued_runs: Some(depth),
            error: None,
        })
        .into_response(),
        Err(e) => (
            StatusCode::SERVICE_UNAVAILABLE,
            Json(Ready {
                status: "not ready",
                queued_runs: None,
                error: Some(e.to_string()),
            }),
        )
            .into_response(),
    }
}

#[utoipa::path(get, path = "/api/jobs", tag = "jobs", security(("token" = [])), responses((status = 200, body = crate::answers::Jobs, description = "each job: schedule, tz, next_run_at, last_run"), (status = 401, body = crate::answers::ErrorAnswer, description = "no token, or an unknown or revoked one"), (status = 403, body = crate::answers::ErrorAnswer, description = "the token's role is too low"), (status = 404, body = crate::answers::ErrorAnswer, description = "another tenant's token")))]
pub(crate) async fn jobs(
    State(s): State<Arc<Shared>>,
    caller: Caller,
) -> Result<Json<Jobs>, ApiError> {
    caller.needs(Role::Viewer)?;
    let config = s.config_of(caller.tenant())?;
    let tenant = caller.tenant().to_string();
    let recent = s.with_store(move |st| st.runs(&tenant, 500)).await?;
    let now = Utc::now();
    let jobs: Vec<JobView> = config
        .jobs
        .values()
        .map(|j| {
            let next = j
                .schedule
                .as_deref()
                .and_then(|p| Schedule::parse(p, &j.tz).ok())
                .and_then(|sch| sch.next_after(now));
            let last = recent.iter().find(|r| r.job == j.name);
            JobView {
                name: j.name.clone(),
                schedule: j.schedule.clone(),
                tz: j.tz.clone(),
                next_run_at: next,
                last_run: last.map(RunView::of),
            }
        })
        .collect();
    Ok(Json(Jobs { jobs }))
}

#[derive(Deserialize, Default, utoipa::ToSchema)]
struct Trigger {
    /// The person behind the call (an e-mail), recorded with the token.
    user: Option<String>,
    /// Compare every record, ignoring source fingerprints (a full
    /// reconcile, as `einklang sync --full`).
    #[serde(default)]
    full: bool,
}

#[utoipa::path(post, path = "/api/jobs/{job}/runs", tag = "jobs", security(("token" = [])), params(("job" = String, Path, description = "job name")), request_body(content = Option<Trigger>, description = "optional: the person behind the call, and `full` for a full reconcile"), responses((status = 202, body = crate::answers::Queued, description = "queued: `run_id`, `status`, `location`; `Location` header to poll"), (status = 401, body = crate::answers::ErrorAnswer, description = "no token, or an unknown or revoked one"), (status = 403, body = crate::answers::ErrorAnswer, description = "the token's role is too low"), (status = 404, body = crate::answers::ErrorAnswer, description = "no such job")))]
async fn trigger(
    State(s): State<Arc<Shared>>,
    caller: Caller,
    Path(job): Path<String>,
    body: Option<Json<Trigger>>,
) -> Result<Response, ApiError> {
    caller.needs(Role::Operator)?;
    let config = s.config_of(caller.tenant())?;
    if !config.jobs.contains_key(&job) {
        return Err(ApiError::NotFound(format!(
            "no job `{}`",
            crate::clip(&job, 100)
        )));
    }
    let (user, full) = match body {
        Some(Json(b)) => (b.user, b.full),
        None => (None, false),
    };
    let queued = QueuedRun {
        run: NewRun {
            job: job.clone(),
            source: RunSource::Api,
            triggered_by: caller.triggered_by(user.as_deref()),
        },
        targets: None,
        dedupe_key: None,
        scheduled_for: None,
        thorough: full,
        approves: None,
    };
    let tenant = caller.tenant().to_string();
    let id = s
        .with_store(move |st| st.enqueue(&tenant, &queued))
        .await?
        .ok_or_else(|| ApiError::Internal("the queue refused a run without a key".into()))?;
    s.kick.kick();
    tracing::info!(job = %job, run = id, by = %caller.0.name, "run queued through the API");
    Ok(Queued::accepted(id))
}

#[derive(Deserialize)]
pub(crate) struct RunFilter {
    pub(crate) job: Option<String>,
    pub(crate) status: Option<String>,
    pub(crate) limit: Option<usize>,
    /// Only runs older than this id (the next page).
    pub(crate) before: Option<i64>,
}

#[utoipa::path(get, path = "/api/runs", tag = "runs", security(("token" = [])), params(("job" = Option<String>, Query, description = "only this job"), ("status" = Option<String>, Query, description = "queued, running, succeeded, partial, failed, needs_review, abandoned"), ("limit" = Option<usize>, Query, description = "1–1000, default 50"), ("before" = Option<i64>, Query, description = "only runs with a smaller id: the next page after the last run shown")), responses((status = 200, body = crate::answers::Runs, description = "runs, newest first"), (status = 400, body = crate::answers::ErrorAnswer, description = "unknown status"), (status = 401, body = crate::answers::ErrorAnswer, description = "no token, or an unknown or revoked one"), (status = 403, body = crate::answers::ErrorAnswer, description = "the token's role is too low")))]
pub(crate) async fn runs(
    State(s): State<Arc<Shared>>,
    caller: Caller,
    Query(f): Query<RunFilter>,
) -> Result<Json<Runs>, ApiError> {
    caller.needs(Role::Viewer)?;
    let status = match f.status.as_deref() {
        None => None,
        Some(t) => Some(RunStatus::parse(t).ok_or_else(|| {
            ApiError::BadRequest(format!("unknown status `{}`", crate::clip(t, 40)))
        })?),
    };
    let limit = f.limit.unwrap_or(50).clamp(1, 1000);
    let tenant = caller.tenant().to_string();
    let page = einklang_store::RunsPage {
        before: f.before,
        job: f.job.clone(),
        status,
    };
    let found = s
        .with_store(move |st| st.runs_page(&tenant, &page, limit))
        .await?;
    let runs: Vec<RunView> = found.iter().map(RunView::of).collect();
    Ok(Json(Runs { runs }))
}

#[utoipa::path(get, path = "/api/runs/{id}", tag = "runs", security(("token" = [])), params(("id" = i64, Path, description = "run id")), responses((status = 200, body = crate::answers::RunView, description = "the run: status, counters, errors, times, and once it ended each step's result"), (status = 401, body = crate::answers::ErrorAnswer, description = "no token, or an unknown or revoked one"), (status = 403, body = crate::answers::ErrorAnswer, description = "the token's role is too low"), (status = 404, body = crate::answers::ErrorAnswer, description = "no such run of the token's tenant")))]
pub(crate) async fn run(
    State(s): State<Arc<Shared>>,
    caller: Caller,
    Path(id): Path<i64>,
) -> Result<Json<RunView>, ApiError> {
    caller.needs(Role::Viewer)?;
    let tenant = caller.tenant().to_string();
    let found = s
        .with_store(move |st| {
            let run = st.run(&tenant, id)?;
            let steps = match &run {
                Some(r) if r.finished_at.is_some() => Some(st.steps_of(&tenant, id)?),
                _ => None,
            };
            Ok::<_, einklang_store::StoreError>((run, steps))
        })
        .await?;
    match found {
        (Some(r), steps) => {
            let mut view = with_progress(&s, &r);
            view.steps = steps;
            Ok(Json(view))
        }
        (None, _) => Err(ApiError::NotFound(format!("no run {id}"))),
    }
}

/// A run, with its steps' progress while this process works on it.
pub(crate) fn with_progress(s: &Shared, r: &Run) -> RunView {
    let mut v = RunView::of(r);
    v.progress = s.live.of(r.id);
    v
}
