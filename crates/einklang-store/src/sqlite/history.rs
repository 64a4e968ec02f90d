//! [`HistoryLog`] on SQLite (`at` is RFC 3339 text in one format, so it
//! compares as text).

use super::read::time;
use super::SqliteStore;
use crate::migrate::parse;
use crate::{EntityChange, HistoryLog, Result};
use chrono::{DateTime, SecondsFormat, Utc};
use rusqlite::params;

/// A history row as read: id, record, run, origin, initial, changes, at.
type HistoryRow = (i64, i64, i64, String, bool, String, String);

impl HistoryLog for SqliteStore {
    fn changes_since(
        &mut self,
        tenant: &str,
        entity: &str,
        since: DateTime<Utc>,
        after: i64,
        limit: usize,
    ) -> Result<Vec<EntityChange>> {
        let since = since.to_rfc3339_opts(SecondsFormat::Micros, true);
        let read = || -> rusqlite::Result<Vec<HistoryRow>> {
            let mut stmt = self.conn.prepare_cached(
                "SELECT h.id, h.record_id, h.run_id, h.origin, h.initial, h.changes, h.at
                 FROM history h JOIN records r ON r.id = h.record_id
                 WHERE h.tenant = ?1 AND r.entity = ?2 AND h.at >= ?3 AND h.id > ?4
                 ORDER BY h.id LIMIT ?5",
            )?;
            let rows =
                stmt.query_map(params![tenant, entity, since, after, limit as i64], |r| {
                    Ok((
                        r.get(0)?,
                        r.get(1)?,
                        r.get(2)?,
                        r.get(3)?,
                        r.get(4)?,
                        r.get(5)?,
                        r.get(6)?,
                    ))
                })?;
            rows.collect()
        };
        let rows = read().map_err(self.err())?;
        rows.into_iter()
            .map(
                |(history_id, record_id, run_id, origin, initial, changes, at)| {
                    Ok(EntityChange {
                        history_id,
                        record_id,
                        run_id,
                        origin,
                        initial,
                        at: time("history at", &at)?,
                        changes: crate::migrate::expand(
                            initial,
                            parse("history changes", &changes)?,
                        )?,
                    })
                },
            )
            .collect()
    }
}

impl crate::RunSteps for SqliteStore {
    fn record_steps(
        &mut self,
        tenant: &str,
        run: crate::RunId,
        steps: &[crate::StepOutcome],
    ) -> Result<()> {
        let steps = crate::migrate::json(&steps);
        self.write("record_steps", |c| {
            c.execute(
                "UPDATE runs SET steps = ?1 WHERE id = ?2 AND tenant = ?3",
                params![steps, run, tenant],
            )?;
            Ok(())
        })
    }

    fn steps_of(&mut self, tenant: &str, run: crate::RunId) -> Result<Vec<crate::StepOutcome>> {
        let steps: Option<Option<String>> = {
            let mut stmt = (self.conn)
                .prepare_cached("SELECT steps FROM runs WHERE id = ?1 AND tenant = ?2")
                .map_err(self.err())?;
            let mut rows = stmt.query(params![run, tenant]).map_err(self.err())?;
            match rows.next().map_err(self.err())? {
                Some(r) => Some(r.get(0).map_err(self.err())?),
                None => None,
            }
        };
        match steps.flatten() {
            Some(text) => parse("run steps", &text),
            None => Ok(Vec::new()),
        }
    }
}
