//! Match keys on SQLite: the blocking keys of live records, kept by the
//! engine for matching on ingest without loading the hub, and the
//! history cursor they are current up to.

use super::identity::{id_values, Fail};
use crate::model::RecordId;
use einklang_core::Fields;
use rusqlite::{params, Connection, OptionalExtension};

type Out<T> = std::result::Result<T, Fail>;

/// See [`crate::HubStore::match_state`].
pub(super) fn state(c: &Connection, tenant: &str, entity: &str) -> Out<Option<(String, i64)>> {
    let row = c
        .prepare_cached(
            "SELECT signature, cursor FROM match_state WHERE tenant = ?1 AND entity = ?2",
        )?
        .query_row(params![tenant, entity], |r| Ok((r.get(0)?, r.get(1)?)))
        .optional()?;
    Ok(row)
}

/// See [`crate::HubStore::set_match_keys`].
pub(super) fn set(
    c: &Connection,
    (tenant, entity): (&str, &str),
    keys: &[(RecordId, Vec<i64>)],
    rebuild: bool,
    state: Option<(&str, i64)>,
) -> Out<()> {
    if rebuild {
        c.execute(
            "DELETE FROM match_keys WHERE tenant = ?1 AND entity = ?2",
            params![tenant, entity],
        )?;
        c.execute(
            "DELETE FROM match_keyed WHERE tenant = ?1
               AND record_id IN (SELECT id FROM records WHERE tenant = ?1 AND entity = ?2)",
            params![tenant, entity],
        )?;
    }
    let mut keyed = c.prepare_cached(
        "INSERT OR REPLACE INTO match_keyed (record_id, tenant, version)
         SELECT id, tenant, version FROM records WHERE id = ?1 AND tenant = ?2",
    )?;
    let mut clear =
        c.prepare_cached("DELETE FROM match_keys WHERE record_id = ?1 AND tenant = ?2")?;
    let mut insert = c.prepare_cached(
        "INSERT INTO match_keys (tenant, entity, key, record_id) VALUES (?1, ?2, ?3, ?4)",
    )?;
    for (record, record_keys) in keys {
        keyed.execute(params![record, tenant])?;
        if !rebuild {
            clear.execute(params![record, tenant])?;
        }
        for key in record_keys {
            insert.execute(params![tenant, entity, key, record])?;
        }
    }
    if let Some((signature, cursor)) = state {
        c.prepare_cached(
            "INSERT INTO match_state (tenant, entity, signature, cursor) VALUES (?1, ?2, ?3, ?4)
             ON CONFLICT (tenant, entity) DO UPDATE SET signature = excluded.signature, cursor = excluded.cursor",
        )?
        .execute(params![tenant, entity, signature, cursor])?;
    }
    Ok(())
}

/// `?3, ?4, ...`: one placeholder per key after tenant and entity.
fn placeholders(n: usize) -> String {
    (0..n)
        .map(|i| format!("?{}", i + 3))
        .collect::<Vec<_>>()
        .join(", ")
}

/// How many records carry each of `keys` (absent: none), in one query.
fn carriers(
    c: &Connection,
    (tenant, entity): (&str, &str),
    keys: &[i64],
) -> Out<std::collections::HashMap<i64, u64>> {
    if keys.is_empty() {
        return Ok(Default::default());
    }
    let sql = format!(
        "SELECT key, COUNT(*) FROM match_keys WHERE tenant = ?1 AND entity = ?2
           AND key IN ({}) GROUP BY key",
        placeholders(keys.len())
    );
    let mut stmt = c.prepare_cached(&sql)?;
    let mut args: Vec<&dyn rusqlite::ToSql> = vec![&tenant, &entity];
    args.extend(keys.iter().map(|k| k as &dyn rusqlite::ToSql));
    let rows = stmt.query_map(&args[..], |r| {
        Ok((r.get::<_, i64>(0)?, r.get::<_, i64>(1)? as u64))
    })?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

/// See [`crate::HubStore::match_candidates`]: two queries, the keys'
/// carrier counts, then the live records of the usable keys.
pub(super) fn candidates(
    c: &Connection,
    (tenant, entity): (&str, &str),
    keys: &[i64],
    max_block: usize,
) -> Out<Vec<(RecordId, Fields)>> {
    let counts = carriers(c, (tenant, entity), keys)?;
    let usable: Vec<i64> = keys
        .iter()
        .copied()
        .filter(|k| counts.get(k).is_some_and(|n| *n as usize <= max_block))
        .collect();
    if usable.is_empty() {
        return Ok(Vec::new());
    }
    let sql = format!(
        "SELECT DISTINCT r.id, r.vals FROM match_keys k JOIN records r ON r.id = k.record_id
         WHERE k.tenant = ?1 AND k.entity = ?2 AND k.key IN ({})
           AND r.deleted_at IS NULL AND r.merged_into IS NULL ORDER BY r.id",
        placeholders(usable.len())
    );
    let mut stmt = c.prepare_cached(&sql)?;
    let mut args: Vec<&dyn rusqlite::ToSql> = vec![&tenant, &entity];
    args.extend(usable.iter().map(|k| k as &dyn rusqlite::ToSql));
    id_values(&mut stmt, &args[..])
}

/// See [`crate::HubStore::key_counts`].
pub(super) fn counts(
    c: &Connection,
    (tenant, entity): (&str, &str),
    keys: &[i64],
) -> Out<Vec<u64>> {
    let found = carriers(c, (tenant, entity), keys)?;
    Ok(keys
        .iter()
        .map(|k| found.get(k).copied().unwrap_or(0))
        .collect())
}

/// See [`crate::HubStore::history_after`].
pub(super) fn history_after(
    c: &Connection,
    tenant: &str,
    after: i64,
    limit: usize,
) -> Out<Vec<(i64, RecordId, bool)>> {
    let mut stmt = c.prepare_cached(
        "SELECT h.id, h.record_id,
           (SELECT r.version FROM records r WHERE r.id = h.record_id) IS NOT
           (SELECT k.version FROM match_keyed k WHERE k.record_id = h.record_id)
         FROM history h WHERE h.id > ?1 AND h.tenant = ?2 ORDER BY h.id LIMIT ?3",
    )?;
    let rows = stmt.query_map(params![after, tenant, limit as i64], |r| {
        Ok((r.get(0)?, r.get(1)?, r.get(2)?))
    })?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

/// See [`crate::HubStore::last_history_id`].
pub(super) fn last_history_id(c: &Connection, tenant: &str) -> Out<i64> {
    let id: Option<i64> = c.query_row(
        "SELECT MAX(id) FROM history WHERE tenant = ?1",
        params![tenant],
        |r| r.get(0),
    )?;
    Ok(id.unwrap_or(0))
}

/// See [`crate::HubStore::sample_records`].
pub(super) fn sample(
    c: &Connection,
    (tenant, entity): (&str, &str),
    every: i64,
    limit: usize,
) -> Out<Vec<(RecordId, Fields)>> {
    let mut stmt = c.prepare_cached(
        "SELECT id, vals FROM records WHERE tenant = ?1 AND entity = ?2 AND id % ?3 = 0
           AND deleted_at IS NULL AND merged_into IS NULL ORDER BY id LIMIT ?4",
    )?;
    id_values(
        &mut stmt,
        params![tenant, entity, every.max(1), limit as i64],
    )
}
