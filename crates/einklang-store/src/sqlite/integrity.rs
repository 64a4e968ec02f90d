//! Integrity checks on SQLite (see [`crate::integrity`]): the shared
//! queries run on the store's connection, repairs in its fenced write
//! transactions; the clock is the process's, as for leases.

use super::read::time;
use super::SqliteStore;
use crate::integrity::{self, Backend, Check, Finding, Integrity, IntegrityOptions};
use crate::{Result, RunId};
use chrono::{DateTime, Utc};
use rusqlite::params;

impl Backend for SqliteStore {
    fn select_ids(&mut self, query: &str, tenant: &str) -> Result<Vec<i64>> {
        let mut stmt = self.conn.prepare(query).map_err(self.err())?;
        let rows = stmt
            .query_map(params![tenant], |r| r.get(0))
            .map_err(self.err())?;
        rows.collect::<rusqlite::Result<_>>().map_err(self.err())
    }

    fn execute_fenced(&mut self, statement: &str, tenant: &str) -> Result<u64> {
        self.write("repair_integrity", |c| {
            Ok(c.execute(statement, params![tenant])? as u64)
        })
    }

    fn clock(&mut self) -> Result<DateTime<Utc>> {
        Ok(Utc::now())
    }

    fn held_since(&mut self, tenant: &str) -> Result<Option<DateTime<Utc>>> {
        let oldest: Option<String> = self
            .conn
            .query_row(
                "SELECT MIN(updated_at) FROM outbox WHERE tenant = ?1 AND state = 'unknown'",
                params![tenant],
                |r| r.get(0),
            )
            .map_err(self.err())?;
        oldest.map(|t| time("outbox updated_at", &t)).transpose()
    }
}

impl Integrity for SqliteStore {
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
