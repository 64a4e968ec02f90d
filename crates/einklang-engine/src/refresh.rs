//! A refresh step (`[jobs.J] refresh = "kommo"`, seed 003): everything the
//! connector returns is read once, mapped by each of the step's entity
//! mappings (a Kommo lead becomes a lead, a booking, a client and a
//! vehicle) and staged under the run ([`einklang_store::Staging`]); each
//! entity's staged snapshot is pre-checked
//! ([`einklang_core::refresh::precheck`]: nothing staged fails the step,
//! more than `max_drop` fewer records than the last applied refresh holds
//! it for review) and then all of them are applied in one store
//! transaction (the swap, [`swap`]): the entities a record refers to
//! first, so its `ref` fields resolve to hub ids. The step is one unit:
//! one entity failing its check holds or fails them all. A failure
//! anywhere leaves the hub as it was; staging is kept for inspection
//! unless the snapshot was applied. A source whose fingerprint (with the
//! step's mappings) is the one its last applied snapshot had is not read
//! at all (`--full` reads it anyway).

mod held;
mod swap;

pub use held::{approvable, Unapprovable};

use crate::job::{RunEnv, StepReport};
use crate::pull::prepare::Preparer;
use crate::step::{open_side, Open, SideSpec};
use crate::EngineError;
use einklang_connectors::ReadItem;
use einklang_core::refresh::{precheck, Verdict};
use einklang_core::EntitySchema;
use einklang_store::{RunStatus, StagedRecord};

/// Records staged, and written in the swap, at a time.
const PAGE: usize = 2_000;

/// Run a refresh of `connector` for `entities`, as one unit.
pub(crate) fn run_step(
    env: &mut RunEnv<'_>,
    connector: &str,
    entities: &[String],
) -> Result<Vec<StepReport>, EngineError> {
    let mut opens = Vec::new();
    let mut failed = Vec::new();
    for entity in entities {
        let spec = SideSpec {
            connector: connector.to_string(),
            pull: true,
            push: false,
        };
        match open_side(env, "refresh", entity, &spec) {
            Ok(open) => opens.push(open),
            Err(e) => {
                let mut r = StepReport::new("refresh", connector, entity);
                r.error = Some(e);
                failed.push(r);
            }
        }
    }
    if !failed.is_empty() {
        for mut open in opens {
            open.report.error = Some(format!(
                "not refreshed: {} of this step could not be opened",
                failed[0].entity
            ));
            failed.push(finish(open));
        }
        return Ok(failed);
    }
    // the entities a record refers to first
    let schemas: Vec<&EntitySchema> = opens.iter().map(|o| o.side.schema).collect();
    let order = einklang_core::refs::order(&schemas);
    let mut rank = vec![0; order.len()];
    for (at, &i) in order.iter().enumerate() {
        rank[i] = at;
    }
    let mut ranked: Vec<(usize, Open<'_>)> = rank.into_iter().zip(opens).collect();
    ranked.sort_by_key(|(r, _)| *r);
    refresh(env, ranked.into_iter().map(|(_, o)| o).collect())
}

/// Stage (or, approving, take a held run's staging), check and apply.
fn refresh(env: &mut RunEnv<'_>, mut opens: Vec<Open<'_>>) -> Result<Vec<StepReport>, EngineError> {
    if let Some(held) = env.options.approve {
        let verdicts = approved(env, &mut opens, held)?;
        return decided(env, opens, (verdicts, None), held);
    }
    let mark = match source_mark(&mut opens) {
        Ok(mark) => mark,
        Err(e) => {
            for open in &mut opens {
                open.report.error = Some(e.clone());
            }
            return Ok(opens.into_iter().map(finish).collect());
        }
    };
    if let Some(mark) = &mark {
        if !env.options.full && same_source(env, &opens, mark)? {
            for open in &mut opens {
                open.report.source_unchanged = true;
                bump(&mut open.report, "sources_unchanged", 1);
            }
            return Ok(opens.into_iter().map(finish).collect());
        }
        // the hub is about to change from this source: until the new mark
        // is stored, a crash must not let the next refresh skip it
        set_mark(env, &opens, "")?;
    }
    let staged = match stage(env, &mut opens) {
        Ok(staged) => staged,
        Err(e) => {
            for open in &mut opens {
                open.report.error = Some(format!(
                    "{e} — nothing applied, the records staged so far are kept (einklang staging {})",
                    env.run
                ));
            }
            return Ok(opens.into_iter().map(finish).collect());
        }
    };
    let mut verdicts = Vec::new();
    for (open, n) in opens.iter().zip(staged) {
        let entity = &open.side.schema.name;
        let last = last_applied(env, entity)?;
        verdicts.push((precheck(entity, n, last, env.job.max_drop), n));
    }
    decided(env, opens, (verdicts, mark), env.run)
}

/// What an unchanged snapshot is known by: the source's fingerprint (a
/// file's content hash; `None` for a kind without one) with a hash of the
/// step's mappings and schemas — a changed mapping reads the source again.
fn source_mark(opens: &mut [Open<'_>]) -> Result<Option<String>, String> {
    let Some(first) = opens.first_mut() else {
        return Ok(None);
    };
    let Some(fp) = first.connector.fingerprint().map_err(|e| e.to_string())? else {
        return Ok(None);
    };
    let shape: Vec<_> = opens
        .iter()
        .map(|o| (o.side.mapping, o.side.schema))
        .collect();
    let shape = serde_json::to_string(&shape).unwrap_or_default();
    let shape = xxhash_rust::xxh3::xxh3_64(shape.as_bytes());
    Ok(Some(format!("refresh:{fp}:{shape:016x}")))
}

/// Whether every entity of the step last applied a snapshot of the source
/// as it is now.
fn same_source(env: &mut RunEnv<'_>, opens: &[Open<'_>], mark: &str) -> Result<bool, EngineError> {
    let tenant = env.config.tenant.clone();
    for open in opens {
        let stored =
            (env.store).source_fingerprint(&tenant, open.side.name, &open.side.schema.name)?;
        if stored.as_deref() != Some(mark) {
            return Ok(false);
        }
    }
    Ok(true)
}

fn set_mark(env: &mut RunEnv<'_>, opens: &[Open<'_>], mark: &str) -> Result<(), EngineError> {
    let tenant = env.config.tenant.clone();
    for open in opens {
        (env.store).set_source_fingerprint(
            &tenant,
            open.side.name,
            &open.side.schema.name,
            mark,
        )?;
    }
    Ok(())
}

/// The verdicts on what held run `held` staged: a person approved its drop.
fn approved(
    env: &mut RunEnv<'_>,
    opens: &mut [Open<'_>],
    held: i64,
) -> Result<Vec<(Verdict, u64)>, EngineError> {
    let counts = env.store.staged_counts(&env.config.tenant, held)?;
    // its read had records without a readable id: absent ones are kept
    let held_run = env.store.run(&env.config.tenant, held)?;
    let unsure = held_run.map_or(0, |r| r.counters.get("unidentified").copied().unwrap_or(0));
    let mut verdicts = Vec::new();
    for open in opens {
        if unsure > 0 {
            bump(&mut open.report, "unidentified", unsure);
        }
        let entity = &open.side.schema.name;
        let staged = counts
            .iter()
            .find(|c| &c.entity == entity)
            .map_or(0, |c| c.records);
        bump(&mut open.report, "staged", staged);
        let verdict = match staged {
            0 => Verdict::Abort(format!(
                "run {held} staged no {entity} record: nothing to approve"
            )),
            _ => Verdict::Apply,
        };
        verdicts.push((verdict, staged));
    }
    Ok(verdicts)
}

/// Act on the pre-checks of the snapshots `run` staged (a verdict and the
/// staged count per entity, in `opens`' order): apply them all, or none;
/// once applied, remember the source's `mark`.
fn decided(
    env: &mut RunEnv<'_>,
    mut opens: Vec<Open<'_>>,
    (verdicts, mark): (Vec<(Verdict, u64)>, Option<String>),
    run: i64,
) -> Result<Vec<StepReport>, EngineError> {
    let aborted = verdicts.iter().any(|(v, _)| matches!(v, Verdict::Abort(_)));
    let held = verdicts.iter().any(|(v, _)| matches!(v, Verdict::Hold(_)));
    if aborted || held {
        for (open, (verdict, _)) in opens.iter_mut().zip(verdicts) {
            held_or_failed(&mut open.report, verdict, aborted);
        }
        return Ok(opens.into_iter().map(finish).collect());
    }
    if env.options.dry_run {
        // a dry run is one transaction rolled back already: no swap of its own
        swap::apply_all(env, &mut opens, run)?;
        return Ok(opens.into_iter().map(finish).collect());
    }
    env.store.begin_swap()?;
    let swapped = swap::apply_all(env, &mut opens, run);
    env.store.end_swap(swapped.is_ok())?;
    swapped?;
    for (open, (_, staged)) in opens.iter_mut().zip(&verdicts) {
        let entity = open.side.schema.name.clone();
        bump(&mut open.report, &format!("snapshot_{entity}"), *staged);
    }
    let entities: Vec<String> = opens.iter().map(|o| o.side.schema.name.clone()).collect();
    keep_snapshot(env, &entities, run)?;
    if let Some(mark) = mark {
        set_mark(env, &opens, &mark)?;
    }
    Ok(opens.into_iter().map(finish).collect())
}

/// One entity's report when the step is not applied: its own verdict, or
/// (when its snapshot passed) why it waits for the others.
fn held_or_failed(report: &mut StepReport, verdict: Verdict, aborted: bool) {
    match (verdict, aborted) {
        (Verdict::Abort(why), _) => report.error = Some(why),
        (Verdict::Hold(why), _) => {
            report.needs_review = true;
            report.notes.push(why);
        }
        (Verdict::Apply, true) => {
            report.error =
                Some("not applied: another entity of this refresh failed its check".into())
        }
        (Verdict::Apply, false) => {
            report.needs_review = true;
            report
                .notes
                .push("held with the other entities of this refresh (one unit)".into());
        }
    }
}

fn finish(mut open: Open<'_>) -> StepReport {
    open.report.seconds = open.started.elapsed().as_secs_f64();
    open.report
}

fn bump(report: &mut StepReport, counter: &str, by: u64) {
    *report.counters.entry(counter.to_string()).or_default() += by;
}

/// Read the connector once; map, normalise and stage every record by each
/// entity's mapping; quarantine the bad ones. Returns how many distinct
/// records of each entity were staged.
fn stage(env: &mut RunEnv<'_>, opens: &mut [Open<'_>]) -> Result<Vec<u64>, String> {
    let (tenant, run) = (env.config.tenant.clone(), env.run);
    let mut counters = Vec::new();
    // records whose id could not be read, per entity: absent records are
    // then kept (one of them may be such a record)
    let mut unidentified = vec![0; opens.len()];
    {
        let mut sides = Vec::new();
        let mut connectors = Vec::new();
        for o in opens.iter_mut() {
            sides.push(&o.side);
            connectors.push(&mut o.connector);
        }
        let Some(connector) = connectors.into_iter().next() else {
            return Ok(Vec::new());
        };
        let mut preparers: Vec<Preparer<'_>> = sides.iter().map(|s| Preparer::new(s)).collect();
        let mut items = connector.read().map_err(|e| e.to_string())?.fuse();
        let mut chunk = Vec::with_capacity(PAGE);
        loop {
            chunk.extend(items.by_ref().take(PAGE));
            if chunk.is_empty() {
                break;
            }
            let mut read = std::mem::take(&mut chunk);
            // a read that broke off: stage what came before it, then fail
            let broken = read.iter().position(|r| matches!(r, ReadItem::Broken(_)));
            let broken = broken.map(|at| read.split_off(at).swap_remove(0));
            let rejects = read
                .iter()
                .filter(|r| matches!(r, ReadItem::Reject(_)))
                .count() as u64;
            for (i, (side, preparer)) in sides.iter().zip(&mut preparers).enumerate() {
                // a piece of input the connector could not parse: quarantined once
                let items = match i {
                    0 => read.clone(),
                    _ => (read.iter().filter(|r| matches!(r, ReadItem::Record(_))))
                        .cloned()
                        .collect(),
                };
                unidentified[i] += stage_chunk(env, side.schema, preparer, items)?;
                if i > 0 {
                    unidentified[i] += rejects; // the source's, seen by the first only
                }
            }
            if let Some(ReadItem::Broken(r)) = broken {
                return Err(format!("{} ({})", r.reason, r.position));
            }
        }
        for (i, preparer) in preparers.iter_mut().enumerate() {
            let mut c = preparer.take_counters();
            if i > 0 {
                c.remove("read"); // one read, counted once
            }
            counters.push(c);
        }
    }
    let counts = env
        .store
        .staged_counts(&tenant, run)
        .map_err(|e| e.to_string())?;
    // a record other entities of the step refer to is named by many
    let targets: Vec<String> = (opens.iter())
        .flat_map(|o| einklang_core::refs::ref_fields(o.side.schema))
        .map(|r| r.target)
        .collect();
    let mut staged = Vec::new();
    for ((open, c), unidentified) in opens.iter_mut().zip(counters).zip(unidentified) {
        for (k, v) in c {
            bump(&mut open.report, &k, v);
        }
        if unidentified > 0 {
            bump(&mut open.report, "unidentified", unidentified);
        }
        let entity = &open.side.schema.name;
        let mine = counts.iter().find(|c| &c.entity == entity);
        let (records, duplicates) = mine.map_or((0, 0), |c| (c.records, c.duplicates));
        bump(&mut open.report, "staged", records);
        if duplicates > 0 {
            bump(&mut open.report, "duplicates", duplicates);
        }
        if duplicates > 0 && !targets.contains(entity) {
            open.report.notes.push(format!(
                "{duplicates} {entity} record(s) came twice in the snapshot (a listing that moved while it was read): each staged once, its last copy"
            ));
        }
        staged.push(records);
    }
    Ok(staged)
}

/// Map and stage one chunk of read items for one entity; returns how
/// many were quarantined without a readable id.
fn stage_chunk(
    env: &mut RunEnv<'_>,
    schema: &EntitySchema,
    preparer: &mut Preparer<'_>,
    items: Vec<ReadItem>,
) -> Result<u64, String> {
    let (tenant, run) = (env.config.tenant.clone(), env.run);
    let prepared = preparer.prepare_all(items);
    // quarantined without an id (a record filtered out is simply not in the snapshot)
    let unidentified = (prepared.rejects.iter())
        .filter(|q| q.external_id.is_none())
        .count() as u64;
    let records: Vec<StagedRecord> = prepared
        .incoming
        .into_iter()
        .map(|i| StagedRecord {
            entity: schema.name.clone(),
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
    Ok(unidentified)
}

/// Keep the snapshot just applied (staged by `run`) as this run's, and
/// of the job's earlier applied snapshots of each of `entities` only as
/// many as `keep_snapshots` allows; held and failed runs' staging is not
/// touched.
fn keep_snapshot(env: &mut RunEnv<'_>, entities: &[String], run: i64) -> Result<(), EngineError> {
    let tenant = env.config.tenant.clone();
    if env.job.keep_snapshots == 0 {
        env.store.drop_staged(&tenant, run)?;
        return Ok(());
    }
    if run != env.run {
        env.store.move_staged(&tenant, run, env.run)?;
    }
    for entity in entities {
        let earlier = kept_snapshots(env.store, &tenant, entity, Some(&env.job.name))?;
        // this run's is the newest kept one
        for r in earlier.iter().skip(env.job.keep_snapshots - 1) {
            env.store.drop_staged(&tenant, r.id)?;
        }
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
