//! [`Overviews`](crate::Overviews) on SQLite: the grouped counts of `overview.rs`.

use super::SqliteStore;
use crate::Result;

impl crate::overview::Overviews for SqliteStore {
    fn overview(&mut self, tenant: &str) -> Result<crate::overview::Overview> {
        use crate::overview::*;
        let err = self.err();
        let c = &self.conn;
        let sql = |q: &str| q.replace("$1", "?1");
        let count = |q: &str| -> rusqlite::Result<u64> {
            c.query_row(&sql(q), [tenant], |r| r.get::<_, i64>(0))
                .map(|n| n as u64)
        };
        let pairs = |q: &str| -> rusqlite::Result<Vec<(String, u64)>> {
            let mut st = c.prepare(&sql(q))?;
            let rows = st.query_map([tenant], |r| Ok((r.get(0)?, r.get::<_, i64>(1)? as u64)))?;
            rows.collect()
        };
        let triples = |q: &str| -> rusqlite::Result<Vec<(String, String, u64)>> {
            let mut st = c.prepare(&sql(q))?;
            let rows = st.query_map([tenant], |r| {
                Ok((r.get(0)?, r.get(1)?, r.get::<_, i64>(2)? as u64))
            })?;
            rows.collect()
        };
        let all = || -> rusqlite::Result<Overview> {
            Ok(Overview {
                records: pairs(RECORDS)?,
                links: triples(LINKS)?,
                open_conflicts: count(CONFLICTS)?,
                open_reviews: count(REVIEWS)?,
                runs: triples(RUNS)?,
                queued: count(QUEUED)?,
            })
        };
        all().map_err(err)
    }

    fn open_links(&mut self, tenant: &str) -> Result<Vec<(String, String, u64)>> {
        let sql = crate::overview::OPEN_LINKS.replace("$1", "?1");
        let rows = self
            .conn
            .prepare_cached(&sql)
            .and_then(|mut st| {
                st.query_map([tenant], |r| {
                    Ok((r.get(0)?, r.get(1)?, r.get::<_, i64>(2)? as u64))
                })?
                .collect::<rusqlite::Result<Vec<_>>>()
            })
            .map_err(self.err())?;
        Ok(rows)
    }

    fn retry_now(&mut self, tenant: &str, link_id: i64) -> Result<Option<crate::Link>> {
        let changed = self
            .conn
            .prepare_cached(
                "UPDATE links SET next_attempt_at = NULL, updated_at = ?3
                 WHERE tenant = ?1 AND id = ?2 AND status IN ('failed', 'permanently_failed')",
            )
            .and_then(|mut st| st.execute(rusqlite::params![tenant, link_id, super::now()]))
            .map_err(self.err())?;
        if changed == 0 {
            return Ok(None);
        }
        let link = self
            .conn
            .prepare_cached(
                "SELECT id, record_id, connector, entity, external_id, base, version, content_hash, status, attempts, last_error,
                        updated_at, next_attempt_at
                 FROM links WHERE tenant = ?1 AND id = ?2",
            )
            .and_then(|mut st| st.query_row(rusqlite::params![tenant, link_id], super::read::link))
            .map_err(self.err())?;
        link.map(Some)
    }

    fn links_with_status(
        &mut self,
        tenant: &str,
        status: &str,
        connector: Option<&str>,
        after: i64,
        limit: usize,
    ) -> Result<Vec<crate::Link>> {
        let rows = self
            .conn
            .prepare_cached(
                "SELECT id, record_id, connector, entity, external_id, base, version, content_hash, status, attempts, last_error,
                        updated_at, next_attempt_at
                 FROM links WHERE tenant = ?1 AND status = ?2 AND status <> 'clean' AND (?3 IS NULL OR connector = ?3) AND id > ?4
                 ORDER BY id LIMIT ?5",
            )
            .and_then(|mut st| {
                st.query_map(rusqlite::params![tenant, status, connector, after, limit as i64], super::read::link)?
                    .collect::<rusqlite::Result<Vec<_>>>()
            })
            .map_err(self.err())?;
        rows.into_iter().collect()
    }
}

impl crate::overview::RecordSearch for SqliteStore {
    fn search_records(
        &mut self,
        tenant: &str,
        entity: &str,
        (field, value): (&str, &str),
        (after, upto): (crate::RecordId, crate::RecordId),
        limit: usize,
    ) -> Result<Vec<crate::HubRecord>> {
        // json_each of a text is that text, of a list its elements; an
        // empty field: json_tree's atoms are every field's value and
        // every list's elements
        let path = match field {
            "" => "$".to_string(),
            f => format!("$.\"{}\"", f.replace('"', "")),
        };
        let walk = match field {
            "" => "json_tree(r.vals, ?3) e WHERE e.atom IS NOT NULL AND lower(e.atom) = lower(?4)",
            _ => "json_each(r.vals, ?3) e WHERE lower(e.value) = lower(?4)",
        };
        let ids: Vec<i64> = self
            .conn
            .prepare_cached(&format!(
                "SELECT id FROM records r
                 WHERE tenant = ?1 AND entity = ?2 AND merged_into IS NULL AND deleted_at IS NULL AND id > ?5 AND id <= ?7
                   AND EXISTS (SELECT 1 FROM {walk})
                 ORDER BY id LIMIT ?6"
            ))
            .and_then(|mut st| {
                st.query_map(rusqlite::params![tenant, entity, path, value, after, limit as i64, upto], |r| r.get(0))?
                    .collect::<rusqlite::Result<Vec<i64>>>()
            })
            .map_err(self.err())?;
        let mut out = Vec::with_capacity(ids.len());
        for id in ids {
            if let Some(r) = super::read::record(&self.conn, tenant, entity, id)
                .map_err(self.err())?
                .transpose()?
            {
                out.push(r);
            }
        }
        Ok(out)
    }
}
