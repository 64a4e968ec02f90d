//! Refresh snapshots over HTTP (issue 14; what the dashboard's "Recent
//! changes" and held runs use):
//!
//! | route | role |
//! | --- | --- |
//! | `GET /api/staging` | viewer |
//! | `GET /api/staging/{run}?limit=` | viewer |
//! | `POST /api/runs/{id}/approve` | operator |
//! | `GET /api/changes/{entity}?since=&field=&limit=` | viewer |
//! | `GET /api/changes/{entity}/csv?since=&field=&limit=` | viewer: the same as CSV |
//!
//! Approving queues a run of the held run's job that applies the staged
//! snapshot (as `einklang approve RUN`; the answer is `202` with the new
//! run to poll). Changes are those between the last two kept snapshots of
//! the entity, or with `since` (RFC 3339) every change the hub's history
//! holds from then on.

use crate::answers::{ChangeRow, Changes, Queued, StagedRun, Staging, StagingOf};
use crate::auth::Caller;
use crate::{ApiError, Shared};
use axum::extract::{Path, Query, State};
use axum::response::Response;
use axum::Json;
use chrono::{DateTime, Utc};
use einklang_engine::Unapprovable;
use einklang_store::{NewRun, QueuedRun, Role, RunSource, StagedCount};
use serde::Deserialize;
use std::sync::Arc;

fn staged_run(c: StagedCount) -> StagedRun {
    StagedRun {
        run: c.run,
        entity: c.entity,
        records: c.records,
        duplicates: c.duplicates,
    }
}

/// `GET /api/staging`.
#[utoipa::path(get, path = "/api/staging", tag = "snapshots", security(("token" = [])), responses((status = 200, body = crate::answers::Staging, description = "runs with staged records: run, entity, records, duplicates"), (status = 401, body = crate::answers::ErrorAnswer, description = "no token, or an unknown or revoked one"), (status = 403, body = crate::answers::ErrorAnswer, description = "the token's role is too low")))]
pub(crate) async fn staging(
    State(s): State<Arc<Shared>>,
    caller: Caller,
) -> Result<Json<Staging>, ApiError> {
    caller.needs(Role::Viewer)?;
    let tenant = caller.tenant().to_string();
    let runs = s.with_store(move |st| st.staged_runs(&tenant)).await?;
    Ok(Json(Staging {
        staged: runs.into_iter().map(staged_run).collect(),
    }))
}

#[derive(Deserialize)]
pub(crate) struct Limit {
    pub(crate) limit: Option<usize>,
}

/// `GET /api/staging/{run}`.
#[utoipa::path(get, path = "/api/staging/{run}", tag = "snapshots", security(("token" = [])), params(("run" = i64, Path, description = "run id"), ("limit" = Option<usize>, Query, description = "records per entity, 1–1000, default 50")), responses((status = 200, body = crate::answers::StagingOf, description = "the run's counts per entity and its first staged records"), (status = 401, body = crate::answers::ErrorAnswer, description = "no token, or an unknown or revoked one"), (status = 403, body = crate::answers::ErrorAnswer, description = "the token's role is too low"), (status = 404, body = crate::answers::ErrorAnswer, description = "the run has no staged records")))]
pub(crate) async fn staging_of(
    State(s): State<Arc<Shared>>,
    caller: Caller,
    Path(run): Path<i64>,
    Query(q): Query<Limit>,
) -> Result<Json<StagingOf>, ApiError> {
    caller.needs(Role::Viewer)?;
    let tenant = caller.tenant().to_string();
    let limit = q.limit.unwrap_or(50).clamp(1, 1000);
    let (counts, records) = s
        .with_store(move |st| {
            let counts = st.staged_counts(&tenant, run)?;
            let mut records = Vec::new();
            for c in &counts {
                for r in st.staged_page(&tenant, run, &c.entity, "", limit)? {
                    records.push(serde_json::json!({"entity": r.entity, "external_id": r.external_id, "values": r.values}));
                }
            }
            Ok::<_, einklang_store::StoreError>((counts, records))
        })
        .await?;
    if counts.is_empty() {
        return Err(ApiError::NotFound(format!(
            "run {run} has no staged records"
        )));
    }
    Ok(Json(StagingOf {
        run,
        counts: counts.into_iter().map(staged_run).collect(),
        records,
    }))
}

#[derive(Deserialize, utoipa::ToSchema)]
pub(crate) struct Approval {
    /// The person approving (kept in the run's `triggered_by`).
    user: Option<String>,
}

/// `POST /api/runs/{id}/approve`.
#[utoipa::path(post, path = "/api/runs/{id}/approve", tag = "snapshots", security(("token" = [])), params(("id" = i64, Path, description = "the held run")), request_body(content = Option<Approval>, description = "optional: the person approving"), responses((status = 202, body = crate::answers::Queued, description = "the approving run is queued: `run_id`, `location`"), (status = 401, body = crate::answers::ErrorAnswer, description = "no token, or an unknown or revoked one"), (status = 403, body = crate::answers::ErrorAnswer, description = "the token's role is too low"), (status = 404, body = crate::answers::ErrorAnswer, description = "no such run"), (status = 409, body = crate::answers::ErrorAnswer, description = "not a held refresh, or its staging is gone")))]
pub(crate) async fn approve(
    State(s): State<Arc<Shared>>,
    caller: Caller,
    Path(id): Path<i64>,
    body: Option<Json<Approval>>,
) -> Result<Response, ApiError> {
    caller.needs(Role::Operator)?;
    let config = s.config_of(caller.tenant())?;
    let user = body.and_then(|Json(b)| b.user);
    let by = caller.triggered_by(user.as_deref());
    let tenant = caller.tenant().to_string();
    let queued = s
        .with_store(move |st| {
            let held = match einklang_engine::approvable(&config, st, id) {
                Ok(held) => held,
                Err(Unapprovable::Store(e)) => return Err(ApiError::Store(e)),
                Err(Unapprovable::NoRun(_)) => {
                    return Err(ApiError::NotFound(format!("no run {id}")))
                }
                Err(e @ Unapprovable::Refused(_)) => return Err(ApiError::Conflict(e.to_string())),
            };
            let run = QueuedRun {
                run: NewRun {
                    job: held.job.clone(),
                    source: RunSource::Api,
                    triggered_by: format!("{by} (approves run {id})"),
                },
                targets: None,
                // one approval of a run waits in the queue at a time
                dedupe_key: Some(format!("approve:{tenant}:{id}")),
                scheduled_for: None,
                thorough: false,
                approves: Some(id),
            };
            let queued = st.enqueue(&tenant, &run).map_err(ApiError::Store)?;
            queued.ok_or_else(|| ApiError::Conflict(format!("run {id} is being approved already")))
        })
        .await?;
    s.kick.kick();
    tracing::info!(run = queued, approves = id, by = %caller.0.name, "approval queued through the API");
    Ok(Queued::accepted(queued))
}

#[derive(Deserialize)]
pub(crate) struct ChangesQuery {
    pub(crate) since: Option<String>,
    /// With `since`: count on after this history entry (a `next`).
    pub(crate) after: Option<i64>,
    pub(crate) field: Option<String>,
    pub(crate) limit: Option<usize>,
}

/// `GET /api/changes/{entity}`.
#[utoipa::path(get, path = "/api/changes/{entity}", tag = "snapshots", security(("token" = [])), params(("entity" = String, Path, description = "entity"), ("since" = Option<String>, Query, description = "RFC 3339: every change the history holds from then on, instead of those between the last two snapshots"), ("field" = Option<String>, Query, description = "only this field"), ("after" = Option<i64>, Query, description = "with `since`: the `next` of the previous part"), ("limit" = Option<usize>, Query, description = "changes listed, 1–10000, default 500 (the counts cover all of the part)")), responses((status = 200, body = crate::answers::Changes, description = "counts per change and field, and the changes"), (status = 400, body = crate::answers::ErrorAnswer, description = "`since` is no RFC 3339 time"), (status = 401, body = crate::answers::ErrorAnswer, description = "no token, or an unknown or revoked one"), (status = 403, body = crate::answers::ErrorAnswer, description = "the token's role is too low"), (status = 404, body = crate::answers::ErrorAnswer, description = "no such entity")))]
pub(crate) async fn changes(
    State(s): State<Arc<Shared>>,
    caller: Caller,
    Path(entity): Path<String>,
    Query(q): Query<ChangesQuery>,
) -> Result<Json<Changes>, ApiError> {
    caller.needs(Role::Viewer)?;
    let config = s.config_of(caller.tenant())?;
    if !config.entities.contains_key(&entity) {
        return Err(ApiError::NotFound(format!(
            "no entity `{}`",
            crate::clip(&entity, 100)
        )));
    }
    let since = match q.since.as_deref() {
        None => None,
        Some(t) => Some(DateTime::parse_from_rfc3339(t).map_err(|e| {
            ApiError::BadRequest(format!(
                "`since` {}: {e} (write 2026-12-01T08:00:00Z)",
                crate::clip(t, 60)
            ))
        })?),
    };
    let limit = q.limit.unwrap_or(500).clamp(1, 10_000);
    let tenant = caller.tenant().to_string();
    let tally = Tally::new(entity, q.field, limit);
    let answer = match since {
        Some(t) => {
            let from = (t.with_timezone(&Utc), q.after.unwrap_or(0));
            history_rows(&s, tenant, from, tally).await?
        }
        None => {
            s.with_store(move |st| {
                let mut tally = tally;
                snapshot_rows(st, &tenant, &mut tally)
                    .map_err(|e| ApiError::Internal(e.to_string()))?;
                Ok::<_, ApiError>(tally.answer)
            })
            .await?
        }
    };
    Ok(Json(answer))
}

/// `GET /api/changes/{entity}/csv`: the same changes as a CSV file (up to
/// 10,000 rows unless `limit` says fewer) — for a spreadsheet: a value
/// that a spreadsheet would take for a formula (`=`, `+`, `-`, `@`) is
/// written with a leading `'`.
#[utoipa::path(get, path = "/api/changes/{entity}/csv", tag = "snapshots", security(("token" = [])), params(("entity" = String, Path, description = "entity"), ("since" = Option<String>, Query, description = "RFC 3339, as for the JSON answer"), ("field" = Option<String>, Query, description = "only this field"), ("limit" = Option<usize>, Query, description = "rows, 1–10000, default 10000")), responses((status = 200, description = "CSV: change, field, old, new, record, external_id, run, origin, at", content_type = "text/csv"), (status = 400, body = crate::answers::ErrorAnswer, description = "`since` is no RFC 3339 time"), (status = 401, body = crate::answers::ErrorAnswer, description = "no token, or an unknown or revoked one"), (status = 403, body = crate::answers::ErrorAnswer, description = "the token's role is too low"), (status = 404, body = crate::answers::ErrorAnswer, description = "no such entity")))]
pub(crate) async fn changes_csv(
    State(s): State<Arc<Shared>>,
    caller: Caller,
    Path(entity): Path<String>,
    Query(mut q): Query<ChangesQuery>,
) -> Result<axum::response::Response, ApiError> {
    use axum::response::IntoResponse;
    q.limit = Some(q.limit.unwrap_or(10_000));
    let Json(answer) = changes(State(s), caller, Path(entity.clone()), Query(q)).await?;
    let mut out = String::from("change,field,old,new,record,external_id,run,origin,at\r\n");
    for c in &answer.changes {
        let cells = [
            c.change.to_string(),
            c.field.clone(),
            c.old.as_ref().map(csv_value).unwrap_or_default(),
            c.new.as_ref().map(csv_value).unwrap_or_default(),
            c.record.map(|r| r.to_string()).unwrap_or_default(),
            c.external_id.clone().unwrap_or_default(),
            c.run.map(|r| r.to_string()).unwrap_or_default(),
            c.origin.clone().unwrap_or_default(),
            c.at.clone().unwrap_or_default(),
        ];
        let line: Vec<String> = cells.iter().map(|c| csv_cell(c)).collect();
        out.push_str(&line.join(","));
        out.push_str("\r\n");
    }
    let name: String = entity
        .chars()
        .filter(|c| c.is_ascii_alphanumeric() || *c == '_' || *c == '-')
        .collect();
    Ok((
        [
            (
                axum::http::header::CONTENT_TYPE,
                "text/csv; charset=utf-8".to_string(),
            ),
            (
                axum::http::header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"changes-{name}.csv\""),
            ),
        ],
        out,
    )
        .into_response())
}

fn csv_value(v: &serde_json::Value) -> String {
    match v {
        serde_json::Value::String(s) => s.clone(),
        serde_json::Value::Null => String::new(),
        other => other.to_string(),
    }
}

/// One CSV cell: quoted when it holds a comma, quote or line break; a
/// leading `'` keeps a spreadsheet from running it as a formula.
pub(crate) fn csv_cell(s: &str) -> String {
    let s = match s.starts_with(['=', '+', '-', '@', '\t', '\r']) {
        true => format!("'{s}"),
        false => s.to_string(),
    };
    match s.contains([',', '"', '\n', '\r']) {
        true => format!("\"{}\"", s.replace('"', "\"\"")),
        false => s,
    }
}

/// The answer built as rows come: counts per change and field over every
/// row (of `field`, when given), the first `limit` rows kept.
struct Tally {
    answer: Changes,
    field: Option<String>,
    limit: usize,
}

impl Tally {
    fn new(entity: String, field: Option<String>, limit: usize) -> Tally {
        let answer = Changes {
            entity,
            total: 0,
            counts: Default::default(),
            changes: Vec::new(),
            complete: true,
            counted_to: None,
            next: None,
        };
        Tally {
            answer,
            field,
            limit,
        }
    }

    fn add(&mut self, row: ChangeRow) {
        if self.field.as_ref().is_some_and(|f| *f != row.field) {
            return;
        }
        let key = match row.field.is_empty() {
            true => row.change.to_string(),
            false => format!("{} {}", row.change, row.field),
        };
        *self.answer.counts.entry(key).or_insert(0) += 1;
        self.answer.total += 1;
        if self.answer.changes.len() < self.limit {
            self.answer.changes.push(row);
        }
    }
}

/// The changes between the entity's last two kept snapshots.
fn snapshot_rows(
    st: &mut dyn einklang_store::HubStore,
    tenant: &str,
    tally: &mut Tally,
) -> Result<(), einklang_engine::EngineError> {
    let entity = tally.answer.entity.clone();
    let kept = einklang_engine::kept_snapshots(st, tenant, &entity, None)?;
    let [newer, older, ..] = &kept[..] else {
        return Ok(());
    };
    for r in einklang_engine::snapshots::diff(st, tenant, &entity, (older.id, newer.id))? {
        tally.add(ChangeRow {
            change: r.change,
            field: r.field,
            old: r.old,
            new: r.new,
            external_id: Some(r.external_id),
            ..ChangeRow::default()
        });
    }
    Ok(())
}

/// Every change of the entity's records the history holds since `t`,
/// page by page.
/// History entries one request counts at most.
pub const MAX_HISTORY: usize = 25_000;

/// The history's changes of the tally's entity from `t` on, a page per
/// store call (other requests take the store between pages), up to
/// [`MAX_HISTORY`] entries.
async fn history_rows(
    s: &Arc<Shared>,
    tenant: String,
    (t, mut after): (DateTime<Utc>, i64),
    mut tally: Tally,
) -> Result<Changes, ApiError> {
    let entity = tally.answer.entity.clone();
    let mut counted = 0;
    loop {
        let (tn, en) = (tenant.clone(), entity.clone());
        let want = (MAX_HISTORY - counted).min(2_000);
        let page = s
            .with_store(move |st| st.changes_since(&tn, &en, t, after, want))
            .await?;
        let Some(last) = page.last() else { break };
        after = last.history_id;
        counted += page.len();
        let last_at = last.at;
        for e in page {
            let at = e.at.to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
            let change = e.change();
            for (field, c) in e.changes {
                let value = |v: serde_json::Value| (!v.is_null()).then_some(v);
                tally.add(ChangeRow {
                    change,
                    field,
                    old: value(c.old),
                    new: value(c.new),
                    external_id: None,
                    record: Some(e.record_id),
                    run: Some(e.run_id),
                    origin: Some(e.origin.clone()),
                    at: Some(at.clone()),
                });
            }
        }
        if counted >= MAX_HISTORY {
            tally.answer.complete = false;
            tally.answer.counted_to =
                Some(last_at.to_rfc3339_opts(chrono::SecondsFormat::Secs, true));
            tally.answer.next = Some(after);
            break;
        }
    }
    Ok(tally.answer)
}

#[cfg(test)]
mod tests {
    use super::csv_cell;
    use proptest::prelude::*;

    /// A cell as a CSV reader reads it back.
    fn read_back(cell: &str) -> String {
        match cell.strip_prefix('"').and_then(|c| c.strip_suffix('"')) {
            Some(inner) => inner.replace("\"\"", "\""),
            None => cell.to_string(),
        }
    }

    proptest! {
        #[test]
        fn a_cell_reads_back_as_its_text_and_never_as_a_formula(text in ".{0,40}") {
            let cell = csv_cell(&text);
            let back = read_back(&cell);
            let formula = text.starts_with(['=', '+', '-', '@', '\t', '\r']);
            prop_assert_eq!(&back, &if formula { format!("'{text}") } else { text.clone() });
            // unquoted cells hold no separator, quote or line break
            if !cell.starts_with('"') {
                prop_assert!(!cell.contains([',', '"', '\n', '\r']));
            } else {
                prop_assert!(!cell[1..cell.len() - 1].replace("\"\"", "").contains('"'));
            }
        }
    }

    #[test]
    fn the_ugly_cells() {
        assert_eq!(csv_cell("Lind, Bo"), "\"Lind, Bo\"");
        assert_eq!(csv_cell("=1+1"), "'=1+1");
        assert_eq!(csv_cell("-5"), "'-5");
        assert_eq!(csv_cell("say \"hi\""), "\"say \"\"hi\"\"\"");
        assert_eq!(csv_cell("a\nb"), "\"a\nb\"");
    }
}
