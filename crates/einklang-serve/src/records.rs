//! Hub records over HTTP: one record with its links and field history
//! (`einklang show`), the mapping between a connector's ids and the hub's
//! (seed 001's mapping table), syncing records now (seed 001's single and
//! bulk sync) and the quarantine (`einklang quarantine`).
//!
//! | route | role |
//! | --- | --- |
//! | `GET /api/records/{entity}?field=&value=&after=&limit=` (no `field`: any field) | viewer |
//! | `GET /api/records/{entity}/{id}` | viewer |
//! | `GET /api/mappings/{connector}/{entity}/{external_id}` | viewer |
//! | `POST /api/records/{entity}/sync` `{"ids": [hub ids]}` | operator |
//! | `GET /api/quarantine?run=&limit=` | viewer |
//! | `GET /lookup/phone?number=…` | viewer |
//! | `GET /api/links?status=&connector=&after=&limit=` | viewer |
//! | `POST /api/links/{id}/retry` | operator: due now, and its record synced now |
//! | `GET /api/merges?record=&limit=` | viewer |
//! | `POST /api/records/{entity}/{id}/unmerge` | operator |
//! | `GET /api/records/{entity}/{id}/compare` | viewer |
//!
//! Syncing records now queues, for every job whose steps name a
//! connector the records are linked to, one targeted run reading those
//! records by their ids there (the run's other sides are not read; its
//! writes go out as usual). The answer says per record what was queued:
//! `queued` with the runs, `not_found`, or `not_linked` (a record no
//! connector holds yet; an ordinary run of its jobs creates it).

use crate::answers::{
    Compared, JobRun, Links, Lookup, Mapping, Merges, Quarantine, RecordQueued, RecordShown,
    Records, SyncQueued, Unmerged,
};
use crate::auth::Caller;
use crate::{ApiError, Shared};
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use einklang_store::{NewRun, QueuedRun, Role, RunSource, StoreError};
use serde::Deserialize;
use std::collections::BTreeMap;
use std::sync::Arc;

/// The most records one call syncs.
pub const MAX_SYNC: usize = 500;

/// `GET /api/records/{entity}/{id}`.
#[utoipa::path(get, path = "/api/records/{entity}/{id}", tag = "records", security(("token" = [])), params(("entity" = String, Path, description = "entity name"), ("id" = i64, Path, description = "hub record id")), responses((status = 200, body = crate::answers::RecordShown, description = "record, links, history"), (status = 401, body = crate::answers::ErrorAnswer, description = "no token, or an unknown or revoked one"), (status = 403, body = crate::answers::ErrorAnswer, description = "the token's role is too low"), (status = 404, body = crate::answers::ErrorAnswer, description = "no such record of the token's tenant")))]
pub(crate) async fn record(
    State(s): State<Arc<Shared>>,
    caller: Caller,
    Path((entity, id)): Path<(String, i64)>,
) -> Result<Json<RecordShown>, ApiError> {
    caller.needs(Role::Viewer)?;
    let tenant = caller.tenant().to_string();
    let shown = s
        .with_store(move |st| {
            let Some(record) = st.record(&tenant, &entity, id)? else {
                return Ok::<_, StoreError>(None);
            };
            let links = st.links_of(&tenant, id)?;
            let history = st.history_of(&tenant, id)?;
            Ok(Some(RecordShown {
                record,
                links,
                history,
            }))
        })
        .await?;
    shown
        .map(Json)
        .ok_or_else(|| ApiError::NotFound(format!("no record {id} of that entity")))
}

/// `GET /api/mappings/{connector}/{entity}/{external_id}`.
#[utoipa::path(get, path = "/api/mappings/{connector}/{entity}/{external_id}", tag = "records", security(("token" = [])), params(("connector" = String, Path), ("entity" = String, Path), ("external_id" = String, Path, description = "the connector's id")), responses((status = 200, body = crate::answers::Mapping, description = "record_id and the link's status"), (status = 401, body = crate::answers::ErrorAnswer, description = "no token, or an unknown or revoked one"), (status = 403, body = crate::answers::ErrorAnswer, description = "the token's role is too low"), (status = 404, body = crate::answers::ErrorAnswer, description = "not linked")))]
pub(crate) async fn mapping(
    State(s): State<Arc<Shared>>,
    caller: Caller,
    Path((connector, entity, external)): Path<(String, String, String)>,
) -> Result<Json<Mapping>, ApiError> {
    caller.needs(Role::Viewer)?;
    let tenant = caller.tenant().to_string();
    let (c, e, x) = (connector.clone(), entity.clone(), external.clone());
    let found = s
        .with_store(move |st| st.find_links(&tenant, &c, &e, &[x.as_str()]))
        .await?;
    match found.into_iter().next().flatten() {
        Some(link) => Ok(Json(Mapping {
            connector,
            entity,
            external_id: external,
            record_id: link.record_id,
            status: link.status,
        })),
        None => Err(ApiError::NotFound(format!(
            "connector `{}` has no {} `{}` linked",
            crate::clip(&connector, 100),
            crate::clip(&entity, 100),
            crate::clip(&external, 200)
        ))),
    }
}

#[derive(Deserialize, utoipa::ToSchema)]
pub(crate) struct SyncNow {
    ids: Vec<i64>,
    user: Option<String>,
}

/// `POST /api/records/{entity}/sync`.
#[utoipa::path(post, path = "/api/records/{entity}/sync", tag = "records", security(("token" = [])), params(("entity" = String, Path)), request_body = SyncNow, responses((status = 202, body = crate::answers::SyncQueued, description = "per record: queued (with runs), not_found or not_linked"), (status = 400, body = crate::answers::ErrorAnswer, description = "no ids, or more than 500"), (status = 401, body = crate::answers::ErrorAnswer, description = "no token, or an unknown or revoked one"), (status = 403, body = crate::answers::ErrorAnswer, description = "the token's role is too low"), (status = 404, body = crate::answers::ErrorAnswer, description = "another tenant's token")))]
pub(crate) async fn sync(
    State(s): State<Arc<Shared>>,
    caller: Caller,
    Path(entity): Path<String>,
    Json(body): Json<SyncNow>,
) -> Result<Response, ApiError> {
    caller.needs(Role::Operator)?;
    if body.ids.is_empty() || body.ids.len() > MAX_SYNC {
        return Err(ApiError::BadRequest(format!(
            "give 1 to {MAX_SYNC} record ids"
        )));
    }
    let config = s.config_of(caller.tenant())?;
    let by = caller.triggered_by(body.user.as_deref());
    let tenant = caller.tenant().to_string();
    let results = s
        .with_store(move |st| {
            let mut per_record = Vec::new();
            let mut targets: BTreeMap<String, Vec<String>> = BTreeMap::new();
            for &id in &body.ids {
                if st.record(&tenant, &entity, id)?.is_none() {
                    per_record.push((id, "not_found", Vec::new()));
                    continue;
                }
                let links: Vec<_> = st
                    .links_of(&tenant, id)?
                    .into_iter()
                    .filter(|l| l.entity == entity)
                    .collect();
                for l in &links {
                    targets
                        .entry(l.connector.clone())
                        .or_default()
                        .push(l.external_id.clone());
                }
                let connectors = links.into_iter().map(|l| l.connector).collect::<Vec<_>>();
                let status = if connectors.is_empty() {
                    "not_linked"
                } else {
                    "queued"
                };
                per_record.push((id, status, connectors));
            }
            // one targeted run per job reading any of these connectors
            let mut runs: BTreeMap<String, i64> = BTreeMap::new();
            for job in config.jobs.values() {
                let names: Vec<String> = job
                    .steps
                    .iter()
                    .flat_map(crate::webhooks::step_connectors)
                    .collect();
                let mine: BTreeMap<String, Vec<String>> = targets
                    .iter()
                    .filter(|(c, _)| names.contains(c))
                    .map(|(c, ids)| (c.clone(), ids.clone()))
                    .collect();
                if mine.is_empty() {
                    continue;
                }
                let run = QueuedRun {
                    run: NewRun {
                        job: job.name.clone(),
                        source: RunSource::Api,
                        triggered_by: by.clone(),
                    },
                    targets: Some(mine),
                    dedupe_key: None,
                    scheduled_for: None,
                    thorough: false,
                    approves: None,
                };
                if let Some(id) = st.enqueue(&tenant, &run)? {
                    runs.insert(job.name.clone(), id);
                }
            }
            Ok::<_, StoreError>((per_record, runs, config))
        })
        .await?;
    let (per_record, runs, config) = results;
    s.kick.kick();
    let records: Vec<RecordQueued> = per_record
        .into_iter()
        .map(|(id, status, connectors)| {
            let of: Vec<i64> = runs
                .iter()
                .filter(|(job, _)| {
                    config.jobs[*job]
                        .steps
                        .iter()
                        .flat_map(crate::webhooks::step_connectors)
                        .any(|c| connectors.contains(&c))
                })
                .map(|(_, run)| *run)
                .collect();
            RecordQueued {
                id,
                status,
                runs: of,
            }
        })
        .collect();
    let runs: Vec<JobRun> = runs
        .into_iter()
        .map(|(job, run_id)| JobRun { job, run_id })
        .collect();
    Ok((StatusCode::ACCEPTED, Json(SyncQueued { records, runs })).into_response())
}

#[derive(Deserialize)]
pub(crate) struct QuarantineQuery {
    pub(crate) run: Option<i64>,
    pub(crate) limit: Option<usize>,
}

/// `GET /api/quarantine`.
#[utoipa::path(get, path = "/api/quarantine", tag = "records", security(("token" = [])), params(("run" = Option<i64>, Query, description = "only this run"), ("limit" = Option<usize>, Query, description = "1–1000, default 100")), responses((status = 200, body = crate::answers::Quarantine, description = "quarantined records with position and reason"), (status = 401, body = crate::answers::ErrorAnswer, description = "no token, or an unknown or revoked one"), (status = 403, body = crate::answers::ErrorAnswer, description = "the token's role is too low")))]
pub(crate) async fn quarantine(
    State(s): State<Arc<Shared>>,
    caller: Caller,
    Query(q): Query<QuarantineQuery>,
) -> Result<Json<Quarantine>, ApiError> {
    caller.needs(Role::Viewer)?;
    let tenant = caller.tenant().to_string();
    let limit = q.limit.unwrap_or(100).clamp(1, 1000);
    let items = s
        .with_store(move |st| st.quarantined(&tenant, q.run, limit))
        .await?;
    Ok(Json(Quarantine { quarantine: items }))
}

#[derive(Deserialize)]
pub(crate) struct Number {
    number: String,
}

/// `GET /lookup/phone?number=…`: who is calling ([`einklang_engine::identity::lookup`]).
#[utoipa::path(get, path = "/lookup/phone", tag = "records", security(("token" = [])), params(("number" = String, Query, description = "a phone number in any format")), responses((status = 200, body = crate::answers::Lookup, description = "`records`: entity, id and values of each record carrying it"), (status = 400, body = crate::answers::ErrorAnswer, description = "no digits in `number`"), (status = 401, body = crate::answers::ErrorAnswer, description = "no token, or an unknown or revoked one"), (status = 403, body = crate::answers::ErrorAnswer, description = "the token's role is too low"), (status = 404, body = crate::answers::ErrorAnswer, description = "another tenant's token")))]
pub(crate) async fn lookup_phone(
    State(s): State<Arc<Shared>>,
    caller: Caller,
    Query(q): Query<Number>,
) -> Result<Json<Lookup>, ApiError> {
    caller.needs(Role::Viewer)?;
    let config = s.config_of(caller.tenant())?;
    if !q.number.chars().any(|c| c.is_ascii_digit()) || q.number.len() > 64 {
        return Err(ApiError::BadRequest(
            "`number` needs digits (at most 64 characters)".into(),
        ));
    }
    let number = q.number.clone();
    let found = s
        .with_store(move |st| einklang_engine::identity::lookup::by_phone(&config, st, &number))
        .await?;
    Ok(Json(Lookup {
        number: q.number,
        records: found,
    }))
}

#[derive(Deserialize)]
pub(crate) struct LinkQuery {
    pub(crate) status: String,
    pub(crate) connector: Option<String>,
    pub(crate) after: Option<i64>,
    pub(crate) limit: Option<usize>,
}

/// `GET /api/links?status=failed&connector=&after=&limit=`: links needing
/// attention ("not yet synced"), keyset-paged by link id.
#[utoipa::path(get, path = "/api/links", tag = "records", security(("token" = [])), params(("status" = String, Query, description = "pending, dirty, failed, conflict, …"), ("connector" = Option<String>, Query), ("after" = Option<i64>, Query, description = "the last link id of the previous page"), ("limit" = Option<usize>, Query, description = "1–1000, default 100")), responses((status = 200, body = crate::answers::Links, description = "`links`, and `next` (the `after` of the next page) when there may be more"), (status = 401, body = crate::answers::ErrorAnswer, description = "no token, or an unknown or revoked one"), (status = 403, body = crate::answers::ErrorAnswer, description = "the token's role is too low")))]
pub(crate) async fn links(
    State(s): State<Arc<Shared>>,
    caller: Caller,
    Query(q): Query<LinkQuery>,
) -> Result<Json<Links>, ApiError> {
    caller.needs(Role::Viewer)?;
    let tenant = caller.tenant().to_string();
    let limit = q.limit.unwrap_or(100).clamp(1, 1000);
    let (status, connector, after) = (q.status.clone(), q.connector.clone(), q.after.unwrap_or(0));
    let links = s
        .with_store(move |st| {
            st.links_with_status(&tenant, &status, connector.as_deref(), after, limit)
        })
        .await?;
    let next = (links.len() == limit)
        .then(|| links.last().map(|l| l.id))
        .flatten();
    Ok(Json(Links { links, next }))
}

/// `POST /api/links/{id}/retry`: a failed or permanently failed link
/// made due now ([`einklang_store::Overviews::retry_now`]), then its
/// record synced now as `POST /api/records/{entity}/sync` does — the
/// queued runs write it at once instead of after the link's waiting time.
#[utoipa::path(post, path = "/api/links/{id}/retry", tag = "records", security(("token" = [])), params(("id" = i64, Path, description = "link id (from `GET /api/links`)")), responses((status = 202, body = crate::answers::SyncQueued, description = "the record's runs queued"), (status = 401, body = crate::answers::ErrorAnswer, description = "no token, or an unknown or revoked one"), (status = 403, body = crate::answers::ErrorAnswer, description = "the token's role is too low"), (status = 404, body = crate::answers::ErrorAnswer, description = "no failed link of that id")))]
pub(crate) async fn retry(
    State(s): State<Arc<Shared>>,
    caller: Caller,
    Path(id): Path<i64>,
) -> Result<Response, ApiError> {
    caller.needs(Role::Operator)?;
    let tenant = caller.tenant().to_string();
    let link = s
        .with_store(move |st| st.retry_now(&tenant, id))
        .await?
        .ok_or_else(|| ApiError::NotFound(format!("no failed link {id}")))?;
    tracing::info!(link = id, connector = %link.connector, by = %caller.0.name, "retry now");
    let body = SyncNow {
        ids: vec![link.record_id],
        user: None,
    };
    sync(State(s), caller, Path(link.entity), Json(body)).await
}

#[derive(Deserialize)]
pub(crate) struct MergeQuery {
    pub(crate) record: Option<i64>,
    pub(crate) limit: Option<usize>,
}

/// `GET /api/merges?record=&limit=` (`einklang merges`).
#[utoipa::path(get, path = "/api/merges", tag = "decisions", security(("token" = [])), params(("record" = Option<i64>, Query, description = "merges of this record"), ("limit" = Option<usize>, Query, description = "1–1000, default 100")), responses((status = 200, body = crate::answers::Merges, description = "`merges`, newest first"), (status = 401, body = crate::answers::ErrorAnswer, description = "no token, or an unknown or revoked one"), (status = 403, body = crate::answers::ErrorAnswer, description = "the token's role is too low")))]
pub(crate) async fn merges(
    State(s): State<Arc<Shared>>,
    caller: Caller,
    Query(q): Query<MergeQuery>,
) -> Result<Json<Merges>, ApiError> {
    caller.needs(Role::Viewer)?;
    let tenant = caller.tenant().to_string();
    let limit = q.limit.unwrap_or(100).clamp(1, 1000);
    let rows = s
        .with_store(move |st| st.merges(&tenant, q.record, limit))
        .await?;
    Ok(Json(Merges { merges: rows }))
}

/// `POST /api/records/{entity}/{id}/unmerge` (`einklang unmerge`): give
/// back record `id` as it was before it was merged away.
#[utoipa::path(post, path = "/api/records/{entity}/{id}/unmerge", tag = "decisions", security(("token" = [])), params(("entity" = String, Path), ("id" = i64, Path, description = "the record merged away")), responses((status = 200, body = crate::answers::Unmerged, description = "the merge undone, and the run that recorded it"), (status = 401, body = crate::answers::ErrorAnswer, description = "no token, or an unknown or revoked one"), (status = 403, body = crate::answers::ErrorAnswer, description = "the token's role is too low"), (status = 404, body = crate::answers::ErrorAnswer, description = "no such record"), (status = 409, body = crate::answers::ErrorAnswer, description = "not merged into another record, or a run holds the entity")))]
pub(crate) async fn unmerge(
    State(s): State<Arc<Shared>>,
    caller: Caller,
    Path((entity, id)): Path<(String, i64)>,
) -> Result<Json<Unmerged>, ApiError> {
    use crate::decisions::Refusal;
    caller.needs(Role::Operator)?;
    let by = caller.triggered_by(None);
    let tenant = caller.tenant().to_string();
    let undone = s
        .with_store(move |st| {
            if st.record(&tenant, &entity, id)?.is_none() {
                return Err(Refusal::NotFound(format!("no record {id} of that entity")));
            }
            einklang_engine::identity::ops::unmerge(st, (&tenant, &by), id).map_err(|e| match e {
                einklang_engine::EngineError::Busy { .. }
                | einklang_engine::EngineError::Store(einklang_store::StoreError::Refused(_)) => {
                    Refusal::Conflict(e.to_string())
                }
                other => Refusal::Failed(other.to_string()),
            })
        })
        .await?;
    let (run, merge) = undone;
    Ok(Json(Unmerged {
        record_id: id,
        merge_id: merge.id,
        survivor: merge.survivor,
        run_id: run,
    }))
}

/// `GET /api/records/{entity}/{id}/compare`: the hub's values next to each
/// linked system's, fetched live ([`einklang_engine::compare`]); the store
/// is not held while the systems answer.
#[utoipa::path(get, path = "/api/records/{entity}/{id}/compare", tag = "records", security(("token" = [])), params(("entity" = String, Path), ("id" = i64, Path, description = "hub record id")), responses((status = 200, body = crate::answers::Compared, description = "`sides`: per linked system its state (read, missing, cannot_fetch, error) and field by field hub, remote, base and same"), (status = 401, body = crate::answers::ErrorAnswer, description = "no token, or an unknown or revoked one"), (status = 403, body = crate::answers::ErrorAnswer, description = "the token's role is too low"), (status = 404, body = crate::answers::ErrorAnswer, description = "no such record of the token's tenant")))]
pub(crate) async fn compare(
    State(s): State<Arc<Shared>>,
    caller: Caller,
    Path((entity, id)): Path<(String, i64)>,
) -> Result<Json<Compared>, ApiError> {
    caller.needs(Role::Viewer)?;
    let config = s.config_of(caller.tenant())?;
    let tenant = caller.tenant().to_string();
    let e = entity.clone();
    let read = s
        .with_store(move |st| {
            let Some(record) = st.record(&tenant, &e, id)? else {
                return Ok::<_, StoreError>(None);
            };
            Ok(Some((record, st.links_of(&tenant, id)?)))
        })
        .await?;
    let Some((record, links)) = read else {
        return Err(ApiError::NotFound(format!("no record {id} of that entity")));
    };
    let sides = tokio::task::spawn_blocking(move || {
        einklang_engine::compare::compare_with(&config, &entity, &record, &links)
    })
    .await
    .map_err(|e| ApiError::Internal(format!("comparing panicked: {e}")))?;
    Ok(Json(Compared {
        record_id: id,
        sides,
    }))
}

#[derive(Deserialize)]
pub(crate) struct SearchQuery {
    pub(crate) field: Option<String>,
    pub(crate) value: String,
    pub(crate) after: Option<i64>,
    pub(crate) limit: Option<usize>,
}

/// Record ids one search request scans for a value: the rest of a large
/// hub is searched page by page (`next`), each page answering quickly.
pub const SCAN_WINDOW: i64 = 50_000;

/// `GET /api/records/{entity}?field=email&value=anna@example.org`:
/// without `field` and `after`, an e-mail or phone number in any format
/// is first looked up in the match keys (indexed, the whole hub at once,
/// when the entity's `[matching]` compares it): what it finds is the
/// answer, with `next` 0 to scan every field as well. Otherwise the
/// values of the next [`SCAN_WINDOW`] record ids are compared.
#[utoipa::path(get, path = "/api/records/{entity}", tag = "records", security(("token" = [])), params(("entity" = String, Path), ("field" = Option<String>, Query, description = "a field of the entity; none: any field"), ("value" = String, Query, description = "its value, any case; for a list field, one element"), ("after" = Option<i64>, Query, description = "the `next` of the previous page"), ("limit" = Option<usize>, Query, description = "1–1000, default 50")), responses((status = 200, body = crate::answers::Records, description = "`records` (live ones), `next` when there may be more (a scan stops after 50,000 record ids: follow `next` to search on), `scanned_to`, `last_id`"), (status = 400, body = crate::answers::ErrorAnswer, description = "no such field"), (status = 401, body = crate::answers::ErrorAnswer, description = "no token, or an unknown or revoked one"), (status = 403, body = crate::answers::ErrorAnswer, description = "the token's role is too low"), (status = 404, body = crate::answers::ErrorAnswer, description = "no such entity, or another tenant's token")))]
pub(crate) async fn search(
    State(s): State<Arc<Shared>>,
    caller: Caller,
    Path(entity): Path<String>,
    Query(q): Query<SearchQuery>,
) -> Result<Json<Records>, ApiError> {
    caller.needs(Role::Viewer)?;
    let config = s.config_of(caller.tenant())?;
    let schema = config
        .entities
        .get(&entity)
        .ok_or_else(|| ApiError::NotFound(format!("no entity `{}`", crate::clip(&entity, 100))))?;
    let field = q.field.clone().unwrap_or_default();
    if !field.is_empty() && schema.field(&field).is_none() {
        return Err(ApiError::BadRequest(format!(
            "{entity} has no field `{}`",
            crate::clip(&field, 100)
        )));
    }
    let limit = q.limit.unwrap_or(50).clamp(1, 1000);
    let tenant = caller.tenant().to_string();
    let (value, first, after) = (
        q.value.trim().to_string(),
        q.after.is_none(),
        q.after.unwrap_or(0),
    );
    let answer = s
        .with_store(move |st| {
            let mut records = Vec::new();
            if first && field.is_empty() {
                let by_key =
                    einklang_engine::identity::lookup::by_identifier(&config, st, &entity, &value)?;
                for f in by_key {
                    match st.record(&tenant, &entity, f.id)? {
                        Some(r) if r.merged_into.is_none() && r.deleted_at.is_none() => {
                            records.push(r)
                        }
                        _ => {}
                    }
                }
            }
            let last_id = st.max_record_id(&tenant, &entity)?;
            if !records.is_empty() {
                // found by its identifier: the scan of every field waits
                // for `after=0`
                return Ok(Records {
                    records,
                    next: Some(0),
                    scanned_to: 0,
                    last_id,
                });
            }
            let upto = after.saturating_add(SCAN_WINDOW).min(last_id).max(after);
            let scanned =
                st.search_records(&tenant, &entity, (&field, &value), (after, upto), limit)?;
            let next = match scanned.len() == limit {
                true => scanned.last().map(|r| r.id),
                false => (upto < last_id).then_some(upto),
            };
            let scanned_to = match scanned.len() == limit {
                true => scanned.last().map_or(upto, |r| r.id),
                false => upto,
            };
            for r in scanned {
                if !records.iter().any(|k| k.id == r.id) {
                    records.push(r);
                }
            }
            Ok::<_, StoreError>(Records {
                records,
                next,
                scanned_to,
                last_id,
            })
        })
        .await?;
    Ok(Json(answer))
}
