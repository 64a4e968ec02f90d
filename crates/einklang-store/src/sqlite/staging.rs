//! [`Staging`] on SQLite.

use super::SqliteStore;
use crate::migrate::{json, parse};
use crate::{Result, RunId, StagedCount, StagedRecord, Staging};
use rusqlite::params;

impl Staging for SqliteStore {
    fn stage(&mut self, tenant: &str, run: RunId, records: &[StagedRecord]) -> Result<()> {
        self.write("stage", |c| {
            let mut insert = c.prepare_cached(
                "INSERT INTO staged (tenant, run_id, entity, external_id, vals) VALUES (?1, ?2, ?3, ?4, ?5)
                 ON CONFLICT (tenant, run_id, entity, external_id)
                 DO UPDATE SET vals = excluded.vals, copies = copies + 1",
            )?;
            for r in records {
                insert.execute(params![tenant, run, r.entity, r.external_id, json(&r.values)])?;
            }
            Ok(())
        })
    }

    fn staged_counts(&mut self, tenant: &str, run: RunId) -> Result<Vec<StagedCount>> {
        counts(
            self,
            "WHERE tenant = ?1 AND run_id = ?2 GROUP BY run_id, entity ORDER BY entity",
            params![tenant, run],
        )
    }

    fn staged_page(
        &mut self,
        tenant: &str,
        run: RunId,
        entity: &str,
        after: &str,
        limit: usize,
    ) -> Result<Vec<StagedRecord>> {
        let rows = self
            .conn
            .prepare_cached(
                "SELECT external_id, vals FROM staged
                 WHERE tenant = ?1 AND run_id = ?2 AND entity = ?3 AND external_id > ?4
                 ORDER BY external_id LIMIT ?5",
            )
            .and_then(|mut st| {
                st.query_map(params![tenant, run, entity, after, limit as i64], |r| {
                    Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?))
                })?
                .collect::<rusqlite::Result<Vec<_>>>()
            })
            .map_err(self.err())?;
        rows.into_iter()
            .map(|(external_id, vals)| {
                Ok(StagedRecord {
                    entity: entity.to_string(),
                    external_id,
                    values: parse("staged values", &vals)?,
                })
            })
            .collect()
    }

    fn staged_runs(&mut self, tenant: &str) -> Result<Vec<StagedCount>> {
        counts(
            self,
            "WHERE tenant = ?1 GROUP BY run_id, entity ORDER BY run_id DESC, entity",
            params![tenant],
        )
    }

    fn begin_swap(&mut self) -> Result<()> {
        self.conn
            .execute_batch("BEGIN IMMEDIATE")
            .map_err(self.err())
    }

    fn end_swap(&mut self, commit: bool) -> Result<()> {
        let end = if commit { "COMMIT" } else { "ROLLBACK" };
        let started = std::time::Instant::now();
        let out = self.conn.execute_batch(end).map_err(self.err());
        tracing::debug!(
            store = "sqlite",
            op = "swap",
            ms = started.elapsed().as_secs_f64() * 1000.0,
            committed = commit && out.is_ok(),
            "store transaction"
        );
        out
    }

    fn move_staged(&mut self, tenant: &str, from: RunId, to: RunId) -> Result<u64> {
        self.write("move_staged", |c| {
            let n = c.execute(
                "UPDATE staged SET run_id = ?3 WHERE tenant = ?1 AND run_id = ?2",
                params![tenant, from, to],
            )?;
            Ok(n as u64)
        })
    }

    fn drop_staged(&mut self, tenant: &str, run: RunId) -> Result<u64> {
        self.write("drop_staged", |c| {
            let n = c.execute(
                "DELETE FROM staged WHERE tenant = ?1 AND run_id = ?2",
                params![tenant, run],
            )?;
            Ok(n as u64)
        })
    }
}

/// Counts of staged records grouped as `rest` says.
fn counts(
    s: &mut SqliteStore,
    rest: &str,
    args: impl rusqlite::Params,
) -> Result<Vec<StagedCount>> {
    let sql = format!("SELECT run_id, entity, count(*), sum(copies) - count(*) FROM staged {rest}");
    s.conn
        .prepare_cached(&sql)
        .and_then(|mut st| {
            st.query_map(args, |r| {
                Ok(StagedCount {
                    run: r.get(0)?,
                    entity: r.get(1)?,
                    records: r.get::<_, i64>(2)? as u64,
                    duplicates: r.get::<_, i64>(3)? as u64,
                })
            })?
            .collect::<rusqlite::Result<Vec<_>>>()
        })
        .map_err(s.err())
}
