//! Identity resolution in the hub: merging one record into another with
//! the entity's survivorship ([`merge_pair`]), applying a batch plan
//! (`einklang dedupe`, [`apply_plan`]) and matching each record a read
//! creates against the hub before it stays a new person ([`Matcher`]).
//! The decisions are the core's (`einklang_core::identity`); this module
//! loads, commits and counts.

pub mod ops;

use crate::EngineError;
use einklang_config::Matching;
use einklang_core::identity::batch::{self, Plan};
use einklang_core::identity::index::Index;
use einklang_core::identity::model::{Decision, Model};
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

/// Matching on ingest for one entity during one run: the hub's live
/// records are indexed when the first new record arrives; every record
/// the read creates is then matched against them, merged into its match
/// above `auto_merge` or queued for review above `review`, and indexed.
pub(crate) struct Matcher<'m> {
    entity: String,
    matching: &'m Matching,
    ready: Option<(Model, Index, HashSet<(RecordId, RecordId)>)>,
}

/// What matching a read's new records did.
#[derive(Debug, Default)]
pub(crate) struct Matched {
    /// New records merged into an existing one.
    pub merged: u64,
    /// Pairs queued for review.
    pub queued: u64,
}

impl<'m> Matcher<'m> {
    pub fn new(entity: &str, matching: &'m Matching) -> Self {
        Matcher {
            entity: entity.to_string(),
            matching,
            ready: None,
        }
    }

    fn ready(
        &mut self,
        store: &mut dyn HubStore,
        tenant: &str,
        fresh: &[RecordId],
    ) -> Result<(), EngineError> {
        if self.ready.is_some() {
            return Ok(());
        }
        let m = self.matching;
        let records = live_records(store, tenant, &self.entity)?;
        let mut model = m.model.clone();
        let values: Vec<Fields> = records.iter().map(|r| r.1.clone()).collect();
        batch::prepare(&mut model, m.estimate, &values);
        let mut index = Index::new(m.block.clone(), m.max_block);
        for (id, values) in records.iter().filter(|r| !fresh.contains(&r.0)) {
            index.insert(&model, *id, values);
        }
        let rejected = store
            .rejected_pairs(tenant, &self.entity)?
            .into_iter()
            .collect();
        self.ready = Some((model, index, rejected));
        Ok(())
    }

    /// Match the records just created (ids with their values, in order).
    pub fn created(
        &mut self,
        store: &mut dyn HubStore,
        (tenant, run): (&str, RunId),
        created: &[(RecordId, &Fields)],
    ) -> Result<Matched, EngineError> {
        let mut out = Matched::default();
        if created.is_empty() {
            return Ok(out);
        }
        let fresh: Vec<RecordId> = created.iter().map(|c| c.0).collect();
        self.ready(store, tenant, &fresh)?;
        let (entity, m) = (self.entity.as_str(), self.matching);
        let (model, index, rejected) = self.ready.as_mut().expect("made ready");
        let mut reviews = Vec::new();
        for &(id, values) in created {
            let best = index
                .matches(model, values, m.review)
                .into_iter()
                .find(|(other, _)| *other != id && !rejected.contains(&pair_key(id, *other)));
            match best {
                Some((other, p)) if p >= m.auto_merge => {
                    let pair = (other, id);
                    match merge_pair(store, (tenant, run), (entity, m), pair, (p, "ingest")) {
                        Ok((_, merged)) => {
                            index.insert(model, other, &merged);
                            out.merged += 1;
                            continue;
                        }
                        Err(EngineError::Store(
                            StoreError::Changed { .. } | StoreError::Refused(_),
                        )) => {}
                        Err(e) => return Err(e),
                    }
                }
                Some((other, probability)) => reviews.push(NewReview {
                    entity: entity.to_string(),
                    a: other,
                    b: id,
                    probability,
                }),
                None => {}
            }
            index.insert(model, id, values);
        }
        out.queued = store.queue_reviews(tenant, run, &reviews)?;
        Ok(out)
    }
}
