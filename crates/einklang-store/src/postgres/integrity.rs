//! Integrity checks on PostgreSQL (see [`crate::integrity`]): the shared
//! queries on the store's client, repairs in its fenced transactions;
//! leases are judged by the server's clock, as when they are taken.

use super::PgStore;
use crate::integrity::{self, Backend, Check, Finding, Integrity, IntegrityOptions};
use crate::{Result, RunId};
use chrono::{DateTime, Utc};

impl Backend for PgStore {
    fn select_ids(&mut self, query: &str, tenant: &str) -> Result<Vec<i64>> {
        let rows = self.client.query(query, &[&tenant])?;
        Ok(rows.iter().map(|r| r.get(0)).collect())
    }

    fn execute_fenced(&mut self, statement: &str, tenant: &str) -> Result<u64> {
        self.in_tx(
            "repair_integrity",
            |c| Ok(c.execute(statement, &[&tenant])?),
        )
    }

    fn clock(&mut self) -> Result<DateTime<Utc>> {
        Ok(self.client.query_one("SELECT now()", &[])?.get(0))
    }

    fn held_since(&mut self, tenant: &str) -> Result<Option<DateTime<Utc>>> {
        let row = self.client.query_one(
            "SELECT MIN(updated_at) FROM outbox WHERE tenant = $1 AND state = 'unknown'",
            &[&tenant],
        )?;
        Ok(row.get(0))
    }
}

impl Integrity for PgStore {
    fn check_integrity(
        &mut self,
        tenant: &str,
        options: &IntegrityOptions,
    ) -> Result<Vec<Finding>> {
        integrity::check_all(self, tenant, options)
    }

    fn repair_integrity(
        &mut self,
        tenant: &str,
        run: RunId,
        check: Check,
        options: &IntegrityOptions,
    ) -> Result<u64> {
        integrity::repair(self, tenant, run, check, options)
    }
}
