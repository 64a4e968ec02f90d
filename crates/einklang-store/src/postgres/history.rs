//! [`HistoryLog`] on PostgreSQL.

use super::PgStore;
use crate::{EntityChange, HistoryLog, Result};
use chrono::{DateTime, Utc};

impl HistoryLog for PgStore {
    fn changes_since(
        &mut self,
        tenant: &str,
        entity: &str,
        since: DateTime<Utc>,
        after: i64,
        limit: usize,
    ) -> Result<Vec<EntityChange>> {
        let rows = self.client.query(
            "SELECT h.id, h.record_id, h.run_id, h.origin, h.initial, h.changes, h.at
             FROM history h JOIN records r ON r.id = h.record_id
             WHERE h.tenant = $1 AND r.entity = $2 AND h.at >= $3 AND h.id > $4
             ORDER BY h.id LIMIT $5",
            &[&tenant, &entity, &since, &after, &(limit as i64)],
        )?;
        rows.iter()
            .map(|r| {
                Ok(EntityChange {
                    history_id: r.get(0),
                    record_id: r.get(1),
                    run_id: r.get(2),
                    origin: r.get(3),
                    initial: r.get(4),
                    at: r.get(6),
                    changes: crate::migrate::expand(r.get(4), r.get(5))?,
                })
            })
            .collect()
    }
}

impl crate::RunSteps for PgStore {
    fn record_steps(
        &mut self,
        tenant: &str,
        run: crate::RunId,
        steps: &[crate::StepOutcome],
    ) -> Result<()> {
        let steps = serde_json::to_value(steps).unwrap_or(serde_json::Value::Null);
        self.client.execute(
            "UPDATE runs SET steps = $1 WHERE id = $2 AND tenant = $3",
            &[&steps, &run, &tenant],
        )?;
        Ok(())
    }

    fn steps_of(&mut self, tenant: &str, run: crate::RunId) -> Result<Vec<crate::StepOutcome>> {
        let row = self.client.query_opt(
            "SELECT steps FROM runs WHERE id = $1 AND tenant = $2",
            &[&run, &tenant],
        )?;
        let steps: Option<serde_json::Value> = row.and_then(|r| r.get(0));
        match steps {
            Some(v) => serde_json::from_value(v).map_err(|e| crate::StoreError::Corrupt {
                what: "run steps".into(),
                message: e.to_string(),
            }),
            None => Ok(Vec::new()),
        }
    }
}
