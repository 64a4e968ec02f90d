//! PostgreSQL implementation of [`crate::HubStore`], for when the business
//! outgrows one machine.
//!
//! Values are JSONB, times TIMESTAMPTZ. Creates of a batch go in with three
//! `COPY ... FROM STDIN` streams (records, links, history) after reserving
//! the batch's record ids from the sequence in one query; updates are
//! prepared statements; lookups use `= ANY($1)`. Each `apply` batch is one
//! transaction. Reads for the CLI live in [`read`].

mod copy;
mod history;
mod identity;
mod ignored;
mod integrity;
mod keys;
mod lease;
mod listings;
mod merge_batch;
mod overview;
mod queue;
mod read;
mod staging;
mod sync;

use crate::migrate::{self, json};
use crate::model::*;
use crate::sync::*;
use crate::{
    HubStore, MergeRow, MergeStep, MergeWrite, MergesDone, NewReview, Result, ReviewRow,
    ReviewStatus, StoreError, Survive,
};
use ::postgres::{Client, NoTls};
use einklang_core::Fields;
use serde_json::Value;
use std::collections::HashMap;

/// The PostgreSQL hub store.
pub struct PgStore {
    client: Client,
    /// Inside an outer transaction — a dry run (rolled back at its end)
    /// or a refresh's swap (kept or undone as a whole): each write batch
    /// is a savepoint within it.
    outer: bool,
    /// Prepared hot statements (match keys).
    statements: keys::Statements,
    /// Where it connected (for [`crate::Leases::reopen`]; never printed).
    url: String,
    /// Checked by every write transaction (see [`crate::lease`]).
    fence: Option<crate::lease::Fence>,
}

impl PgStore {
    /// Connect to `url`.
    pub fn connect(url: &str) -> Result<Self> {
        let client = Client::connect(url, NoTls)?;
        Ok(Self {
            client,
            outer: false,
            statements: keys::Statements::default(),
            url: url.to_string(),
            fence: None,
        })
    }

    /// Run `f` in a transaction (a savepoint during a dry run): committed
    /// when it returns `Ok`, rolled back otherwise.
    fn in_tx<T>(
        &mut self,
        op: &'static str,
        f: impl FnOnce(&mut Client) -> Result<T>,
    ) -> Result<T> {
        let started = std::time::Instant::now();
        let out = self.in_tx_untimed(f);
        let ms = started.elapsed().as_secs_f64() * 1000.0;
        tracing::debug!(
            store = "postgres",
            op,
            ms,
            committed = out.is_ok(),
            "store transaction"
        );
        out
    }

    fn in_tx_untimed<T>(&mut self, f: impl FnOnce(&mut Client) -> Result<T>) -> Result<T> {
        let (begin, commit, undo) = if self.outer {
            (
                "SAVEPOINT einklang",
                "RELEASE SAVEPOINT einklang",
                "ROLLBACK TO SAVEPOINT einklang",
            )
        } else {
            ("BEGIN", "COMMIT", "ROLLBACK")
        };
        self.client.batch_execute(begin)?;
        let fenced = match &self.fence {
            Some(fence) => lease::check_fence(&mut self.client, fence),
            None => Ok(()),
        };
        match fenced.and_then(|_| f(&mut self.client)) {
            Ok(v) => {
                self.client.batch_execute(commit)?;
                Ok(v)
            }
            Err(e) => {
                let _ = self.client.batch_execute(undo);
                Err(e)
            }
        }
    }
}

/// Insert new records with their first link and history by COPY, with
/// ids reserved from the sequence; returns the ids in order.
fn insert_creates(
    c: &mut Client,
    tenant: &str,
    run: RunId,
    creates: &[Change],
) -> Result<Vec<RecordId>> {
    let n = creates
        .iter()
        .filter(|c| matches!(c, Change::Create { .. }))
        .count() as i64;
    let mut new_ids = copy::reserve_ids(c, n)?.into_iter();
    let mut ids = Vec::with_capacity(n as usize);
    let mut batch = copy::Batch::default();
    for change in creates {
        if let Change::Create {
            entity,
            values,
            link,
            history,
        } = change
        {
            let id = new_ids.next().ok_or_else(|| StoreError::Corrupt {
                what: "records_id_seq".into(),
                message: "returned fewer ids than asked for".into(),
            })?;
            batch.create(tenant, run, id, entity, values, link, history);
            ids.push(id);
        }
    }
    batch.write(c)?;
    Ok(ids)
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
        for m in migrate::pending(&applied, |m| m.postgres)? {
            tx.batch_execute(m.postgres)
                .map_err(|e| migrate::failed(m, e))?;
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
            "SELECT external_id, id, record_id, content_hash, version, status FROM links
             WHERE tenant = $1 AND connector = $2 AND entity = $3 AND external_id = ANY($4)",
            &[&tenant, &connector, &entity, &external_ids],
        )?;
        let mut found: HashMap<String, LinkKey> = HashMap::with_capacity(rows.len());
        for r in rows {
            let hash: Vec<u8> = r.get(3);
            let status: String = r.get(5);
            found.insert(
                r.get(0),
                LinkKey {
                    link_id: r.get(1),
                    record_id: r.get(2),
                    content_hash: crate::sqlite::hash_of(&hash),
                    version: r.get(4),
                    status: LinkStatus::parse(&status).unwrap_or(LinkStatus::Dirty),
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
        self.in_tx("apply", |c| {
            let mut created = insert_creates(c, tenant, run, changes)?.into_iter();
            let mut ids = Vec::with_capacity(changes.len());
            let mut batch = copy::Batch::default();
            for change in changes {
                match change {
                    Change::Create { .. } => ids.extend(created.next()),
                    Change::Update {
                        record_id,
                        link_id,
                        values,
                        link,
                        history,
                    } => {
                        update(c, *record_id, *link_id, values, link, !history.is_empty())?;
                        batch.history(tenant, run, *record_id, &link.connector, history);
                        ids.push(*record_id);
                    }
                }
            }
            batch.write(c)?;
            Ok(ids)
        })
    }

    fn quarantine(&mut self, tenant: &str, run: RunId, items: &[NewQuarantine]) -> Result<()> {
        self.in_tx("quarantine", |tx| quarantine(tx, tenant, run, items))
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
        read::runs(
            &mut self.client,
            tenant,
            (None, &crate::RunsPage::default()),
            limit,
        )
    }
    fn run(&mut self, tenant: &str, id: RunId) -> Result<Option<Run>> {
        Ok(read::runs(
            &mut self.client,
            tenant,
            (Some(id), &crate::RunsPage::default()),
            1,
        )?
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
            "SELECT COUNT(*) FROM records WHERE tenant = $1 AND entity = $2 AND deleted_at IS NULL AND merged_into IS NULL",
            &[&tenant, &entity],
        )?;
        Ok(row.get::<_, i64>(0) as u64)
    }

    fn load_records(&mut self, tenant: &str, ids: &[RecordId]) -> Result<Vec<Option<RecordState>>> {
        sync::load_records(&mut self.client, tenant, ids)
    }

    fn count_links(&mut self, tenant: &str, connector: &str, entity: &str) -> Result<u64> {
        let row = self.client.query_one(
            "SELECT COUNT(*) FROM links WHERE tenant = $1 AND connector = $2 AND entity = $3
               AND status NOT IN ('pending', 'deleted_remote')",
            &[&tenant, &connector, &entity],
        )?;
        Ok(row.get::<_, i64>(0) as u64)
    }

    fn scan_links(
        &mut self,
        tenant: &str,
        connector: &str,
        entity: &str,
        visit: &mut dyn FnMut(LinkView<'_>),
    ) -> Result<()> {
        sync::scan_links(&mut self.client, tenant, (connector, entity), visit)
    }

    fn links_to_push(
        &mut self,
        tenant: &str,
        connector: &str,
        entity: &str,
        after: i64,
        limit: usize,
    ) -> Result<Vec<LinkRef>> {
        sync::links_to_push(&mut self.client, tenant, (connector, entity), after, limit)
    }

    fn unlinked_records(
        &mut self,
        tenant: &str,
        entity: &str,
        connector: &str,
        after: RecordId,
        limit: usize,
    ) -> Result<Vec<RecordId>> {
        sync::unlinked_records(&mut self.client, tenant, entity, connector, after, limit)
    }

    fn max_record_id(&mut self, tenant: &str, entity: &str) -> Result<RecordId> {
        let row = self.client.query_one(
            "SELECT COALESCE(MAX(id), 0) FROM records WHERE tenant = $1 AND entity = $2",
            &[&tenant, &entity],
        )?;
        Ok(row.get(0))
    }

    fn cursor(
        &mut self,
        tenant: &str,
        connector: &str,
        entity: &str,
        name: &str,
    ) -> Result<Option<String>> {
        let row = self.client.query_opt(
            "SELECT value FROM cursors WHERE tenant = $1 AND connector = $2 AND entity = $3 AND name = $4",
            &[&tenant, &connector, &entity, &name],
        )?;
        Ok(row.map(|r| r.get(0)))
    }

    fn set_cursor(
        &mut self,
        tenant: &str,
        connector: &str,
        entity: &str,
        name: &str,
        value: &str,
    ) -> Result<()> {
        self.client.execute(
            "INSERT INTO cursors (tenant, connector, entity, name, value) VALUES ($1, $2, $3, $4, $5)
             ON CONFLICT (tenant, connector, entity, name) DO UPDATE SET value = excluded.value, updated_at = now()",
            &[&tenant, &connector, &entity, &name, &value],
        )?;
        Ok(())
    }

    fn outbox(&mut self, tenant: &str, connector: &str, entity: &str) -> Result<Vec<OutboxEntry>> {
        sync::outbox(&mut self.client, tenant, connector, entity)
    }

    fn apply_sync(&mut self, tenant: &str, run: RunId, batch: &SyncBatch) -> Result<Vec<RecordId>> {
        self.in_tx("apply_sync", |c| sync::apply_sync(c, tenant, run, batch))
    }

    fn conflicts(
        &mut self,
        tenant: &str,
        open_only: bool,
        limit: usize,
    ) -> Result<Vec<ConflictRow>> {
        sync::conflicts(&mut self.client, tenant, (open_only, None, None), limit)
    }

    fn conflict(&mut self, tenant: &str, id: i64) -> Result<Option<ConflictRow>> {
        Ok(
            sync::conflicts(&mut self.client, tenant, (false, Some(id), None), 1)?
                .into_iter()
                .next(),
        )
    }

    fn live_records(
        &mut self,
        tenant: &str,
        entity: &str,
        after: RecordId,
        limit: usize,
    ) -> Result<Vec<(RecordId, Fields)>> {
        identity::live_records(&mut self.client, tenant, entity, after, limit)
    }

    fn merged_away(
        &mut self,
        tenant: &str,
        entity: &str,
        after: RecordId,
        limit: usize,
    ) -> Result<Vec<(RecordId, Fields)>> {
        identity::merged_away(&mut self.client, tenant, entity, after, limit)
    }

    fn merge(&mut self, tenant: &str, run: RunId, merge: &MergeWrite) -> Result<i64> {
        self.in_tx("merge", |c| identity::merge(c, tenant, run, merge))
    }

    fn merge_many(
        &mut self,
        tenant: &str,
        run: RunId,
        entity: &str,
        steps: &[MergeStep],
        survive: &Survive<'_>,
    ) -> Result<MergesDone> {
        self.in_tx("merge_many", |c| {
            merge_batch::merge_many(c, (tenant, run, entity), steps, survive)
        })
    }

    fn unmerge(&mut self, tenant: &str, run: RunId, merge_id: i64) -> Result<MergeRow> {
        self.in_tx("unmerge", |c| identity::unmerge(c, tenant, run, merge_id))
    }

    fn merges(
        &mut self,
        tenant: &str,
        record: Option<RecordId>,
        limit: usize,
    ) -> Result<Vec<MergeRow>> {
        identity::merges(&mut self.client, tenant, record, limit)
    }

    fn queue_reviews(&mut self, tenant: &str, run: RunId, pairs: &[NewReview]) -> Result<u64> {
        self.in_tx("queue_reviews", |c| {
            identity::queue_reviews(c, tenant, run, pairs)
        })
    }

    fn reviews(&mut self, tenant: &str, open_only: bool, limit: usize) -> Result<Vec<ReviewRow>> {
        identity::reviews(&mut self.client, tenant, (open_only, None, 0), limit)
    }

    fn review(&mut self, tenant: &str, id: i64) -> Result<Option<ReviewRow>> {
        Ok(
            identity::reviews(&mut self.client, tenant, (false, Some(id), 0), 1)?
                .into_iter()
                .next(),
        )
    }

    fn decide_review(
        &mut self,
        tenant: &str,
        id: i64,
        status: ReviewStatus,
        by: &str,
    ) -> Result<()> {
        identity::decide_review(&mut self.client, tenant, id, status, by)
    }

    fn rejected_pairs(&mut self, tenant: &str, entity: &str) -> Result<Vec<(RecordId, RecordId)>> {
        identity::rejected_pairs(&mut self.client, tenant, entity)
    }

    fn match_state(&mut self, tenant: &str, entity: &str) -> Result<Option<(String, i64)>> {
        keys::state(&mut self.client, tenant, entity)
    }

    fn set_match_keys(
        &mut self,
        tenant: &str,
        entity: &str,
        keys: &[(RecordId, Vec<i64>)],
        rebuild: bool,
        state: Option<(&str, i64)>,
    ) -> Result<()> {
        let mut st = std::mem::take(&mut self.statements);
        let out = self.in_tx("set_match_keys", |c| {
            keys::set((c, &mut st), (tenant, entity), keys, rebuild, state)
        });
        self.statements = st;
        out
    }

    fn match_candidates(
        &mut self,
        tenant: &str,
        entity: &str,
        keys: &[i64],
        max_block: usize,
    ) -> Result<Vec<(RecordId, Fields)>> {
        keys::candidates(
            (&mut self.client, &mut self.statements),
            (tenant, entity),
            keys,
            max_block,
        )
    }

    fn key_counts(&mut self, tenant: &str, entity: &str, keys: &[i64]) -> Result<Vec<u64>> {
        keys::counts(
            (&mut self.client, &mut self.statements),
            (tenant, entity),
            keys,
        )
    }

    fn history_after(
        &mut self,
        tenant: &str,
        after: i64,
        limit: usize,
    ) -> Result<Vec<(i64, RecordId, bool)>> {
        keys::history_after(
            (&mut self.client, &mut self.statements),
            tenant,
            after,
            limit,
        )
    }

    fn last_history_id(&mut self, tenant: &str) -> Result<i64> {
        keys::last_history_id(&mut self.client, tenant)
    }

    fn sample_records(
        &mut self,
        tenant: &str,
        entity: &str,
        every: i64,
        limit: usize,
    ) -> Result<Vec<(RecordId, Fields)>> {
        keys::sample(&mut self.client, (tenant, entity), every, limit)
    }

    fn begin_dry_run(&mut self) -> Result<()> {
        self.client.batch_execute("BEGIN")?;
        self.outer = true;
        Ok(())
    }

    fn end_dry_run(&mut self) -> Result<()> {
        self.outer = false;
        self.client.batch_execute("ROLLBACK")?;
        Ok(())
    }
}

fn quarantine(tx: &mut Client, tenant: &str, run: RunId, items: &[NewQuarantine]) -> Result<()> {
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
    Ok(())
}

fn update(
    c: &mut Client,
    record_id: RecordId,
    link_id: i64,
    values: &einklang_core::Fields,
    link: &LinkWrite,
    changed: bool,
) -> Result<()> {
    c.execute(
        "UPDATE records SET vals = $1::text::jsonb, updated_at = now(), version = version + 1 WHERE id = $2",
        &[&json(values), &record_id],
    )?;
    c.execute(
        "UPDATE links SET base = $1::text::json, version = $2, content_hash = $3, status = 'clean', attempts = 0,
         last_error = NULL, updated_at = now() WHERE id = $4",
        &[&json(&link.base), &link.version, &&link.content_hash.to_bytes()[..], &link_id],
    )?;
    if changed {
        // the other links must receive what changed
        c.execute(
            "UPDATE links SET status = 'dirty', updated_at = now() WHERE record_id = $1 AND status = 'clean' AND id <> $2",
            &[&record_id, &link_id],
        )?;
    }
    Ok(())
}
