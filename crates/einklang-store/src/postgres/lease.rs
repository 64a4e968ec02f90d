//! Leases on PostgreSQL (see [`crate::lease`]): expiry by the server's
//! clock, so processes on several machines agree; acquisition serialised
//! by a table lock held for the acquiring transaction only.

use super::PgStore;
use crate::lease::{hostname, Fence, LeaseRequest, LeaseRow, Leases, ABANDONED};
use crate::{Result, RunId, StoreError};
use ::postgres::{Client, GenericClient, Row};
use chrono::{DateTime, Utc};
use std::time::Duration;

const COLUMNS: &str = "name, holder, run_id, job, triggered_by, pid, host, acquired_at, expires_at";

fn row(r: &Row) -> LeaseRow {
    LeaseRow {
        name: r.get(0),
        holder: r.get(1),
        run_id: r.get(2),
        job: r.get(3),
        triggered_by: r.get(4),
        pid: r.get::<_, i64>(5) as u32,
        host: r.get(6),
        acquired_at: r.get(7),
        expires_at: r.get(8),
    }
}

fn seconds(ttl: Duration) -> f64 {
    ttl.as_secs_f64()
}

fn server_now(c: &mut impl GenericClient) -> Result<DateTime<Utc>> {
    Ok(c.query_one("SELECT now()", &[])?.get(0))
}

fn abandon(c: &mut impl GenericClient, tenant: &str, run: RunId) -> Result<u64> {
    let errors = serde_json::json!([ABANDONED]);
    Ok(c.execute(
        "UPDATE runs SET status = 'abandoned', errors = $1, finished_at = now()
         WHERE tenant = $2 AND id = $3 AND status = 'running'",
        &[&errors, &tenant, &run],
    )?)
}

fn acquire(
    client: &mut Client,
    tenant: &str,
    req: &LeaseRequest,
) -> Result<std::result::Result<(), LeaseRow>> {
    let mut tx = client.transaction()?;
    tx.batch_execute("LOCK TABLE leases IN SHARE ROW EXCLUSIVE MODE")?;
    let now = server_now(&mut tx)?;
    let host = hostname();
    let sql = format!("SELECT {COLUMNS} FROM leases WHERE tenant = $1 AND name = ANY($2)");
    let held: Vec<LeaseRow> = tx
        .query(&sql, &[&tenant, &req.names])?
        .iter()
        .map(row)
        .collect();
    if let Some(live) = held.iter().find(|l| !l.is_stale(now, &host)) {
        return Ok(Err(live.clone()));
    }
    for stale in &held {
        tx.execute(
            "DELETE FROM leases WHERE tenant = $1 AND name = $2",
            &[&tenant, &stale.name],
        )?;
        if let Some(run) = stale.run_id {
            abandon(&mut tx, tenant, run)?;
        }
    }
    for name in &req.names {
        tx.execute(
            "INSERT INTO leases (tenant, name, holder, run_id, job, triggered_by, pid, host, expires_at)
             VALUES ($1, $2, $3, NULL, $4, $5, $6, $7, now() + make_interval(secs => $8))",
            &[&tenant, name, &req.holder, &req.job, &req.triggered_by, &i64::from(req.pid), &req.host, &seconds(req.ttl)],
        )?;
    }
    tx.commit()?;
    Ok(Ok(()))
}

fn reap(c: &mut Client, tenant: &str, grace: Duration) -> Result<Vec<RunId>> {
    let now = server_now(c)?;
    let host = hostname();
    let (live, stale): (Vec<LeaseRow>, Vec<LeaseRow>) = list(c, tenant)?
        .into_iter()
        .partition(|l| !l.is_stale(now, &host));
    let live: Vec<RunId> = live.into_iter().filter_map(|l| l.run_id).collect();
    let mut dead: Vec<RunId> = c
        .query(
            "SELECT id FROM runs WHERE tenant = $1 AND status = 'running'
               AND started_at < now() - make_interval(secs => $2)",
            &[&tenant, &seconds(grace)],
        )?
        .iter()
        .map(|r| r.get(0))
        .collect();
    dead.retain(|r| !live.contains(r));
    dead.extend(stale.iter().filter_map(|l| l.run_id));
    let mut out = Vec::new();
    for run in dead {
        if abandon(c, tenant, run)? > 0 {
            out.push(run);
        }
    }
    out.sort_unstable();
    out.dedup();
    Ok(out)
}

fn list(c: &mut Client, tenant: &str) -> Result<Vec<LeaseRow>> {
    let sql = format!("SELECT {COLUMNS} FROM leases WHERE tenant = $1 ORDER BY name");
    Ok(c.query(&sql, &[&tenant])?.iter().map(row).collect())
}

/// Inside a write transaction: does the fence's holder still hold all of
/// its leases, unexpired? The rows are locked until the transaction ends,
/// so no one can take them over meanwhile.
pub(super) fn check_fence(c: &mut Client, fence: &Fence) -> Result<()> {
    let held = c
        .query(
            "SELECT name FROM leases WHERE holder = $1 AND expires_at > clock_timestamp() FOR SHARE",
            &[&fence.holder],
        )?
        .len();
    match held >= fence.count {
        true => Ok(()),
        false => Err(StoreError::LeaseLost),
    }
}

impl Leases for PgStore {
    fn acquire_leases(
        &mut self,
        tenant: &str,
        request: &LeaseRequest,
    ) -> Result<std::result::Result<(), LeaseRow>> {
        acquire(&mut self.client, tenant, request)
    }

    fn attach_run(&mut self, tenant: &str, holder: &str, run: RunId) -> Result<()> {
        self.client.execute(
            "UPDATE leases SET run_id = $1 WHERE tenant = $2 AND holder = $3",
            &[&run, &tenant, &holder],
        )?;
        Ok(())
    }

    fn renew_leases(&mut self, tenant: &str, holder: &str, ttl: Duration) -> Result<bool> {
        let n = self.client.execute(
            // clock_timestamp(), not now(): inside a long transaction (a
            // refresh's swap renews from inside it) now() is its start, and
            // a keeper's renewal that waited for its row lock would renew
            // from the time it began waiting
            "UPDATE leases SET expires_at = clock_timestamp() + make_interval(secs => $1)
             WHERE tenant = $2 AND holder = $3",
            &[&seconds(ttl), &tenant, &holder],
        )?;
        Ok(n > 0)
    }

    fn release_leases(&mut self, tenant: &str, holder: &str) -> Result<()> {
        self.client.execute(
            "DELETE FROM leases WHERE tenant = $1 AND holder = $2",
            &[&tenant, &holder],
        )?;
        Ok(())
    }

    fn leases(&mut self, tenant: &str) -> Result<Vec<LeaseRow>> {
        list(&mut self.client, tenant)
    }

    fn reap_abandoned(&mut self, tenant: &str, grace: Duration) -> Result<Vec<RunId>> {
        reap(&mut self.client, tenant, grace)
    }

    fn set_fence(&mut self, fence: Option<Fence>) {
        self.fence = fence;
    }

    fn reopen(&self) -> Result<Option<Box<dyn Leases>>> {
        Ok(Some(Box::new(PgStore::connect(&self.url)?)))
    }
}
