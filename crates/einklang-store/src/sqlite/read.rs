//! Reads of the SQLite store for inspection (`show`, `runs`, `quarantine`).
//! Each returns the SQLite error outside and a decoding error (corrupt JSON
//! or time) per row inside, so the caller can tell them apart.

use crate::migrate::parse;
use crate::model::*;
use crate::{Result, StoreError};
use chrono::{DateTime, Utc};
use einklang_core::ContentHash;
use rusqlite::{params, Connection, OptionalExtension, Row};

/// A content hash from its 16 stored bytes (zero when malformed).
pub(crate) fn hash(bytes: &[u8]) -> ContentHash {
    ContentHash::from_bytes(bytes.try_into().unwrap_or([0; 16]))
}

pub(super) fn time(what: &str, s: &str) -> Result<DateTime<Utc>> {
    DateTime::parse_from_rfc3339(s)
        .map(|t| t.with_timezone(&Utc))
        .map_err(|e| StoreError::Corrupt {
            what: what.into(),
            message: format!("{s}: {e}"),
        })
}

pub(super) fn opt_time(what: &str, s: Option<String>) -> Result<Option<DateTime<Utc>>> {
    s.map(|s| time(what, &s)).transpose()
}

pub(super) fn record(
    c: &Connection,
    tenant: &str,
    entity: &str,
    id: RecordId,
) -> rusqlite::Result<Option<Result<HubRecord>>> {
    c.query_row(
        "SELECT id, entity, vals, merged_into, deleted_at, created_at, updated_at FROM records
         WHERE tenant = ?1 AND entity = ?2 AND id = ?3",
        params![tenant, entity, id],
        |r| {
            let (vals, deleted, created, updated): (String, Option<String>, String, String) =
                (r.get(2)?, r.get(4)?, r.get(5)?, r.get(6)?);
            let (id, entity, merged_into): (i64, String, Option<i64>) =
                (r.get(0)?, r.get(1)?, r.get(3)?);
            Ok((|| {
                Ok(HubRecord {
                    id,
                    entity,
                    values: parse("record values", &vals)?,
                    merged_into,
                    deleted_at: opt_time("record deleted_at", deleted)?,
                    created_at: time("record created_at", &created)?,
                    updated_at: time("record updated_at", &updated)?,
                })
            })())
        },
    )
    .optional()
}

pub(super) fn link(r: &Row<'_>) -> rusqlite::Result<Result<Link>> {
    let (base, status, updated, hash_bytes): (String, String, String, Vec<u8>) =
        (r.get(5)?, r.get(8)?, r.get(11)?, r.get(7)?);
    let next: Option<String> = r.get(12)?;
    let (id, record_id, connector, entity, external_id, version, attempts, last_error): (
        i64,
        i64,
        String,
        String,
        String,
        Option<String>,
        i64,
        Option<String>,
    ) = (
        r.get(0)?,
        r.get(1)?,
        r.get(2)?,
        r.get(3)?,
        r.get(4)?,
        r.get(6)?,
        r.get(9)?,
        r.get(10)?,
    );
    Ok((|| {
        Ok(Link {
            id,
            record_id,
            connector,
            entity,
            external_id,
            base: parse("link base", &base)?,
            version,
            content_hash: format!("{:032x}", hash(&hash_bytes).0),
            status: LinkStatus::parse(&status).ok_or_else(|| StoreError::Corrupt {
                what: "link status".into(),
                message: status.clone(),
            })?,
            attempts: attempts as u32,
            last_error,
            next_attempt_at: opt_time("link next_attempt_at", next)?,
            updated_at: time("link updated_at", &updated)?,
        })
    })())
}

pub(super) fn links_of(
    c: &Connection,
    tenant: &str,
    record: RecordId,
) -> rusqlite::Result<Vec<Result<Link>>> {
    let mut stmt = c.prepare_cached(
        "SELECT id, record_id, connector, entity, external_id, base, version, content_hash, status, attempts, last_error,
                updated_at, next_attempt_at
         FROM links WHERE tenant = ?1 AND record_id = ?2 ORDER BY id",
    )?;
    let rows = stmt.query_map(params![tenant, record], link)?;
    rows.collect()
}

pub(super) fn history_of(
    c: &Connection,
    tenant: &str,
    record: RecordId,
) -> rusqlite::Result<Vec<Result<HistoryEntry>>> {
    let mut stmt = c.prepare_cached("SELECT run_id, origin, initial, changes, at FROM history WHERE tenant = ?1 AND record_id = ?2 ORDER BY id")?;
    let rows = stmt.query_map(params![tenant, record], |r| {
        let (run_id, origin, initial, changes, at): (i64, String, bool, String, String) =
            (r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?);
        Ok((|| {
            Ok(HistoryEntry {
                run_id,
                origin,
                changes: crate::migrate::expand(initial, parse("history changes", &changes)?)?,
                at: time("history at", &at)?,
            })
        })())
    })?;
    rows.collect()
}

pub(super) fn runs(
    c: &Connection,
    tenant: &str,
    (id, page): (Option<RunId>, &crate::RunsPage),
    limit: usize,
) -> rusqlite::Result<Vec<Result<Run>>> {
    let mut stmt = c.prepare_cached(
        "SELECT id, job, source, triggered_by, status, counters, errors, started_at, finished_at FROM runs
         WHERE tenant = ?1 AND (?2 IS NULL OR id = ?2) AND (?4 IS NULL OR id < ?4)
           AND (?5 IS NULL OR job = ?5) AND (?6 IS NULL OR status = ?6)
         ORDER BY id DESC LIMIT ?3",
    )?;
    let status = page.status.map(|s| s.as_str());
    let rows = stmt.query_map(
        params![tenant, id, limit as i64, page.before, page.job, status],
        |r| {
            let (id, job, source, triggered_by, status): (i64, String, String, String, String) =
                (r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?);
            let (counters, errors, started, finished): (String, String, String, Option<String>) =
                (r.get(5)?, r.get(6)?, r.get(7)?, r.get(8)?);
            Ok((|| {
                let corrupt = |what: &str, v: &str| StoreError::Corrupt {
                    what: what.into(),
                    message: v.to_string(),
                };
                Ok(Run {
                    id,
                    job,
                    source: RunSource::parse(&source)
                        .ok_or_else(|| corrupt("run source", &source))?,
                    triggered_by,
                    status: RunStatus::parse(&status)
                        .ok_or_else(|| corrupt("run status", &status))?,
                    counters: parse("run counters", &counters)?,
                    errors: parse("run errors", &errors)?,
                    started_at: time("run started_at", &started)?,
                    finished_at: opt_time("run finished_at", finished)?,
                })
            })())
        },
    )?;
    rows.collect()
}

pub(super) fn quarantined(
    c: &Connection,
    tenant: &str,
    run: Option<RunId>,
    limit: usize,
) -> rusqlite::Result<Vec<QuarantineItem>> {
    let mut stmt = c.prepare_cached(
        "SELECT id, run_id, connector, entity, external_id, position, raw, reason, created_at FROM quarantine
         WHERE tenant = ?1 AND (?2 IS NULL OR run_id = ?2) ORDER BY id LIMIT ?3",
    )?;
    let rows = stmt.query_map(params![tenant, run, limit as i64], |r| {
        let created: String = r.get(8)?;
        Ok(QuarantineItem {
            id: r.get(0)?,
            run_id: r.get(1)?,
            connector: r.get(2)?,
            entity: r.get(3)?,
            external_id: r.get(4)?,
            position: r.get(5)?,
            raw: r.get(6)?,
            reason: r.get(7)?,
            created_at: DateTime::parse_from_rfc3339(&created)
                .map(|t| t.with_timezone(&Utc))
                .unwrap_or_default(),
        })
    })?;
    rows.collect()
}
