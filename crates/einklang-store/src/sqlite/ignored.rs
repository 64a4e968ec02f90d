//! [`IgnoredFields`] on SQLite.

use super::SqliteStore;
use crate::{IgnoredField, IgnoredFields, Result};
use rusqlite::params;

impl IgnoredFields for SqliteStore {
    fn ignored_fields(
        &mut self,
        tenant: &str,
        connector: &str,
        entity: &str,
    ) -> Result<Vec<IgnoredField>> {
        let rows = self
            .conn
            .prepare_cached(
                "SELECT field, example, noticed_at FROM ignored_fields
                 WHERE tenant = ?1 AND connector = ?2 AND entity = ?3 ORDER BY field",
            )
            .and_then(|mut st| {
                st.query_map(params![tenant, connector, entity], |r| {
                    Ok(IgnoredField {
                        connector: connector.to_string(),
                        entity: entity.to_string(),
                        field: r.get(0)?,
                        example: r.get(1)?,
                        noticed_at: r.get(2)?,
                    })
                })?
                .collect::<rusqlite::Result<Vec<_>>>()
            })
            .map_err(self.err())?;
        Ok(rows)
    }

    fn note_ignored(&mut self, tenant: &str, f: &IgnoredField) -> Result<bool> {
        self.write("note_ignored", |c| {
            let n = c.execute(
                "INSERT INTO ignored_fields (tenant, connector, entity, field, example, noticed_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6) ON CONFLICT DO NOTHING",
                params![
                    tenant,
                    f.connector,
                    f.entity,
                    f.field,
                    f.example,
                    f.noticed_at
                ],
            )?;
            Ok(n == 1)
        })
    }
}
