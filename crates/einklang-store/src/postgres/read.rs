//! Reads of the PostgreSQL store for inspection (`show`, `runs`, `quarantine`).

use crate::model::*;
use crate::{Result, StoreError};
use einklang_core::Fields;
use postgres::{Client, Row};
use serde_json::Value;

/// Decode a JSONB column into a value of `T`.
pub(super) fn decode<T: serde::de::DeserializeOwned>(what: &str, v: Value) -> Result<T> {
    serde_json::from_value(v).map_err(|e| StoreError::Corrupt {
        what: what.into(),
        message: e.to_string(),
    })
}

/// Decode a JSONB object of field values.
pub(super) fn fields(what: &str, v: Value) -> Result<Fields> {
    decode(what, v)
}

pub(super) fn corrupt(what: &str, v: &str) -> StoreError {
    StoreError::Corrupt {
        what: what.into(),
        message: v.to_string(),
    }
}

pub(super) fn record(
    c: &mut Client,
    tenant: &str,
    entity: &str,
    id: RecordId,
) -> Result<Option<HubRecord>> {
    let row = c.query_opt(
        "SELECT id, entity, vals, merged_into, deleted_at, created_at, updated_at FROM records
         WHERE tenant = $1 AND entity = $2 AND id = $3",
        &[&tenant, &entity, &id],
    )?;
    row.map(|r| {
        Ok(HubRecord {
            id: r.get(0),
            entity: r.get(1),
            values: fields("record values", r.get(2))?,
            merged_into: r.get(3),
            deleted_at: r.get(4),
            created_at: r.get(5),
            updated_at: r.get(6),
        })
    })
    .transpose()
}

/// The columns [`link`] decodes, for one record's links.
pub(super) const LINK_COLUMNS_BY_RECORD: &str =
    "SELECT id, record_id, connector, entity, external_id, base, version,
    content_hash, status, attempts, last_error, updated_at, next_attempt_at
    FROM links WHERE tenant = $1 AND record_id = $2 ORDER BY id";

pub(super) fn link(r: &Row) -> Result<Link> {
    let status: String = r.get(8);
    let hash: Vec<u8> = r.get(7);
    Ok(Link {
        id: r.get(0),
        record_id: r.get(1),
        connector: r.get(2),
        entity: r.get(3),
        external_id: r.get(4),
        base: fields("link base", r.get(5))?,
        version: r.get(6),
        content_hash: format!("{:032x}", crate::sqlite::hash_of(&hash).0),
        status: LinkStatus::parse(&status).ok_or_else(|| corrupt("link status", &status))?,
        attempts: r.get::<_, i32>(9) as u32,
        last_error: r.get(10),
        updated_at: r.get(11),
        next_attempt_at: r.get(12),
    })
}

pub(super) fn links_of(c: &mut Client, tenant: &str, record: RecordId) -> Result<Vec<Link>> {
    c.query(LINK_COLUMNS_BY_RECORD, &[&tenant, &record])?
        .iter()
        .map(link)
        .collect()
}

pub(super) fn history_of(
    c: &mut Client,
    tenant: &str,
    record: RecordId,
) -> Result<Vec<HistoryEntry>> {
    c.query("SELECT run_id, origin, initial, changes, at FROM history WHERE tenant = $1 AND record_id = $2 ORDER BY id", &[&tenant, &record])?
        .iter()
        .map(|r| Ok(HistoryEntry { run_id: r.get(0), origin: r.get(1), changes: crate::migrate::expand(r.get(2), r.get(3))?, at: r.get(4) }))
        .collect()
}

pub(super) fn runs(
    c: &mut Client,
    tenant: &str,
    (id, page): (Option<RunId>, &crate::RunsPage),
    limit: usize,
) -> Result<Vec<Run>> {
    let status = page.status.map(|s| s.as_str());
    c.query(
        "SELECT id, job, source, triggered_by, status, counters, errors, started_at, finished_at FROM runs
         WHERE tenant = $1 AND ($2::bigint IS NULL OR id = $2) AND ($4::bigint IS NULL OR id < $4)
           AND ($5::text IS NULL OR job = $5) AND ($6::text IS NULL OR status = $6)
         ORDER BY id DESC LIMIT $3",
        &[&tenant, &id, &(limit as i64), &page.before, &page.job, &status],
    )?
    .iter()
    .map(|r| {
        let (source, status): (String, String) = (r.get(2), r.get(4));
        Ok(Run {
            id: r.get(0),
            job: r.get(1),
            source: RunSource::parse(&source).ok_or_else(|| corrupt("run source", &source))?,
            triggered_by: r.get(3),
            status: RunStatus::parse(&status).ok_or_else(|| corrupt("run status", &status))?,
            counters: decode("run counters", r.get(5))?,
            errors: decode("run errors", r.get(6))?,
            started_at: r.get(7),
            finished_at: r.get(8),
        })
    })
    .collect()
}

pub(super) fn quarantined(
    c: &mut Client,
    tenant: &str,
    run: Option<RunId>,
    limit: usize,
) -> Result<Vec<QuarantineItem>> {
    Ok(c
        .query(
            "SELECT id, run_id, connector, entity, external_id, position, raw, reason, created_at FROM quarantine
             WHERE tenant = $1 AND ($2::bigint IS NULL OR run_id = $2) ORDER BY id LIMIT $3",
            &[&tenant, &run, &(limit as i64)],
        )?
        .iter()
        .map(|r| QuarantineItem {
            id: r.get(0),
            run_id: r.get(1),
            connector: r.get(2),
            entity: r.get(3),
            external_id: r.get(4),
            position: r.get(5),
            raw: r.get(6),
            reason: r.get(7),
            created_at: r.get(8),
        })
        .collect())
}
