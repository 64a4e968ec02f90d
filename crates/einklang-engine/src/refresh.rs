//! A refresh step (`[jobs.J] refresh = "kommo"`, seed 003): everything the
//! connector returns is mapped and staged under the run
//! ([`einklang_store::Staging`]), the staged snapshot is pre-checked
//! ([`einklang_core::refresh::precheck`]: nothing staged fails the step,
//! more than `max_drop` fewer records than the last applied refresh holds
//! it for review) and then applied in one store transaction (the swap):
//! new records created, changed ones updated as
//! [`einklang_core::refresh::apply`] decides, records the snapshot no
//! longer has deleted (`absent = "delete"`, as a deletion read from the
//! source is) — and records whose snapshot equals their base are not
//! written at all: no history, nothing for other connectors. A failure
//! anywhere leaves the hub as it was; staging is kept for inspection
//! unless the snapshot was applied.

use crate::inbound::{plan_gone, tombstone, Gone};
use crate::job::{RunEnv, StepReport};
use crate::pull::prepare::Preparer;
use crate::report::{FieldDiff, PlanItem};
use crate::step::{open_side, Open, SideSpec};
use crate::{CrashPoint, EngineError};
use einklang_config::Absent;
use einklang_core::refresh::{apply, compare, precheck, Change as RecordChange, Verdict};
use einklang_core::{content_hash, Fields};
use einklang_store::{
    Change, FieldChange, FieldChanges, LinkChange, LinkStatus, LinkWrite, RunStatus, StagedRecord,
    SyncBatch,
};
use std::collections::HashSet;

/// Records staged, and written in the swap, at a time.
const PAGE: usize = 2_000;

/// Run a refresh of `connector` for each of `entities`.
pub(crate) fn run_step(
    env: &mut RunEnv<'_>,
    connector: &str,
    entities: &[String],
) -> Result<Vec<StepReport>, EngineError> {
    let mut reports = Vec::new();
    for entity in entities {
        let spec = SideSpec {
            connector: connector.to_string(),
            pull: true,
            push: false,
        };
        let report = match open_side(env, "refresh", entity, &spec) {
            Ok(open) => refresh(env, open)?,
            Err(e) => {
                let mut r = StepReport::new("refresh", connector, entity);
                r.error = Some(e);
                r
            }
        };
        reports.push(report);
    }
    Ok(reports)
}

fn refresh(env: &mut RunEnv<'_>, mut open: Open<'_>) -> Result<StepReport, EngineError> {
    let entity = open.side.schema.name.clone();
    if let Some(held) = env.options.approve {
        return approve(env, open, held);
    }
    let staged = match stage(env, &mut open) {
        Ok(n) => n,
        Err(e) => {
            open.report.error = Some(format!(
                "{e} — nothing applied, the records staged so far are kept (einklang staging {})",
                env.run
            ));
            return Ok(finish(open));
        }
    };
    let last = last_applied(env, &entity)?;
    let verdict = precheck(&entity, staged, last, env.job.max_drop);
    decided(env, open, verdict, (env.run, staged))
}

/// Apply what held run `held` staged: a person approved its drop.
fn approve(env: &mut RunEnv<'_>, mut open: Open<'_>, held: i64) -> Result<StepReport, EngineError> {
    let entity = open.side.schema.name.clone();
    let counts = env.store.staged_counts(&env.config.tenant, held)?;
    let staged = counts
        .iter()
        .find(|c| c.entity == entity)
        .map_or(0, |c| c.records);
    bump(&mut open.report, "staged", staged);
    let verdict = match staged {
        0 => Verdict::Abort(format!(
            "run {held} staged no {entity} record: nothing to approve"
        )),
        _ => Verdict::Apply,
    };
    decided(env, open, verdict, (held, staged))
}

/// Act on the pre-check of the snapshot `staged` records that `run`
/// staged.
fn decided(
    env: &mut RunEnv<'_>,
    mut open: Open<'_>,
    verdict: Verdict,
    (run, staged): (i64, u64),
) -> Result<StepReport, EngineError> {
    let entity = open.side.schema.name.clone();
    match verdict {
        Verdict::Abort(why) => open.report.error = Some(why),
        Verdict::Hold(why) => {
            open.report.needs_review = true;
            open.report.notes.push(why);
        }
        // a dry run is one transaction rolled back already: no swap of its own
        Verdict::Apply if env.options.dry_run => swap(env, &mut open, run)?,
        Verdict::Apply => {
            env.store.begin_swap()?;
            let swapped = swap(env, &mut open, run);
            env.store.end_swap(swapped.is_ok())?;
            swapped?;
            bump(&mut open.report, &format!("snapshot_{entity}"), staged);
            keep_snapshot(env, &entity, run)?;
        }
    }
    Ok(finish(open))
}

fn finish(mut open: Open<'_>) -> StepReport {
    open.report.seconds = open.started.elapsed().as_secs_f64();
    open.report
}

fn bump(report: &mut StepReport, counter: &str, by: u64) {
    *report.counters.entry(counter.to_string()).or_default() += by;
}

/// Read, map and stage every record of the side; quarantine the bad
/// ones. Returns how many distinct records were staged.
fn stage(env: &mut RunEnv<'_>, open: &mut Open<'_>) -> Result<u64, String> {
    let (tenant, run) = (env.config.tenant.clone(), env.run);
    let entity = open.side.schema.name.clone();
    let mut preparer = Preparer::new(&open.side);
    let items = open.connector.read().map_err(|e| e.to_string())?;
    let mut chunk = Vec::with_capacity(PAGE);
    let mut items = items.fuse();
    loop {
        chunk.extend(items.by_ref().take(PAGE));
        if chunk.is_empty() {
            break;
        }
        let prepared = preparer.prepare_all(std::mem::take(&mut chunk));
        let records: Vec<StagedRecord> = prepared
            .incoming
            .into_iter()
            .map(|i| StagedRecord {
                entity: entity.clone(),
                external_id: i.external_id,
                values: i.values,
            })
            .collect();
        env.store
            .stage(&tenant, run, &records)
            .map_err(|e| e.to_string())?;
        if !prepared.rejects.is_empty() {
            env.store
                .quarantine(&tenant, run, &prepared.rejects)
                .map_err(|e| e.to_string())?;
        }
    }
    for (k, v) in preparer.take_counters() {
        bump(&mut open.report, &k, v);
    }
    let counts = env
        .store
        .staged_counts(&tenant, run)
        .map_err(|e| e.to_string())?;
    let mine = counts.iter().find(|c| c.entity == entity);
    let (records, duplicates) = mine.map_or((0, 0), |c| (c.records, c.duplicates));
    bump(&mut open.report, "staged", records);
    if duplicates > 0 {
        bump(&mut open.report, "duplicates", duplicates);
        open.report.notes.push(format!(
            "{duplicates} {entity} record(s) came twice in the snapshot (a listing that moved while it was read): each staged once, its last copy"
        ));
    }
    Ok(records)
}

/// Keep the snapshot just applied (staged by `run`) as this run's, and
/// of the job's earlier applied snapshots of `entity` only as many as
/// `keep_snapshots` allows; held and failed runs' staging is not touched.
fn keep_snapshot(env: &mut RunEnv<'_>, entity: &str, run: i64) -> Result<(), EngineError> {
    let tenant = env.config.tenant.clone();
    if env.job.keep_snapshots == 0 {
        env.store.drop_staged(&tenant, run)?;
        return Ok(());
    }
    if run != env.run {
        env.store.move_staged(&tenant, run, env.run)?;
    }
    let earlier = kept_snapshots(env.store, &tenant, entity, Some(&env.job.name))?;
    // this run's is the newest kept one
    for r in earlier.iter().skip(env.job.keep_snapshots - 1) {
        env.store.drop_staged(&tenant, r.id)?;
    }
    Ok(())
}

/// The applied refresh runs (of `job`, when given) whose snapshot of
/// `entity` is kept, newest first: what `einklang changes` compares and
/// the drop guard measures against.
pub fn kept_snapshots(
    store: &mut dyn einklang_store::HubStore,
    tenant: &str,
    entity: &str,
    job: Option<&str>,
) -> Result<Vec<einklang_store::Run>, EngineError> {
    let staged = store.staged_runs(tenant)?;
    let mut out = Vec::new();
    for c in staged.iter().filter(|c| c.entity == entity) {
        if let Some(r) = store.run(tenant, c.run)? {
            if applied(&r, entity).is_some() && job.is_none_or(|j| r.job == j) {
                out.push(r);
            }
        }
    }
    Ok(out)
}

/// A run's count of `entity` records applied, when it applied a refresh
/// of it (its `snapshot_{entity}` counter).
fn applied(r: &einklang_store::Run, entity: &str) -> Option<u64> {
    let done = matches!(r.status, RunStatus::Succeeded | RunStatus::Partial);
    let n = r.counters.get(&format!("snapshot_{entity}")).copied();
    n.filter(|_| done)
}

/// The run and record count of this job's last applied refresh of
/// `entity`: the newest kept snapshot's run, else the newest such run
/// among the latest 1,000 runs.
fn last_applied(env: &mut RunEnv<'_>, entity: &str) -> Result<Option<(i64, u64)>, EngineError> {
    let tenant = env.config.tenant.clone();
    let kept = kept_snapshots(env.store, &tenant, entity, Some(&env.job.name))?;
    let runs = match kept.is_empty() {
        true => env.store.runs(&tenant, 1_000)?,
        false => kept,
    };
    Ok(runs
        .iter()
        .filter(|r| r.job == env.job.name && r.id != env.run)
        .find_map(|r| applied(r, entity).map(|n| (r.id, n))))
}

/// Apply the snapshot `staged_by` staged (inside the swap's transaction).
fn swap(env: &mut RunEnv<'_>, open: &mut Open<'_>, staged_by: i64) -> Result<(), EngineError> {
    let (tenant, run) = (env.config.tenant.clone(), env.run);
    let (connector, entity) = (open.side.name.to_string(), open.side.schema.name.clone());
    let mut seen: HashSet<String> = HashSet::new();
    let mut after = String::new();
    loop {
        let page = env
            .store
            .staged_page(&tenant, staged_by, &entity, &after, PAGE)?;
        let Some(last) = page.last() else { break };
        after = last.external_id.clone();
        let ids: Vec<&str> = page.iter().map(|r| r.external_id.as_str()).collect();
        let links = env.store.find_links(&tenant, &connector, &entity, &ids)?;
        let linked: Vec<i64> = links.iter().flatten().map(|l| l.record_id).collect();
        let states = env.store.load_records(&tenant, &linked)?;
        let mut states = states.into_iter();
        let mut changes = Vec::new();
        for (staged, link) in page.into_iter().zip(links) {
            seen.insert(staged.external_id.clone());
            let hash = content_hash(&staged.values);
            let write = |values: Fields| LinkWrite {
                connector: connector.clone(),
                external_id: staged.external_id.clone(),
                base: values,
                content_hash: hash,
                version: None,
            };
            let Some(link) = link else {
                let fields = compare(&Fields::new(), &staged.values);
                plan(
                    env,
                    (&connector, "create"),
                    (None, &staged.external_id),
                    &fields,
                );
                bump(&mut open.report, "created", 1);
                changes.push(Change::Create {
                    entity: entity.clone(),
                    link: write(staged.values.clone()),
                    history: history(&fields),
                    values: staged.values,
                });
                continue;
            };
            // one state per link found, in order (a missing record: None)
            let Some(state) = states.next().flatten() else {
                continue;
            };
            if link.content_hash == hash {
                bump(&mut open.report, "unchanged", 1);
                continue;
            }
            // this link's base: a merged record may hold two links of the connector
            let base = (state.links.iter())
                .find(|l| l.id == link.link_id)
                .map(|l| l.base.clone())
                .unwrap_or_default();
            let Some((values, fields)) = apply(&state.values, &base, &staged.values) else {
                bump(&mut open.report, "unchanged", 1);
                continue;
            };
            let at = (Some(state.id), staged.external_id.as_str());
            plan(env, (&connector, "update"), at, &fields);
            bump(&mut open.report, "updated", 1);
            changes.push(Change::Update {
                record_id: state.id,
                link_id: link.link_id,
                history: history(&fields),
                values,
                link: write(staged.values),
            });
        }
        if !changes.is_empty() {
            env.store.apply(&tenant, run, &changes)?;
            env.crash.check(CrashPoint::InSwap)?;
        }
        // inside the swap's transaction: the keeper's connection waits
        env.holding.renew(env.store);
    }
    if env.job.absent == Absent::Delete {
        delete_absent(env, open, &seen)?;
    }
    Ok(())
}

/// A change the refresh makes, for `einklang plan` and the run report.
fn plan(
    env: &mut RunEnv<'_>,
    (connector, action): (&str, &'static str),
    (record, id): (Option<i64>, &str),
    changes: &[RecordChange],
) {
    let fields = changes
        .iter()
        .map(|(field, old, new)| FieldDiff {
            field: field.clone(),
            old: old.clone().unwrap_or_default(),
            new: new.clone().unwrap_or_default(),
        })
        .collect();
    env.plan.add(PlanItem {
        connector: connector.to_string(),
        direction: "pull",
        action,
        record,
        id: id.to_string(),
        fields,
    });
}

/// History of field changes ([`compare`], [`apply`]): absent as null.
fn history(changes: &[RecordChange]) -> FieldChanges {
    changes
        .iter()
        .map(|(field, old, new)| {
            let change = FieldChange {
                old: old.clone().unwrap_or_default(),
                new: new.clone().unwrap_or_default(),
            };
            (field.clone(), change)
        })
        .collect()
}

/// Delete the records whose links the snapshot no longer has, as a
/// deletion read from the source would ([`plan_gone`]).
fn delete_absent(
    env: &mut RunEnv<'_>,
    open: &mut Open<'_>,
    seen: &HashSet<String>,
) -> Result<(), EngineError> {
    let (tenant, run) = (env.config.tenant.clone(), env.run);
    let (connector, entity) = (open.side.name.to_string(), open.side.schema.name.clone());
    let mut gone = Vec::new();
    env.store
        .scan_links(&tenant, &connector, &entity, &mut |l| {
            if !matches!(l.status, LinkStatus::Pending | LinkStatus::DeletedRemote)
                && !seen.contains(l.external_id)
            {
                gone.push(l.to_ref());
            }
        })?;
    for chunk in gone.chunks(PAGE) {
        let ids: Vec<_> = chunk.iter().map(|l| l.record_id).collect();
        let states = env.store.load_records(&tenant, &ids)?;
        let mut batch = SyncBatch::default();
        for (lref, state) in chunk.iter().zip(states) {
            let Some(state) = state else { continue };
            let Some(link) = state.links.iter().find(|l| l.id == lref.link_id) else {
                continue;
            };
            let decision = plan_gone(&open.side, &state, link, false);
            batch.links.push(LinkChange::State {
                link_id: link.id,
                status: LinkStatus::DeletedRemote,
                attempts: 0,
                next_attempt_at: None,
                last_error: None,
            });
            if decision == Gone::DeleteRecord {
                let fields = compare(&state.values, &Fields::new());
                let at = (Some(state.id), link.external_id.as_str());
                plan(env, (&connector, "delete"), at, &fields);
                bump(&mut open.report, "deleted", 1);
                batch.records.push(tombstone(&state, &connector));
                batch.dirty.push((state.id, Some(link.id)));
            }
        }
        env.store.apply_sync(&tenant, run, &batch)?;
        env.holding.renew(env.store);
    }
    Ok(())
}
