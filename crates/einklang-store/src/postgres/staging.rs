//! [`Staging`] on PostgreSQL: a batch is staged with one `INSERT … SELECT
//! FROM unnest(…)`.

use super::PgStore;
use crate::migrate::{json, parse};
use crate::{Result, RunId, StagedCount, StagedRecord, Staging};

impl Staging for PgStore {
    fn stage(&mut self, tenant: &str, run: RunId, records: &[StagedRecord]) -> Result<()> {
        // one copy per key in a statement (ON CONFLICT cannot touch a row
        // twice): a later copy of the batch wins, the earlier ones count
        let mut last: std::collections::HashMap<(&str, &str), usize> = Default::default();
        let mut copies: std::collections::HashMap<(&str, &str), i32> = Default::default();
        for (i, r) in records.iter().enumerate() {
            let key = (r.entity.as_str(), r.external_id.as_str());
            last.insert(key, i);
            *copies.entry(key).or_default() += 1;
        }
        let mut kept: Vec<usize> = last.into_values().collect();
        kept.sort_unstable();
        let entities: Vec<&str> = kept.iter().map(|&i| records[i].entity.as_str()).collect();
        let ids: Vec<&str> = kept
            .iter()
            .map(|&i| records[i].external_id.as_str())
            .collect();
        let vals: Vec<String> = kept.iter().map(|&i| json(&records[i].values)).collect();
        let counts: Vec<i32> = (entities.iter().zip(&ids))
            .map(|(e, x)| copies[&(*e, *x)])
            .collect();
        self.in_tx("stage", |c| {
            c.execute(
                "INSERT INTO staged (tenant, run_id, entity, external_id, vals, copies)
                 SELECT $1, $2, e, x, v::jsonb, n
                 FROM unnest($3::text[], $4::text[], $5::text[], $6::int[]) AS u(e, x, v, n)
                 ON CONFLICT (tenant, run_id, entity, external_id)
                 DO UPDATE SET vals = excluded.vals, copies = staged.copies + excluded.copies",
                &[&tenant, &run, &entities, &ids, &vals, &counts],
            )?;
            Ok(())
        })
    }

    fn staged_counts(&mut self, tenant: &str, run: RunId) -> Result<Vec<StagedCount>> {
        counts(
            self,
            "WHERE tenant = $1 AND run_id = $2 GROUP BY run_id, entity ORDER BY entity",
            &[&tenant, &run],
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
        let rows = self.client.query(
            "SELECT external_id, vals::text FROM staged
             WHERE tenant = $1 AND run_id = $2 AND entity = $3 AND external_id > $4
             ORDER BY external_id LIMIT $5",
            &[&tenant, &run, &entity, &after, &(limit as i64)],
        )?;
        rows.iter()
            .map(|r| {
                Ok(StagedRecord {
                    entity: entity.to_string(),
                    external_id: r.get(0),
                    values: parse("staged values", r.get(1))?,
                })
            })
            .collect()
    }

    fn staged_runs(&mut self, tenant: &str) -> Result<Vec<StagedCount>> {
        counts(
            self,
            "WHERE tenant = $1 GROUP BY run_id, entity ORDER BY run_id DESC, entity",
            &[&tenant],
        )
    }

    fn begin_swap(&mut self) -> Result<()> {
        self.client.batch_execute("BEGIN")?;
        self.outer = true;
        Ok(())
    }

    fn end_swap(&mut self, commit: bool) -> Result<()> {
        self.outer = false;
        let started = std::time::Instant::now();
        let out = self
            .client
            .batch_execute(if commit { "COMMIT" } else { "ROLLBACK" });
        tracing::debug!(
            store = "postgres",
            op = "swap",
            ms = started.elapsed().as_secs_f64() * 1000.0,
            committed = commit && out.is_ok(),
            "store transaction"
        );
        Ok(out?)
    }

    fn move_staged(&mut self, tenant: &str, from: RunId, to: RunId) -> Result<u64> {
        self.in_tx("move_staged", |c| {
            Ok(c.execute(
                "UPDATE staged SET run_id = $3 WHERE tenant = $1 AND run_id = $2",
                &[&tenant, &from, &to],
            )?)
        })
    }

    fn drop_staged(&mut self, tenant: &str, run: RunId) -> Result<u64> {
        self.in_tx("drop_staged", |c| {
            Ok(c.execute(
                "DELETE FROM staged WHERE tenant = $1 AND run_id = $2",
                &[&tenant, &run],
            )?)
        })
    }
}

/// Counts of staged records grouped as `rest` says.
fn counts(
    s: &mut PgStore,
    rest: &str,
    args: &[&(dyn postgres::types::ToSql + Sync)],
) -> Result<Vec<StagedCount>> {
    let sql = format!(
        "SELECT run_id, entity, count(*), (sum(copies) - count(*))::bigint FROM staged {rest}"
    );
    let rows = s.client.query(&sql, args)?;
    Ok(rows
        .iter()
        .map(|r| StagedCount {
            run: r.get(0),
            entity: r.get(1),
            records: r.get::<_, i64>(2) as u64,
            duplicates: r.get::<_, i64>(3) as u64,
        })
        .collect())
}
