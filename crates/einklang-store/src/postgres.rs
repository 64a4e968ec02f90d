//! PostgreSQL implementation of [`crate::HubStore`], for when the business
//! outgrows one machine.
//!
//! Values are JSONB, times TIMESTAMPTZ. Creates of a batch go in with three
//! `COPY ... FROM STDIN` streams (records, links, history) after reserving
//! the batch's record ids from the sequence in one query; updates are
//! prepared statements; lookups use `= ANY($1)`. Each `apply` batch is one
//! transaction. Reads for the CLI live in [`read`].

mod copy;
mod read;

use crate::migrate::{self, json, MIGRATIONS};
use crate::model::*;
use crate::{HubStore, Result, StoreError};
use ::postgres::{Client, NoTls};
use serde_json::Value;
use std::collections::HashMap;

/// The PostgreSQL hub store.
pub struct PgStore {
    client: Client,
}

impl PgStore {
    /// Connect to `url`.
    pub fn connect(url: &str) -> Result<Self> {
        let client = Client::connect(url, NoTls)?;
        Ok(Self { client })
    }
}

impl HubStore for PgStore {
    fn migrate(&mut self) -> Result<()> {
        self.client.batch_execute(migrate::BOOKKEEPING)?;
        let mut tx = self.client.transaction()?;
        // One migrator at a time across processes.
        tx.execute("SELECT pg_advisory_xact_lock(7242591)", &[])?;
        let applied: Vec<(i64, i64)> = tx
            .query(
                "SELECT version, checksum FROM schema_migrations ORDER BY version",
                &[],
            )?
            .iter()
            .map(|r| (r.get(0), r.get(1)))
            .collect();
        for (version, sum) in &applied {
            migrate::verify(*version, *sum, |m| m.postgres)?;
        }
        for m in MIGRATIONS
            .iter()
            .filter(|m| !applied.iter().any(|(v, _)| *v == m.version))
        {
            tx.batch_execute(m.postgres)
                .map_err(|e| StoreError::Migration {
                    version: m.version,
                    name: m.name.into(),
                    message: e.to_string(),
                })?;
            tx.execute(
                "INSERT INTO schema_migrations (version, name, checksum, applied_at) VALUES ($1, $2, $3, now()::text)",
                &[&m.version, &m.name, &migrate::checksum(m.postgres)],
            )?;
        }
        tx.commit()?;
        Ok(())
    }

    fn start_run(&mut self, tenant: &str, run: &NewRun) -> Result<RunId> {
        let row = self.client.query_one(
            "INSERT INTO runs (tenant, job, source, triggered_by, status) VALUES ($1, $2, $3, $4, 'running') RETURNING id",
            &[&tenant, &run.job, &run.source.as_str(), &run.triggered_by],
        )?;
        Ok(row.get(0))
    }

    fn finish_run(&mut self, tenant: &str, run: RunId, outcome: &RunOutcome) -> Result<()> {
        let counters = serde_json::to_value(&outcome.counters).unwrap_or(Value::Null);
        let errors = serde_json::to_value(&outcome.errors).unwrap_or(Value::Null);
        self.client.execute(
            "UPDATE runs SET status = $1, counters = $2, errors = $3, finished_at = now() WHERE id = $4 AND tenant = $5",
            &[&outcome.status.as_str(), &counters, &errors, &run, &tenant],
        )?;
        Ok(())
    }

    fn find_links(
        &mut self,
        tenant: &str,
        connector: &str,
        entity: &str,
        external_ids: &[&str],
    ) -> Result<Vec<Option<LinkKey>>> {
        let rows = self.client.query(
            "SELECT external_id, id, record_id, content_hash, version FROM links
             WHERE tenant = $1 AND connector = $2 AND entity = $3 AND external_id = ANY($4)",
            &[&tenant, &connector, &entity, &external_ids],
        )?;
        let mut found: HashMap<String, LinkKey> = HashMap::with_capacity(rows.len());
        for r in rows {
            let hash: Vec<u8> = r.get(3);
            found.insert(
                r.get(0),
                LinkKey {
                    link_id: r.get(1),
                    record_id: r.get(2),
                    content_hash: crate::sqlite::hash_of(&hash),
                    version: r.get(4),
                },
            );
        }
        Ok(external_ids
            .iter()
            .map(|id| found.get(*id).cloned())
            .collect())
    }

    fn load_for_update(
        &mut self,
        tenant: &str,
        links: &[LinkKey],
    ) -> Result<Vec<Option<LinkedRecord>>> {
        let ids: Vec<i64> = links.iter().map(|k| k.link_id).collect();
        let rows = self.client.query(
            "SELECT l.id, r.entity, r.vals, l.base FROM links l JOIN records r ON r.id = l.record_id
             WHERE l.id = ANY($1) AND l.tenant = $2",
            &[&ids, &tenant],
        )?;
        let mut found: HashMap<i64, (String, Value, Value)> = HashMap::with_capacity(rows.len());
        for r in rows {
            found.insert(r.get(0), (r.get(1), r.get(2), r.get(3)));
        }
        links
            .iter()
            .map(|key| match found.remove(&key.link_id) {
                None => Ok(None),
                Some((entity, vals, base)) => Ok(Some(LinkedRecord {
                    key: key.clone(),
                    entity,
                    values: read::fields("record values", vals)?,
                    base: read::fields("link base", base)?,
                })),
            })
            .collect()
    }

    fn apply(&mut self, tenant: &str, run: RunId, changes: &[Change]) -> Result<Vec<RecordId>> {
        let mut tx = self.client.transaction()?;
        let creates = changes
            .iter()
            .filter(|c| matches!(c, Change::Create { .. }))
            .count() as i64;
        let mut new_ids = copy::reserve_ids(&mut tx, creates)?.into_iter();
        let mut ids = Vec::with_capacity(changes.len());
        let mut batch = copy::Batch::default();
        for c in changes {
            match c {
                Change::Create {
                    entity,
                    values,
                    link,
                    history,
                } => {
                    let id = new_ids.next().ok_or_else(|| StoreError::Corrupt {
                        what: "records_id_seq".into(),
                        message: "returned fewer ids than asked for".into(),
                    })?;
                    batch.create(tenant, run, id, entity, values, link, history);
                    ids.push(id);
                }
                Change::Update {
                    record_id,
                    link_id,
                    values,
                    link,
                    history,
                } => {
                    tx.execute("UPDATE records SET vals = $1::text::jsonb, updated_at = now() WHERE id = $2", &[&json(values), record_id])?;
                    tx.execute(
                        "UPDATE links SET base = $1::text::jsonb, version = $2, content_hash = $3, status = 'clean', attempts = 0,
                         last_error = NULL, updated_at = now() WHERE id = $4",
                        &[&json(&link.base), &link.version, &&link.content_hash.to_bytes()[..], link_id],
                    )?;
                    batch.history(tenant, run, *record_id, &link.connector, history);
                    ids.push(*record_id);
                }
            }
        }
        batch.write(&mut tx)?;
        tx.commit()?;
        Ok(ids)
    }

    fn quarantine(&mut self, tenant: &str, run: RunId, items: &[NewQuarantine]) -> Result<()> {
        let mut tx = self.client.transaction()?;
        let stmt = tx.prepare(
            "INSERT INTO quarantine (tenant, run_id, connector, entity, external_id, position, raw, reason)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
        )?;
        for q in items {
            // PostgreSQL text cannot hold NUL bytes.
            let raw = q.raw.replace('\0', "\u{fffd}");
            tx.execute(
                &stmt,
                &[
                    &tenant,
                    &run,
                    &q.connector,
                    &q.entity,
                    &q.external_id,
                    &q.position,
                    &raw,
                    &q.reason,
                ],
            )?;
        }
        tx.commit()?;
        Ok(())
    }

    fn source_fingerprint(
        &mut self,
        tenant: &str,
        connector: &str,
        entity: &str,
    ) -> Result<Option<String>> {
        let row = self.client.query_opt(
            "SELECT fingerprint FROM source_fingerprints WHERE tenant = $1 AND connector = $2 AND entity = $3",
            &[&tenant, &connector, &entity],
        )?;
        Ok(row.map(|r| r.get(0)))
    }

    fn set_source_fingerprint(
        &mut self,
        tenant: &str,
        connector: &str,
        entity: &str,
        fingerprint: &str,
    ) -> Result<()> {
        self.client.execute(
            "INSERT INTO source_fingerprints (tenant, connector, entity, fingerprint) VALUES ($1, $2, $3, $4)
             ON CONFLICT (tenant, connector, entity) DO UPDATE SET fingerprint = excluded.fingerprint, updated_at = now()",
            &[&tenant, &connector, &entity, &fingerprint],
        )?;
        Ok(())
    }

    fn record(&mut self, tenant: &str, entity: &str, id: RecordId) -> Result<Option<HubRecord>> {
        read::record(&mut self.client, tenant, entity, id)
    }
    fn links_of(&mut self, tenant: &str, record: RecordId) -> Result<Vec<Link>> {
        read::links_of(&mut self.client, tenant, record)
    }
    fn history_of(&mut self, tenant: &str, record: RecordId) -> Result<Vec<HistoryEntry>> {
        read::history_of(&mut self.client, tenant, record)
    }
    fn runs(&mut self, tenant: &str, limit: usize) -> Result<Vec<Run>> {
        read::runs(&mut self.client, tenant, None, limit)
    }
    fn run(&mut self, tenant: &str, id: RunId) -> Result<Option<Run>> {
        Ok(read::runs(&mut self.client, tenant, Some(id), 1)?
            .into_iter()
            .next())
    }
    fn quarantined(
        &mut self,
        tenant: &str,
        run: Option<RunId>,
        limit: usize,
    ) -> Result<Vec<QuarantineItem>> {
        read::quarantined(&mut self.client, tenant, run, limit)
    }
    fn count_records(&mut self, tenant: &str, entity: &str) -> Result<u64> {
        let row = self.client.query_one(
            "SELECT COUNT(*) FROM records WHERE tenant = $1 AND entity = $2",
            &[&tenant, &entity],
        )?;
        Ok(row.get::<_, i64>(0) as u64)
    }
}
