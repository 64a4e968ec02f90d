//! Match keys on PostgreSQL: the same as `sqlite/keys.rs`, with `= ANY($n)`
//! lookups and one round trip per query instead of one per key.

use super::read::fields;
use crate::model::RecordId;
use crate::Result;
use ::postgres::{Client, Statement};
use std::collections::HashMap;

/// Prepared statements of the hot queries, by SQL text: planning them for
/// every call costs more than running them (2 ms against 1 ms).
#[derive(Default)]
pub(crate) struct Statements(HashMap<&'static str, Statement>);

impl Statements {
    fn get(&mut self, c: &mut Client, sql: &'static str) -> Result<Statement> {
        if let Some(s) = self.0.get(sql) {
            return Ok(s.clone());
        }
        let s = c.prepare(sql)?;
        self.0.insert(sql, s.clone());
        Ok(s)
    }
}
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
    (c, st): (&mut Client, &mut Statements),
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
        let q = st.get(
            c,
            "DELETE FROM match_keys WHERE record_id = ANY($1) AND tenant = $2",
        )?;
        c.execute(&q, &[&ids, &tenant])?;
    }
    let (records, all): (Vec<RecordId>, Vec<i64>) = keys
        .iter()
        .flat_map(|(r, ks)| ks.iter().map(move |k| (*r, *k)))
        .unzip();
    let q = st.get(
        c,
        "INSERT INTO match_keys (tenant, entity, key, record_id)
         SELECT $1, $2, k, r FROM unnest($3::bigint[], $4::bigint[]) AS t(k, r)",
    )?;
    c.execute(&q, &[&tenant, &entity, &all, &records])?;
    let ids: Vec<RecordId> = keys.iter().map(|k| k.0).collect();
    let q = st.get(
        c,
        "INSERT INTO match_keyed (record_id, tenant, version)
         SELECT id, tenant, version FROM records WHERE id = ANY($1) AND tenant = $2
         ON CONFLICT (record_id) DO UPDATE SET version = excluded.version",
    )?;
    c.execute(&q, &[&ids, &tenant])?;
    if keys.len() >= 1000 {
        // a table that grows within one session keeps the planner's
        // estimate of an empty one (index lookups become scans) until analysed
        c.batch_execute("ANALYZE match_keys; ANALYZE match_keyed")?;
    }
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
    (c, st): (&mut Client, &mut Statements),
    (tenant, entity): (&str, &str),
    keys: &[i64],
    max_block: usize,
) -> Result<Vec<(RecordId, Fields)>> {
    let q = st.get(
        c,
        "WITH usable AS (
           SELECT key FROM match_keys WHERE tenant = $1 AND entity = $2 AND key = ANY($3)
           GROUP BY key HAVING COUNT(*) <= $4)
         SELECT r.id, r.vals FROM records r
         WHERE r.id IN (SELECT k.record_id FROM match_keys k JOIN usable u ON u.key = k.key
                        WHERE k.tenant = $1 AND k.entity = $2)
           AND r.deleted_at IS NULL AND r.merged_into IS NULL
         ORDER BY r.id",
    )?;
    let rows = c.query(&q, &[&tenant, &entity, &keys, &(max_block as i64)])?;
    rows.iter()
        .map(|r| Ok((r.get(0), fields("record values", r.get(1))?)))
        .collect()
}

/// See [`crate::HubStore::key_counts`].
pub(super) fn counts(
    (c, st): (&mut Client, &mut Statements),
    (tenant, entity): (&str, &str),
    keys: &[i64],
) -> Result<Vec<u64>> {
    let q = st.get(c, "SELECT key, COUNT(*) FROM match_keys WHERE tenant = $1 AND entity = $2 AND key = ANY($3) GROUP BY key")?;
    let rows = c.query(&q, &[&tenant, &entity, &keys])?;
    let found: std::collections::HashMap<i64, i64> =
        rows.iter().map(|r| (r.get(0), r.get(1))).collect();
    Ok(keys
        .iter()
        .map(|k| found.get(k).copied().unwrap_or(0) as u64)
        .collect())
}

/// See [`crate::HubStore::history_after`].
pub(super) fn history_after(
    (c, st): (&mut Client, &mut Statements),
    tenant: &str,
    after: i64,
    limit: usize,
) -> Result<Vec<(i64, RecordId, bool)>> {
    let q = st.get(
        c,
        "SELECT h.id, h.record_id, r.version IS DISTINCT FROM k.version
         FROM history h LEFT JOIN records r ON r.id = h.record_id
           LEFT JOIN match_keyed k ON k.record_id = h.record_id
         WHERE h.id > $1 AND h.tenant = $2 ORDER BY h.id LIMIT $3",
    )?;
    Ok(c.query(&q, &[&after, &tenant, &(limit as i64)])?
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
