//! The two-way sync's reads and writes on SQLite: record states with their
//! links and open conflicts, link pages, the outbox, conflicts, cursors, and
//! [`apply_sync`], which commits a [`SyncBatch`] (inside the caller's
//! savepoint, so it is all or nothing).

use super::read::{opt_time, time};
use crate::migrate::{json, parse};
use crate::model::*;
use crate::sync::*;
use crate::{Result, StoreError};
use chrono::{DateTime, SecondsFormat, Utc};
use einklang_core::{content_hash, Fields};
use rusqlite::{params, Connection, OptionalExtension, Row};

type Sql<T> = rusqlite::Result<T>;

fn text_time(t: &Option<DateTime<Utc>>) -> Option<String> {
    t.map(|t| t.to_rfc3339_opts(SecondsFormat::Micros, true))
}

/// See [`crate::HubStore::load_records`].
pub(super) fn load_records(
    c: &Connection,
    tenant: &str,
    ids: &[RecordId],
) -> Sql<Vec<Option<Result<RecordState>>>> {
    let mut rec = c.prepare_cached(
        "SELECT entity, vals, version, deleted_at FROM records WHERE tenant = ?1 AND id = ?2",
    )?;
    let mut conflicts = c.prepare_cached(
        "SELECT link_id, field, remote_value FROM conflicts WHERE tenant = ?1 AND record_id = ?2 AND status = 'open'",
    )?;
    let mut out = Vec::with_capacity(ids.len());
    for &id in ids {
        let row: Option<(String, String, i64, Option<String>)> = rec
            .query_row(params![tenant, id], |r| {
                Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?))
            })
            .optional()?;
        let Some((entity, vals, version, deleted)) = row else {
            out.push(None);
            continue;
        };
        let links = super::read::links_of(c, tenant, id)?;
        let open: Vec<(i64, String, String)> = conflicts
            .query_map(params![tenant, id], |r| {
                Ok((r.get(0)?, r.get(1)?, r.get(2)?))
            })?
            .collect::<Sql<_>>()?;
        out.push(Some((|| {
            Ok(RecordState {
                id,
                entity,
                values: parse("record values", &vals)?,
                version,
                deleted: deleted.is_some(),
                links: links.into_iter().collect::<Result<_>>()?,
                open_conflicts: open
                    .into_iter()
                    .map(|(l, f, v)| Ok((l, f, parse("conflict remote value", &v)?)))
                    .collect::<Result<_>>()?,
            })
        })()));
    }
    Ok(out)
}

fn link_ref(r: &Row<'_>) -> Sql<Result<LinkRef>> {
    let (status, next): (String, Option<String>) = (r.get(3)?, r.get(5)?);
    let (link_id, record_id, external_id, attempts): (i64, i64, String, i64) =
        (r.get(0)?, r.get(1)?, r.get(2)?, r.get(4)?);
    let version: Option<String> = r.get(7)?;
    Ok((|| {
        Ok(LinkRef {
            link_id,
            record_id,
            external_id,
            version,
            status: LinkStatus::parse(&status).ok_or_else(|| StoreError::Corrupt {
                what: "link status".into(),
                message: status.clone(),
            })?,
            attempts: attempts as u32,
            next_attempt_at: opt_time("link next_attempt_at", next)?,
        })
    })())
}

const LINK_REF: &str =
    "SELECT id, record_id, external_id, status, attempts, next_attempt_at, NULL, version FROM links";

/// See [`crate::HubStore::scan_links`]. Unknown statuses are skipped.
pub(super) fn scan_links(
    c: &Connection,
    tenant: &str,
    connector: &str,
    entity: &str,
    visit: &mut dyn FnMut(LinkView<'_>),
) -> Sql<()> {
    let mut stmt = c.prepare_cached(
        "SELECT id, record_id, external_id, version, status,
                version IS NOT NULL OR content_hash <> ?4 FROM links
         WHERE tenant = ?1 AND connector = ?2 AND entity = ?3 ORDER BY external_id",
    )?;
    let empty = empty_hash();
    let mut rows = stmt.query(params![tenant, connector, entity, &empty[..]])?;
    while let Some(r) = rows.next()? {
        let Some(status) = LinkStatus::parse(text(r, 4)?) else {
            continue;
        };
        let version = match r.get_ref(3)? {
            rusqlite::types::ValueRef::Null => None,
            _ => Some(text(r, 3)?),
        };
        visit(LinkView {
            link_id: r.get(0)?,
            record_id: r.get(1)?,
            external_id: text(r, 2)?,
            version,
            status,
            held: r.get(5)?,
        });
    }
    Ok(())
}

/// A text column, borrowed from the row.
fn text<'r>(r: &'r Row<'_>, i: usize) -> Sql<&'r str> {
    r.get_ref(i)?.as_str().map_err(|e| {
        rusqlite::Error::FromSqlConversionFailure(i, rusqlite::types::Type::Text, Box::new(e))
    })
}

/// See [`crate::HubStore::links_to_push`].
pub(super) fn links_to_push(
    c: &Connection,
    tenant: &str,
    connector: &str,
    entity: &str,
    after: i64,
    limit: usize,
) -> Sql<Vec<Result<LinkRef>>> {
    let mut stmt = c.prepare_cached(&format!(
        "{LINK_REF} WHERE tenant = ?1 AND connector = ?2 AND entity = ?3 AND status <> 'clean' AND id > ?4
         ORDER BY id LIMIT ?5"
    ))?;
    let rows = stmt.query_map(
        params![tenant, connector, entity, after, limit as i64],
        link_ref,
    )?;
    rows.collect()
}

/// See [`crate::HubStore::unlinked_records`].
pub(super) fn unlinked_records(
    c: &Connection,
    tenant: &str,
    entity: &str,
    connector: &str,
    after: RecordId,
    limit: usize,
) -> Sql<Vec<RecordId>> {
    let mut stmt = c.prepare_cached(
        "SELECT r.id FROM records r WHERE r.tenant = ?1 AND r.entity = ?2 AND r.id > ?3
           AND r.deleted_at IS NULL AND r.merged_into IS NULL
           AND NOT EXISTS (SELECT 1 FROM links l WHERE l.record_id = r.id AND l.connector = ?4 AND l.entity = ?2)
         ORDER BY r.id LIMIT ?5",
    )?;
    let rows = stmt.query_map(
        params![tenant, entity, after, connector, limit as i64],
        |r| r.get(0),
    )?;
    rows.collect()
}

/// See [`crate::HubStore::cursor`].
pub(super) fn cursor(
    c: &Connection,
    tenant: &str,
    connector: &str,
    entity: &str,
    name: &str,
) -> Sql<Option<String>> {
    c.query_row(
        "SELECT value FROM cursors WHERE tenant = ?1 AND connector = ?2 AND entity = ?3 AND name = ?4",
        params![tenant, connector, entity, name],
        |r| r.get(0),
    )
    .optional()
}

/// See [`crate::HubStore::set_cursor`].
pub(super) fn set_cursor(
    c: &Connection,
    tenant: &str,
    key: (&str, &str, &str),
    value: &str,
    now: &str,
) -> Sql<()> {
    c.execute(
        "INSERT INTO cursors (tenant, connector, entity, name, value, updated_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6)
         ON CONFLICT (tenant, connector, entity, name) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at",
        params![tenant, key.0, key.1, key.2, value, now],
    )?;
    Ok(())
}

/// See [`crate::HubStore::outbox`].
pub(super) fn outbox(
    c: &Connection,
    tenant: &str,
    connector: &str,
    entity: &str,
) -> Sql<Vec<Result<OutboxEntry>>> {
    let mut stmt = c.prepare_cached(
        "SELECT id, link_id, record_id, connector, entity, op, idem_key, payload, new_base, target,
                expected_version, state
         FROM outbox WHERE tenant = ?1 AND connector = ?2 AND entity = ?3 ORDER BY id",
    )?;
    let rows = stmt.query_map(params![tenant, connector, entity], |r| {
        let (op, payload, base): (String, String, String) = (r.get(5)?, r.get(7)?, r.get(8)?);
        let entry = OutboxEntry {
            id: r.get(0)?,
            link_id: r.get(1)?,
            record_id: r.get(2)?,
            connector: r.get(3)?,
            entity: r.get(4)?,
            op: OutboxOp::Create,
            idem_key: r.get(6)?,
            payload: Default::default(),
            new_base: Default::default(),
            target: r.get(9)?,
            expected_version: r.get(10)?,
            state: r.get(11)?,
        };
        Ok((|| {
            Ok(OutboxEntry {
                op: OutboxOp::parse(&op).ok_or_else(|| StoreError::Corrupt {
                    what: "outbox op".into(),
                    message: op.clone(),
                })?,
                payload: parse("outbox payload", &payload)?,
                new_base: parse("outbox base", &base)?,
                ..entry
            })
        })())
    })?;
    rows.collect()
}

fn conflict_row(r: &Row<'_>) -> Sql<Result<ConflictRow>> {
    let (hub, remote, created, resolved_at): (String, String, String, Option<String>) =
        (r.get(7)?, r.get(8)?, r.get(13)?, r.get(14)?);
    let row = ConflictRow {
        id: r.get(0)?,
        record_id: r.get(1)?,
        entity: r.get(2)?,
        link_id: r.get(3)?,
        connector: r.get(4)?,
        field: r.get(5)?,
        policy: r.get(6)?,
        hub_value: serde_json::Value::Null,
        remote_value: serde_json::Value::Null,
        resolution: r.get(9)?,
        status: r.get(10)?,
        run_id: r.get(11)?,
        resolved_by: r.get(12)?,
        created_at: Utc::now(),
        resolved_at: None,
    };
    Ok((|| {
        Ok(ConflictRow {
            hub_value: parse("conflict hub value", &hub)?,
            remote_value: parse("conflict remote value", &remote)?,
            created_at: time("conflict created_at", &created)?,
            resolved_at: opt_time("conflict resolved_at", resolved_at)?,
            ..row
        })
    })())
}

const CONFLICT: &str =
    "SELECT id, record_id, entity, link_id, connector, field, policy, hub_value, remote_value,
    resolution, status, run_id, resolved_by, created_at, resolved_at FROM conflicts";

/// See [`crate::HubStore::conflicts`] and [`crate::HubStore::conflict`].
pub(super) fn conflicts(
    c: &Connection,
    tenant: &str,
    (open_only, id, before): (bool, Option<i64>, Option<i64>),
    limit: usize,
) -> Sql<Vec<Result<ConflictRow>>> {
    let mut stmt = c.prepare_cached(&format!(
        "{CONFLICT} WHERE tenant = ?1 AND (?2 = 0 OR status = 'open') AND (?3 IS NULL OR id = ?3)
           AND (?5 IS NULL OR id < ?5)
         ORDER BY id DESC LIMIT ?4"
    ))?;
    let rows = stmt.query_map(
        params![tenant, open_only, id, limit as i64, before],
        conflict_row,
    )?;
    rows.collect()
}

/// Commit `batch` (the caller holds the savepoint). Returns created ids.
pub(super) fn apply_sync(
    c: &Connection,
    tenant: &str,
    run: RunId,
    batch: &SyncBatch,
    now: &str,
) -> std::result::Result<Vec<RecordId>, Failure> {
    let mut ids = Vec::with_capacity(batch.creates.len());
    for change in &batch.creates {
        ids.push(super::create(c, tenant, run, now, change)?);
    }
    for w in &batch.records {
        record_write(c, tenant, run, now, w)?;
    }
    for l in &batch.new_links {
        c.prepare_cached(
            "INSERT INTO links (tenant, record_id, connector, entity, external_id, base, version, content_hash, status, updated_at)
             VALUES (?1, ?2, ?3, ?4, ?5, '{}', NULL, ?6, 'pending', ?7)
             ON CONFLICT (tenant, connector, entity, external_id) DO NOTHING",
        )?
        .execute(params![tenant, l.record_id, l.connector, l.entity, l.marker, &empty_hash()[..], now])?;
    }
    for change in &batch.links {
        link_change(c, now, change)?;
    }
    for (record, except) in &batch.dirty {
        c.prepare_cached(
            "UPDATE links SET status = 'dirty', updated_at = ?1
             WHERE tenant = ?2 AND record_id = ?3 AND status = 'clean' AND id <> ?4",
        )?
        .execute(params![now, tenant, record, except.unwrap_or(-1)])?;
    }
    for conflict in &batch.conflicts {
        record_conflict(c, tenant, run, now, conflict)?;
    }
    for r in &batch.resolved {
        c.prepare_cached(
            "UPDATE conflicts SET status = 'resolved', resolution = ?1, resolved_by = ?2, resolved_at = ?3
             WHERE tenant = ?4 AND id = ?5",
        )?
        .execute(params![r.resolution, r.by, now, tenant, r.conflict_id])?;
    }
    for w in &batch.outbox {
        outbox_write(c, tenant, run, now, w)?;
    }
    for (connector, entity, name, value) in &batch.cursors {
        set_cursor(c, tenant, (connector, entity, name), value, now)?;
    }
    Ok(ids)
}

/// Why [`apply_sync`] failed: SQLite, or a stale link (compare-and-swap).
pub(super) enum Failure {
    Sql(rusqlite::Error),
    Stale(i64),
}

impl From<rusqlite::Error> for Failure {
    fn from(e: rusqlite::Error) -> Self {
        Failure::Sql(e)
    }
}

fn empty_hash() -> [u8; 16] {
    content_hash(&Fields::new()).to_bytes()
}

fn record_write(c: &Connection, tenant: &str, run: RunId, now: &str, w: &RecordWrite) -> Sql<()> {
    let vals = w.values.as_ref().map(json);
    let deleted = match w.deleted {
        Some(true) => Some(1),
        Some(false) => Some(0),
        None => None,
    };
    c.prepare_cached(
        "UPDATE records SET vals = COALESCE(?1, vals),
           deleted_at = CASE ?2 WHEN 1 THEN COALESCE(deleted_at, ?3) WHEN 0 THEN NULL ELSE deleted_at END,
           version = version + 1, updated_at = ?3
         WHERE tenant = ?4 AND id = ?5",
    )?
    .execute(params![vals, deleted, now, tenant, w.record_id])?;
    if !w.history.is_empty() {
        c.prepare_cached(
            "INSERT INTO history (tenant, record_id, run_id, origin, initial, changes, at) VALUES (?1, ?2, ?3, ?4, 0, ?5, ?6)",
        )?
        .execute(params![tenant, w.record_id, run, w.origin, json(&w.history), now])?;
    }
    Ok(())
}

fn link_change(c: &Connection, now: &str, change: &LinkChange) -> std::result::Result<(), Failure> {
    match change {
        LinkChange::Synced {
            link_id,
            expect_hash,
            external_id,
            base,
            content_hash,
            version,
            status,
        } => {
            let expect = expect_hash.map(|h| h.to_bytes().to_vec());
            let n = c
                .prepare_cached(
                    "UPDATE links SET external_id = ?1, base = ?2, content_hash = ?3, version = ?4, status = ?5,
                       attempts = 0, last_error = NULL, next_attempt_at = NULL, updated_at = ?6
                     WHERE id = ?7 AND (?8 IS NULL OR content_hash = ?8)",
                )?
                .execute(params![
                    external_id, json(base), &content_hash.to_bytes()[..], version, status.as_str(),
                    now, link_id, expect
                ])?;
            if n == 0 {
                return Err(Failure::Stale(*link_id));
            }
        }
        LinkChange::State {
            link_id,
            status,
            attempts,
            next_attempt_at,
            last_error,
        } => {
            c.prepare_cached(
                "UPDATE links SET status = ?1, attempts = ?2, next_attempt_at = ?3, last_error = ?4, updated_at = ?5
                 WHERE id = ?6",
            )?
            .execute(params![
                status.as_str(), attempts, text_time(next_attempt_at), last_error, now, link_id
            ])?;
        }
        LinkChange::Recreate { link_id, marker } => {
            c.prepare_cached(
                "UPDATE links SET external_id = ?1, base = '{}', content_hash = ?2, version = NULL, status = 'pending',
                   attempts = 0, last_error = NULL, next_attempt_at = NULL, updated_at = ?3
                 WHERE id = ?4",
            )?
            .execute(params![marker, &empty_hash()[..], now, link_id])?;
        }
    }
    Ok(())
}

fn record_conflict(
    c: &Connection,
    tenant: &str,
    run: RunId,
    now: &str,
    k: &NewConflict,
) -> Sql<()> {
    let open = k.resolution == "held";
    let sql = if open {
        "INSERT INTO conflicts (tenant, record_id, entity, link_id, connector, field, hub_value, remote_value,
           policy, resolution, status, run_id, created_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, 'open', ?11, ?12)
         ON CONFLICT (tenant, link_id, field) WHERE status = 'open' DO UPDATE SET
           hub_value = excluded.hub_value, remote_value = excluded.remote_value, policy = excluded.policy,
           run_id = excluded.run_id, created_at = excluded.created_at"
    } else {
        "INSERT INTO conflicts (tenant, record_id, entity, link_id, connector, field, hub_value, remote_value,
           policy, resolution, status, run_id, created_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, 'auto', ?11, ?12)"
    };
    c.prepare_cached(sql)?.execute(params![
        tenant,
        k.record_id,
        k.entity,
        k.link_id,
        k.connector,
        k.field,
        json(&k.hub_value),
        json(&k.remote_value),
        k.policy,
        k.resolution,
        run,
        now
    ])?;
    Ok(())
}

fn outbox_write(c: &Connection, tenant: &str, run: RunId, now: &str, w: &OutboxWrite) -> Sql<()> {
    match w {
        OutboxWrite::Queue(e) => {
            c.prepare_cached(
                "INSERT INTO outbox (tenant, link_id, record_id, connector, entity, op, idem_key, payload, new_base,
                   target, expected_version, state, run_id, created_at, updated_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?14)
                 ON CONFLICT (tenant, idem_key) DO UPDATE SET state = excluded.state, updated_at = excluded.updated_at",
            )?
            .execute(params![
                tenant, e.link_id, e.record_id, e.connector, e.entity, e.op.as_str(), e.idem_key,
                json(&e.payload), json(&e.new_base), e.target, e.expected_version, queue_state(e), run, now
            ])?;
        }
        OutboxWrite::Sending(key) => {
            c.prepare_cached(
                "UPDATE outbox SET state = 'sending', updated_at = ?1 WHERE tenant = ?2 AND idem_key = ?3",
            )?
            .execute(params![now, tenant, key])?;
        }
        OutboxWrite::Remove(key) => {
            c.prepare_cached("DELETE FROM outbox WHERE tenant = ?1 AND idem_key = ?2")?
                .execute(params![tenant, key])?;
        }
    }
    Ok(())
}
