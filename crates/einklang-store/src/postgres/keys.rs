//! Match keys on PostgreSQL: the same as `sqlite/keys.rs`, with `= ANY($n)`
//! lookups and one round trip per query instead of one per key.

use super::read::fields;
use crate::model::RecordId;
use crate::Result;
use ::postgres::Client;
use einklang_core::Fields;

/// See [`crate::HubStore::match_state`].
pub(super) fn state(c: &mut Client, tenant: &str, entity: &str) -> Result<Option<(String, i64)>> {
    let row = c.query_opt(
        "SELECT signature, cursor FROM match_state WHERE tenant = $1 AND entity = $2",
        &[&tenant, &entity],
    )?;
    Ok(row.map(|r| (r.get(0), r.get(1))))
}

/// See [`crate::HubStore::set_match_keys`].
pub(super) fn set(
    c: &mut Client,
    (tenant, entity): (&str, &str),
    keys: &[(RecordId, Vec<i64>)],
    rebuild: bool,
    state: Option<(&str, i64)>,
) -> Result<()> {
    if rebuild {
        c.execute(
            "DELETE FROM match_keys WHERE tenant = $1 AND entity = $2",
            &[&tenant, &entity],
        )?;
        c.execute(
            "DELETE FROM match_keyed WHERE tenant = $1
               AND record_id IN (SELECT id FROM records WHERE tenant = $1 AND entity = $2)",
            &[&tenant, &entity],
        )?;
    } else {
        let ids: Vec<RecordId> = keys.iter().map(|k| k.0).collect();
        c.execute(
            "DELETE FROM match_keys WHERE record_id = ANY($1) AND tenant = $2",
            &[&ids, &tenant],
        )?;
    }
    let (records, all): (Vec<RecordId>, Vec<i64>) = keys
        .iter()
        .flat_map(|(r, ks)| ks.iter().map(move |k| (*r, *k)))
        .unzip();
    c.execute(
        "INSERT INTO match_keys (tenant, entity, key, record_id)
         SELECT $1, $2, k, r FROM unnest($3::bigint[], $4::bigint[]) AS t(k, r)",
        &[&tenant, &entity, &all, &records],
    )?;
    let ids: Vec<RecordId> = keys.iter().map(|k| k.0).collect();
    c.execute(
        "INSERT INTO match_keyed (record_id, tenant, version)
         SELECT id, tenant, version FROM records WHERE id = ANY($1) AND tenant = $2
         ON CONFLICT (record_id) DO UPDATE SET version = excluded.version",
        &[&ids, &tenant],
    )?;
    if let Some((signature, cursor)) = state {
        c.execute(
            "INSERT INTO match_state (tenant, entity, signature, cursor) VALUES ($1, $2, $3, $4)
             ON CONFLICT (tenant, entity) DO UPDATE SET signature = excluded.signature, cursor = excluded.cursor",
            &[&tenant, &entity, &signature, &cursor],
        )?;
    }
    Ok(())
}

/// See [`crate::HubStore::match_candidates`].
pub(super) fn candidates(
    c: &mut Client,
    (tenant, entity): (&str, &str),
    keys: &[i64],
    max_block: usize,
) -> Result<Vec<(RecordId, Fields)>> {
    let rows = c.query(
        "WITH usable AS (
           SELECT key FROM match_keys WHERE tenant = $1 AND entity = $2 AND key = ANY($3)
           GROUP BY key HAVING COUNT(*) <= $4)
         SELECT DISTINCT r.id, r.vals FROM match_keys k JOIN usable u ON u.key = k.key
           JOIN records r ON r.id = k.record_id
         WHERE k.tenant = $1 AND k.entity = $2 AND r.deleted_at IS NULL AND r.merged_into IS NULL
         ORDER BY r.id",
        &[&tenant, &entity, &keys, &(max_block as i64)],
    )?;
    rows.iter()
        .map(|r| Ok((r.get(0), fields("record values", r.get(1))?)))
        .collect()
}

/// See [`crate::HubStore::key_counts`].
pub(super) fn counts(
    c: &mut Client,
    (tenant, entity): (&str, &str),
    keys: &[i64],
) -> Result<Vec<u64>> {
    let rows = c.query(
        "SELECT key, COUNT(*) FROM match_keys WHERE tenant = $1 AND entity = $2 AND key = ANY($3) GROUP BY key",
        &[&tenant, &entity, &keys],
    )?;
    let found: std::collections::HashMap<i64, i64> =
        rows.iter().map(|r| (r.get(0), r.get(1))).collect();
    Ok(keys
        .iter()
        .map(|k| found.get(k).copied().unwrap_or(0) as u64)
        .collect())
}

/// See [`crate::HubStore::history_after`].
pub(super) fn history_after(
    c: &mut Client,
    tenant: &str,
    after: i64,
    limit: usize,
) -> Result<Vec<(i64, RecordId, bool)>> {
    Ok(c.query(
        "SELECT h.id, h.record_id, r.version IS DISTINCT FROM k.version
         FROM history h LEFT JOIN records r ON r.id = h.record_id
           LEFT JOIN match_keyed k ON k.record_id = h.record_id
         WHERE h.id > $1 AND h.tenant = $2 ORDER BY h.id LIMIT $3",
        &[&after, &tenant, &(limit as i64)],
    )?
    .iter()
    .map(|r| (r.get(0), r.get(1), r.get(2)))
    .collect())
}

/// See [`crate::HubStore::last_history_id`].
pub(super) fn last_history_id(c: &mut Client, tenant: &str) -> Result<i64> {
    let row = c.query_one("SELECT MAX(id) FROM history WHERE tenant = $1", &[&tenant])?;
    Ok(row.get::<_, Option<i64>>(0).unwrap_or(0))
}

/// See [`crate::HubStore::sample_records`].
pub(super) fn sample(
    c: &mut Client,
    (tenant, entity): (&str, &str),
    every: i64,
    limit: usize,
) -> Result<Vec<(RecordId, Fields)>> {
    c.query(
        "SELECT id, vals FROM records WHERE tenant = $1 AND entity = $2 AND id % $3 = 0
           AND deleted_at IS NULL AND merged_into IS NULL ORDER BY id LIMIT $4",
        &[&tenant, &entity, &every.max(1), &(limit as i64)],
    )?
    .iter()
    .map(|r| Ok((r.get(0), fields("record values", r.get(1))?)))
    .collect()
}
