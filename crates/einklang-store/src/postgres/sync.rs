//! The two-way sync's reads and writes on PostgreSQL (the same contract as
//! the SQLite module): record states, link pages, outbox, conflicts,
//! cursors and [`apply_sync`], which runs inside the caller's transaction.
//! Lookups take a whole batch with `= ANY($1)`; writes prepare each
//! statement once per batch.

use super::read::{corrupt, decode, fields, link};
use crate::migrate::json;
use crate::model::*;
use crate::sync::*;
use crate::{Result, StoreError};
use einklang_core::{content_hash, Fields};
use postgres::{Client, Row};
use std::collections::HashMap;

/// See [`crate::HubStore::load_records`].
pub(super) fn load_records(
    c: &mut Client,
    tenant: &str,
    ids: &[RecordId],
) -> Result<Vec<Option<RecordState>>> {
    let records = c.query(
        "SELECT id, entity, vals, version, deleted_at IS NOT NULL FROM records WHERE tenant = $1 AND id = ANY($2)",
        &[&tenant, &ids],
    )?;
    let links = c.query(
        "SELECT id, record_id, connector, entity, external_id, base, version, content_hash, status, attempts,
                last_error, updated_at, next_attempt_at
         FROM links WHERE tenant = $1 AND record_id = ANY($2) ORDER BY id",
        &[&tenant, &ids],
    )?;
    let open = c.query(
        "SELECT record_id, link_id, field, remote_value FROM conflicts WHERE tenant = $1 AND record_id = ANY($2) AND status = 'open'",
        &[&tenant, &ids],
    )?;
    let mut states: HashMap<i64, RecordState> = HashMap::with_capacity(records.len());
    for r in records {
        let id: i64 = r.get(0);
        states.insert(
            id,
            RecordState {
                id,
                entity: r.get(1),
                values: fields("record values", r.get(2))?,
                version: r.get(3),
                deleted: r.get(4),
                links: Vec::new(),
                open_conflicts: Vec::new(),
            },
        );
    }
    for r in &links {
        let l = link(r)?;
        if let Some(s) = states.get_mut(&l.record_id) {
            s.links.push(l);
        }
    }
    for r in open {
        if let Some(s) = states.get_mut(&r.get::<_, i64>(0)) {
            s.open_conflicts.push((r.get(1), r.get(2), r.get(3)));
        }
    }
    // the same order as `ids`, an id named twice answered twice
    let mut left: HashMap<i64, usize> = HashMap::new();
    for id in ids {
        *left.entry(*id).or_default() += 1;
    }
    Ok(ids
        .iter()
        .map(|id| match left.get_mut(id) {
            Some(n) if *n > 1 => {
                *n -= 1;
                states.get(id).cloned()
            }
            _ => states.remove(id),
        })
        .collect())
}

fn link_ref(r: &Row) -> Result<LinkRef> {
    let status: String = r.get(3);
    Ok(LinkRef {
        link_id: r.get(0),
        record_id: r.get(1),
        external_id: r.get(2),
        version: r.get(7),
        status: LinkStatus::parse(&status).ok_or_else(|| corrupt("link status", &status))?,
        attempts: r.get::<_, i32>(4) as u32,
        next_attempt_at: r.get(5),
    })
}

const LINK_REF: &str =
    "SELECT id, record_id, external_id, status, attempts, next_attempt_at, NULL, version FROM links";

/// See [`crate::HubStore::scan_links`]: rows are streamed, not collected.
pub(super) fn scan_links(
    c: &mut Client,
    tenant: &str,
    key: (&str, &str),
    visit: &mut dyn FnMut(LinkView<'_>),
) -> Result<()> {
    use postgres::fallible_iterator::FallibleIterator;
    let empty = einklang_core::content_hash(&einklang_core::Fields::new()).to_bytes();
    let empty = &empty[..];
    let params: [&(dyn postgres::types::ToSql + Sync); 4] = [&tenant, &key.0, &key.1, &empty];
    let mut rows = c.query_raw(
        "SELECT id, record_id, external_id, version, status,
                version IS NOT NULL OR content_hash <> $4 FROM links
         WHERE tenant = $1 AND connector = $2 AND entity = $3 ORDER BY external_id COLLATE \"C\"",
        params,
    )?;
    while let Some(r) = rows.next()? {
        let Some(status) = LinkStatus::parse(r.get::<_, &str>(4)) else {
            continue;
        };
        visit(LinkView {
            link_id: r.get(0),
            record_id: r.get(1),
            external_id: r.get(2),
            version: r.get(3),
            status,
            held: r.get(5),
        });
    }
    Ok(())
}

/// See [`crate::HubStore::links_to_push`].
pub(super) fn links_to_push(
    c: &mut Client,
    tenant: &str,
    key: (&str, &str),
    after: i64,
    limit: usize,
) -> Result<Vec<LinkRef>> {
    c.query(
        &format!(
            "{LINK_REF} WHERE tenant = $1 AND connector = $2 AND entity = $3 AND status <> 'clean' AND id > $4
             ORDER BY id LIMIT $5"
        ),
        &[&tenant, &key.0, &key.1, &after, &(limit as i64)],
    )?
    .iter()
    .map(link_ref)
    .collect()
}

/// See [`crate::HubStore::unlinked_records`].
pub(super) fn unlinked_records(
    c: &mut Client,
    tenant: &str,
    entity: &str,
    connector: &str,
    after: RecordId,
    limit: usize,
) -> Result<Vec<RecordId>> {
    Ok(c.query(
        "SELECT r.id FROM records r WHERE r.tenant = $1 AND r.entity = $2 AND r.id > $3
           AND r.deleted_at IS NULL AND r.merged_into IS NULL
           AND NOT EXISTS (SELECT 1 FROM links l WHERE l.record_id = r.id AND l.connector = $4 AND l.entity = $2)
         ORDER BY r.id LIMIT $5",
        &[&tenant, &entity, &after, &connector, &(limit as i64)],
    )?
    .iter()
    .map(|r| r.get(0))
    .collect())
}

/// See [`crate::HubStore::outbox`].
pub(super) fn outbox(
    c: &mut Client,
    tenant: &str,
    connector: &str,
    entity: &str,
) -> Result<Vec<OutboxEntry>> {
    c.query(
        "SELECT id, link_id, record_id, connector, entity, op, idem_key, payload, new_base, target,
                expected_version, state
         FROM outbox WHERE tenant = $1 AND connector = $2 AND entity = $3 ORDER BY id",
        &[&tenant, &connector, &entity],
    )?
    .iter()
    .map(|r| {
        let op: String = r.get(5);
        Ok(OutboxEntry {
            id: r.get(0),
            link_id: r.get(1),
            record_id: r.get(2),
            connector: r.get(3),
            entity: r.get(4),
            op: OutboxOp::parse(&op).ok_or_else(|| corrupt("outbox op", &op))?,
            idem_key: r.get(6),
            payload: decode("outbox payload", r.get(7))?,
            new_base: fields("outbox base", r.get(8))?,
            target: r.get(9),
            expected_version: r.get(10),
            state: r.get(11),
        })
    })
    .collect()
}

/// See [`crate::HubStore::conflicts`] and [`crate::HubStore::conflict`].
pub(super) fn conflicts(
    c: &mut Client,
    tenant: &str,
    (open_only, id, before): (bool, Option<i64>, Option<i64>),
    limit: usize,
) -> Result<Vec<ConflictRow>> {
    c.query(
        "SELECT id, record_id, entity, link_id, connector, field, policy, hub_value, remote_value,
                resolution, status, run_id, resolved_by, created_at, resolved_at FROM conflicts
         WHERE tenant = $1 AND (NOT $2 OR status = 'open') AND ($3::bigint IS NULL OR id = $3)
           AND ($5::bigint IS NULL OR id < $5)
         ORDER BY id DESC LIMIT $4",
        &[&tenant, &open_only, &id, &(limit as i64), &before],
    )?
    .iter()
    .map(|r| {
        Ok(ConflictRow {
            id: r.get(0),
            record_id: r.get(1),
            entity: r.get(2),
            link_id: r.get(3),
            connector: r.get(4),
            field: r.get(5),
            policy: r.get(6),
            hub_value: r.get(7),
            remote_value: r.get(8),
            resolution: r.get(9),
            status: r.get(10),
            run_id: r.get(11),
            resolved_by: r.get(12),
            created_at: r.get(13),
            resolved_at: r.get(14),
        })
    })
    .collect()
}

/// Commit `batch` (inside the caller's transaction). Returns created ids.
pub(super) fn apply_sync(
    c: &mut Client,
    tenant: &str,
    run: RunId,
    batch: &SyncBatch,
) -> Result<Vec<RecordId>> {
    let ids = super::insert_creates(c, tenant, run, &batch.creates)?;
    record_writes(c, tenant, run, &batch.records)?;
    if !batch.new_links.is_empty() {
        let empty = content_hash(&Fields::new()).to_bytes();
        let stmt = c.prepare(
            "INSERT INTO links (tenant, record_id, connector, entity, external_id, base, version, content_hash, status)
             VALUES ($1, $2, $3, $4, $5, '{}', NULL, $6, 'pending')
             ON CONFLICT (tenant, connector, entity, external_id) DO NOTHING",
        )?;
        for l in &batch.new_links {
            c.execute(
                &stmt,
                &[
                    &tenant,
                    &l.record_id,
                    &l.connector,
                    &l.entity,
                    &l.marker,
                    &&empty[..],
                ],
            )?;
        }
    }
    for change in &batch.links {
        link_change(c, change)?;
    }
    for (record, except) in &batch.dirty {
        c.execute(
            "UPDATE links SET status = 'dirty', updated_at = now()
             WHERE tenant = $1 AND record_id = $2 AND status = 'clean' AND id <> $3",
            &[&tenant, record, &except.unwrap_or(-1)],
        )?;
    }
    for k in &batch.conflicts {
        record_conflict(c, tenant, run, k)?;
    }
    for r in &batch.resolved {
        c.execute(
            "UPDATE conflicts SET status = 'resolved', resolution = $1, resolved_by = $2, resolved_at = now()
             WHERE tenant = $3 AND id = $4",
            &[&r.resolution, &r.by, &tenant, &r.conflict_id],
        )?;
    }
    for w in &batch.outbox {
        outbox_write(c, tenant, run, w)?;
    }
    for (connector, entity, name, value) in &batch.cursors {
        c.execute(
            "INSERT INTO cursors (tenant, connector, entity, name, value) VALUES ($1, $2, $3, $4, $5)
             ON CONFLICT (tenant, connector, entity, name) DO UPDATE SET value = excluded.value, updated_at = now()",
            &[&tenant, connector, entity, name, value],
        )?;
    }
    Ok(ids)
}

fn record_writes(c: &mut Client, tenant: &str, run: RunId, writes: &[RecordWrite]) -> Result<()> {
    if writes.is_empty() {
        return Ok(());
    }
    let update = c.prepare(
        "UPDATE records SET vals = COALESCE($1::text::jsonb, vals),
           deleted_at = CASE $2::int WHEN 1 THEN COALESCE(deleted_at, now()) WHEN 0 THEN NULL ELSE deleted_at END,
           version = version + 1, updated_at = now()
         WHERE tenant = $3 AND id = $4",
    )?;
    let history = c.prepare(
        "INSERT INTO history (tenant, record_id, run_id, origin, initial, changes) VALUES ($1, $2, $3, $4, false, $5::text::json)",
    )?;
    for w in writes {
        let vals = w.values.as_ref().map(json);
        let deleted: Option<i32> = w.deleted.map(i32::from);
        c.execute(&update, &[&vals, &deleted, &tenant, &w.record_id])?;
        if !w.history.is_empty() {
            c.execute(
                &history,
                &[&tenant, &w.record_id, &run, &w.origin, &json(&w.history)],
            )?;
        }
    }
    Ok(())
}

fn link_change(c: &mut Client, change: &LinkChange) -> Result<()> {
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
            let n = c.execute(
                "UPDATE links SET external_id = $1, base = $2::text::json, content_hash = $3, version = $4, status = $5,
                   attempts = 0, last_error = NULL, next_attempt_at = NULL, updated_at = now()
                 WHERE id = $6 AND ($7::bytea IS NULL OR content_hash = $7)",
                &[external_id, &json(base), &&content_hash.to_bytes()[..], version, &status.as_str(), link_id, &expect],
            )?;
            if n == 0 {
                return Err(StoreError::StaleLink { link_id: *link_id });
            }
        }
        LinkChange::State {
            link_id,
            status,
            attempts,
            next_attempt_at,
            last_error,
        } => {
            c.execute(
                "UPDATE links SET status = $1, attempts = $2, next_attempt_at = $3, last_error = $4, updated_at = now()
                 WHERE id = $5",
                &[&status.as_str(), &(*attempts as i32), next_attempt_at, last_error, link_id],
            )?;
        }
        LinkChange::Recreate { link_id, marker } => {
            let empty = content_hash(&Fields::new()).to_bytes();
            c.execute(
                "UPDATE links SET external_id = $1, base = '{}', content_hash = $2, version = NULL, status = 'pending',
                   attempts = 0, last_error = NULL, next_attempt_at = NULL, updated_at = now()
                 WHERE id = $3",
                &[marker, &&empty[..], link_id],
            )?;
        }
    }
    Ok(())
}

fn record_conflict(c: &mut Client, tenant: &str, run: RunId, k: &NewConflict) -> Result<()> {
    let sql = if k.resolution == "held" {
        "INSERT INTO conflicts (tenant, record_id, entity, link_id, connector, field, hub_value, remote_value,
           policy, resolution, status, run_id)
         VALUES ($1, $2, $3, $4, $5, $6, $7::text::json, $8::text::json, $9, $10, 'open', $11)
         ON CONFLICT (tenant, link_id, field) WHERE status = 'open' DO UPDATE SET
           hub_value = excluded.hub_value, remote_value = excluded.remote_value, policy = excluded.policy,
           run_id = excluded.run_id, created_at = now()"
    } else {
        "INSERT INTO conflicts (tenant, record_id, entity, link_id, connector, field, hub_value, remote_value,
           policy, resolution, status, run_id)
         VALUES ($1, $2, $3, $4, $5, $6, $7::text::json, $8::text::json, $9, $10, 'auto', $11)"
    };
    c.execute(
        sql,
        &[
            &tenant,
            &k.record_id,
            &k.entity,
            &k.link_id,
            &k.connector,
            &k.field,
            &json(&k.hub_value),
            &json(&k.remote_value),
            &k.policy,
            &k.resolution,
            &run,
        ],
    )?;
    Ok(())
}

fn outbox_write(c: &mut Client, tenant: &str, run: RunId, w: &OutboxWrite) -> Result<()> {
    match w {
        OutboxWrite::Queue(e) => {
            c.execute(
                "INSERT INTO outbox (tenant, link_id, record_id, connector, entity, op, idem_key, payload, new_base,
                   target, expected_version, state, run_id)
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8::text::json, $9::text::json, $10, $11, $13, $12)
                 ON CONFLICT (tenant, idem_key) DO UPDATE SET state = excluded.state, updated_at = now()",
                &[
                    &tenant,
                    &e.link_id,
                    &e.record_id,
                    &e.connector,
                    &e.entity,
                    &e.op.as_str(),
                    &e.idem_key,
                    &json(&e.payload),
                    &json(&e.new_base),
                    &e.target,
                    &e.expected_version,
                    &run,
                    &queue_state(e),
                ],
            )?;
        }
        OutboxWrite::Sending(key) => {
            c.execute(
                "UPDATE outbox SET state = 'sending', updated_at = now() WHERE tenant = $1 AND idem_key = $2",
                &[&tenant, key],
            )?;
        }
        OutboxWrite::Remove(key) => {
            c.execute(
                "DELETE FROM outbox WHERE tenant = $1 AND idem_key = $2",
                &[&tenant, key],
            )?;
        }
    }
    Ok(())
}
