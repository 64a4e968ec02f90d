//! The match index of the on-ingest path: the hub's records of one entity
//! held in memory by blocking key, so a new record is matched against the
//! hub without a pass over it. This module owns the index (block key →
//! record ids, id → normalised forms and keys) and the lookup; scoring is
//! the model's, exactly as a batch pass scores a pair.
//!
//! **Common values.** [`Model::common`] (identifier values so many
//! records carry that agreeing on them is weak evidence) is part of the
//! model, not of the index: the index scores with the model it is given.
//! Build the model once over the hub, either with `batch::prepare` over
//! the hub's records or, after inserting them, with [`Index::prepare`]
//! (the same values from the indexed forms), and refresh it now and then;
//! a value that becomes common between refreshes counts as exact until
//! then.
//!
//! Block keys are kept as 64-bit hashes: a collision could only add a
//! candidate (every candidate is scored in full), never lose one.

use super::batch::{common_values, frequencies, Prepared};
use super::block::{self, Rule};
use super::model::Model;
use super::packed::Packed;
use crate::record::Fields;
use std::collections::HashMap;
use xxhash_rust::xxh3::xxh3_64;

/// One indexed record.
struct Entry {
    forms: Packed,
    keys: Vec<u64>,
}

/// An in-memory match index over records of one entity.
pub struct Index {
    rules: Vec<Rule>,
    max_block: usize,
    blocks: HashMap<u64, Vec<i64>>,
    records: HashMap<i64, Entry>,
}

impl Index {
    /// An empty index using these blocking rules. A block is used for
    /// candidates only while it has at most `max_block` members counting
    /// the record being matched — the pairs a batch pass over the indexed
    /// records and that record would compare.
    pub fn new(block: Vec<Rule>, max_block: usize) -> Index {
        Index {
            rules: block,
            max_block,
            blocks: HashMap::new(),
            records: HashMap::new(),
        }
    }

    /// Add or replace a record (its normalised forms are computed with
    /// `model.forms`, its block keys with `block::keys`).
    pub fn insert(&mut self, model: &Model, id: i64, record: &Fields) {
        self.remove(id);
        let keys = self.keys(model, record);
        for &k in &keys {
            self.blocks.entry(k).or_default().push(id);
        }
        let forms = Packed::new(&model.forms(record));
        self.records.insert(id, Entry { forms, keys });
    }

    /// Add or replace many records, normalised on every core (as
    /// `batch::Prepared::extend_from` does): building an index of the hub.
    pub fn extend(&mut self, model: &Model, records: impl Iterator<Item = (i64, Fields)>) {
        let mut ids = Vec::new();
        let mut prepared = Prepared::new();
        prepared.extend_from(
            model,
            &self.rules,
            records.map(|(id, r)| {
                ids.push(id);
                r
            }),
        );
        let mut keys: Vec<Vec<u64>> = vec![Vec::new(); ids.len()];
        for (k, i, _) in prepared.keys {
            keys[i as usize].push(k);
        }
        for ((id, forms), keys) in ids.into_iter().zip(prepared.forms).zip(keys) {
            self.remove(id);
            for &k in &keys {
                self.blocks.entry(k).or_default().push(id);
            }
            self.records.insert(id, Entry { forms, keys });
        }
    }

    /// Remove a record (no-op when absent).
    pub fn remove(&mut self, id: i64) {
        let Some(entry) = self.records.remove(&id) else {
            return;
        };
        for k in entry.keys {
            if let Some(members) = self.blocks.get_mut(&k) {
                if let Some(pos) = members.iter().position(|&m| m == id) {
                    members.swap_remove(pos);
                }
                if members.is_empty() {
                    self.blocks.remove(&k);
                }
            }
        }
    }

    /// Number of indexed records.
    pub fn len(&self) -> usize {
        self.records.len()
    }

    /// Whether no record is indexed.
    pub fn is_empty(&self) -> bool {
        self.records.is_empty()
    }

    /// Whether a record is indexed.
    pub fn contains(&self, id: i64) -> bool {
        self.records.contains_key(&id)
    }

    /// The indexed records that score at least `min` probability against
    /// `record`, best first (ties by id), scored exactly as a batch pass
    /// scores a pair (`model.levels_in` and `probability`). A record
    /// matched against the index it is in finds itself too: skip its id.
    pub fn matches(&self, model: &Model, record: &Fields, min: f64) -> Vec<(i64, f64)> {
        let candidates = self.candidates(model, record);
        if candidates.is_empty() {
            return Vec::new();
        }
        let forms = model.forms(record);
        let mut out: Vec<(i64, f64)> = candidates
            .into_iter()
            .filter_map(|id| {
                let other = &self.records[&id].forms;
                let p = model.probability_in(&forms, other);
                (p >= min).then_some((id, p))
            })
            .collect();
        out.sort_by(|x, y| y.1.total_cmp(&x.1).then(x.0.cmp(&y.0)));
        out
    }

    /// The ids sharing a usable block with `record`, sorted, once each.
    pub fn candidates(&self, model: &Model, record: &Fields) -> Vec<i64> {
        let mut out: Vec<i64> = self
            .keys(model, record)
            .iter()
            .filter_map(|k| self.blocks.get(k))
            .filter(|members| members.len() < self.max_block)
            .flatten()
            .copied()
            .collect();
        out.sort_unstable();
        out.dedup();
        out
    }

    /// Set `model.common` and the term frequencies from the indexed
    /// records, as `batch::prepare` would from the same records.
    pub fn prepare(&self, model: &mut Model) {
        model.common = common_values(model, self.records.values().map(|e| &e.forms));
        model.frequencies = frequencies(model, self.records.values().map(|e| &e.forms));
        model.population = self.records.len() as u64;
    }

    fn keys(&self, model: &Model, record: &Fields) -> Vec<u64> {
        let mut keys: Vec<u64> = block::keys(&self.rules, record, &model.region_of(record))
            .iter()
            .map(|k| xxh3_64(k.as_bytes()))
            .collect();
        keys.sort_unstable();
        keys.dedup();
        keys
    }
}
