//! Identity resolution in the hub: merging one record into another with
//! the entity's survivorship ([`merge_pair`]), applying a batch plan
//! (`einklang dedupe`, [`apply_plan`]) and matching each record a read
//! creates against the hub before it stays a new person ([`Matcher`]).
//! The decisions are the core's (`einklang_core::identity`); this module
//! loads, commits and counts.

mod ingest;
pub mod lookup;
pub mod ops;
pub mod recorded;

pub(crate) use ingest::Matcher;

use crate::EngineError;
use einklang_config::Matching;
use einklang_core::identity::batch::Plan;
use einklang_core::identity::model::Decision;
use einklang_core::identity::survive::Member;
use einklang_core::Fields;
use einklang_store::{
    HubStore, MergeMember, MergeStep, MergeWrite, NewReview, RecordId, RunId, StoreError,
};
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

/// How many merges of a batch plan go into one store transaction, about:
/// whole clusters are. Large, since a merge dirties pages all over the
/// store (both records, their links, indexes) and a transaction writes
/// each page once however many of its merges touched it; a second or two
/// of writing at a time.
const MERGES_PER_TRANSACTION: usize = 20_000;

/// Survivorship of `m` over a merge's two records as the store hands
/// them (what [`merge_pair`] computes from the records it loads).
pub fn survive_with(m: &Matching) -> impl Fn(&[MergeMember; 2]) -> Fields + '_ {
    move |members| {
        let view: Vec<Member<'_>> = members
            .iter()
            .map(|x| Member {
                fields: &x.values,
                sources: &x.sources,
                changed: x.changed,
            })
            .collect();
        m.survive.apply(&view)
    }
}

/// Commit a batch plan over `records` (the ids of the plan's indices):
/// each cluster merges into its oldest record, one merge at a time, many
/// merges to a store transaction ([`HubStore::merge_many`]); review pairs
/// are queued. Pairs in `rejected` are never merged, not even through a
/// third record. A merge the store refuses is counted as failed and its
/// cluster goes on without it, as if each merge were committed alone.
/// `between` runs between two transactions (the run renews its leases).
pub fn apply_plan(
    store: &mut dyn HubStore,
    (tenant, run): (&str, RunId),
    (entity, m): (&str, &Matching),
    (records, plan): (&[RecordId], &Plan),
    rejected: &HashSet<(RecordId, RecordId)>,
    between: &dyn Fn(&mut dyn HubStore),
) -> Result<Applied, EngineError> {
    let id = |i: usize| records[i];
    let score: HashMap<(RecordId, RecordId), f64> = plan
        .pairs
        .iter()
        .filter(|p| p.decision == Decision::Merge)
        .map(|p| (pair_key(id(p.a), id(p.b)), p.probability))
        .collect();
    let mut out = Applied::default();
    let mut gone = HashSet::new();
    let survive = survive_with(m);
    let mut clusters: Vec<Cluster> = plan
        .clusters
        .iter()
        .map(|c| Cluster::new(c.iter().map(|&i| id(i)).collect()))
        .collect();
    let how = Steps {
        rejected,
        score: &score,
        auto_merge: m.auto_merge,
    };
    let mut next = 0;
    while next < clusters.len() {
        // whole clusters' merges, each planned as if the ones before it
        // were done; a refusal rewinds its cluster to just after it
        let (mut steps, mut marks) = (Vec::new(), Vec::new());
        let mut end = next;
        while end < clusters.len() && steps.len() < MERGES_PER_TRANSACTION {
            while let Some((other, p, mark)) = clusters[end].step(&how) {
                marks.push((end, mark));
                steps.push(MergeStep {
                    survivor: clusters[end].ids[0],
                    merged: other,
                    probability: p,
                    reason: "auto".to_string(),
                });
            }
            end += 1;
        }
        if next > 0 {
            between(store);
        }
        let done = store.merge_many(tenant, run, entity, &steps, &survive)?;
        for step in &steps[..done.ids.len()] {
            out.merged += 1;
            gone.insert(step.merged);
        }
        match done.stopped {
            None => next = end,
            Some(e) => {
                let (failed, mark) = marks[done.ids.len()];
                out.failed.push(e.to_string());
                clusters[failed].rewind(mark);
                for c in &mut clusters[failed + 1..end] {
                    c.rewind(Mark::START);
                }
                next = failed;
            }
        }
    }
    out.kept_apart = clusters.iter().map(|c| c.kept_apart).sum();
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

/// What decides a cluster's merges.
struct Steps<'a> {
    rejected: &'a HashSet<(RecordId, RecordId)>,
    score: &'a HashMap<(RecordId, RecordId), f64>,
    auto_merge: f64,
}

/// A cluster being merged into its oldest record, member by member.
struct Cluster {
    /// Its records, oldest (the survivor) first.
    ids: Vec<RecordId>,
    /// The next member to merge.
    next: usize,
    /// The survivor and the members merged into it.
    joined: Vec<RecordId>,
    /// Members left alone: a person rejected them with a joined one.
    kept_apart: u64,
}

/// Where a cluster was: what [`Cluster::rewind`] goes back to.
#[derive(Clone, Copy)]
struct Mark {
    next: usize,
    joined: usize,
    kept_apart: u64,
}

impl Mark {
    /// Nothing merged yet.
    const START: Mark = Mark {
        next: 1,
        joined: 1,
        kept_apart: 0,
    };
}

impl Cluster {
    fn new(mut ids: Vec<RecordId>) -> Cluster {
        ids.sort_unstable();
        Cluster {
            joined: vec![ids[0]],
            ids,
            next: 1,
            kept_apart: 0,
        }
    }

    /// The next member to merge with its probability, taken as merged;
    /// with the mark of the cluster as it is when that merge is refused.
    fn step(&mut self, how: &Steps<'_>) -> Option<(RecordId, f64, Mark)> {
        while let Some(&other) = self.ids.get(self.next) {
            self.next += 1;
            let joined = &self.joined;
            if joined
                .iter()
                .any(|&j| how.rejected.contains(&pair_key(j, other)))
            {
                self.kept_apart += 1;
                continue;
            }
            let p = joined
                .iter()
                .filter_map(|&j| how.score.get(&pair_key(j, other)))
                .fold(0.0_f64, |a, &b| a.max(b));
            let p = if p > 0.0 { p } else { how.auto_merge };
            let mark = Mark {
                next: self.next,
                joined: self.joined.len(),
                kept_apart: self.kept_apart,
            };
            self.joined.push(other);
            return Some((other, p, mark));
        }
        None
    }

    fn rewind(&mut self, mark: Mark) {
        self.next = mark.next;
        self.joined.truncate(mark.joined);
        self.kept_apart = mark.kept_apart;
    }
}
