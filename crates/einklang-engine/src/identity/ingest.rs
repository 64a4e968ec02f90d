//! Matching on ingest: every record a read creates is matched against the
//! hub before it stays a new person. Candidates come from the store's
//! match keys (the blocking keys of live records, `HubStore::match_keys`),
//! so a run touches only the records that share a key with a new one —
//! never the whole hub. The keys are brought up to date from the history
//! since their cursor when a run first needs them, and rebuilt when the
//! entity's blocking settings change. `u` (with `estimate`) and the
//! term frequencies come from an evenly spread sample of the hub; an e-mail or phone carried by more than ten
//! records is weak evidence, counted by its key (as the batch pass does) —
//! records merged away included, which keep their identifier keys (so a
//! chain of merges cannot hide how many records share one address, also
//! after a rebuild of the keys).

use super::{merge_pair, pair_key};
use crate::EngineError;
use einklang_config::Matching;
use einklang_core::identity::batch;
use einklang_core::identity::block;
use einklang_core::identity::compare::{self, Kind};
use einklang_core::identity::model::{Forms, Model};
use einklang_core::Fields;
use einklang_store::{HubStore, NewReview, RecordId, RunId, StoreError};
use std::collections::{HashMap, HashSet};
use xxhash_rust::xxh3::xxh3_64;

/// More records than this carrying one e-mail or phone: weak evidence
/// (the batch pass's limit).
const COMMON: u64 = batch::COMMON as u64;
/// Records sampled for estimating `u`.
const SAMPLE: usize = 2_000;
/// History rows and records handled per store call.
const PAGE: usize = 10_000;

/// Matching on ingest for one entity during one run.
pub(crate) struct Matcher<'m> {
    entity: String,
    matching: &'m Matching,
    ready: Option<(Model, HashSet<(RecordId, RecordId)>)>,
    /// Normalised forms of candidates seen in this run (dropped when the
    /// run changes the record).
    forms: HashMap<RecordId, Forms>,
}

/// What matching a read's new records did.
#[derive(Debug, Default)]
pub(crate) struct Matched {
    /// New records merged into an existing one.
    pub merged: u64,
    /// Pairs queued for review.
    pub queued: u64,
}

/// The keys of a record: its blocking keys, and one per identifier value
/// (e-mail, phone) so their carriers can be counted; `all` is both,
/// sorted, once each.
#[derive(Default)]
struct Keys {
    ids: Vec<(usize, String, i64)>,
    all: Vec<i64>,
}

fn hash(text: &str) -> i64 {
    xxh3_64(text.as_bytes()) as i64
}

/// The match key of one identifier form (an e-mail, a phone in E.164) of
/// field `field`: what the store finds records by.
pub(crate) fn identifier_key(field: &str, form: &str) -> i64 {
    hash(&format!("i:{field}:{form}"))
}

/// The identifier keys alone: what a merged-away record keeps in the
/// match keys, so the e-mails and phones it carried count towards how
/// common they are (the store never offers such a record as a candidate).
fn carried(keys: &Keys) -> Keys {
    Keys {
        ids: keys.ids.clone(),
        all: keys.ids.iter().map(|i| i.2).collect(),
    }
}

fn keys_of(m: &Matching, record: &Fields) -> Keys {
    let region = &*m.model.region_of(record);
    let mut all: Vec<i64> = block::keys(&m.block, record, region)
        .iter()
        .map(|k| hash(&format!("b:{k}")))
        .collect();
    let mut ids = Vec::new();
    for (k, c) in m.model.comparisons.iter().enumerate() {
        if matches!(c.kind, Kind::Email | Kind::Phone) {
            for form in compare::forms(c.kind, record.get(&c.field), region) {
                let key = identifier_key(&c.field, &form);
                ids.push((k, form, key));
            }
        }
    }
    all.extend(ids.iter().map(|i: &(usize, String, i64)| i.2));
    all.sort_unstable();
    all.dedup();
    Keys { ids, all }
}

/// What the match keys depend on: when it changes they are rebuilt.
fn signature(m: &Matching) -> String {
    let fields: Vec<(&str, Kind)> = m
        .model
        .comparisons
        .iter()
        .map(|c| (c.field.as_str(), c.kind))
        .collect();
    let mut text = format!("{:?}|{}|{fields:?}|v1", m.block, m.model.region);
    if let Some(f) = &m.model.region_from {
        text.push_str(&format!("|region_from={f}"));
    }
    format!("{:016x}", xxh3_64(text.as_bytes()))
}

impl<'m> Matcher<'m> {
    pub fn new(entity: &str, matching: &'m Matching) -> Self {
        Matcher {
            entity: entity.to_string(),
            matching,
            ready: None,
            forms: HashMap::new(),
        }
    }

    /// Bring the match keys up to date (all but `fresh`, the records just
    /// created) and prepare the model.
    fn ready(
        &mut self,
        store: &mut dyn HubStore,
        tenant: &str,
        fresh: &HashSet<RecordId>,
    ) -> Result<(), EngineError> {
        if self.ready.is_some() {
            return Ok(());
        }
        let (m, entity) = (self.matching, self.entity.as_str());
        let signature = signature(m);
        match store.match_state(tenant, entity)? {
            Some((s, cursor)) if s == signature => {
                self.refresh(store, tenant, (&signature, cursor), fresh)?
            }
            _ => self.rebuild(store, tenant, &signature, fresh)?,
        }
        // an evenly spread sample of the hub: `u` (with `estimate`) and the
        // term frequencies come from it, as a pass takes them from all
        let mut model = m.model.clone();
        let every = (store.max_record_id(tenant, entity)? / SAMPLE as i64).max(1);
        let sample: Vec<Fields> = store
            .sample_records(tenant, entity, every, SAMPLE)?
            .into_iter()
            .map(|r| r.1)
            .collect();
        batch::prepare(&mut model, m.estimate, &sample);
        let rejected = store.rejected_pairs(tenant, entity)?.into_iter().collect();
        self.ready = Some((model, rejected));
        Ok(())
    }

    fn rebuild(
        &self,
        store: &mut dyn HubStore,
        tenant: &str,
        signature: &str,
        fresh: &HashSet<RecordId>,
    ) -> Result<(), EngineError> {
        let (m, entity) = (self.matching, self.entity.as_str());
        let cursor = store.last_history_id(tenant)?;
        let mut first = true;
        // live records, then those merged away: they keep the e-mails and
        // phones they carried
        for merged in [false, true] {
            let mut after = 0;
            loop {
                let page = match merged {
                    false => store.live_records(tenant, entity, after, PAGE)?,
                    true => store.merged_away(tenant, entity, after, PAGE)?,
                };
                let Some(last) = page.last() else { break };
                after = last.0;
                let keys: Vec<(RecordId, Vec<i64>)> = page
                    .iter()
                    .filter(|(id, _)| merged || !fresh.contains(id))
                    .map(|(id, values)| match merged {
                        false => (*id, keys_of(m, values).all),
                        true => (*id, carried(&keys_of(m, values)).all),
                    })
                    .filter(|(_, k)| !merged || !k.is_empty())
                    .collect();
                store.set_match_keys(tenant, entity, &keys, first, None)?;
                first = false;
            }
        }
        store.set_match_keys(tenant, entity, &[], first, Some((signature, cursor)))?;
        Ok(())
    }

    /// Re-key the records changed since the cursor (gone ones lose their keys).
    fn refresh(
        &self,
        store: &mut dyn HubStore,
        tenant: &str,
        (signature, mut cursor): (&str, i64),
        fresh: &HashSet<RecordId>,
    ) -> Result<(), EngineError> {
        let (m, entity) = (self.matching, self.entity.as_str());
        loop {
            let changed = store.history_after(tenant, cursor, PAGE)?;
            let Some(last) = changed.last() else {
                return Ok(());
            };
            cursor = last.0;
            // records keyed at their current version (by this matcher) are skipped
            let mut ids: Vec<RecordId> = changed.iter().filter(|h| h.2).map(|h| h.1).collect();
            ids.sort_unstable();
            ids.dedup();
            ids.retain(|id| !fresh.contains(id));
            let mut keys = Vec::with_capacity(ids.len());
            for id in ids {
                match store.record(tenant, entity, id)? {
                    Some(r) if r.merged_into.is_none() && r.deleted_at.is_none() => {
                        keys.push((id, keys_of(m, &r.values).all))
                    }
                    Some(r) if r.deleted_at.is_none() => {
                        // merged away: its identifiers still count as carried
                        keys.push((id, carried(&keys_of(m, &r.values)).all))
                    }
                    Some(_) => keys.push((id, Vec::new())),
                    None => {} // another entity's record
                }
            }
            store.set_match_keys(tenant, entity, &keys, false, Some((signature, cursor)))?;
        }
    }

    /// Match the records just created (ids with their values, in order);
    /// `changed` are the records the same batch updated.
    pub fn created(
        &mut self,
        store: &mut dyn HubStore,
        (tenant, run): (&str, RunId),
        created: &[(RecordId, &Fields)],
        changed: &[RecordId],
    ) -> Result<Matched, EngineError> {
        let mut out = Matched::default();
        for id in changed {
            self.forms.remove(id);
        }
        if created.is_empty() {
            return Ok(out);
        }
        let fresh: HashSet<RecordId> = created.iter().map(|c| c.0).collect();
        self.ready(store, tenant, &fresh)?;
        let mut batch = Batch::default();
        let mut reviews = Vec::new();
        let keys: Vec<Keys> = created
            .iter()
            .map(|(_, values)| keys_of(self.matching, values))
            .collect();
        let known = Prefetch::fetch(store, (tenant, &self.entity), self.matching, &keys)?;
        for (&(id, values), keys) in created.iter().zip(keys) {
            let best = self.best(&known, &batch, (id, values), &keys);
            let m = self.matching;
            match best {
                Some((other, p)) if p >= m.auto_merge => {
                    match merge_pair(
                        store,
                        (tenant, run),
                        (&self.entity, m),
                        (other, id),
                        (p, "ingest"),
                    ) {
                        Ok((_, merged)) => {
                            self.forms.remove(&other);
                            let before = batch.keys_of(other).or_else(|| known.keys_of(m, other));
                            batch.add(
                                other,
                                keys_of(m, &merged),
                                merged,
                                &before.unwrap_or_default(),
                            );
                            // the merged-away record still carries its
                            // e-mails and phones: counted, never a candidate
                            batch.add(id, carried(&keys), Fields::new(), &[]);
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
                    entity: self.entity.clone(),
                    a: other,
                    b: id,
                    probability,
                }),
                None => {}
            }
            batch.add(id, keys, values.clone(), &[]);
        }
        let keyed: Vec<(RecordId, Vec<i64>)> = batch.keys.into_iter().collect();
        store.set_match_keys(tenant, &self.entity, &keyed, false, None)?;
        out.queued = store.queue_reviews(tenant, run, &reviews)?;
        Ok(out)
    }

    /// The best match of a new record at or above `review`, not rejected.
    fn best(
        &mut self,
        known: &Prefetch,
        batch: &Batch,
        (id, values): (RecordId, &Fields),
        keys: &Keys,
    ) -> Option<(RecordId, f64)> {
        let m = self.matching;
        let mut candidates: HashMap<RecordId, &Fields> = known.sharing(keys, m.max_block);
        for (other, values) in batch.sharing(keys) {
            candidates.insert(other, values);
        }
        let (model, rejected) = self.ready.as_mut().expect("made ready");
        // common identifier values: counted by their keys, this record included
        model.common = vec![HashSet::new(); model.comparisons.len()];
        for (k, form, key) in &keys.ids {
            if known.carriers(*key) + batch.count(*key) + 1 > COMMON {
                model.common[*k].insert(form.clone());
            }
        }
        let mine = model.forms(values);
        let mut best: Option<(RecordId, f64)> = None;
        for (other, fields) in &candidates {
            if *other == id || fields.is_empty() || rejected.contains(&pair_key(id, *other)) {
                continue;
            }
            let theirs = self
                .forms
                .entry(*other)
                .or_insert_with(|| model.forms(fields));
            let p = model.probability_in(&mine, theirs);
            let better = best.is_none_or(|(b, bp)| p > bp || (p == bp && *other < b));
            if p >= m.review && better {
                best = Some((*other, p));
            }
        }
        best
    }
}

/// Keys per store call (SQLite binds at most 32,766 parameters).
const KEYS_PER_CALL: usize = 5_000;

/// The store's side of a batch's candidates, fetched in a few calls: the
/// live records sharing a key with any record of the batch, by key, and
/// how many records carry each key.
struct Prefetch {
    by_key: HashMap<i64, Vec<RecordId>>,
    values: HashMap<RecordId, Fields>,
    carriers: HashMap<i64, u64>,
}

impl Prefetch {
    fn fetch(
        store: &mut dyn HubStore,
        (tenant, entity): (&str, &str),
        m: &Matching,
        keys: &[Keys],
    ) -> Result<Prefetch, EngineError> {
        let mut all: Vec<i64> = keys.iter().flat_map(|k| k.all.iter().copied()).collect();
        all.sort_unstable();
        all.dedup();
        let mut out = Prefetch {
            by_key: HashMap::new(),
            values: HashMap::new(),
            carriers: HashMap::new(),
        };
        for chunk in all.chunks(KEYS_PER_CALL) {
            let counts = store.key_counts(tenant, entity, chunk)?;
            out.carriers.extend(chunk.iter().copied().zip(counts));
            out.values
                .extend(store.match_candidates(tenant, entity, chunk, m.max_block)?);
        }
        let wanted: HashSet<i64> = all.into_iter().collect();
        for (id, values) in &out.values {
            for key in keys_of(m, values).all {
                if wanted.contains(&key) {
                    out.by_key.entry(key).or_default().push(*id);
                }
            }
        }
        Ok(out)
    }

    /// The keys a known record carries.
    fn keys_of(&self, m: &Matching, id: RecordId) -> Option<Vec<i64>> {
        self.values.get(&id).map(|v| keys_of(m, v).all)
    }

    fn carriers(&self, key: i64) -> u64 {
        self.carriers.get(&key).copied().unwrap_or(0)
    }

    /// Known records sharing a usable key with `keys`.
    fn sharing(&self, keys: &Keys, max_block: usize) -> HashMap<RecordId, &Fields> {
        keys.all
            .iter()
            .filter(|k| self.carriers(**k) as usize <= max_block)
            .filter_map(|k| self.by_key.get(k))
            .flatten()
            .map(|id| (*id, &self.values[id]))
            .collect()
    }
}

/// The records of the batch being matched, not yet in the store's keys.
#[derive(Default)]
struct Batch {
    keys: HashMap<RecordId, Vec<i64>>,
    values: HashMap<RecordId, Fields>,
    by_key: HashMap<i64, Vec<RecordId>>,
    carriers: HashMap<i64, u64>,
}

impl Batch {
    /// Add a record, or replace its values (a survivor after a merge: its
    /// old keys stay as candidates, which scoring sorts out). `before` are
    /// the keys it already carried (counted by the store or this batch):
    /// only its new identifier keys add a carrier.
    fn add(&mut self, id: RecordId, keys: Keys, values: Fields, before: &[i64]) {
        for (_, _, key) in keys.ids.iter().filter(|i| !before.contains(&i.2)) {
            *self.carriers.entry(*key).or_default() += 1;
        }
        for key in &keys.all {
            self.by_key.entry(*key).or_default().push(id);
        }
        self.keys.insert(id, keys.all);
        self.values.insert(id, values);
    }

    /// The keys a batch record carries.
    fn keys_of(&self, id: RecordId) -> Option<Vec<i64>> {
        self.keys.get(&id).cloned()
    }

    /// Batch records sharing a key with `keys`.
    fn sharing(&self, keys: &Keys) -> Vec<(RecordId, &Fields)> {
        let mut ids: Vec<RecordId> = keys
            .all
            .iter()
            .filter_map(|k| self.by_key.get(k))
            .flatten()
            .copied()
            .collect();
        ids.sort_unstable();
        ids.dedup();
        ids.into_iter().map(|id| (id, &self.values[&id])).collect()
    }

    /// Batch records carrying an identifier key.
    fn count(&self, key: i64) -> u64 {
        self.carriers.get(&key).copied().unwrap_or(0)
    }
}
