//! [`RunQueue`] and [`ApiTokens`] on PostgreSQL: a claim is one
//! `UPDATE … WHERE run_id = (SELECT … FOR UPDATE SKIP LOCKED LIMIT 1)`,
//! so workers of several processes never wait for each other and never
//! take the same run; times are the server's `now()`, so machines agree.

use super::PgStore;
use crate::queue::{add_targets, claimed, targets_json, Claimed, QueuedRun, RunQueue, Targets};
use crate::tokens::{role, stale_use, ApiTokens, TokenRow};
use crate::{NewRun, Result, RunId};
use chrono::{DateTime, Utc};
use std::time::Duration;

fn secs(d: Duration) -> f64 {
    d.as_secs_f64()
}

impl RunQueue for PgStore {
    fn enqueue(&mut self, tenant: &str, q: &QueuedRun) -> Result<Option<RunId>> {
        self.in_tx("enqueue", |c| {
            if let Some(key) = &q.dedupe_key {
                if !c
                    .query("SELECT 1 FROM run_queue WHERE dedupe_key = $1", &[key])?
                    .is_empty()
                {
                    return Ok(None);
                }
            }
            let id: i64 = c
                .query_one(
                    "INSERT INTO runs (tenant, job, source, triggered_by, status)
                     VALUES ($1, $2, $3, $4, 'queued') RETURNING id",
                    &[&tenant, &q.run.job, &q.run.source.as_str(), &q.run.triggered_by],
                )?
                .get(0);
            let targets: Option<serde_json::Value> = targets_json(&q.targets)
                .map(|t| serde_json::from_str(&t).expect("JSON just written"));
            // a concurrent enqueue of the same key loses here, not above
            let n = c.execute(
                "INSERT INTO run_queue (run_id, tenant, job, targets, dedupe_key, scheduled_for, state,
                     thorough, approves)
                 VALUES ($1, $2, $3, $4, $5, $6, 'queued', $7, $8) ON CONFLICT (dedupe_key) DO NOTHING",
                &[&id, &tenant, &q.run.job, &targets, &q.dedupe_key, &q.scheduled_for, &q.thorough, &q.approves],
            )?;
            if n == 0 {
                c.execute("DELETE FROM runs WHERE id = $1", &[&id])?;
                return Ok(None);
            }
            Ok(Some(id))
        })
    }

    fn enqueue_webhook(
        &mut self,
        tenant: &str,
        run: &NewRun,
        connector: &str,
        ids: &[String],
        window: Duration,
    ) -> Result<RunId> {
        self.in_tx("enqueue_webhook", |c| {
            // one webhook run per job takes calls at a time: the job's
            // waiting run is locked while the ids are added
            let waiting = c.query(
                "SELECT q.run_id, q.targets::text FROM run_queue q JOIN runs r ON r.id = q.run_id
                 WHERE q.tenant = $1 AND q.job = $2 AND q.state = 'queued'
                   AND r.source = 'webhook'
                 ORDER BY q.run_id DESC LIMIT 1 FOR UPDATE OF q",
                &[&tenant, &run.job],
            )?;
            let json = |t: &Option<Targets>| -> Option<serde_json::Value> {
                targets_json(t).map(|t| serde_json::from_str(&t).expect("JSON just written"))
            };
            if let Some(row) = waiting.first() {
                let id: i64 = row.get(0);
                let stored: Option<String> = row.get(1);
                let held: Option<Targets> = stored
                    .map(|t| crate::migrate::parse("run_queue targets", &t))
                    .transpose()?;
                let merged = add_targets(held, connector, ids);
                c.execute(
                    "UPDATE run_queue SET targets = $1 WHERE run_id = $2",
                    &[&json(&merged), &id],
                )?;
                return Ok(id);
            }
            let id: i64 = c
                .query_one(
                    "INSERT INTO runs (tenant, job, source, triggered_by, status)
                     VALUES ($1, $2, $3, $4, 'queued') RETURNING id",
                    &[&tenant, &run.job, &run.source.as_str(), &run.triggered_by],
                )?
                .get(0);
            let targets = add_targets(Some(Targets::new()), connector, ids);
            c.execute(
                // the first call of a burst runs at once, the rest of the
                // window's calls make one more run when the window closes
                "INSERT INTO run_queue (run_id, tenant, job, targets, state, not_before)
                 SELECT $1, $2, $3, $4, 'queued', coalesce(
                     (SELECT max(q.created_at) FROM run_queue q JOIN runs r ON r.id = q.run_id
                      WHERE q.tenant = $2 AND q.job = $3 AND r.source = 'webhook'
                        AND q.created_at > now() - make_interval(secs => $5))
                     + make_interval(secs => $5), now())",
                &[&id, &tenant, &run.job, &json(&targets), &secs(window)],
            )?;
            Ok(id)
        })
    }

    fn claim(&mut self, tenant: &str, worker: &str, ttl: Duration) -> Result<Option<Claimed>> {
        let rows = self.client.query(
            "UPDATE run_queue q SET state = 'claimed', claimed_by = $2,
                 claim_expires_at = now() + make_interval(secs => $3), attempts = attempts + 1
             FROM runs r
             WHERE r.id = q.run_id AND q.run_id = (
                 SELECT run_id FROM run_queue
                 WHERE tenant = $1 AND ((state = 'queued' AND not_before <= now())
                    OR (state = 'claimed' AND claim_expires_at < now()))
                 ORDER BY run_id LIMIT 1 FOR UPDATE SKIP LOCKED)
             RETURNING q.run_id, q.job, q.targets::text, r.source, r.triggered_by, q.attempts,
                 q.thorough, q.approves",
            &[&tenant, &worker, &secs(ttl)],
        )?;
        let Some(r) = rows.first() else {
            return Ok(None);
        };
        let attempts: i32 = r.get(5);
        let targets: Option<String> = r.get(2);
        let source: String = r.get(3);
        claimed(
            r.get(0),
            r.get(1),
            targets.as_deref(),
            &source,
            r.get(4),
            (attempts as u32, r.get(6), r.get(7)),
        )
        .map(Some)
    }

    fn claimers(&mut self, tenant: &str) -> Result<Vec<String>> {
        Ok(self
            .client
            .query(
                "SELECT DISTINCT claimed_by FROM run_queue WHERE tenant = $1 AND state = 'claimed'",
                &[&tenant],
            )?
            .iter()
            .map(|r| r.get(0))
            .collect())
    }

    fn release_claims(&mut self, tenant: &str, worker: &str) -> Result<u64> {
        Ok(self.client.execute(
            "UPDATE run_queue SET state = 'queued', claimed_by = NULL, claim_expires_at = NULL
             WHERE tenant = $1 AND claimed_by = $2 AND state = 'claimed'",
            &[&tenant, &worker],
        )?)
    }

    fn begin_queued(&mut self, tenant: &str, run: RunId) -> Result<()> {
        self.in_tx("begin_queued", |c| {
            c.execute(
                "UPDATE runs SET status = 'running', started_at = now(), finished_at = NULL,
                     counters = '{}', errors = '[]' WHERE tenant = $1 AND id = $2",
                &[&tenant, &run],
            )?;
            Ok(())
        })
    }

    fn heartbeat(&mut self, tenant: &str, worker: &str, ttl: Duration) -> Result<bool> {
        let n = self.client.execute(
            "UPDATE run_queue SET claim_expires_at = now() + make_interval(secs => $3)
             WHERE tenant = $1 AND claimed_by = $2 AND state = 'claimed'",
            &[&tenant, &worker, &secs(ttl)],
        )?;
        Ok(n > 0)
    }

    fn postpone(&mut self, tenant: &str, run: RunId, worker: &str, delay: Duration) -> Result<()> {
        self.client.execute(
            "UPDATE run_queue SET state = 'queued', claimed_by = NULL, claim_expires_at = NULL,
                 not_before = now() + make_interval(secs => $4)
             WHERE tenant = $1 AND run_id = $2 AND claimed_by = $3",
            &[&tenant, &run, &worker, &secs(delay)],
        )?;
        Ok(())
    }

    fn complete(&mut self, tenant: &str, run: RunId, worker: &str) -> Result<()> {
        self.client.execute(
            "UPDATE run_queue SET state = 'done', claim_expires_at = NULL
             WHERE tenant = $1 AND run_id = $2 AND claimed_by = $3",
            &[&tenant, &run, &worker],
        )?;
        Ok(())
    }

    fn queue_depth(&mut self, tenant: &str) -> Result<u64> {
        let n: i64 = self
            .client
            .query_one(
                "SELECT count(*) FROM run_queue WHERE tenant = $1 AND state <> 'done'",
                &[&tenant],
            )?
            .get(0);
        Ok(n as u64)
    }

    fn last_tick(&mut self, tenant: &str, job: &str) -> Result<Option<DateTime<Utc>>> {
        Ok(self
            .client
            .query_one(
                "SELECT max(scheduled_for) FROM run_queue WHERE tenant = $1 AND job = $2",
                &[&tenant, &job],
            )?
            .get(0))
    }

    fn waiting(&mut self, tenant: &str, job: &str) -> Result<bool> {
        Ok(self
            .client
            .query_one(
                "SELECT EXISTS (SELECT 1 FROM run_queue
                 WHERE tenant = $1 AND job = $2 AND state = 'queued')",
                &[&tenant, &job],
            )?
            .get(0))
    }

    fn last_thorough(&mut self, tenant: &str, job: &str) -> Result<Option<DateTime<Utc>>> {
        Ok(self
            .client
            .query_one(
                "SELECT max(created_at) FROM run_queue
                 WHERE tenant = $1 AND job = $2 AND thorough",
                &[&tenant, &job],
            )?
            .get(0))
    }
}

const TOKEN_COLUMNS: &str = "name, tenant, role, created_at, last_used_at, revoked_at";

fn token(r: &postgres::Row) -> Result<TokenRow> {
    let name: String = r.get(0);
    let stored: String = r.get(2);
    Ok(TokenRow {
        role: role(&name, &stored)?,
        tenant: r.get(1),
        created_at: r.get(3),
        last_used_at: r.get(4),
        revoked_at: r.get(5),
        name,
    })
}

impl ApiTokens for PgStore {
    fn add_token(
        &mut self,
        tenant: &str,
        name: &str,
        role: crate::Role,
        hash: &str,
    ) -> Result<bool> {
        let n = self.client.execute(
            "INSERT INTO api_tokens (tenant, name, role, hash) VALUES ($1, $2, $3, $4)
             ON CONFLICT DO NOTHING",
            &[&tenant, &name, &role.as_str(), &hash],
        )?;
        Ok(n == 1)
    }

    fn tokens(&mut self, tenant: &str) -> Result<Vec<TokenRow>> {
        let sql =
            format!("SELECT {TOKEN_COLUMNS} FROM api_tokens WHERE tenant = $1 ORDER BY name, id");
        self.client
            .query(&sql, &[&tenant])?
            .iter()
            .map(token)
            .collect()
    }

    fn revoke_token(&mut self, tenant: &str, name: &str) -> Result<bool> {
        let n = self.client.execute(
            "UPDATE api_tokens SET revoked_at = now()
             WHERE tenant = $1 AND name = $2 AND revoked_at IS NULL",
            &[&tenant, &name],
        )?;
        Ok(n > 0)
    }

    fn token_by_hash(&mut self, hash: &str) -> Result<Option<TokenRow>> {
        let sql = format!(
            "SELECT {TOKEN_COLUMNS} FROM api_tokens WHERE hash = $1 AND revoked_at IS NULL"
        );
        let Some(row) = self
            .client
            .query(&sql, &[&hash])?
            .first()
            .map(token)
            .transpose()?
        else {
            return Ok(None);
        };
        if stale_use(row.last_used_at) {
            self.client.execute(
                "UPDATE api_tokens SET last_used_at = now() WHERE hash = $1",
                &[&hash],
            )?;
        }
        Ok(Some(row))
    }
}
