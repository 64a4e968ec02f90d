//! SQLite implementation of [`crate::HubStore`], the embedded default.
//!
//! One file (`einklang.db`), WAL journal, `synchronous = NORMAL` (a crash
//! loses at most the last committed batches, never consistency), a large
//! page cache and cached prepared statements. Each `apply` batch is one
//! transaction. Values are stored as JSON text; times as RFC 3339 text.
//! Reads for the CLI (`record`, `runs`, ...) live in [`read`].

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

use crate::migrate::{self, json, MIGRATIONS};
use crate::model::*;
use crate::sync::*;
use crate::{
    HubStore, MergeRow, MergeStep, MergeWrite, MergesDone, NewReview, Result, ReviewRow,
    ReviewStatus, StoreError, Survive,
};
use chrono::{SecondsFormat, Utc};
use einklang_core::Fields;
use rusqlite::{params, Connection, OptionalExtension};

/// The embedded SQLite hub store.
pub struct SqliteStore {
    conn: Connection,
    path: String,
    /// Checked by every write transaction (see [`crate::lease`]).
    fence: Option<crate::lease::Fence>,
    /// [`HubStore::merge_many`] turned automatic checkpoints off; the next
    /// other write transaction turns them on again (and so checkpoints).
    checkpoints_off: bool,
}

/// The page cache in KiB, as `open` sets it (`cache_size = -65536`).
const CACHE_KIB: i64 = 65_536;
/// The page cache in KiB while [`HubStore::merge_many`] writes.
const MERGE_CACHE_KIB: i64 = 262_144;

fn now() -> String {
    Utc::now().to_rfc3339_opts(SecondsFormat::Micros, true)
}

impl SqliteStore {
    /// Open (creating if needed) the database at `path`. A new database is
    /// created readable by its owner only (`0600`; SQLite gives its `-wal`
    /// and `-shm` files the database's mode); an existing one keeps its mode.
    pub fn open(path: &str) -> Result<Self> {
        let err = |source| StoreError::Sqlite {
            path: path.to_string(),
            source,
        };
        create_private(path);
        let conn = Connection::open(path).map_err(err)?;
        // the wait first: a second process opening the store while the
        // first turns it to WAL (or migrates it) waits instead of failing
        // with "database is locked"
        conn.busy_timeout(std::time::Duration::from_secs(30))
            .map_err(err)?;
        conn.execute_batch(
            "PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL; PRAGMA cache_size = -65536;
             PRAGMA temp_store = MEMORY; PRAGMA wal_autocheckpoint = 20000;",
        )
        .map_err(err)?;
        conn.set_prepared_statement_cache_capacity(256);
        Ok(Self {
            conn,
            path: path.to_string(),
            fence: None,
            checkpoints_off: false,
        })
    }

    /// Automatic checkpoints on (every 20,000 WAL pages, as `open` sets
    /// them) or off. Off while a batch plan's merges are written, so the
    /// WAL takes all of them and the database file gets each page once:
    /// at the next other write transaction's commit, or on close.
    fn checkpoints(&mut self, on: bool) -> Result<()> {
        let pages = if on { 20_000 } else { 0 };
        self.conn
            .execute_batch(&format!("PRAGMA wal_autocheckpoint = {pages}"))
            .map_err(self.err())?;
        self.checkpoints_off = !on;
        tracing::debug!(store = "sqlite", on, "automatic checkpoints");
        Ok(())
    }

    /// The store error of an identity call.
    fn fail<T>(&self, out: std::result::Result<T, identity::Fail>) -> Result<T> {
        out.map_err(|f| match f {
            identity::Fail::Sql(source) => StoreError::Sqlite {
                path: self.path.clone(),
                source,
            },
            identity::Fail::Store(e) => e,
        })
    }

    /// Run `f` in a write transaction, committed when it returns `Ok`.
    /// `BEGIN IMMEDIATE` takes the write lock first (waiting up to the
    /// busy timeout), so a transaction that reads before it writes never
    /// fails because another connection — a second run, a lease keeper —
    /// committed in between; inside a dry run it is a savepoint. With a
    /// fence set, the fence is checked first, in the same transaction.
    fn write<T>(
        &mut self,
        op: &'static str,
        f: impl FnOnce(&Connection) -> std::result::Result<T, identity::Fail>,
    ) -> Result<T> {
        if self.checkpoints_off && op != "merge_many" {
            self.checkpoints(true)?;
        }
        let started = std::time::Instant::now();
        let (begin, commit, undo) = match self.conn.is_autocommit() {
            true => ("BEGIN IMMEDIATE", "COMMIT", "ROLLBACK"),
            false => (
                "SAVEPOINT einklang_write",
                "RELEASE einklang_write",
                "ROLLBACK TO einklang_write; RELEASE einklang_write",
            ),
        };
        self.conn.execute_batch(begin).map_err(self.err())?;
        let fenced = match &self.fence {
            Some(fence) => lease::check_fence(&self.conn, fence),
            None => Ok(()),
        };
        let out = fenced.and_then(|_| f(&self.conn)).and_then(|v| {
            self.conn
                .execute_batch(commit)
                .map(|_| v)
                .map_err(identity::Fail::Sql)
        });
        if out.is_err() {
            let _ = self.conn.execute_batch(undo);
        }
        let ms = started.elapsed().as_secs_f64() * 1000.0;
        tracing::debug!(
            store = "sqlite",
            op,
            ms,
            committed = out.is_ok(),
            "store transaction"
        );
        self.fail(out)
    }

    /// A store error from a helper that did not know the path.
    fn located(&self, e: StoreError) -> StoreError {
        match e {
            StoreError::Sqlite { path, source } if path.is_empty() => StoreError::Sqlite {
                path: self.path.clone(),
                source,
            },
            other => other,
        }
    }

    fn err(&self) -> impl Fn(rusqlite::Error) -> StoreError + '_ {
        move |source| StoreError::Sqlite {
            path: self.path.clone(),
            source,
        }
    }
}

/// Create the file at `path` empty with mode `0600` when there is none
/// (SQLite takes an empty file for a new database). Failures are left to
/// `Connection::open`, which reports them with SQLite's own message.
fn create_private(path: &str) {
    if path.is_empty() || path == ":memory:" || path.starts_with("file:") {
        return;
    }
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let _ = options.open(path);
}

/// JSON texts of one change: values, link base, history, and whether the
/// history is initial (then it shares the values' text).
fn texts(values: &Fields, base: &Fields, history: &FieldChanges) -> (String, String, String, bool) {
    let vals = json(values);
    let base = if base == values {
        vals.clone()
    } else {
        json(base)
    };
    let initial = migrate::is_initial(history, values);
    let hist = if initial { vals.clone() } else { json(history) };
    (vals, base, hist, initial)
}

fn create(
    tx: &Connection,
    tenant: &str,
    run: RunId,
    now: &str,
    c: &Change,
) -> rusqlite::Result<RecordId> {
    let (record_id, link, history, (vals, base, hist, initial)) = match c {
        Change::Create {
            entity,
            values,
            link,
            history,
        } => {
            let texts = texts(values, &link.base, history);
            tx.prepare_cached(
                "INSERT INTO records (tenant, entity, vals, created_at, updated_at) VALUES (?1, ?2, ?3, ?4, ?4)",
            )?
            .execute(params![tenant, entity, texts.0, now])?;
            let id = tx.last_insert_rowid();
            tx.prepare_cached(
                "INSERT INTO links (tenant, record_id, connector, entity, external_id, base, version, content_hash, updated_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
            )?
            .execute(params![
                tenant, id, link.connector, entity, link.external_id, texts.1, link.version,
                &link.content_hash.to_bytes()[..], now
            ])?;
            (id, link, history, texts)
        }
        Change::Update {
            record_id,
            link_id,
            values,
            link,
            history,
        } => {
            let texts = texts(values, &link.base, history);
            tx.prepare_cached(
                "UPDATE records SET vals = ?1, updated_at = ?2, version = version + 1 WHERE id = ?3",
            )?
            .execute(params![texts.0, now, record_id])?;
            if !history.is_empty() {
                // the other links must receive what changed
                tx.prepare_cached(
                    "UPDATE links SET status = 'dirty', updated_at = ?1
                     WHERE record_id = ?2 AND status = 'clean' AND id <> ?3",
                )?
                .execute(params![now, record_id, link_id])?;
            }
            tx.prepare_cached(
                "UPDATE links SET base = ?1, version = ?2, content_hash = ?3, status = 'clean', attempts = 0,
                 last_error = NULL, updated_at = ?4 WHERE id = ?5",
            )?
            .execute(params![texts.1, link.version, &link.content_hash.to_bytes()[..], now, link_id])?;
            (*record_id, link, history, texts)
        }
    };
    drop((vals, base));
    if !history.is_empty() {
        tx.prepare_cached(
            "INSERT INTO history (tenant, record_id, run_id, origin, initial, changes, at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
        )?
        .execute(params![tenant, record_id, run, link.connector, initial, hist, now])?;
    }
    Ok(record_id)
}

impl SqliteStore {
    /// [`SqliteStore::open`] and migrate, tried again while another
    /// process holds the file: SQLite answers some lock conflicts at once,
    /// without waiting its busy timeout — a store being created or turned
    /// to WAL by another process, a WAL index being recovered — and two
    /// syncs started together must not fail for it (up to 30 s).
    pub fn open_migrated(path: &str) -> Result<Self> {
        let started = std::time::Instant::now();
        let mut wait = std::time::Duration::from_millis(20);
        loop {
            let attempt = Self::open(path).and_then(|mut s| s.migrate().map(|()| s));
            match attempt {
                Err(e) if is_busy(&e) && started.elapsed().as_secs() < 30 => {
                    tracing::debug!(path, error = %e, "store busy while opening: trying again");
                    std::thread::sleep(wait);
                    wait = (wait * 2).min(std::time::Duration::from_millis(500));
                }
                other => return other,
            }
        }
    }

    /// Every migration applied, each with its checksum (read only).
    fn up_to_date(&self) -> rusqlite::Result<bool> {
        let exists: bool = self.conn.query_row(
            "SELECT EXISTS (SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'schema_migrations')",
            [],
            |r| r.get(0),
        )?;
        if !exists {
            return Ok(false);
        }
        let applied: Vec<(i64, i64)> = self
            .conn
            .prepare("SELECT version, checksum FROM schema_migrations ORDER BY version")?
            .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?
            .collect::<rusqlite::Result<_>>()?;
        let expected: Vec<(i64, i64)> = MIGRATIONS
            .iter()
            .map(|m| (m.version, migrate::checksum(m.sqlite)))
            .collect();
        Ok(applied == expected)
    }
}

impl HubStore for SqliteStore {
    fn migrate(&mut self) -> Result<()> {
        let path = self.path.clone();
        let err = |source| StoreError::Sqlite {
            path: path.clone(),
            source,
        };
        // a store that is up to date needs no write lock: a second process
        // opening it while a run writes must not wait for that run
        if self.up_to_date().map_err(err)? {
            return Ok(());
        }
        self.conn.execute_batch(migrate::BOOKKEEPING).map_err(err)?;
        // one immediate transaction: two processes opening a new store at
        // once apply each migration once
        self.write("migrate", |c| {
            let applied: Vec<(i64, i64)> = c
                .prepare("SELECT version, checksum FROM schema_migrations ORDER BY version")?
                .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?
                .collect::<rusqlite::Result<_>>()?;
            for m in migrate::pending(&applied, |m| m.sqlite)? {
                c.execute_batch(m.sqlite)
                    .map_err(|e| migrate::failed(m, e))?;
                c.execute(
                    "INSERT INTO schema_migrations (version, name, checksum, applied_at) VALUES (?1, ?2, ?3, ?4)",
                    params![m.version, m.name, migrate::checksum(m.sqlite), now()],
                )?;
            }
            Ok(())
        })
    }

    fn start_run(&mut self, tenant: &str, run: &NewRun) -> Result<RunId> {
        self.conn
            .execute(
                "INSERT INTO runs (tenant, job, source, triggered_by, status, started_at) VALUES (?1, ?2, ?3, ?4, 'running', ?5)",
                params![tenant, run.job, run.source.as_str(), run.triggered_by, now()],
            )
            .map_err(self.err())?;
        Ok(self.conn.last_insert_rowid())
    }

    fn finish_run(&mut self, tenant: &str, run: RunId, outcome: &RunOutcome) -> Result<()> {
        self.conn
            .execute(
                "UPDATE runs SET status = ?1, counters = ?2, errors = ?3, finished_at = ?4 WHERE id = ?5 AND tenant = ?6",
                params![outcome.status.as_str(), json(&outcome.counters), json(&outcome.errors), now(), run, tenant],
            )
            .map_err(self.err())?;
        Ok(())
    }

    fn find_links(
        &mut self,
        tenant: &str,
        connector: &str,
        entity: &str,
        external_ids: &[&str],
    ) -> Result<Vec<Option<LinkKey>>> {
        let err = self.err();
        let mut stmt = self
            .conn
            .prepare_cached(
                "SELECT id, record_id, content_hash, version, status FROM links
                 WHERE tenant = ?1 AND connector = ?2 AND entity = ?3 AND external_id = ?4",
            )
            .map_err(&err)?;
        let mut out = Vec::with_capacity(external_ids.len());
        for id in external_ids {
            let key = stmt
                .query_row(params![tenant, connector, entity, id], |r| {
                    let (hash, status): (Vec<u8>, String) = (r.get(2)?, r.get(4)?);
                    Ok(LinkKey {
                        link_id: r.get(0)?,
                        record_id: r.get(1)?,
                        content_hash: read::hash(&hash),
                        version: r.get(3)?,
                        status: LinkStatus::parse(&status).unwrap_or(LinkStatus::Dirty),
                    })
                })
                .optional()
                .map_err(&err)?;
            out.push(key);
        }
        Ok(out)
    }

    fn load_for_update(
        &mut self,
        tenant: &str,
        links: &[LinkKey],
    ) -> Result<Vec<Option<LinkedRecord>>> {
        let err = self.err();
        let mut stmt = self
            .conn
            .prepare_cached(
                "SELECT r.entity, r.vals, l.base FROM links l JOIN records r ON r.id = l.record_id
                 WHERE l.id = ?1 AND l.tenant = ?2",
            )
            .map_err(&err)?;
        let mut out = Vec::with_capacity(links.len());
        for key in links {
            let row: Option<(String, String, String)> = stmt
                .query_row(params![key.link_id, tenant], |r| {
                    Ok((r.get(0)?, r.get(1)?, r.get(2)?))
                })
                .optional()
                .map_err(&err)?;
            out.push(match row {
                None => None,
                Some((entity, vals, base)) => Some(LinkedRecord {
                    key: key.clone(),
                    entity,
                    values: migrate::parse("record values", &vals)?,
                    base: migrate::parse("link base", &base)?,
                }),
            });
        }
        Ok(out)
    }

    fn apply(&mut self, tenant: &str, run: RunId, changes: &[Change]) -> Result<Vec<RecordId>> {
        self.write("apply", |tx| {
            let now = now();
            let mut ids = Vec::with_capacity(changes.len());
            for c in changes {
                ids.push(create(tx, tenant, run, &now, c)?);
            }
            Ok(ids)
        })
    }

    fn quarantine(&mut self, tenant: &str, run: RunId, items: &[NewQuarantine]) -> Result<()> {
        self.write("quarantine", |tx| {
            let now = now();
            for q in items {
                tx.prepare_cached(
                    "INSERT INTO quarantine (tenant, run_id, connector, entity, external_id, position, raw, reason, created_at)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
                )?
                .execute(params![tenant, run, q.connector, q.entity, q.external_id, q.position, q.raw, q.reason, now])?;
            }
            Ok(())
        })
    }

    fn source_fingerprint(
        &mut self,
        tenant: &str,
        connector: &str,
        entity: &str,
    ) -> Result<Option<String>> {
        self.conn
            .query_row(
                "SELECT fingerprint FROM source_fingerprints WHERE tenant = ?1 AND connector = ?2 AND entity = ?3",
                params![tenant, connector, entity],
                |r| r.get(0),
            )
            .optional()
            .map_err(self.err())
    }

    fn set_source_fingerprint(
        &mut self,
        tenant: &str,
        connector: &str,
        entity: &str,
        fingerprint: &str,
    ) -> Result<()> {
        self.conn
            .execute(
                "INSERT INTO source_fingerprints (tenant, connector, entity, fingerprint, updated_at) VALUES (?1, ?2, ?3, ?4, ?5)
                 ON CONFLICT (tenant, connector, entity) DO UPDATE SET fingerprint = excluded.fingerprint, updated_at = excluded.updated_at",
                params![tenant, connector, entity, fingerprint, now()],
            )
            .map_err(self.err())?;
        Ok(())
    }

    fn record(&mut self, tenant: &str, entity: &str, id: RecordId) -> Result<Option<HubRecord>> {
        read::record(&self.conn, tenant, entity, id)
            .map_err(self.err())?
            .transpose()
    }
    fn links_of(&mut self, tenant: &str, record: RecordId) -> Result<Vec<Link>> {
        read::links_of(&self.conn, tenant, record)
            .map_err(self.err())?
            .into_iter()
            .collect()
    }
    fn history_of(&mut self, tenant: &str, record: RecordId) -> Result<Vec<HistoryEntry>> {
        read::history_of(&self.conn, tenant, record)
            .map_err(self.err())?
            .into_iter()
            .collect()
    }
    fn runs(&mut self, tenant: &str, limit: usize) -> Result<Vec<Run>> {
        read::runs(
            &self.conn,
            tenant,
            (None, &crate::RunsPage::default()),
            limit,
        )
        .map_err(self.err())?
        .into_iter()
        .collect()
    }
    fn run(&mut self, tenant: &str, id: RunId) -> Result<Option<Run>> {
        let runs: Result<Vec<Run>> = read::runs(
            &self.conn,
            tenant,
            (Some(id), &crate::RunsPage::default()),
            1,
        )
        .map_err(self.err())?
        .into_iter()
        .collect();
        Ok(runs?.into_iter().next())
    }
    fn quarantined(
        &mut self,
        tenant: &str,
        run: Option<RunId>,
        limit: usize,
    ) -> Result<Vec<QuarantineItem>> {
        read::quarantined(&self.conn, tenant, run, limit).map_err(self.err())
    }
    fn count_records(&mut self, tenant: &str, entity: &str) -> Result<u64> {
        self.conn
            .query_row(
                "SELECT COUNT(*) FROM records WHERE tenant = ?1 AND entity = ?2 AND deleted_at IS NULL AND merged_into IS NULL",
                params![tenant, entity],
                |r| r.get::<_, i64>(0),
            )
            .map(|n| n as u64)
            .map_err(self.err())
    }

    fn load_records(&mut self, tenant: &str, ids: &[RecordId]) -> Result<Vec<Option<RecordState>>> {
        sync::load_records(&self.conn, tenant, ids)
            .map_err(self.err())?
            .into_iter()
            .map(Option::transpose)
            .collect()
    }

    fn count_links(&mut self, tenant: &str, connector: &str, entity: &str) -> Result<u64> {
        self.conn
            .query_row(
                "SELECT COUNT(*) FROM links WHERE tenant = ?1 AND connector = ?2 AND entity = ?3
                   AND status NOT IN ('pending', 'deleted_remote')",
                params![tenant, connector, entity],
                |r| r.get::<_, i64>(0),
            )
            .map(|n| n as u64)
            .map_err(self.err())
    }

    fn scan_links(
        &mut self,
        tenant: &str,
        connector: &str,
        entity: &str,
        visit: &mut dyn FnMut(LinkView<'_>),
    ) -> Result<()> {
        sync::scan_links(&self.conn, tenant, connector, entity, visit).map_err(self.err())
    }

    fn links_to_push(
        &mut self,
        tenant: &str,
        connector: &str,
        entity: &str,
        after: i64,
        limit: usize,
    ) -> Result<Vec<LinkRef>> {
        sync::links_to_push(&self.conn, tenant, connector, entity, after, limit)
            .map_err(self.err())?
            .into_iter()
            .collect()
    }

    fn unlinked_records(
        &mut self,
        tenant: &str,
        entity: &str,
        connector: &str,
        after: RecordId,
        limit: usize,
    ) -> Result<Vec<RecordId>> {
        sync::unlinked_records(&self.conn, tenant, entity, connector, after, limit)
            .map_err(self.err())
    }

    fn max_record_id(&mut self, tenant: &str, entity: &str) -> Result<RecordId> {
        self.conn
            .query_row(
                "SELECT COALESCE(MAX(id), 0) FROM records WHERE tenant = ?1 AND entity = ?2",
                params![tenant, entity],
                |r| r.get(0),
            )
            .map_err(self.err())
    }

    fn cursor(
        &mut self,
        tenant: &str,
        connector: &str,
        entity: &str,
        name: &str,
    ) -> Result<Option<String>> {
        sync::cursor(&self.conn, tenant, connector, entity, name).map_err(self.err())
    }

    fn set_cursor(
        &mut self,
        tenant: &str,
        connector: &str,
        entity: &str,
        name: &str,
        value: &str,
    ) -> Result<()> {
        sync::set_cursor(&self.conn, tenant, (connector, entity, name), value, &now())
            .map_err(self.err())
    }

    fn outbox(&mut self, tenant: &str, connector: &str, entity: &str) -> Result<Vec<OutboxEntry>> {
        sync::outbox(&self.conn, tenant, connector, entity)
            .map_err(self.err())?
            .into_iter()
            .collect()
    }

    fn apply_sync(&mut self, tenant: &str, run: RunId, batch: &SyncBatch) -> Result<Vec<RecordId>> {
        self.write("apply_sync", |tx| {
            sync::apply_sync(tx, tenant, run, batch, &now()).map_err(|f| match f {
                sync::Failure::Sql(source) => identity::Fail::Sql(source),
                sync::Failure::Stale(link_id) => {
                    identity::Fail::Store(StoreError::StaleLink { link_id })
                }
            })
        })
    }

    fn conflicts(
        &mut self,
        tenant: &str,
        open_only: bool,
        limit: usize,
    ) -> Result<Vec<ConflictRow>> {
        sync::conflicts(&self.conn, tenant, (open_only, None, None), limit)
            .map_err(self.err())?
            .into_iter()
            .collect()
    }

    fn conflict(&mut self, tenant: &str, id: i64) -> Result<Option<ConflictRow>> {
        let rows =
            sync::conflicts(&self.conn, tenant, (false, Some(id), None), 1).map_err(self.err())?;
        rows.into_iter().next().transpose()
    }

    fn live_records(
        &mut self,
        tenant: &str,
        entity: &str,
        after: RecordId,
        limit: usize,
    ) -> Result<Vec<(RecordId, Fields)>> {
        let out = identity::live_records(&self.conn, tenant, entity, after, limit);
        self.fail(out)
    }

    fn merged_away(
        &mut self,
        tenant: &str,
        entity: &str,
        after: RecordId,
        limit: usize,
    ) -> Result<Vec<(RecordId, Fields)>> {
        let out = identity::merged_away(&self.conn, tenant, entity, after, limit);
        self.fail(out)
    }

    fn merge(&mut self, tenant: &str, run: RunId, merge: &MergeWrite) -> Result<i64> {
        self.write("merge", |c| identity::merge(c, tenant, run, merge, &now()))
    }

    fn merge_many(
        &mut self,
        tenant: &str,
        run: RunId,
        entity: &str,
        steps: &[MergeStep],
        survive: &Survive<'_>,
    ) -> Result<MergesDone> {
        // the merges of a batch plan touch pages all over the store: a
        // larger cache for them keeps each dirty page in memory until the
        // commit writes it once
        let cache = |kib: i64| format!("PRAGMA cache_size = -{kib}");
        self.conn
            .execute_batch(&cache(MERGE_CACHE_KIB))
            .map_err(self.err())?;
        // and no checkpoint after each batch: most pages it would copy
        // into the database file the next batch dirties again
        if !self.checkpoints_off {
            self.checkpoints(false)?;
        }
        let out = self.write("merge_many", |c| {
            merge_batch::merge_many(c, (tenant, run, entity), steps, survive, now)
        });
        self.conn
            .execute_batch(&cache(CACHE_KIB))
            .map_err(self.err())?;
        out
    }

    fn unmerge(&mut self, tenant: &str, run: RunId, merge_id: i64) -> Result<MergeRow> {
        self.write("unmerge", |c| {
            identity::unmerge(c, tenant, run, merge_id, &now())
        })
    }

    fn merges(
        &mut self,
        tenant: &str,
        record: Option<RecordId>,
        limit: usize,
    ) -> Result<Vec<MergeRow>> {
        let out = identity::merges(&self.conn, tenant, record, limit);
        self.fail(out)
    }

    fn queue_reviews(&mut self, tenant: &str, run: RunId, pairs: &[NewReview]) -> Result<u64> {
        self.write("queue_reviews", |c| {
            identity::queue_reviews(c, tenant, run, pairs, &now())
        })
    }

    fn reviews(&mut self, tenant: &str, open_only: bool, limit: usize) -> Result<Vec<ReviewRow>> {
        let out = identity::reviews(&self.conn, tenant, (open_only, None, 0), limit);
        self.fail(out)
    }

    fn review(&mut self, tenant: &str, id: i64) -> Result<Option<ReviewRow>> {
        let out = identity::reviews(&self.conn, tenant, (false, Some(id), 0), 1);
        Ok(self.fail(out)?.into_iter().next())
    }

    fn decide_review(
        &mut self,
        tenant: &str,
        id: i64,
        status: ReviewStatus,
        by: &str,
    ) -> Result<()> {
        let out = identity::decide_review(&self.conn, tenant, id, status, by, &now());
        self.fail(out)
    }

    fn rejected_pairs(&mut self, tenant: &str, entity: &str) -> Result<Vec<(RecordId, RecordId)>> {
        let out = identity::rejected_pairs(&self.conn, tenant, entity);
        self.fail(out)
    }

    fn match_state(&mut self, tenant: &str, entity: &str) -> Result<Option<(String, i64)>> {
        let out = keys::state(&self.conn, tenant, entity);
        self.fail(out)
    }

    fn set_match_keys(
        &mut self,
        tenant: &str,
        entity: &str,
        keys: &[(RecordId, Vec<i64>)],
        rebuild: bool,
        state: Option<(&str, i64)>,
    ) -> Result<()> {
        self.write("set_match_keys", |c| {
            keys::set(c, (tenant, entity), keys, rebuild, state)
        })
    }

    fn match_candidates(
        &mut self,
        tenant: &str,
        entity: &str,
        keys: &[i64],
        max_block: usize,
    ) -> Result<Vec<(RecordId, Fields)>> {
        let out = keys::candidates(&self.conn, (tenant, entity), keys, max_block);
        self.fail(out)
    }

    fn key_counts(&mut self, tenant: &str, entity: &str, keys: &[i64]) -> Result<Vec<u64>> {
        let out = keys::counts(&self.conn, (tenant, entity), keys);
        self.fail(out)
    }

    fn history_after(
        &mut self,
        tenant: &str,
        after: i64,
        limit: usize,
    ) -> Result<Vec<(i64, RecordId, bool)>> {
        let out = keys::history_after(&self.conn, tenant, after, limit);
        self.fail(out)
    }

    fn last_history_id(&mut self, tenant: &str) -> Result<i64> {
        let out = keys::last_history_id(&self.conn, tenant);
        self.fail(out)
    }

    fn sample_records(
        &mut self,
        tenant: &str,
        entity: &str,
        every: i64,
        limit: usize,
    ) -> Result<Vec<(RecordId, Fields)>> {
        let out = keys::sample(&self.conn, (tenant, entity), every, limit);
        self.fail(out)
    }

    fn begin_dry_run(&mut self) -> Result<()> {
        self.conn.execute_batch("BEGIN").map_err(self.err())
    }

    fn end_dry_run(&mut self) -> Result<()> {
        self.conn.execute_batch("ROLLBACK").map_err(self.err())
    }
}

/// A content hash from its 16 stored bytes (shared with the PostgreSQL store).
pub(crate) fn hash_of(bytes: &[u8]) -> einklang_core::ContentHash {
    read::hash(bytes)
}

/// A lock conflict (`SQLITE_BUSY`, `SQLITE_LOCKED`).
fn is_busy(e: &StoreError) -> bool {
    use rusqlite::ErrorCode::{DatabaseBusy, DatabaseLocked};
    match e {
        StoreError::Sqlite {
            source: rusqlite::Error::SqliteFailure(f, _),
            ..
        } => matches!(f.code, DatabaseBusy | DatabaseLocked),
        _ => false,
    }
}
