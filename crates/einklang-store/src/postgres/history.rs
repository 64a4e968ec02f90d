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
