//! The preparing stage of a pull: read, map, normalise, de-duplicate.
//!
//! Runs on its own thread; sends batches of ready records and rejects to the
//! applier. Everything here is per record and needs no store.

use crate::plan::Incoming;
use einklang_config::Config;
use einklang_connectors::{Connector, RawRecord, ReadItem};
use einklang_core::{content_hash, EntitySchema, Mapping, NormaliseContext, Pulled};
use einklang_store::{Counters, NewQuarantine};
use std::collections::HashSet;
use std::sync::mpsc::SyncSender;

/// Largest raw payload kept in the quarantine.
const RAW_LIMIT: usize = 4096;

/// A batch ready for the store.
pub(crate) struct Prepared {
    /// Records that passed mapping and validation.
    pub incoming: Vec<Incoming>,
    /// Records rejected on the way.
    pub rejects: Vec<NewQuarantine>,
}

impl Prepared {
    fn empty() -> Self {
        Prepared {
            incoming: Vec::with_capacity(super::BATCH),
            rejects: Vec::new(),
        }
    }
    fn len(&self) -> usize {
        self.incoming.len() + self.rejects.len()
    }
}

/// Maps and validates the records of one connector for one entity.
pub(crate) struct Preparer<'m> {
    mapping: &'m Mapping,
    schema: &'m EntitySchema,
    norm: NormaliseContext,
    /// Hashes of the external ids seen in this read.
    seen: HashSet<u128>,
    counters: Counters,
}

impl<'m> Preparer<'m> {
    /// `None` when the mapping's entity is not defined.
    pub fn new(config: &'m Config, mapping: &'m Mapping) -> Option<Self> {
        let schema = config.entities.get(&mapping.entity)?;
        let norm = NormaliseContext {
            region: config.region.clone(),
            max_field_bytes: config.max_field_bytes,
        };
        let counters = ["read", "filtered", "quarantined"]
            .map(|k| (k.to_string(), 0))
            .into();
        Some(Preparer {
            mapping,
            schema,
            norm,
            seen: HashSet::new(),
            counters,
        })
    }

    /// Read everything and send it in batches. Returns the counters, or the
    /// connector's error when the read could not start. Stops early when the
    /// receiver is gone (the applier failed).
    pub fn run(
        mut self,
        connector: &mut dyn Connector,
        tx: SyncSender<Prepared>,
    ) -> Result<Counters, String> {
        let items = connector.read().map_err(|e| e.to_string())?;
        let mut batch = Prepared::empty();
        for item in items {
            self.take(item, &mut batch);
            if batch.len() >= super::BATCH
                && tx
                    .send(std::mem::replace(&mut batch, Prepared::empty()))
                    .is_err()
            {
                return Ok(self.counters);
            }
        }
        if batch.len() > 0 {
            let _ = tx.send(batch);
        }
        Ok(self.counters)
    }

    fn bump(&mut self, counter: &str) {
        *self.counters.entry(counter.to_string()).or_default() += 1;
    }

    /// Map, normalise and de-duplicate one read item into the batch.
    fn take(&mut self, item: ReadItem, batch: &mut Prepared) {
        self.bump("read");
        match item {
            ReadItem::Reject(r) => batch
                .rejects
                .push(self.reject(r.position, None, r.raw, r.reason)),
            ReadItem::Record(rec) => match self.prepare(&rec) {
                Ok(Some(incoming)) => batch.incoming.push(incoming),
                Ok(None) => self.bump("filtered"),
                Err((id, reason)) => {
                    let raw = serde_json::to_string(&rec.fields).unwrap_or_default();
                    batch
                        .rejects
                        .push(self.reject(rec.position, id, raw, reason));
                }
            },
        }
    }

    /// `Ok(None)`: filtered out. `Err((external id if known, reason))`: rejected.
    fn prepare(&mut self, rec: &RawRecord) -> Result<Option<Incoming>, (Option<String>, String)> {
        let (external_id, fields) = match self.mapping.pull(&rec.fields) {
            Ok(Pulled::Filtered) => return Ok(None),
            Ok(Pulled::Record {
                external_id,
                fields,
            }) => (external_id, fields),
            Err(e) => return Err((None, e.to_string())),
        };
        let values = self.schema.normalise(fields, &self.norm).map_err(|errs| {
            let reasons: Vec<String> = errs.iter().map(|e| e.to_string()).collect();
            (Some(external_id.clone()), reasons.join("; "))
        })?;
        if !self
            .seen
            .insert(xxhash_rust::xxh3::xxh3_128(external_id.as_bytes()))
        {
            let reason = format!(
                "duplicate external id `{external_id}` within this read: an earlier record has the same id"
            );
            return Err((Some(external_id), reason));
        }
        let hash = content_hash(&values);
        Ok(Some(Incoming {
            connector: self.mapping.connector.clone(),
            external_id,
            values,
            hash,
            version: rec.version.clone(),
        }))
    }

    fn reject(
        &mut self,
        position: String,
        external_id: Option<String>,
        raw: String,
        reason: String,
    ) -> NewQuarantine {
        self.bump("quarantined");
        NewQuarantine {
            connector: self.mapping.connector.clone(),
            entity: self.mapping.entity.clone(),
            external_id,
            position,
            raw: einklang_connectors::excerpt(&raw, RAW_LIMIT),
            reason,
        }
    }
}
