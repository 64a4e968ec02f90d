//! The preparing stages of a pull: read (one thread, in source order, in
//! numbered chunks), then map and normalise (several worker threads, each
//! taking the next chunk). Everything here is per record and needs no store;
//! de-duplicating external ids needs the source order and happens in the
//! applier, which puts the chunks back in order.

use crate::inbound::Incoming;
use crate::side::Side;
use einklang_connectors::{Connector, RawRecord, ReadItem};
use einklang_core::mapping::MapError;
use einklang_core::OutOfScope;
use einklang_core::{content_hash, EntitySchema, Mapping, NormaliseContext, Pulled};
use einklang_store::{Counters, NewQuarantine};
use std::sync::mpsc::{Receiver, SyncSender};
use std::sync::Mutex;

/// A numbered chunk of read items, in source order.
pub(crate) type Chunk = (usize, Vec<ReadItem>);

/// The chunk queue the workers share; a worker that finds the applier gone
/// drops it, which stops the reader.
pub(crate) type ChunkQueue = Mutex<Option<Receiver<Chunk>>>;

/// Largest raw payload kept in the quarantine.
const RAW_LIMIT: usize = 4096;

/// A batch ready for the store.
pub(crate) struct Prepared {
    /// Records that passed mapping and validation.
    pub incoming: Vec<Incoming>,
    /// Where each of `incoming` was in the source (same order).
    pub positions: Vec<String>,
    /// Records rejected on the way.
    pub rejects: Vec<NewQuarantine>,
    /// External ids of records skipped by the filter or rejected: they
    /// exist in the source, so their links are not gone.
    pub seen: Vec<String>,
    /// Records whose external id could not be read at all.
    pub unidentified: u64,
    /// External ids of records the filter no longer takes, which leave
    /// the hub (`out_of_scope = "delete"`): not seen, so not kept.
    pub left: Vec<String>,
    /// Records the filter no longer takes that stay with set values
    /// (`out_of_scope = { set = … }`), with their position: applied when
    /// they are linked.
    pub scoped: Vec<(Incoming, String)>,
}

impl Prepared {
    fn empty() -> Self {
        Prepared {
            incoming: Vec::with_capacity(super::BATCH),
            positions: Vec::with_capacity(super::BATCH),
            rejects: Vec::new(),
            seen: Vec::new(),
            unidentified: 0,
            left: Vec::new(),
            scoped: Vec::new(),
        }
    }
}

/// Maps and validates the records of one connector for one entity.
#[derive(Clone)]
pub(crate) struct Preparer<'m> {
    mapping: &'m Mapping,
    schema: &'m EntitySchema,
    norm: NormaliseContext,
    counters: Counters,
}

impl<'m> Preparer<'m> {
    /// A preparer for one side's records.
    pub fn new(side: &Side<'m>) -> Self {
        let counters = ["read", "filtered", "quarantined", "flagged"]
            .map(|k| (k.to_string(), 0))
            .into();
        Preparer {
            mapping: side.mapping,
            schema: side.schema,
            norm: side.norm.clone(),
            counters,
        }
    }

    /// Prepare chunks from `queue` until it is empty; send each as one
    /// batch. Returns this worker's counters.
    pub fn work(mut self, queue: &ChunkQueue, tx: SyncSender<(usize, Prepared)>) -> Counters {
        loop {
            let next = match queue.lock() {
                Ok(guard) => guard.as_ref().and_then(|rx| rx.recv().ok()),
                Err(_) => None,
            };
            let Some((seq, items)) = next else { break };
            let mut batch = Prepared::empty();
            for item in items {
                self.take(item, &mut batch);
            }
            if tx.send((seq, batch)).is_err() {
                // The applier stopped: stop the reader too.
                if let Ok(mut guard) = queue.lock() {
                    guard.take();
                }
                break;
            }
        }
        self.counters
    }

    fn bump(&mut self, counter: &str) {
        *self.counters.entry(counter.to_string()).or_default() += 1;
    }

    /// Prepare a whole list of items at once (for fetched records).
    pub fn prepare_all(&mut self, items: Vec<ReadItem>) -> Prepared {
        let mut batch = Prepared::empty();
        for item in items {
            self.take(item, &mut batch);
        }
        batch
    }

    /// This preparer's counters so far (and reset them).
    pub fn take_counters(&mut self) -> Counters {
        std::mem::take(&mut self.counters)
    }

    /// Map, normalise and de-duplicate one read item into the batch.
    fn take(&mut self, item: ReadItem, batch: &mut Prepared) {
        self.bump("read");
        match item {
            // (a broken read ends at `read_chunks`, and a refresh's staging)
            ReadItem::Reject(r) | ReadItem::Broken(r) => {
                batch.unidentified += 1;
                batch
                    .rejects
                    .push(self.reject(r.position, None, r.raw, r.reason))
            }
            ReadItem::Record(rec) => match self.prepare(&rec) {
                Ok(Some(incoming)) => {
                    batch.incoming.push(incoming);
                    batch.positions.push(rec.position);
                }
                Ok(None) => {
                    self.bump("filtered");
                    self.out_of_scope(rec, batch);
                }
                Err((id, reason)) => {
                    let id = id.or_else(|| self.mapping.external_id_of(&rec.fields));
                    match &id {
                        Some(id) => batch.seen.push(id.clone()),
                        None => batch.unidentified += 1,
                    }
                    let raw = serde_json::to_string(&rec.fields).unwrap_or_default();
                    batch
                        .rejects
                        .push(self.reject(rec.position, id, raw, reason));
                }
            },
        }
    }

    /// A record the filter does not take: seen (kept as it was), left
    /// (gone from the job's scope), or read on with the set values.
    fn out_of_scope(&mut self, rec: RawRecord, batch: &mut Prepared) {
        let Some(id) = self.mapping.external_id_of(&rec.fields) else {
            batch.unidentified += 1;
            return;
        };
        match &self.mapping.out_of_scope {
            OutOfScope::Keep => batch.seen.push(id),
            OutOfScope::Delete => batch.left.push(id),
            OutOfScope::Set(set) => match self.prepare_scoped(&rec, set) {
                Some(incoming) => batch.scoped.push((incoming, rec.position)),
                None => batch.seen.push(id),
            },
        }
    }

    /// A record out of scope, mapped as if it were in, with `set` on top.
    fn prepare_scoped(&mut self, rec: &RawRecord, set: &einklang_core::Fields) -> Option<Incoming> {
        let Ok(Pulled::Record {
            external_id,
            mut fields,
        }) = self
            .mapping
            .pull_checked_unfiltered(self.schema, &self.norm, &rec.fields)
        else {
            return None;
        };
        fields.extend(set.iter().map(|(k, v)| (k.clone(), v.clone())));
        let values = self.schema.normalise(fields, &self.norm).ok()?;
        let hash = content_hash(&values);
        Some(Incoming {
            connector: self.mapping.connector.clone(),
            external_id,
            values,
            hash,
            version: rec.version.clone(),
        })
    }

    /// `Ok(None)`: filtered out. `Err((external id if known, reason))`:
    /// rejected. A value of an optional field that cannot be read is kept
    /// as a flag ([`einklang_core::transform::flag`]) and counted
    /// `flagged`; only what the record cannot be kept without rejects it.
    fn prepare(&mut self, rec: &RawRecord) -> Result<Option<Incoming>, (Option<String>, String)> {
        let (external_id, values) =
            match self
                .mapping
                .pull_checked(self.schema, &self.norm, &rec.fields)
            {
                Ok(Pulled::Filtered) => return Ok(None),
                Ok(Pulled::Record {
                    external_id,
                    fields,
                }) => (external_id, fields),
                Err(MapError::Invalid {
                    external_id,
                    errors,
                }) => {
                    let reasons: Vec<String> = errors.iter().map(|e| e.to_string()).collect();
                    return Err((Some(external_id), reasons.join("; ")));
                }
                Err(e) => return Err((None, e.to_string())),
            };
        if einklang_core::transform::flag::any_flag(&values) {
            self.bump("flagged");
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

/// Read the connector in source order and queue numbered chunks. Returns
/// the connector's error when the read could not start.
pub(crate) fn read_chunks(
    connector: &mut dyn Connector,
    tx: SyncSender<Chunk>,
) -> Result<(), String> {
    let items = connector.read().map_err(|e| e.to_string())?;
    let mut chunk = Vec::with_capacity(super::BATCH);
    let mut seq = 0;
    for item in items {
        if let ReadItem::Broken(r) = item {
            // what came before is applied; the step fails, deciding no deletes
            let _ = tx.send((seq, chunk));
            return Err(format!("{} ({})", r.reason, r.position));
        }
        chunk.push(item);
        if chunk.len() == super::BATCH {
            let full = std::mem::replace(&mut chunk, Vec::with_capacity(super::BATCH));
            if tx.send((seq, full)).is_err() {
                return Ok(()); // the workers stopped
            }
            seq += 1;
        }
    }
    if !chunk.is_empty() {
        let _ = tx.send((seq, chunk));
    }
    Ok(())
}
