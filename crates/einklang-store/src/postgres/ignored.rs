//! [`IgnoredFields`] on PostgreSQL.

use super::PgStore;
use crate::{IgnoredField, IgnoredFields, Result};

impl IgnoredFields for PgStore {
    fn ignored_fields(
        &mut self,
        tenant: &str,
        connector: &str,
        entity: &str,
    ) -> Result<Vec<IgnoredField>> {
        let rows = self.client.query(
            "SELECT field, example, to_char(noticed_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"')
             FROM ignored_fields WHERE tenant = $1 AND connector = $2 AND entity = $3 ORDER BY field",
            &[&tenant, &connector, &entity],
        )?;
        Ok(rows
            .iter()
            .map(|r| IgnoredField {
                connector: connector.to_string(),
                entity: entity.to_string(),
                field: r.get(0),
                example: r.get(1),
                noticed_at: r.get(2),
            })
            .collect())
    }

    fn note_ignored(&mut self, tenant: &str, f: &IgnoredField) -> Result<bool> {
        self.in_tx("note_ignored", |c| {
            let n = c.execute(
                "INSERT INTO ignored_fields (tenant, connector, entity, field, example)
                 VALUES ($1, $2, $3, $4, $5) ON CONFLICT DO NOTHING",
                &[&tenant, &f.connector, &f.entity, &f.field, &f.example],
            )?;
            Ok(n == 1)
        })
    }
}
