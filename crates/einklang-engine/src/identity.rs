//! Identity resolution in the hub: merging one record into another with
//! the entity's survivorship ([`merge_pair`]), applying a batch plan
//! (`einklang dedupe`, [`apply_plan`]) and matching each record a read
//! creates against the hub before it stays a new person ([`Matcher`]).
//! The decisions are the core's (`einklang_core::identity`); this module
//! loads, commits and counts.

mod ingest;
pub mod ops;
pub mod recorded;

pub(crate) use ingest::Matcher;

use crate::EngineError;
use einklang_config::Matching;
use einklang_core::identity::batch::Plan;
use einklang_core::identity::model::Decision;
use einklang_core::identity::survive::Member;
use einklang_core::Fields;
use einklang_store::{HubStore, MergeWrite, NewReview, RecordId, RunId, StoreError};
use std::collections::{HashMap, HashSet};

/// The records of a pair, lower id first (how the review queue keys them).
pub fn pair_key(a: RecordId, b: RecordId) -> (RecordId, RecordId) {
    (a.min(b), a.max(b))
}

/// Merge `merged` into `survivor`: values by the entity's survivorship
/// (the survivor first), then [`HubStore::merge`]. Returns the merge id
/// and the survivor's new values.
pub fn merge_pair(
    store: &mut dyn HubStore,
    (tenant, run): (&str, RunId),
    (entity, m): (&str, &Matching),
    (survivor, merged): (RecordId, RecordId),
    (probability, reason): (f64, &str),
) -> Result<(i64, Fields), EngineError> {
    let states = store.load_records(tenant, &[survivor, merged])?;
    let mut members = Vec::with_capacity(2);
    for (id, state) in [survivor, merged].into_iter().zip(&states) {
        let Some(state) = state else {
            return Err(StoreError::Refused(format!("record {id} does not exist")).into());
        };
        let changed = store
            .record(tenant, &state.entity, id)?
            .map_or(0, |r| r.updated_at.timestamp_micros());
        let sources: Vec<String> = state.links.iter().map(|l| l.connector.clone()).collect();
        members.push((state, sources, changed));
    }
    let view: Vec<Member<'_>> = members
        .iter()
        .map(|(s, sources, changed)| Member {
            fields: &s.values,
            sources,
            changed: *changed,
        })
        .collect();
    let values = m.survive.apply(&view);
    let write = MergeWrite {
        entity: entity.to_string(),
        survivor,
        merged,
        expect_versions: (members[0].0.version, members[1].0.version),
        values: values.clone(),
        probability,
        reason: reason.to_string(),
    };
    Ok((store.merge(tenant, run, &write)?, values))
}

/// What applying a batch plan did.
#[derive(Debug, Default, PartialEq)]
pub struct Applied {
    /// Merges committed.
    pub merged: u64,
    /// Cluster members left alone: a person rejected them with a member.
    pub kept_apart: u64,
    /// Pairs newly queued for review.
    pub queued: u64,
    /// Merges that could not be done, with the reason (the rest went on).
    pub failed: Vec<String>,
}

/// Commit a batch plan over `records` (the ids of the plan's indices):
/// each cluster merges into its oldest record, one merge at a time;
/// review pairs are queued. Pairs in `rejected` are never merged, not
/// even through a third record.
pub fn apply_plan(
    store: &mut dyn HubStore,
    (tenant, run): (&str, RunId),
    (entity, m): (&str, &Matching),
    (records, plan): (&[(RecordId, Fields)], &Plan),
    rejected: &HashSet<(RecordId, RecordId)>,
) -> Result<Applied, EngineError> {
    let id = |i: usize| records[i].0;
    let score: HashMap<(RecordId, RecordId), f64> = plan
        .pairs
        .iter()
        .filter(|p| p.decision == Decision::Merge)
        .map(|p| (pair_key(id(p.a), id(p.b)), p.probability))
        .collect();
    let mut out = Applied::default();
    let mut gone = HashSet::new();
    for cluster in &plan.clusters {
        let mut ids: Vec<RecordId> = cluster.iter().map(|&i| id(i)).collect();
        ids.sort_unstable();
        let survivor = ids[0];
        let mut joined = vec![survivor];
        for &other in &ids[1..] {
            if joined
                .iter()
                .any(|&j| rejected.contains(&pair_key(j, other)))
            {
                out.kept_apart += 1;
                continue;
            }
            let p = joined
                .iter()
                .filter_map(|&j| score.get(&pair_key(j, other)))
                .fold(0.0_f64, |a, &b| a.max(b));
            let p = if p > 0.0 { p } else { m.auto_merge };
            let pair = (survivor, other);
            match merge_pair(store, (tenant, run), (entity, m), pair, (p, "auto")) {
                Ok(_) => {
                    out.merged += 1;
                    joined.push(other);
                    gone.insert(other);
                }
                Err(EngineError::Store(
                    e @ (StoreError::Changed { .. } | StoreError::Refused(_)),
                )) => out.failed.push(e.to_string()),
                Err(e) => return Err(e),
            }
        }
    }
    let reviews: Vec<NewReview> = plan
        .pairs
        .iter()
        .filter(|p| p.decision == Decision::Review)
        .map(|p| (id(p.a), id(p.b), p.probability))
        .filter(|(a, b, _)| !gone.contains(a) && !gone.contains(b))
        .filter(|(a, b, _)| !rejected.contains(&pair_key(*a, *b)))
        .map(|(a, b, probability)| NewReview {
            entity: entity.to_string(),
            a,
            b,
            probability,
        })
        .collect();
    out.queued = store.queue_reviews(tenant, run, &reviews)?;
    Ok(out)
}

/// Every live record of an entity, by id (in pages).
pub fn live_records(
    store: &mut dyn HubStore,
    tenant: &str,
    entity: &str,
) -> Result<Vec<(RecordId, Fields)>, EngineError> {
    let mut out: Vec<(RecordId, Fields)> = Vec::new();
    loop {
        let after = out.last().map_or(0, |r| r.0);
        let page = store.live_records(tenant, entity, after, 10_000)?;
        if page.is_empty() {
            return Ok(out);
        }
        out.extend(page);
    }
}
