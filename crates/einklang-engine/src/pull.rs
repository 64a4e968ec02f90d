//! The pull step: one connector's records for one entity into the hub.
//! The algorithm is described in the crate docs.
//!
//! Three stages run on their own threads, joined by bounded channels so
//! memory stays flat however large the source: a reader reads the source in
//! numbered chunks; workers (one per core, at most four) map and normalise
//! them ([`prepare`]); the applier (this thread) puts the batches back in
//! source order, rejects external ids seen earlier in the read, plans each
//! batch against the store and applies it.

mod prepare;

use crate::plan::{plan_create, plan_update, Incoming};
use crate::{EngineError, Progress};
use einklang_config::Config;
use einklang_connectors::Connector;
use einklang_core::Mapping;
use einklang_store::{Change, Counters, HubStore, LinkKey, NewQuarantine, RunId};
use prepare::{Chunk, ChunkQueue, Prepared, Preparer};
use std::collections::{BTreeMap, HashSet};
use std::sync::mpsc::sync_channel;
use std::sync::Mutex;

/// Records per store transaction.
pub const BATCH: usize = 2000;
/// Batches in flight between the two stages.
const IN_FLIGHT: usize = 4;

/// What a pull step needs from its surroundings.
pub(crate) struct PullContext<'a> {
    pub config: &'a Config,
    pub store: &'a mut dyn HubStore,
    pub run: RunId,
    pub full: bool,
    pub progress: &'a dyn Progress,
}

/// Outcome of a pull step.
pub(crate) struct PullOutcome {
    pub counters: Counters,
    /// The source was unchanged since the last complete read; nothing was read.
    pub source_unchanged: bool,
}

/// Run one pull step. A connector failure is returned as `Ok(Err(message))`
/// so the job can go on; store failures are `Err`.
pub(crate) fn pull(
    ctx: &mut PullContext<'_>,
    connector: &mut dyn Connector,
    mapping: &Mapping,
) -> Result<Result<PullOutcome, String>, EngineError> {
    let tenant = ctx.config.tenant.clone();
    let fingerprint = match connector.fingerprint() {
        Ok(f) => f,
        Err(e) => return Ok(Err(e.to_string())),
    };
    if let (false, Some(fp)) = (ctx.full, &fingerprint) {
        let stored = ctx
            .store
            .source_fingerprint(&tenant, &mapping.connector, &mapping.entity)?;
        if stored.as_deref() == Some(fp.as_str()) {
            let counters = Counters::from([("sources_unchanged".to_string(), 1)]);
            return Ok(Ok(PullOutcome {
                counters,
                source_unchanged: true,
            }));
        }
    }
    let Some(preparer) = Preparer::new(ctx.config, mapping) else {
        return Ok(Err(format!("entity `{}` is not defined", mapping.entity)));
    };
    let mut applier = Applier {
        mapping,
        counters: Counters::new(),
        seen: HashSet::new(),
    };
    let prepared = run_stages(ctx, &tenant, connector, preparer, &mut applier)?;
    let mut counters = match prepared {
        Ok(counters) => counters,
        Err(message) => return Ok(Err(message)),
    };
    if let Some(fp) = fingerprint {
        ctx.store
            .set_source_fingerprint(&tenant, &mapping.connector, &mapping.entity, &fp)?;
    }
    for (k, v) in applier.counters {
        *counters.entry(k).or_default() += v;
    }
    Ok(Ok(PullOutcome {
        counters,
        source_unchanged: false,
    }))
}

/// Worker threads that map and normalise: one per core, at most four.
fn workers() -> usize {
    std::thread::available_parallelism().map_or(2, |n| n.get().clamp(1, 4))
}

/// Run the reader and the workers on their own threads and apply what they
/// send, in source order. Returns the workers' counters, or the connector's
/// error.
fn run_stages(
    ctx: &mut PullContext<'_>,
    tenant: &str,
    connector: &mut dyn Connector,
    preparer: Preparer<'_>,
    applier: &mut Applier<'_>,
) -> Result<Result<Counters, String>, EngineError> {
    let (chunk_tx, chunk_rx) = sync_channel::<Chunk>(IN_FLIGHT);
    let queue: ChunkQueue = Mutex::new(Some(chunk_rx));
    let (tx, rx) = sync_channel::<(usize, Prepared)>(IN_FLIGHT);
    std::thread::scope(|scope| {
        let reader = scope.spawn(move || prepare::read_chunks(connector, chunk_tx));
        let handles: Vec<_> = (0..workers())
            .map(|_| {
                let (p, tx, queue) = (preparer.clone(), tx.clone(), &queue);
                scope.spawn(move || p.work(queue, tx))
            })
            .collect();
        drop(tx);
        let mut applied = Ok(());
        let (mut waiting, mut next) = (BTreeMap::new(), 0);
        'receive: for (seq, batch) in rx.iter() {
            waiting.insert(seq, batch);
            while let Some(batch) = waiting.remove(&next) {
                next += 1;
                if let Err(e) = applier.apply(ctx, tenant, batch) {
                    applied = Err(e);
                    break 'receive;
                }
            }
        }
        drop(rx); // a failed applier stops the workers, and they the reader
        let mut counters = Counters::new();
        for h in handles {
            match h.join() {
                Ok(c) => c
                    .into_iter()
                    .for_each(|(k, v)| *counters.entry(k).or_default() += v),
                Err(_) => return applied.map(|()| Err("record preparation panicked".into())),
            }
        }
        let read = reader
            .join()
            .unwrap_or_else(|_| Err("reading the source panicked".into()));
        applied.map(|()| read.map(|()| counters))
    })
}

/// The store side of a pull: plans batches against the hub and applies them.
struct Applier<'m> {
    /// Hashes of the external ids seen so far in this read.
    seen: HashSet<u128>,
    mapping: &'m Mapping,
    counters: Counters,
}

impl Applier<'_> {
    fn bump(&mut self, counter: &str, n: u64) {
        *self.counters.entry(counter.to_string()).or_default() += n;
    }

    /// Plan and apply one prepared batch, store its rejects.
    fn apply(
        &mut self,
        ctx: &mut PullContext<'_>,
        tenant: &str,
        batch: Prepared,
    ) -> Result<(), EngineError> {
        let Prepared {
            incoming,
            positions,
            mut rejects,
        } = batch;
        let n = (incoming.len() + rejects.len()) as u64;
        let incoming = self.first_sightings(incoming, positions, &mut rejects);
        let changes = self.plan_batch(ctx, tenant, &incoming, &mut rejects)?;
        if !changes.is_empty() {
            ctx.store.apply(tenant, ctx.run, &changes)?;
        }
        self.bump("writes", changes.len() as u64);
        if !rejects.is_empty() {
            ctx.store.quarantine(tenant, ctx.run, &rejects)?;
        }
        ctx.progress.records(n);
        Ok(())
    }

    /// Look up the batch's links and decide each record's change.
    fn plan_batch(
        &mut self,
        ctx: &mut PullContext<'_>,
        tenant: &str,
        batch: &[Incoming],
        rejects: &mut Vec<NewQuarantine>,
    ) -> Result<Vec<Change>, EngineError> {
        let ids: Vec<&str> = batch.iter().map(|i| i.external_id.as_str()).collect();
        let (connector, entity) = (&self.mapping.connector, &self.mapping.entity);
        let links = ctx.store.find_links(tenant, connector, entity, &ids)?;
        let mut changes = Vec::new();
        let mut stale: Vec<(LinkKey, &Incoming)> = Vec::new();
        for (link, incoming) in links.into_iter().zip(batch) {
            match link {
                None => changes.push(plan_create(entity, incoming)),
                Some(key)
                    if key.content_hash == incoming.hash && key.version == incoming.version => {}
                Some(key) => stale.push((key, incoming)),
            }
        }
        let created = changes.len() as u64;
        let keys: Vec<LinkKey> = stale.iter().map(|(k, _)| k.clone()).collect();
        let loaded = if keys.is_empty() {
            Vec::new()
        } else {
            ctx.store.load_for_update(tenant, &keys)?
        };
        let (mut updated, mut orphans) = (0, 0);
        for ((key, incoming), current) in stale.iter().zip(loaded) {
            let Some(current) = current else {
                rejects.push(self.orphan(key, incoming));
                orphans += 1;
                continue;
            };
            if let Some(change) = plan_update(&current, incoming) {
                if matches!(&change, Change::Update { history, .. } if !history.is_empty()) {
                    updated += 1;
                }
                changes.push(change);
            }
        }
        self.bump("created", created);
        self.bump("updated", updated);
        self.bump(
            "unchanged",
            batch.len() as u64 - created - updated - orphans,
        );
        Ok(changes)
    }

    /// Keep the records whose external id was not seen earlier in this
    /// read; later ones go to quarantine.
    fn first_sightings(
        &mut self,
        incoming: Vec<Incoming>,
        positions: Vec<String>,
        rejects: &mut Vec<NewQuarantine>,
    ) -> Vec<Incoming> {
        let mut kept = Vec::with_capacity(incoming.len());
        for (inc, position) in incoming.into_iter().zip(positions) {
            if self
                .seen
                .insert(xxhash_rust::xxh3::xxh3_128(inc.external_id.as_bytes()))
            {
                kept.push(inc);
                continue;
            }
            self.bump("quarantined", 1);
            rejects.push(NewQuarantine {
                connector: self.mapping.connector.clone(),
                entity: self.mapping.entity.clone(),
                external_id: Some(inc.external_id.clone()),
                position,
                raw: serde_json::to_string(&inc.values).unwrap_or_default(),
                reason: format!(
                    "duplicate external id `{}` within this read: an earlier record has the same id",
                    inc.external_id
                ),
            });
        }
        kept
    }

    /// A link whose hub record is gone: quarantined rather than silently recreated.
    fn orphan(&mut self, key: &LinkKey, incoming: &Incoming) -> NewQuarantine {
        self.bump("quarantined", 1);
        let id = incoming.external_id.clone();
        NewQuarantine {
            connector: self.mapping.connector.clone(),
            entity: self.mapping.entity.clone(),
            external_id: Some(id.clone()),
            position: format!("id {id}"),
            raw: serde_json::to_string(&incoming.values).unwrap_or_default(),
            reason: format!(
                "link of `{id}` points at hub record {}, which no longer exists",
                key.record_id
            ),
        }
    }
}
