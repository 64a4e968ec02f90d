//! Integrity: the invariants of the store's own rows, checked and, where
//! that is safe, repaired (`einklang doctor`).
//!
//! Every [`Check`] is one invariant that holds whatever the config says:
//! links point at live hub records, a tombstone's clean links got their
//! delete planned, outbox entries belong to an existing link of the same
//! record, merges and `merged_into` agree, match keys belong to records
//! not deleted (one merged away keeps its identifier keys), leases and `running` runs belong to live processes, open
//! conflicts to an existing link of their record. A check reads only and
//! gives a [`Finding`]: how many rows break it, a few example ids and a
//! plain-language message. Its repair ([`Integrity::repair_integrity`])
//! fixes only what cannot lose data or send a write twice: it marks links
//! `dirty` (the next push decides), deletes rows nothing can act on any
//! more (outbox entries of no link, match keys of gone records — the
//! matcher re-keys on demand) and ends what is over (stale leases, runs
//! of dead processes). Everything else is reported for a person.
//!
//! The queries are the same SQL on both stores (`$1` is the tenant); each
//! store runs them through a small crate-private `Backend`; the checks
//! themselves (titles, messages, queries) are in `checks`.

use crate::lease::hostname;
use crate::{HubStore, LeaseRow, LinkChange, LinkStatus, Result, RunId, SyncBatch};
use chrono::{DateTime, Utc};
use serde::Serialize;
use std::time::Duration;

mod checks;
pub use checks::Check;

/// What one check found.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Finding {
    /// The check.
    pub check: Check,
    /// Its short title.
    pub title: &'static str,
    /// How many rows break the invariant (0: it holds).
    pub count: u64,
    /// Up to the asked number of them: row ids (of the links, outbox
    /// entries, merges, records, runs, conflicts the check is about), or
    /// lease names.
    pub examples: Vec<String>,
    /// What holds, or what was found, in plain words.
    pub message: String,
    /// What `--repair` does; `None`: report only.
    pub repair: Option<&'static str>,
    /// Information, not a problem.
    pub info: bool,
}

impl Finding {
    /// Something is wrong (found, and not mere information).
    pub fn is_problem(&self) -> bool {
        self.count > 0 && !self.info
    }

    fn new(check: Check, ids: Vec<String>, examples: usize, note: Option<String>) -> Self {
        let spec = check.spec();
        let count = ids.len() as u64;
        let message = match count {
            0 => spec.holds.to_string(),
            n => format!("{n} {}{}", spec.found, note.unwrap_or_default()),
        };
        Finding {
            check,
            title: spec.title,
            count,
            examples: ids.into_iter().take(examples).collect(),
            message,
            repair: spec.repair,
            info: spec.info,
        }
    }
}

/// How the checks run.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct IntegrityOptions {
    /// How many example ids a finding names.
    pub examples: usize,
    /// A `running` run younger than this without a lease may be about to
    /// take one: not yet judged.
    pub grace: Duration,
}

impl Default for IntegrityOptions {
    fn default() -> Self {
        Self {
            examples: 5,
            grace: Duration::from_secs(30),
        }
    }
}

/// Checking and repairing the store's invariants. Implemented by both stores.
pub trait Integrity: Send {
    /// Run every check (reads only): one finding per check, in the order
    /// of [`Check::ALL`].
    fn check_integrity(&mut self, tenant: &str, options: &IntegrityOptions)
        -> Result<Vec<Finding>>;
    /// Fix what is safe to fix of what `check` finds now, as run `run`
    /// (see the module docs); returns how many rows it fixed (0 for a
    /// check that reports only).
    fn repair_integrity(
        &mut self,
        tenant: &str,
        run: RunId,
        check: Check,
        options: &IntegrityOptions,
    ) -> Result<u64>;
}

/// What a store provides for the shared checks.
pub(crate) trait Backend: HubStore {
    /// The `id` column `query` selects, with `$1` bound to `tenant`.
    fn select_ids(&mut self, query: &str, tenant: &str) -> Result<Vec<i64>>;
    /// Run `statement` (`$1`: the tenant) in a write transaction (fenced);
    /// returns the rows it changed.
    fn execute_fenced(&mut self, statement: &str, tenant: &str) -> Result<u64>;
    /// Now, by the clock leases are judged by.
    fn clock(&mut self) -> Result<DateTime<Utc>>;
    /// Since when the oldest create held `unknown` is held.
    fn held_since(&mut self, tenant: &str) -> Result<Option<DateTime<Utc>>>;
}

/// See [`Integrity::check_integrity`].
pub(crate) fn check_all<B: Backend>(
    b: &mut B,
    tenant: &str,
    options: &IntegrityOptions,
) -> Result<Vec<Finding>> {
    let mut out = Vec::with_capacity(Check::ALL.len());
    for check in Check::ALL {
        let ids: Vec<String> = match check {
            Check::StaleLeases => stale_leases(b, tenant)?
                .iter()
                .map(|l| l.name.clone())
                .collect(),
            Check::RunsWithoutLease => runs_without_lease(b, tenant, options.grace)?
                .iter()
                .map(i64::to_string)
                .collect(),
            other => select(b, other, tenant)?
                .iter()
                .map(i64::to_string)
                .collect(),
        };
        let note = match (check, ids.is_empty()) {
            (Check::OutboxUnknown, false) => b.held_since(tenant)?.map(held_note),
            _ => None,
        };
        out.push(Finding::new(check, ids, options.examples, note));
    }
    Ok(out)
}

fn select<B: Backend>(b: &mut B, check: Check, tenant: &str) -> Result<Vec<i64>> {
    match check.query() {
        Some(q) => b.select_ids(&format!("SELECT id FROM ({q}) found ORDER BY id"), tenant),
        None => Ok(Vec::new()),
    }
}

fn held_note(since: DateTime<Utc>) -> String {
    let hours = (Utc::now() - since).num_minutes().max(0) as f64 / 60.0;
    format!(
        "; the oldest since {} ({hours:.1} h)",
        since.format("%Y-%m-%d %H:%M:%S UTC")
    )
}

/// See [`Integrity::repair_integrity`].
pub(crate) fn repair<B: Backend>(
    b: &mut B,
    tenant: &str,
    run: RunId,
    check: Check,
    options: &IntegrityOptions,
) -> Result<u64> {
    if let Some(statement) = check.delete() {
        return b.execute_fenced(&statement, tenant);
    }
    match check {
        Check::TombstonesOwingDelete => mark_dirty(b, tenant, run, check),
        Check::StaleLeases => {
            b.reap_abandoned(tenant, options.grace)?;
            let stale = stale_leases(b, tenant)?;
            let mut holders: Vec<&str> = stale.iter().map(|l| l.holder.as_str()).collect();
            holders.sort_unstable();
            holders.dedup();
            // a holder goes only when every lease it has is stale
            let live = b.leases(tenant)?;
            let now = b.clock()?;
            let host = hostname();
            holders.retain(|h| {
                live.iter()
                    .filter(|l| l.holder == *h)
                    .all(|l| l.is_stale(now, &host))
            });
            for h in &holders {
                b.release_leases(tenant, h)?;
            }
            Ok(stale
                .iter()
                .filter(|l| holders.contains(&l.holder.as_str()))
                .count() as u64)
        }
        Check::RunsWithoutLease => Ok(b.reap_abandoned(tenant, options.grace)?.len() as u64),
        _ => Ok(0),
    }
}

/// Mark the links `check` selects `dirty`, in one commit.
fn mark_dirty<B: Backend>(b: &mut B, tenant: &str, run: RunId, check: Check) -> Result<u64> {
    let ids = select(b, check, tenant)?;
    if ids.is_empty() {
        return Ok(0);
    }
    let batch = SyncBatch {
        links: ids
            .iter()
            .map(|&link_id| LinkChange::State {
                link_id,
                status: LinkStatus::Dirty,
                attempts: 0,
                next_attempt_at: None,
                last_error: Some(format!(
                    "{} (repaired by einklang doctor)",
                    check.spec().found
                )),
            })
            .collect(),
        ..Default::default()
    };
    b.apply_sync(tenant, run, &batch)?;
    Ok(ids.len() as u64)
}

/// The tenant's leases that no longer protect anything, by name.
fn stale_leases<B: Backend>(b: &mut B, tenant: &str) -> Result<Vec<LeaseRow>> {
    let now = b.clock()?;
    let host = hostname();
    Ok(b.leases(tenant)?
        .into_iter()
        .filter(|l| l.is_stale(now, &host))
        .collect())
}

/// `running` runs no live lease protects: their lease went stale, or they
/// started more than `grace` ago without one.
fn runs_without_lease<B: Backend>(b: &mut B, tenant: &str, grace: Duration) -> Result<Vec<RunId>> {
    let now = b.clock()?;
    let host = hostname();
    let (live, stale): (Vec<LeaseRow>, Vec<LeaseRow>) = b
        .leases(tenant)?
        .into_iter()
        .partition(|l| !l.is_stale(now, &host));
    let running = b.select_ids(
        "SELECT id FROM runs WHERE tenant = $1 AND status = 'running' ORDER BY id",
        tenant,
    )?;
    let before = now - chrono::Duration::from_std(grace).unwrap_or_default();
    let mut out = Vec::new();
    for id in running {
        if live.iter().any(|l| l.run_id == Some(id)) {
            continue;
        }
        let lost = stale.iter().any(|l| l.run_id == Some(id));
        let old = b.run(tenant, id)?.is_some_and(|r| r.started_at < before);
        if lost || old {
            out.push(id);
        }
    }
    Ok(out)
}
