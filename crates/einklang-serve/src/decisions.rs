//! What a person decides, over HTTP, with the command line's semantics:
//! conflicts (`einklang conflicts`, `resolve`), the review queue of
//! possible duplicates (`einklang review`, `review accept|reject`) and
//! the batch pass (`einklang dedupe`).
//!
//! | route | role |
//! | --- | --- |
//! | `GET /api/conflicts?all=&before=&limit=` | viewer |
//! | `POST /api/conflicts/{id}/resolve` `{"take": "hub" \| CONNECTOR}` or `{"value": …}` | operator |
//! | `GET /api/reviews?all=&after=&limit=` | viewer |
//! | `GET /api/reviews/{id}` | viewer: the pair, both records, each field's weight |
//! | `POST /api/reviews/{id}/accept`, `…/reject` | operator |
//! | `POST /api/dedupe/{entity}` | operator |
//!
//! A decision is recorded as by `<user> (token:<name>)` or `token:<name>`.
//! An unknown id (or another tenant's) is 404, one decided already 409.

use crate::answers::{Conflicts, Decided, Queued, Reviews};
use crate::auth::Caller;
use crate::{ApiError, Shared};
use axum::extract::{Path, Query, State};
use axum::Json;
use einklang_engine::identity::ops;
use einklang_engine::{Choice, EngineError, ResolveError};
use einklang_store::{ReviewStatus, Role};
use serde::Deserialize;
use serde_json::Value;
use std::sync::Arc;

#[derive(Deserialize, Default)]
pub(crate) struct Listing {
    pub(crate) all: Option<bool>,
    pub(crate) limit: Option<usize>,
    /// Conflicts: only those with a smaller id (the next page).
    pub(crate) before: Option<i64>,
    /// Review pairs: only those with a larger id (the next page).
    pub(crate) after: Option<i64>,
}

impl Listing {
    fn open_only(&self) -> bool {
        !self.all.unwrap_or(false)
    }
    fn limit(&self) -> usize {
        self.limit.unwrap_or(100).clamp(1, 1000)
    }
}

/// `GET /api/conflicts`.
#[utoipa::path(get, path = "/api/conflicts", tag = "decisions", security(("token" = [])), params(("all" = Option<bool>, Query, description = "decided ones too"), ("limit" = Option<usize>, Query, description = "1–1000, default 100"), ("before" = Option<i64>, Query, description = "the `next` of the previous page")), responses((status = 200, body = crate::answers::Conflicts, description = "conflicts, newest first, and `next`"), (status = 401, body = crate::answers::ErrorAnswer, description = "no token, or an unknown or revoked one"), (status = 403, body = crate::answers::ErrorAnswer, description = "the token's role is too low")))]
pub(crate) async fn conflicts(
    State(s): State<Arc<Shared>>,
    caller: Caller,
    Query(q): Query<Listing>,
) -> Result<Json<Conflicts>, ApiError> {
    caller.needs(Role::Viewer)?;
    let tenant = caller.tenant().to_string();
    let limit = q.limit();
    let rows = s
        .with_store(move |st| st.conflicts_page(&tenant, (q.open_only(), q.before), limit))
        .await?;
    let next = (rows.len() == limit)
        .then(|| rows.last().map(|c| c.id))
        .flatten();
    Ok(Json(Conflicts {
        conflicts: rows,
        next,
    }))
}

#[derive(Deserialize, utoipa::ToSchema)]
pub(crate) struct Resolution {
    take: Option<String>,
    value: Option<Value>,
    user: Option<String>,
}

/// `POST /api/conflicts/{id}/resolve`.
#[utoipa::path(post, path = "/api/conflicts/{id}/resolve", tag = "decisions", security(("token" = [])), params(("id" = i64, Path, description = "conflict id")), request_body = Resolution, responses((status = 200, body = einklang_engine::Resolved, description = "what the hub now holds, and the run that recorded it"), (status = 400, body = crate::answers::ErrorAnswer, description = "neither or both of take and value; a connector without a link; a value the field does not take"), (status = 401, body = crate::answers::ErrorAnswer, description = "no token, or an unknown or revoked one"), (status = 403, body = crate::answers::ErrorAnswer, description = "the token's role is too low"), (status = 404, body = crate::answers::ErrorAnswer, description = "no such conflict"), (status = 409, body = crate::answers::ErrorAnswer, description = "decided already, or a run holds the entity")))]
pub(crate) async fn resolve(
    State(s): State<Arc<Shared>>,
    caller: Caller,
    Path(id): Path<i64>,
    Json(r): Json<Resolution>,
) -> Result<Json<einklang_engine::Resolved>, ApiError> {
    caller.needs(Role::Operator)?;
    let by = caller.triggered_by(r.user.as_deref());
    let tenant = caller.tenant().to_string();
    let config = s.config_of(caller.tenant())?;
    let resolved = s
        .with_store(move |st| {
            let choice = match (r.take, r.value) {
                (Some(side), None) if side == "hub" => Choice::Hub,
                (Some(side), None) => Choice::Connector(side),
                (None, Some(v)) => {
                    let conflict = st
                        .conflict(&tenant, id)?
                        .ok_or(Refusal::NotFound(format!("no conflict {id}")))?;
                    let text = match v {
                        Value::String(t) => t,
                        other => other.to_string(),
                    };
                    let value = einklang_engine::typed_value(
                        &config,
                        &conflict.entity,
                        &conflict.field,
                        &text,
                    )
                    .map_err(Refusal::Bad)?;
                    Choice::Value(value)
                }
                _ => {
                    return Err(Refusal::Bad(
                        "give exactly one of `take` and `value`".into(),
                    ))
                }
            };
            einklang_engine::resolve(st, &tenant, id, choice, &by).map_err(|e| match e {
                ResolveError::Unknown(_) => Refusal::NotFound(e.to_string()),
                ResolveError::NotOpen(..) => Refusal::Conflict(e.to_string()),
                ResolveError::NoSuchSide { .. } => Refusal::Bad(e.to_string()),
                other => Refusal::Failed(other.to_string()),
            })
        })
        .await?;
    Ok(Json(resolved))
}

/// `GET /api/reviews`.
#[utoipa::path(get, path = "/api/reviews", tag = "decisions", security(("token" = [])), params(("all" = Option<bool>, Query, description = "decided ones too"), ("limit" = Option<usize>, Query, description = "1–1000, default 100"), ("after" = Option<i64>, Query, description = "the `next` of the previous page")), responses((status = 200, body = crate::answers::Reviews, description = "review pairs in queue order, and `next`"), (status = 401, body = crate::answers::ErrorAnswer, description = "no token, or an unknown or revoked one"), (status = 403, body = crate::answers::ErrorAnswer, description = "the token's role is too low")))]
pub(crate) async fn reviews(
    State(s): State<Arc<Shared>>,
    caller: Caller,
    Query(q): Query<Listing>,
) -> Result<Json<Reviews>, ApiError> {
    caller.needs(Role::Viewer)?;
    let tenant = caller.tenant().to_string();
    let limit = q.limit();
    let after = q.after.unwrap_or(0);
    let rows = s
        .with_store(move |st| st.reviews_page(&tenant, (q.open_only(), after), limit))
        .await?;
    let next = (rows.len() == limit)
        .then(|| rows.last().map(|r| r.id))
        .flatten();
    Ok(Json(Reviews {
        reviews: rows,
        next,
    }))
}

#[derive(Deserialize, Default, utoipa::ToSchema)]
pub(crate) struct Who {
    user: Option<String>,
}

/// `POST /api/reviews/{id}/{accept|reject}`.
#[utoipa::path(post, path = "/api/reviews/{id}/{verdict}", tag = "decisions", security(("token" = [])), params(("id" = i64, Path, description = "review pair id"), ("verdict" = String, Path, description = "accept or reject")), request_body(content = Option<Who>, description = "optional: the person deciding"), responses((status = 200, body = crate::answers::Decided, description = "accepted (with the merge) or rejected"), (status = 401, body = crate::answers::ErrorAnswer, description = "no token, or an unknown or revoked one"), (status = 403, body = crate::answers::ErrorAnswer, description = "the token's role is too low"), (status = 404, body = crate::answers::ErrorAnswer, description = "no such pair or verdict"), (status = 409, body = crate::answers::ErrorAnswer, description = "decided already, or a run holds the entity")))]
pub(crate) async fn decide(
    State(s): State<Arc<Shared>>,
    caller: Caller,
    Path((id, verdict)): Path<(i64, String)>,
    body: Option<Json<Who>>,
) -> Result<Json<Decided>, ApiError> {
    caller.needs(Role::Operator)?;
    if verdict != "accept" && verdict != "reject" {
        return Err(ApiError::NotFound(format!(
            "no action `{}` (accept or reject)",
            crate::clip(&verdict, 20)
        )));
    }
    let by = caller.triggered_by(body.and_then(|Json(w)| w.user).as_deref());
    let tenant = caller.tenant().to_string();
    let config = s.config_of(caller.tenant())?;
    let answer = s
        .with_store(move |st| {
            match st.review(&tenant, id)? {
                None => return Err(Refusal::NotFound(format!("no review pair {id}"))),
                Some(r) if r.status != ReviewStatus::Open => {
                    return Err(Refusal::Conflict(format!(
                        "review pair {id} was already decided: {}",
                        r.status.as_str()
                    )))
                }
                Some(_) => {}
            }
            let engine = |e: EngineError| match e {
                EngineError::Busy { .. } => Refusal::Conflict(e.to_string()),
                other => Refusal::Failed(other.to_string()),
            };
            match verdict.as_str() {
                "accept" => {
                    let (run, merge) =
                        ops::accept(st, (&tenant, &by), &config.matching, id).map_err(engine)?;
                    Ok(Decided {
                        review_id: id,
                        status: "accepted",
                        merge_id: Some(merge),
                        run_id: Some(run),
                    })
                }
                _ => {
                    ops::reject(st, (&tenant, &by), id).map_err(engine)?;
                    Ok(Decided {
                        review_id: id,
                        status: "rejected",
                        merge_id: None,
                        run_id: None,
                    })
                }
            }
        })
        .await?;
    Ok(Json(answer))
}

/// Why a decision was not taken.
pub(crate) enum Refusal {
    NotFound(String),
    Conflict(String),
    Bad(String),
    Failed(String),
}

impl From<einklang_store::StoreError> for Refusal {
    fn from(e: einklang_store::StoreError) -> Self {
        Refusal::Failed(e.to_string())
    }
}

impl From<Refusal> for ApiError {
    fn from(r: Refusal) -> Self {
        match r {
            Refusal::NotFound(m) => ApiError::NotFound(m),
            Refusal::Conflict(m) => ApiError::Conflict(m),
            Refusal::Bad(m) => ApiError::BadRequest(m),
            Refusal::Failed(m) => ApiError::Internal(m),
        }
    }
}

/// `POST /api/dedupe/{entity}`: `einklang dedupe ENTITY` — merge the sure
/// duplicates, queue the uncertain pairs — queued as run `dedupe ENTITY`
/// for a worker: 202 with the run id, as a job's run.
#[utoipa::path(post, path = "/api/dedupe/{entity}", tag = "decisions", security(("token" = [])), params(("entity" = String, Path, description = "an entity with [matching]")), responses((status = 202, body = crate::answers::Queued, description = "queued: `run_id`, `status`, `location`; the run's counters say `merged`, `review`, `kept_apart`, `failed`"), (status = 401, body = crate::answers::ErrorAnswer, description = "no token, or an unknown or revoked one"), (status = 403, body = crate::answers::ErrorAnswer, description = "the token's role is too low"), (status = 404, body = crate::answers::ErrorAnswer, description = "no [matching] for the entity, or another tenant's token")))]
pub(crate) async fn dedupe(
    State(s): State<Arc<Shared>>,
    caller: Caller,
    Path(entity): Path<String>,
) -> Result<axum::response::Response, ApiError> {
    caller.needs(Role::Operator)?;
    let config = s.config_of(caller.tenant())?;
    if !config.matching.contains_key(&entity) {
        return Err(ApiError::NotFound(format!(
            "no [matching.{}] in the config",
            crate::clip(&entity, 100)
        )));
    }
    let run = einklang_store::QueuedRun {
        run: einklang_store::NewRun {
            job: format!("dedupe {entity}"),
            source: einklang_store::RunSource::Api,
            triggered_by: caller.triggered_by(None),
        },
        targets: None,
        dedupe_key: None,
        scheduled_for: None,
        thorough: false,
        approves: None,
    };
    let tenant = caller.tenant().to_string();
    let id = s
        .with_store(move |st| st.enqueue(&tenant, &run))
        .await?
        .ok_or_else(|| ApiError::Internal("the queue refused a run without a key".into()))?;
    s.kick.kick();
    Ok(Queued::accepted(id))
}

/// `GET /api/reviews/{id}`: the pair with both records as they are now
/// and the configured model's field-by-field weights.
#[utoipa::path(get, path = "/api/reviews/{id}", tag = "decisions", security(("token" = [])), params(("id" = i64, Path, description = "review pair id")), responses((status = 200, body = crate::answers::ReviewPair, description = "the pair, both records, each field's agreement and weight"), (status = 401, body = crate::answers::ErrorAnswer, description = "no token, or an unknown or revoked one"), (status = 403, body = crate::answers::ErrorAnswer, description = "the token's role is too low"), (status = 404, body = crate::answers::ErrorAnswer, description = "no such pair, or one of its records is gone")))]
pub(crate) async fn review(
    State(s): State<Arc<Shared>>,
    caller: Caller,
    Path(id): Path<i64>,
) -> Result<Json<crate::answers::ReviewPair>, ApiError> {
    caller.needs(Role::Viewer)?;
    let config = s.config_of(caller.tenant())?;
    let tenant = caller.tenant().to_string();
    let found = s
        .with_store(move |st| {
            let Some(r) = st.review(&tenant, id)? else {
                return Ok::<_, einklang_store::StoreError>(None);
            };
            let a = st.record(&tenant, &r.entity, r.a)?;
            let b = st.record(&tenant, &r.entity, r.b)?;
            Ok(a.zip(b).map(|(a, b)| (r, a, b)))
        })
        .await?;
    let Some((review, a, b)) = found else {
        return Err(ApiError::NotFound(format!("no review pair {id}")));
    };
    let m = config.matching.get(&review.entity).ok_or_else(|| {
        ApiError::NotFound(format!("{} has no [matching] any more", review.entity))
    })?;
    let score = m.model.score(&a.values, &b.values);
    let fields = score
        .parts
        .iter()
        .map(|p| crate::answers::PairField {
            field: p.field.clone(),
            a: a.values.get(&p.field).cloned().unwrap_or(Value::Null),
            b: b.values.get(&p.field).cloned().unwrap_or(Value::Null),
            level: p.level,
            weight: p.weight,
            counted: p.counted,
        })
        .collect();
    Ok(Json(crate::answers::ReviewPair {
        review,
        a,
        b,
        fields,
        configured_probability: score.probability,
        auto_merge: m.auto_merge,
        review_threshold: m.review,
    }))
}
