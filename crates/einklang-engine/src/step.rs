//! One step of a job for one entity: its sides (connector × entity, each
//! read, written or both), run in the order that makes two-way sync safe:
//!
//! 1. recover the outbox entries a crashed run left `sending`, on every
//!    side that is written;
//! 2. read every side that is read, in the configured order, merging its
//!    changes into the hub (a targeted run — a webhook's — reads only the
//!    records it names, on the sides it names: [`crate::pull::targeted`]);
//! 3. decide the records each side lost — after all reads, so an edit made
//!    on any side beats a delete made on another;
//! 4. write every side that is written.
//!
//! A pull step is one read side, a push step one written side, a sync step
//! several sides that are both.

use crate::deletes::{apply_gone, guard};
use crate::job::{RunEnv, StepReport};
use crate::outbound::{bump, push_side, recover, PushEnv};
use crate::pull::{read_side, store_marks, Mark, StepContext};
use crate::side::Side;
use crate::{CrashPoint, EngineError};
use einklang_connectors::Connector;
use einklang_core::NormaliseContext;
use einklang_store::{Counters, LinkRef};
use std::time::Instant;

/// A connector in a step and what the step does with it.
#[derive(Clone, Debug)]
pub(crate) struct SideSpec {
    pub connector: String,
    pub pull: bool,
    pub push: bool,
}

pub(crate) struct Open<'c> {
    pub side: Side<'c>,
    pub connector: Box<dyn Connector>,
    pub report: StepReport,
    pub started: Instant,
}

/// Run one step for one entity; one report per side.
pub(crate) fn run_entity(
    env: &mut RunEnv<'_>,
    action: &str,
    entity: &str,
    specs: &[SideSpec],
) -> Result<Vec<StepReport>, EngineError> {
    let config = env.config;
    let _span = tracing::debug_span!("step", action, entity).entered();
    let mut sides: Vec<Open<'_>> = Vec::new();
    let mut failed = Vec::new();
    for spec in specs {
        match open_side(env, action, entity, spec) {
            Ok(open) => sides.push(open),
            Err(e) => failed.push(StepReport::failed(action, &spec.connector, entity, e)),
        }
    }
    for o in &mut sides {
        o.side.leave_out_not_kept(&mut *env.store, &config.tenant)?;
    }
    let options = env.options;
    let policies = config.policies_of(entity);
    let max_deletes = env.max_deletes;
    let mut ctx = StepContext {
        tenant: config.tenant.clone(),
        store: &mut *env.store,
        run: env.run,
        full: env.options.full,
        progress: env.progress,
        policies: &policies,
        plan: &mut env.plan,
        notes: Vec::new(),
        matcher: config
            .matching
            .get(entity)
            .filter(|m| m.ingest)
            .map(|m| crate::identity::Matcher::new(entity, m)),
        checks: sides.iter().map(|o| o.side.clone()).collect(),
    };
    for o in sides.iter_mut().filter(|o| o.side.pushes) {
        match recover(&mut ctx, o.connector.as_mut(), &o.side)? {
            Ok(r) => {
                if r.found + r.held > 0 {
                    tracing::info!(
                        connector = o.side.name,
                        found = r.found,
                        held = r.held,
                        "writes of an earlier run recovered"
                    );
                }
                bump(&mut o.report.counters, "recovered", r.found)
            }
            Err(e) => o.report.error = Some(e),
        }
    }
    let mut lost = Vec::new();
    for (i, o) in sides.iter_mut().enumerate() {
        if !o.side.pulls || o.report.error.is_some() {
            continue;
        }
        // a targeted run reads only the sides it names, and those by id
        let named = match &options.targets {
            None => None,
            Some(targets) => match targets.get(o.side.name) {
                None => continue,
                Some(ids) if crate::pull::targeted::can(&o.side) => Some(ids.as_slice()),
                Some(_) => None, // cannot fetch by id: read as usual
            },
        };
        env.progress
            .step(&format!("{action} {} → {entity}", o.side.name));
        if let Some((gone, marks, left)) = read_one(&mut ctx, o, max_deletes, named)? {
            lost.push((i, gone, marks, left));
        }
        env.progress.step_done();
        env.crash.check(CrashPoint::AfterInbound)?;
    }
    // only now, with every side's edits in the hub, can an edit beat a delete
    for (i, gone, marks, left) in lost {
        let o = &mut sides[i];
        if !gone.is_empty() {
            let counters = apply_gone(&mut ctx, &o.side, (&gone, &left))?;
            merge_into(&mut o.report.counters, counters);
        }
        store_marks(&mut ctx, &o.side, &marks)?;
    }
    // a write's answer can change the hub (a value the remote assigned,
    // read again after the write): one more round writes it to the sides
    // already written, so the next sync owes nothing
    for round in 0..2 {
        let mut answers = 0;
        for o in sides
            .iter_mut()
            .filter(|o| o.side.pushes && o.report.error.is_none())
        {
            let mut push_env = PushEnv {
                retry: &config.retry,
                now: env.now,
                dry_run: env.options.dry_run,
                crash: &mut env.crash,
                progress: env.progress,
            };
            answers += push_one(&mut ctx, &mut push_env, o, (action, entity))?;
        }
        if answers == 0 || round == 1 {
            break;
        }
    }
    let notes = std::mem::take(&mut ctx.notes);
    let mut reports: Vec<StepReport> = sides
        .into_iter()
        .map(|mut o| {
            o.report.seconds = o.started.elapsed().as_secs_f64();
            o.report
        })
        .collect();
    if let Some(first) = reports.first_mut() {
        first.notes.extend(notes);
    }
    reports.extend(failed);
    Ok(reports)
}

/// Push one side; the hub changes its answers made.
fn push_one(
    ctx: &mut StepContext<'_>,
    push_env: &mut PushEnv<'_>,
    o: &mut Open<'_>,
    (action, entity): (&str, &str),
) -> Result<u64, EngineError> {
    let mut answers = 0;
    ctx.progress
        .step(&format!("{action} {entity} → {}", o.side.name));
    let _span = tracing::debug_span!("push", connector = o.side.name).entered();
    match push_side(ctx, push_env, o.connector.as_mut(), &o.side)? {
        Ok(c) => {
            tracing::debug!(counters = ?c, "push done");
            answers = c.get("answers_into_hub").copied().unwrap_or(0);
            merge_into(&mut o.report.counters, c)
        }
        Err(e) => {
            tracing::warn!(connector = o.side.name, error = %e, "push failed");
            o.report.error = Some(e)
        }
    }
    ctx.progress.step_done();
    Ok(answers)
}

/// The links a read lost and the marks to store once they are decided.
type Lost = (Vec<LinkRef>, Vec<Mark>, std::collections::HashSet<String>);

/// Read one side; returns the links it lost (unless the guard holds them)
/// and the marks to store once they are decided.
fn read_one(
    ctx: &mut StepContext<'_>,
    o: &mut Open<'_>,
    max_deletes: f64,
    named: Option<&[String]>,
) -> Result<Option<Lost>, EngineError> {
    let _span = tracing::debug_span!("read", connector = o.side.name).entered();
    let read = match named {
        Some(ids) => crate::pull::targeted::read(ctx, o.connector.as_mut(), &o.side, ids)?,
        None => read_side(ctx, o.connector.as_mut(), &o.side)?,
    };
    let outcome = match read {
        Ok(outcome) => outcome,
        Err(e) => {
            tracing::warn!(connector = o.side.name, error = %e, "read failed");
            o.report.error = Some(e);
            return Ok(None);
        }
    };
    tracing::debug!(
        unchanged_source = outcome.source_unchanged,
        gone = outcome.gone.as_ref().map(Vec::len),
        counters = ?outcome.counters,
        "read done"
    );
    merge_into(&mut o.report.counters, outcome.counters);
    o.report.source_unchanged = outcome.source_unchanged;
    o.report.notes.extend(outcome.note);
    let (marks, left) = (outcome.marks, outcome.left_scope);
    let Some(gone) = outcome.gone.filter(|g| !g.is_empty()) else {
        return Ok(Some((Vec::new(), marks, left)));
    };
    if let Some(stop) = guard(o.side.name, gone.len(), outcome.live_links, max_deletes) {
        // the held deletes must be looked at again next time: forget what
        // would let the next read skip this source
        let (name, entity) = (o.side.name, o.side.schema.name.as_str());
        ctx.store
            .set_source_fingerprint(&ctx.tenant, name, entity, "")?;
        ctx.store
            .set_cursor(&ctx.tenant, name, entity, crate::listing::CURSOR, "")?;
        tracing::warn!(connector = o.side.name, gone = gone.len(), "{stop}");
        o.report.notes.push(stop);
        o.report.needs_review = true;
        bump(&mut o.report.counters, "deletes_held", gone.len() as u64);
        return Ok(None);
    }
    Ok(Some((gone, marks, left)))
}

pub(crate) fn open_side<'c>(
    env: &mut RunEnv<'c>,
    action: &str,
    entity: &str,
    spec: &SideSpec,
) -> Result<Open<'c>, String> {
    let config = env.config;
    let started = Instant::now();
    let fail = |e: String| e;
    let mapping = config.mapping(&spec.connector, entity).ok_or_else(|| {
        fail(format!(
            "connector `{}` has no mapping for `{entity}`",
            spec.connector
        ))
    })?;
    let schema = config
        .entities
        .get(entity)
        .ok_or_else(|| fail(format!("entity `{entity}` is not defined")))?;
    let cc = config
        .connectors
        .get(&spec.connector)
        .ok_or_else(|| fail(format!("connector `{}` is not configured", spec.connector)))?;
    let connector = env
        .connectors
        .open(cc, &config.base_dir)
        .map_err(|e| fail(e.to_string()))?;
    let caps = connector.capabilities();
    if spec.push && !caps.write {
        return Err(fail(format!(
            "connector `{}` ({}) cannot be written",
            spec.connector,
            connector.kind()
        )));
    }
    let norm = NormaliseContext {
        region: config.region.clone(),
        max_field_bytes: config.max_field_bytes,
    };
    let mut side = Side::new(mapping, schema, norm, caps, (spec.pull, spec.push));
    side.named_after_marker = connector.named_after_marker();
    Ok(Open {
        side,
        connector,
        report: StepReport::new(action, &spec.connector, entity),
        started,
    })
}

fn merge_into(total: &mut Counters, more: Counters) {
    for (k, v) in more {
        *total.entry(k).or_default() += v;
    }
}
