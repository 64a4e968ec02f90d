//! The identity commands as runs: a dedupe pass committed, a review pair
//! accepted or rejected, a merge undone. Each is a run of its own
//! (`dedupe contact`, `review 7`, `unmerge 12`), so it shows in
//! `einklang runs` and its merges in the records' history.

use super::{apply_plan, merge_pair, pair_key, Applied};
use crate::lease::{Holding, LeaseOptions};
use crate::EngineError;
use einklang_config::Matching;
use einklang_core::identity::batch::{self, Plan, Settings};
use einklang_core::identity::block;
use einklang_core::identity::model::Decision;
use einklang_core::Fields;
use einklang_store::{
    Counters, HubStore, MergeRow, NewRun, RecordId, ReviewRow, ReviewStatus, RunId, RunOutcome,
    RunSource, RunStatus, StoreError,
};
use std::collections::HashSet;
use std::time::Duration;

/// The batch settings of a matching section.
pub fn settings(m: &Matching) -> Settings<'_> {
    Settings {
        block: &m.block,
        max_block: m.max_block,
        estimate: m.estimate,
        em: m.em,
        auto_merge: m.auto_merge,
        review: m.review,
    }
}

/// How many live records one store read brings.
const PAGE: usize = 10_000;

/// A batch pass over the live records of `entity`, with the pairs a
/// person rejected kept apart. Reads only. The records are streamed from
/// the store into the pass a page at a time and kept only as their
/// normalised forms (`batch::Prepared`), not as values; returned are
/// their ids, the plan's indices (load the values of the few records a
/// caller shows with [`HubStore::load_records`]).
pub fn plan(
    store: &mut dyn HubStore,
    tenant: &str,
    (entity, m): (&str, &Matching),
) -> Result<(Vec<RecordId>, Plan), EngineError> {
    let mut model = m.model.clone();
    let settings = settings(m);
    let started = std::time::Instant::now();
    let (ids, prepared, reading) = streamed(store, (tenant, entity), &model, settings.block)?;
    tracing::debug!(
        records = ids.len(),
        seconds = started.elapsed().as_secs_f64(),
        reading_seconds = reading.as_secs_f64(),
        "dedupe: records read and normalised"
    );
    let started = std::time::Instant::now();
    let mut plan = batch::run_prepared(&mut model, &settings, prepared);
    let rejected: HashSet<_> = store.rejected_pairs(tenant, entity)?.into_iter().collect();
    for p in &mut plan.pairs {
        if rejected.contains(&pair_key(ids[p.a], ids[p.b])) {
            p.decision = Decision::Apart;
        }
    }
    let merges: Vec<(usize, usize)> = plan
        .pairs
        .iter()
        .filter(|p| p.decision == Decision::Merge)
        .map(|p| (p.a, p.b))
        .collect();
    plan.clusters = block::clusters(ids.len(), &merges);
    tracing::debug!(
        pairs = plan.pairs.len(),
        clusters = plan.clusters.len(),
        seconds = started.elapsed().as_secs_f64(),
        "dedupe: pairs scored and clustered"
    );
    Ok((ids, plan))
}

/// The live records of `entity` streamed from the store a page at a time
/// into their normalised forms: their ids, the forms, and the time spent
/// reading.
fn streamed(
    store: &mut dyn HubStore,
    (tenant, entity): (&str, &str),
    model: &einklang_core::identity::model::Model,
    block: &[block::Rule],
) -> Result<(Vec<RecordId>, batch::Prepared, Duration), EngineError> {
    let mut ids: Vec<RecordId> = Vec::new();
    let mut failed = None;
    let mut prepared = batch::Prepared::new();
    let mut page = Vec::new().into_iter();
    let records = std::iter::from_fn(|| loop {
        if let Some((id, values)) = page.next() {
            ids.push(id);
            return Some(values);
        }
        let after = ids.last().copied().unwrap_or(0);
        match store.live_records(tenant, entity, after, PAGE) {
            Ok(next) if !next.is_empty() => page = next.into_iter(),
            Ok(_) => return None,
            Err(e) => {
                failed = Some(e);
                return None;
            }
        }
    });
    let reading = prepared.extend_from(model, block, records);
    match failed {
        Some(e) => Err(e.into()),
        None => Ok((ids, prepared, reading)),
    }
}

/// The entity's model fitted as a pass fits it (over the live records,
/// streamed: only their normalised forms are held), for scoring single
/// pairs in `explain` and `review`.
pub fn fitted_model(
    store: &mut dyn HubStore,
    tenant: &str,
    (entity, m): (&str, &Matching),
) -> Result<einklang_core::identity::model::Model, EngineError> {
    let mut model = m.model.clone();
    let (_, prepared, _) = streamed(store, (tenant, entity), &model, &m.block)?;
    prepared.fit_as_pass(&mut model, &settings(m));
    Ok(model)
}

/// Run `f` as a run of its own named `job`, holding the lease of
/// `entity` (so no sync of it runs meanwhile; waits up to
/// [`OP_WAIT`] for one to finish); its counters are the run's.
pub fn in_run<T>(
    store: &mut dyn HubStore,
    (tenant, job, by): (&str, &str, &str),
    entity: &str,
    f: impl FnOnce(&mut dyn HubStore, RunId) -> Result<(T, Counters), EngineError>,
) -> Result<(RunId, T), EngineError> {
    in_held_run(store, (tenant, job, by), entity, |store, run, _| {
        f(store, run)
    })
}

/// [`in_run`], with `f` given the leases it runs under (to renew them
/// between long transactions, [`Holding::renew`]).
pub fn in_held_run<T>(
    store: &mut dyn HubStore,
    (tenant, job, by): (&str, &str, &str),
    entity: &str,
    f: impl FnOnce(&mut dyn HubStore, RunId, &Holding) -> Result<(T, Counters), EngineError>,
) -> Result<(RunId, T), EngineError> {
    let names = vec![format!("entity:{entity}")];
    let holding = Holding::acquire(store, tenant, names, (job, by), &op_lease())?;
    let out = leased_run(store, (tenant, job, by), (&holding, None), f);
    holding.release(store)?;
    out
}

/// How long a command waits for a sync of its entity to finish.
pub const OP_WAIT: Duration = Duration::from_secs(30);

/// The lease options of a command run by a person.
pub fn op_lease() -> LeaseOptions {
    LeaseOptions {
        wait: Some(OP_WAIT),
        ..LeaseOptions::default()
    }
}

fn leased_run<T>(
    store: &mut dyn HubStore,
    (tenant, job, by): (&str, &str, &str),
    (holding, queued): (&Holding, Option<RunId>),
    f: impl FnOnce(&mut dyn HubStore, RunId, &Holding) -> Result<(T, Counters), EngineError>,
) -> Result<(RunId, T), EngineError> {
    let run = match queued {
        Some(run) => {
            store.begin_queued(tenant, run)?;
            run
        }
        None => {
            let new = NewRun {
                job: job.to_string(),
                source: RunSource::Manual,
                triggered_by: by.to_string(),
            };
            store.start_run(tenant, &new)?
        }
    };
    holding.attach(store, run)?;
    match f(store, run, holding) {
        Ok((value, counters)) => {
            let outcome = RunOutcome {
                status: RunStatus::Succeeded,
                counters,
                errors: Vec::new(),
            };
            store.finish_run(tenant, run, &outcome)?;
            Ok((run, value))
        }
        Err(e) => {
            let outcome = RunOutcome {
                status: RunStatus::Failed,
                counters: Counters::new(),
                errors: vec![e.to_string()],
            };
            store.finish_run(tenant, run, &outcome)?;
            Err(e)
        }
    }
}

fn counters(pairs: &[(&str, u64)]) -> Counters {
    pairs.iter().map(|(k, v)| (k.to_string(), *v)).collect()
}

/// `einklang dedupe ENTITY`: plan and commit, as run `dedupe ENTITY`.
pub fn dedupe(
    store: &mut dyn HubStore,
    who: (&str, &str),
    what: (&str, &Matching),
) -> Result<(RunId, Applied), EngineError> {
    dedupe_as(store, who, what, None)
}

/// [`dedupe`] as a run recorded already: `queued`, a run of the queue of
/// `einklang serve` (job `dedupe ENTITY`), goes on under its id.
pub fn dedupe_as(
    store: &mut dyn HubStore,
    (tenant, by): (&str, &str),
    (entity, m): (&str, &Matching),
    queued: Option<RunId>,
) -> Result<(RunId, Applied), EngineError> {
    let job = format!("dedupe {entity}");
    let names = vec![format!("entity:{entity}")];
    let holding = Holding::acquire(store, tenant, names, (&job, by), &op_lease())?;
    let out = leased_run(
        store,
        (tenant, &job, by),
        (&holding, queued),
        |store, run, holding| {
            let (records, plan) = plan(store, tenant, (entity, m))?;
            let rejected: HashSet<_> = store.rejected_pairs(tenant, entity)?.into_iter().collect();
            let started = std::time::Instant::now();
            let applied = apply_plan(
                store,
                (tenant, run),
                (entity, m),
                (&records, &plan),
                &rejected,
                &|store| holding.renew(store),
            )?;
            tracing::debug!(
                merged = applied.merged,
                queued = applied.queued,
                seconds = started.elapsed().as_secs_f64(),
                "dedupe: plan committed"
            );
            let c = counters(&[
                ("read", records.len() as u64),
                ("merged", applied.merged),
                ("review", applied.queued),
                ("kept_apart", applied.kept_apart),
                ("failed", applied.failed.len() as u64),
            ]);
            Ok((applied, c))
        },
    );
    holding.release(store)?;
    out
}

/// An open review pair, or why it cannot be decided.
fn open_review(store: &mut dyn HubStore, tenant: &str, id: i64) -> Result<ReviewRow, EngineError> {
    match store.review(tenant, id)? {
        None => Err(StoreError::Refused(format!(
            "there is no review pair {id} (see `einklang review`)"
        ))
        .into()),
        Some(r) if r.status != ReviewStatus::Open => Err(StoreError::Refused(format!(
            "review pair {id} was already decided: {}",
            r.status.as_str()
        ))
        .into()),
        Some(r) => Ok(r),
    }
}

/// Open review pairs with both records' values, oldest first; pairs
/// whose record was merged or deleted since are marked stale and returned
/// apart.
#[allow(clippy::type_complexity)]
pub fn open_reviews(
    store: &mut dyn HubStore,
    tenant: &str,
    limit: usize,
) -> Result<(Vec<(ReviewRow, Fields, Fields)>, Vec<ReviewRow>), EngineError> {
    let (mut open, mut stale) = (Vec::new(), Vec::new());
    for r in store.reviews(tenant, true, limit)? {
        let mut live = |id: RecordId| -> Result<Option<Fields>, EngineError> {
            let rec = store.record(tenant, &r.entity, id)?;
            Ok(rec
                .filter(|r| r.merged_into.is_none() && r.deleted_at.is_none())
                .map(|r| r.values))
        };
        match (live(r.a)?, live(r.b)?) {
            (Some(a), Some(b)) => open.push((r, a, b)),
            _ => {
                store.decide_review(tenant, r.id, ReviewStatus::Stale, "einklang")?;
                stale.push(r);
            }
        }
    }
    Ok((open, stale))
}

/// `einklang review accept ID`: merge the pair (the older record
/// survives) and mark it accepted. Returns the merge id.
pub fn accept(
    store: &mut dyn HubStore,
    (tenant, by): (&str, &str),
    matching: &std::collections::BTreeMap<String, Matching>,
    id: i64,
) -> Result<(RunId, i64), EngineError> {
    let review = open_review(store, tenant, id)?;
    let m = matching.get(&review.entity).ok_or_else(|| {
        StoreError::Refused(format!(
            "review pair {id} is of entity {}, which has no [matching.{}] any more",
            review.entity, review.entity
        ))
    })?;
    let job = format!("review {id}");
    in_run(store, (tenant, &job, by), &review.entity, |store, run| {
        let pair = (review.a, review.b);
        let proposal = (review.probability, "review");
        let (merge, _) = merge_pair(store, (tenant, run), (&review.entity, m), pair, proposal)?;
        store.decide_review(tenant, id, ReviewStatus::Accepted, by)?;
        Ok((merge, counters(&[("merged", 1)])))
    })
}

/// `einklang review reject ID`: the pair is different records, for good.
pub fn reject(
    store: &mut dyn HubStore,
    (tenant, by): (&str, &str),
    id: i64,
) -> Result<(), EngineError> {
    open_review(store, tenant, id)?;
    store.decide_review(tenant, id, ReviewStatus::Rejected, by)?;
    Ok(())
}

/// `einklang unmerge RECORD`: undo the active merge that merged RECORD
/// away, as run `unmerge RECORD`.
pub fn unmerge(
    store: &mut dyn HubStore,
    (tenant, by): (&str, &str),
    record: RecordId,
) -> Result<(RunId, MergeRow), EngineError> {
    let merge = store
        .merges(tenant, Some(record), 1000)?
        .into_iter()
        .find(|m| m.merged == record && m.status == "active")
        .ok_or_else(|| {
            StoreError::Refused(format!(
                "record {record} is not merged into another record (see `einklang merges --record {record}`)"
            ))
        })?;
    let job = format!("unmerge {record}");
    in_run(store, (tenant, &job, by), &merge.entity, |store, run| {
        let row = store.unmerge(tenant, run, merge.id)?;
        Ok((row, counters(&[("unmerged", 1)])))
    })
}
