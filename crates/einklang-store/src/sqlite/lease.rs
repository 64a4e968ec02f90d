//! Leases on SQLite (see [`crate::lease`]): times are the process clock
//! as RFC 3339 text in one fixed format, so text order is time order.

use super::identity::Fail;
use super::read::time;
use super::SqliteStore;
use crate::lease::Leases;
use crate::lease::{expiry, hostname, Fence, LeaseRequest, LeaseRow, ABANDONED};
use crate::migrate::json;
use crate::{Result, RunId, StoreError};
use chrono::{DateTime, SecondsFormat, Utc};
use rusqlite::{params, Connection, TransactionBehavior};
use std::time::Duration;

fn text(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Micros, true)
}

const COLUMNS: &str = "name, holder, run_id, job, triggered_by, pid, host, acquired_at, expires_at";

fn rows(c: &Connection, sql: &str, args: &[&dyn rusqlite::ToSql]) -> Result<Vec<LeaseRow>> {
    let sqlite = |source| StoreError::Sqlite {
        path: String::new(),
        source,
    };
    let mut stmt = c.prepare_cached(sql).map_err(sqlite)?;
    let raw = stmt
        .query_map(args, |r| {
            Ok((
                (r.get::<_, String>(0)?, r.get::<_, String>(1)?),
                (r.get::<_, Option<i64>>(2)?, r.get::<_, String>(3)?),
                (r.get::<_, String>(4)?, r.get::<_, i64>(5)?),
                (r.get::<_, String>(6)?, r.get::<_, String>(7)?),
                r.get::<_, String>(8)?,
            ))
        })
        .map_err(sqlite)?
        .collect::<rusqlite::Result<Vec<_>>>()
        .map_err(sqlite)?;
    raw.into_iter()
        .map(
            |((name, holder), (run_id, job), (triggered_by, pid), (host, at), expires)| {
                Ok(LeaseRow {
                    name,
                    holder,
                    run_id,
                    job,
                    triggered_by,
                    pid: pid as u32,
                    host,
                    acquired_at: time("lease acquired_at", &at)?,
                    expires_at: time("lease expires_at", &expires)?,
                })
            },
        )
        .collect()
}

/// Take all of `req`'s leases in one immediate transaction, or none.
pub(super) fn acquire(
    conn: &mut Connection,
    tenant: &str,
    req: &LeaseRequest,
) -> std::result::Result<std::result::Result<(), LeaseRow>, Fail> {
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    let now = Utc::now();
    let host = hostname();
    let sql = format!("SELECT {COLUMNS} FROM leases WHERE tenant = ?1 AND name = ?2");
    let mut stale = Vec::new();
    for name in &req.names {
        for row in rows(&tx, &sql, &[&tenant, name]).map_err(Fail::Store)? {
            if !row.is_stale(now, &host) {
                return Ok(Err(row));
            }
            stale.push(row);
        }
    }
    for row in &stale {
        tx.execute(
            "DELETE FROM leases WHERE tenant = ?1 AND name = ?2",
            params![tenant, row.name],
        )?;
        if let Some(run) = row.run_id {
            abandon(&tx, tenant, run, &text(now))?;
        }
    }
    let (at, expires) = (text(now), text(expiry(now, req.ttl)));
    for name in &req.names {
        tx.execute(
            "INSERT INTO leases (tenant, name, holder, run_id, job, triggered_by, pid, host, acquired_at, expires_at)
             VALUES (?1, ?2, ?3, NULL, ?4, ?5, ?6, ?7, ?8, ?9)",
            params![tenant, name, req.holder, req.job, req.triggered_by, req.pid, req.host, at, expires],
        )?;
    }
    tx.commit()?;
    Ok(Ok(()))
}

fn abandon(c: &Connection, tenant: &str, run: RunId, now: &str) -> rusqlite::Result<usize> {
    c.execute(
        "UPDATE runs SET status = 'abandoned', errors = ?1, finished_at = ?2
         WHERE tenant = ?3 AND id = ?4 AND status = 'running'",
        params![json(&[ABANDONED]), now, tenant, run],
    )
}

pub(super) fn attach(
    c: &Connection,
    tenant: &str,
    holder: &str,
    run: RunId,
) -> rusqlite::Result<()> {
    c.execute(
        "UPDATE leases SET run_id = ?1 WHERE tenant = ?2 AND holder = ?3",
        params![run, tenant, holder],
    )?;
    Ok(())
}

pub(super) fn renew(
    c: &Connection,
    tenant: &str,
    holder: &str,
    ttl: Duration,
) -> rusqlite::Result<bool> {
    let now = Utc::now();
    let n = c.execute(
        "UPDATE leases SET expires_at = ?1 WHERE tenant = ?2 AND holder = ?3",
        params![text(expiry(now, ttl)), tenant, holder],
    )?;
    Ok(n > 0)
}

pub(super) fn release(c: &Connection, tenant: &str, holder: &str) -> rusqlite::Result<()> {
    c.execute(
        "DELETE FROM leases WHERE tenant = ?1 AND holder = ?2",
        params![tenant, holder],
    )?;
    Ok(())
}

pub(super) fn list(c: &Connection, tenant: &str) -> Result<Vec<LeaseRow>> {
    let sql = format!("SELECT {COLUMNS} FROM leases WHERE tenant = ?1 ORDER BY name");
    rows(c, &sql, &[&tenant])
}

/// Runs whose lease went stale, and runs `running` for longer than
/// `grace` with no live lease: abandoned.
pub(super) fn reap(c: &Connection, tenant: &str, grace: Duration) -> Result<Vec<RunId>> {
    let now = Utc::now();
    let host = hostname();
    let (live, stale): (Vec<LeaseRow>, Vec<LeaseRow>) = list(c, tenant)?
        .into_iter()
        .partition(|l| !l.is_stale(now, &host));
    let live: Vec<RunId> = live.into_iter().filter_map(|l| l.run_id).collect();
    let before = text(now - chrono::Duration::from_std(grace).unwrap_or_default());
    let sqlite = |source| StoreError::Sqlite {
        path: String::new(),
        source,
    };
    let mut stmt = c
        .prepare_cached(
            "SELECT id FROM runs WHERE tenant = ?1 AND status = 'running' AND started_at < ?2",
        )
        .map_err(sqlite)?;
    let mut dead: Vec<RunId> = stmt
        .query_map(params![tenant, before], |r| r.get(0))
        .map_err(sqlite)?
        .collect::<rusqlite::Result<_>>()
        .map_err(sqlite)?;
    dead.retain(|r| !live.contains(r));
    dead.extend(stale.iter().filter_map(|l| l.run_id));
    let mut out = Vec::new();
    for run in dead {
        if abandon(c, tenant, run, &text(now)).map_err(sqlite)? > 0 {
            out.push(run);
        }
    }
    out.sort_unstable();
    out.dedup();
    Ok(out)
}

/// Inside a write transaction: does the fence's holder still hold all of
/// its leases, unexpired?
pub(super) fn check_fence(c: &Connection, fence: &Fence) -> std::result::Result<(), Fail> {
    let held: i64 = c.query_row(
        "SELECT count(*) FROM leases WHERE holder = ?1 AND expires_at > ?2",
        params![fence.holder, text(Utc::now())],
        |r| r.get(0),
    )?;
    match held as usize >= fence.count {
        true => Ok(()),
        false => Err(Fail::Store(StoreError::LeaseLost)),
    }
}

impl Leases for SqliteStore {
    fn acquire_leases(
        &mut self,
        tenant: &str,
        request: &LeaseRequest,
    ) -> Result<std::result::Result<(), LeaseRow>> {
        let out = acquire(&mut self.conn, tenant, request);
        self.fail(out)
    }

    fn attach_run(&mut self, tenant: &str, holder: &str, run: RunId) -> Result<()> {
        attach(&self.conn, tenant, holder, run).map_err(self.err())
    }

    fn renew_leases(&mut self, tenant: &str, holder: &str, ttl: Duration) -> Result<bool> {
        renew(&self.conn, tenant, holder, ttl).map_err(self.err())
    }

    fn release_leases(&mut self, tenant: &str, holder: &str) -> Result<()> {
        release(&self.conn, tenant, holder).map_err(self.err())
    }

    fn leases(&mut self, tenant: &str) -> Result<Vec<LeaseRow>> {
        list(&self.conn, tenant).map_err(|e| self.located(e))
    }

    fn reap_abandoned(&mut self, tenant: &str, grace: Duration) -> Result<Vec<RunId>> {
        reap(&self.conn, tenant, grace).map_err(|e| self.located(e))
    }

    fn set_fence(&mut self, fence: Option<Fence>) {
        self.fence = fence;
    }

    fn reopen(&self) -> Result<Option<Box<dyn Leases>>> {
        if self.path.is_empty() || self.path == ":memory:" {
            return Ok(None);
        }
        let keeper = SqliteStore::open(&self.path)?;
        // a keeper must not sit out a long transaction of its own run (a
        // dry run holds the write lock to its end): it tries again soon
        keeper
            .conn
            .execute_batch("PRAGMA busy_timeout = 250;")
            .map_err(keeper.err())?;
        Ok(Some(Box::new(keeper)))
    }
}
