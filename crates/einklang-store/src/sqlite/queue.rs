//! [`RunQueue`] and [`ApiTokens`] on SQLite: one writer at a time, so a
//! claim is a select and an update in one immediate transaction. Times
//! are RFC 3339 text of one fixed format (text order is time order).

use super::read::time;
use super::SqliteStore;
use crate::queue::{add_targets, claimed, targets_json, Claimed, QueuedRun, RunQueue, Targets};
use crate::tokens::{role, stale_use, ApiTokens, Role, TokenRow};
use crate::{migrate, NewRun, Result, RunId};
use chrono::{DateTime, SecondsFormat, Utc};
use rusqlite::{params, OptionalExtension};
use std::time::Duration;

fn text(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Micros, true)
}

fn later(ttl: Duration) -> String {
    text(crate::lease::expiry(Utc::now(), ttl))
}

impl RunQueue for SqliteStore {
    fn enqueue(&mut self, tenant: &str, q: &QueuedRun) -> Result<Option<RunId>> {
        self.write("enqueue", |c| {
            if let Some(key) = &q.dedupe_key {
                let taken: Option<i64> = c
                    .query_row(
                        "SELECT run_id FROM run_queue WHERE dedupe_key = ?1",
                        [key],
                        |r| r.get(0),
                    )
                    .optional()?;
                if taken.is_some() {
                    return Ok(None);
                }
            }
            let now = text(Utc::now());
            c.execute(
                "INSERT INTO runs (tenant, job, source, triggered_by, status, started_at)
                 VALUES (?1, ?2, ?3, ?4, 'queued', ?5)",
                params![
                    tenant,
                    q.run.job,
                    q.run.source.as_str(),
                    q.run.triggered_by,
                    now
                ],
            )?;
            let id = c.last_insert_rowid();
            c.execute(
                "INSERT INTO run_queue (run_id, tenant, job, targets, dedupe_key, scheduled_for,
                     state, not_before, created_at, thorough, approves)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, 'queued', ?7, ?7, ?8, ?9)",
                params![
                    id,
                    tenant,
                    q.run.job,
                    targets_json(&q.targets),
                    q.dedupe_key,
                    q.scheduled_for.map(text),
                    now,
                    q.thorough,
                    q.approves
                ],
            )?;
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
        self.write("enqueue_webhook", |c| {
            let now = text(Utc::now());
            let waiting: Option<(i64, Option<String>)> = c
                .query_row(
                    "SELECT q.run_id, q.targets FROM run_queue q JOIN runs r ON r.id = q.run_id
                     WHERE q.tenant = ?1 AND q.job = ?2 AND q.state = 'queued'
                       AND r.source = 'webhook'
                     ORDER BY q.run_id DESC LIMIT 1",
                    params![tenant, run.job],
                    |r| Ok((r.get(0)?, r.get(1)?)),
                )
                .optional()?;
            if let Some((id, stored)) = waiting {
                let held: Option<Targets> = match &stored {
                    Some(t) => Some(
                        migrate::parse("run_queue targets", t)
                            .map_err(super::identity::Fail::Store)?,
                    ),
                    None => None,
                };
                let merged = add_targets(held, connector, ids);
                c.execute(
                    "UPDATE run_queue SET targets = ?1 WHERE run_id = ?2",
                    params![targets_json(&merged), id],
                )?;
                return Ok(id);
            }
            // the first call of a burst runs at once, the rest of the
            // window's calls make one more run when the window closes
            let since = text(Utc::now() - chrono::Duration::from_std(window).unwrap_or_default());
            let recent: Option<String> = c.query_row(
                "SELECT max(q.created_at) FROM run_queue q JOIN runs r ON r.id = q.run_id
                 WHERE q.tenant = ?1 AND q.job = ?2 AND r.source = 'webhook' AND q.created_at > ?3",
                params![tenant, run.job, since],
                |r| r.get(0),
            )?;
            let not_before = match recent {
                Some(t) => text(
                    time("run_queue created_at", &t).map_err(super::identity::Fail::Store)?
                        + chrono::Duration::from_std(window).unwrap_or_default(),
                ),
                None => now.clone(),
            };
            c.execute(
                "INSERT INTO runs (tenant, job, source, triggered_by, status, started_at)
                 VALUES (?1, ?2, ?3, ?4, 'queued', ?5)",
                params![tenant, run.job, run.source.as_str(), run.triggered_by, now],
            )?;
            let id = c.last_insert_rowid();
            let targets = add_targets(Some(Targets::new()), connector, ids);
            c.execute(
                "INSERT INTO run_queue (run_id, tenant, job, targets, state, not_before, created_at)
                 VALUES (?1, ?2, ?3, ?4, 'queued', ?5, ?6)",
                params![id, tenant, run.job, targets_json(&targets), not_before, now],
            )?;
            Ok(id)
        })
    }

    fn claim(&mut self, tenant: &str, worker: &str, ttl: Duration) -> Result<Option<Claimed>> {
        let row = self.write("claim", |c| {
            let now = text(Utc::now());
            let row = c
                .query_row(
                    "SELECT q.run_id, q.job, q.targets, r.source, r.triggered_by, q.attempts,
                         q.thorough, q.approves
                     FROM run_queue q JOIN runs r ON r.id = q.run_id
                     WHERE q.tenant = ?1 AND ((q.state = 'queued' AND q.not_before <= ?2)
                        OR (q.state = 'claimed' AND q.claim_expires_at < ?2))
                     ORDER BY q.run_id LIMIT 1",
                    params![tenant, now],
                    |r| {
                        Ok((
                            r.get::<_, i64>(0)?,
                            r.get::<_, String>(1)?,
                            r.get::<_, Option<String>>(2)?,
                            r.get::<_, String>(3)?,
                            r.get::<_, String>(4)?,
                            (
                                r.get::<_, u32>(5)?,
                                r.get::<_, bool>(6)?,
                                r.get::<_, Option<i64>>(7)?,
                            ),
                        ))
                    },
                )
                .optional()?;
            if let Some((id, ..)) = &row {
                c.execute(
                    "UPDATE run_queue SET state = 'claimed', claimed_by = ?1, claim_expires_at = ?2,
                         attempts = attempts + 1 WHERE run_id = ?3",
                    params![worker, later(ttl), id],
                )?;
            }
            Ok(row)
        })?;
        row.map(
            |(run_id, job, targets, source, by, (attempts, thorough, approves))| {
                claimed(
                    run_id,
                    job,
                    targets.as_deref(),
                    &source,
                    by,
                    (attempts + 1, thorough, approves),
                )
            },
        )
        .transpose()
    }

    fn claimers(&mut self, tenant: &str) -> Result<Vec<String>> {
        let rows = self
            .conn
            .prepare_cached(
                "SELECT DISTINCT claimed_by FROM run_queue WHERE tenant = ?1 AND state = 'claimed'",
            )
            .and_then(|mut st| {
                st.query_map([tenant], |r| r.get(0))?
                    .collect::<rusqlite::Result<Vec<String>>>()
            })
            .map_err(self.err())?;
        Ok(rows)
    }

    fn release_claims(&mut self, tenant: &str, worker: &str) -> Result<u64> {
        self.write("release_claims", |c| {
            let n = c.execute(
                "UPDATE run_queue SET state = 'queued', claimed_by = NULL, claim_expires_at = NULL
                 WHERE tenant = ?1 AND claimed_by = ?2 AND state = 'claimed'",
                params![tenant, worker],
            )?;
            Ok(n as u64)
        })
    }

    fn begin_queued(&mut self, tenant: &str, run: RunId) -> Result<()> {
        self.write("begin_queued", |c| {
            c.execute(
                "UPDATE runs SET status = 'running', started_at = ?1, finished_at = NULL,
                     counters = '{}', errors = '[]' WHERE tenant = ?2 AND id = ?3",
                params![text(Utc::now()), tenant, run],
            )?;
            Ok(())
        })
    }

    fn heartbeat(&mut self, tenant: &str, worker: &str, ttl: Duration) -> Result<bool> {
        self.write("heartbeat", |c| {
            let n = c.execute(
                "UPDATE run_queue SET claim_expires_at = ?1
                 WHERE tenant = ?2 AND claimed_by = ?3 AND state = 'claimed'",
                params![later(ttl), tenant, worker],
            )?;
            Ok(n > 0)
        })
    }

    fn postpone(&mut self, tenant: &str, run: RunId, worker: &str, delay: Duration) -> Result<()> {
        self.write("postpone", |c| {
            c.execute(
                "UPDATE run_queue SET state = 'queued', claimed_by = NULL, claim_expires_at = NULL,
                     not_before = ?1 WHERE tenant = ?2 AND run_id = ?3 AND claimed_by = ?4",
                params![later(delay), tenant, run, worker],
            )?;
            Ok(())
        })
    }

    fn complete(&mut self, tenant: &str, run: RunId, worker: &str) -> Result<()> {
        self.write("complete", |c| {
            c.execute(
                "UPDATE run_queue SET state = 'done', claim_expires_at = NULL
                 WHERE tenant = ?1 AND run_id = ?2 AND claimed_by = ?3",
                params![tenant, run, worker],
            )?;
            Ok(())
        })
    }

    fn queue_depth(&mut self, tenant: &str) -> Result<u64> {
        let n: i64 = self
            .conn
            .query_row(
                "SELECT count(*) FROM run_queue WHERE tenant = ?1 AND state <> 'done'",
                [tenant],
                |r| r.get(0),
            )
            .map_err(self.err())?;
        Ok(n as u64)
    }

    fn last_tick(&mut self, tenant: &str, job: &str) -> Result<Option<DateTime<Utc>>> {
        let t: Option<String> = self
            .conn
            .query_row(
                "SELECT max(scheduled_for) FROM run_queue WHERE tenant = ?1 AND job = ?2",
                params![tenant, job],
                |r| r.get(0),
            )
            .map_err(self.err())?;
        t.map(|t| time("run_queue scheduled_for", &t)).transpose()
    }

    fn waiting(&mut self, tenant: &str, job: &str) -> Result<bool> {
        self.conn
            .query_row(
                "SELECT EXISTS (SELECT 1 FROM run_queue
                 WHERE tenant = ?1 AND job = ?2 AND state = 'queued')",
                params![tenant, job],
                |r| r.get(0),
            )
            .map_err(self.err())
    }

    fn last_thorough(&mut self, tenant: &str, job: &str) -> Result<Option<DateTime<Utc>>> {
        let t: Option<String> = self
            .conn
            .query_row(
                "SELECT max(created_at) FROM run_queue
                 WHERE tenant = ?1 AND job = ?2 AND thorough = 1",
                params![tenant, job],
                |r| r.get(0),
            )
            .map_err(self.err())?;
        t.map(|t| time("run_queue created_at", &t)).transpose()
    }
}

const TOKEN_COLUMNS: &str = "name, tenant, role, created_at, last_used_at, revoked_at";

fn token_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<[Option<String>; 6]> {
    Ok([
        r.get(0)?,
        r.get(1)?,
        r.get(2)?,
        r.get(3)?,
        r.get(4)?,
        r.get(5)?,
    ])
}

fn token(raw: [Option<String>; 6]) -> Result<TokenRow> {
    let [name, tenant, role_name, created, used, revoked] = raw;
    let (name, tenant) = (name.unwrap_or_default(), tenant.unwrap_or_default());
    let at = |what: &str, t: Option<String>| t.map(|t| time(what, &t)).transpose();
    Ok(TokenRow {
        role: role(&name, role_name.as_deref().unwrap_or_default())?,
        created_at: time("token created_at", created.as_deref().unwrap_or_default())?,
        last_used_at: at("token last_used_at", used)?,
        revoked_at: at("token revoked_at", revoked)?,
        name,
        tenant,
    })
}

impl ApiTokens for SqliteStore {
    fn add_token(&mut self, tenant: &str, name: &str, role: Role, hash: &str) -> Result<bool> {
        self.write("add_token", |c| {
            let n = c.execute(
                "INSERT INTO api_tokens (tenant, name, role, hash, created_at)
                 VALUES (?1, ?2, ?3, ?4, ?5) ON CONFLICT DO NOTHING",
                params![tenant, name, role.as_str(), hash, text(Utc::now())],
            )?;
            Ok(n == 1)
        })
    }

    fn tokens(&mut self, tenant: &str) -> Result<Vec<TokenRow>> {
        let sql =
            format!("SELECT {TOKEN_COLUMNS} FROM api_tokens WHERE tenant = ?1 ORDER BY name, id");
        let raw = self
            .conn
            .prepare(&sql)
            .and_then(|mut st| {
                st.query_map([tenant], token_row)?
                    .collect::<rusqlite::Result<Vec<_>>>()
            })
            .map_err(self.err())?;
        raw.into_iter().map(token).collect()
    }

    fn revoke_token(&mut self, tenant: &str, name: &str) -> Result<bool> {
        self.write("revoke_token", |c| {
            let n = c.execute(
                "UPDATE api_tokens SET revoked_at = ?1
                 WHERE tenant = ?2 AND name = ?3 AND revoked_at IS NULL",
                params![text(Utc::now()), tenant, name],
            )?;
            Ok(n > 0)
        })
    }

    fn token_by_hash(&mut self, hash: &str) -> Result<Option<TokenRow>> {
        let sql = format!(
            "SELECT {TOKEN_COLUMNS} FROM api_tokens WHERE hash = ?1 AND revoked_at IS NULL"
        );
        let raw = self
            .conn
            .query_row(&sql, [hash], token_row)
            .optional()
            .map_err(self.err())?;
        let Some(row) = raw.map(token).transpose()? else {
            return Ok(None);
        };
        if stale_use(row.last_used_at) {
            self.write("token_used", |c| {
                c.execute(
                    "UPDATE api_tokens SET last_used_at = ?1 WHERE hash = ?2",
                    params![text(Utc::now()), hash],
                )?;
                Ok(())
            })?;
        }
        Ok(Some(row))
    }
}
