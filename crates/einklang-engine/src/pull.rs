//! The pull step: one connector's records for one entity into the hub.
//! The algorithm is described in the crate docs.

use crate::plan::{plan_create, plan_update, Incoming};
use crate::{EngineError, Progress};
use einklang_config::Config;
use einklang_connectors::{Connector, RawRecord, ReadItem};
use einklang_core::{content_hash, EntitySchema, Mapping, NormaliseContext, Pulled};
use einklang_store::{Change, Counters, HubStore, LinkKey, NewQuarantine, RunId};
use std::collections::HashSet;

/// Records per store transaction.
pub const BATCH: usize = 2000;
/// Largest raw payload kept in the quarantine.
const RAW_LIMIT: usize = 4096;

/// What a pull step needs from its surroundings.
pub(crate) struct PullContext<'a> {
    pub config: &'a Config,
    pub store: &'a mut dyn HubStore,
    pub run: RunId,
    pub full: bool,
    pub progress: &'a dyn Progress,
}

/// Per-step state: the mapping, schema and what this read has seen so far.
struct StepState<'m> {
    mapping: &'m Mapping,
    schema: &'m EntitySchema,
    norm: NormaliseContext,
    seen: HashSet<u128>,
    counters: Counters,
    batch: Vec<Incoming>,
    rejects: Vec<NewQuarantine>,
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
        let stored = ctx.store.source_fingerprint(&tenant, &mapping.connector, &mapping.entity)?;
        if stored.as_deref() == Some(fp.as_str()) {
            let counters = Counters::from([("sources_unchanged".to_string(), 1)]);
            return Ok(Ok(PullOutcome { counters, source_unchanged: true }));
        }
    }
    let Some(schema) = ctx.config.entities.get(&mapping.entity) else {
        return Ok(Err(format!("entity `{}` is not defined", mapping.entity)));
    };
    let mut state = StepState::new(ctx.config, mapping, schema);
    let items = match connector.read() {
        Ok(items) => items,
        Err(e) => return Ok(Err(e.to_string())),
    };
    for item in items {
        state.take(item);
        if state.batch.len() + state.rejects.len() >= BATCH {
            state.flush(ctx, &tenant)?;
        }
    }
    state.flush(ctx, &tenant)?;
    if let Some(fp) = fingerprint {
        ctx.store.set_source_fingerprint(&tenant, &mapping.connector, &mapping.entity, &fp)?;
    }
    Ok(Ok(PullOutcome { counters: state.counters, source_unchanged: false }))
}

impl<'m> StepState<'m> {
    fn new(config: &Config, mapping: &'m Mapping, schema: &'m EntitySchema) -> Self {
        let norm = NormaliseContext {
            region: config.region.clone(),
            max_field_bytes: config.max_field_bytes,
        };
        let counters = ["read", "created", "updated", "unchanged", "filtered", "quarantined", "writes"]
            .into_iter()
            .map(|k| (k.to_string(), 0))
            .collect();
        StepState {
            mapping,
            schema,
            norm,
            seen: HashSet::new(),
            counters,
            batch: Vec::with_capacity(BATCH),
            rejects: Vec::new(),
        }
    }

    fn bump(&mut self, counter: &str, n: u64) {
        *self.counters.entry(counter.to_string()).or_default() += n;
    }

    /// Map, normalise and de-duplicate one read item into the batch or the rejects.
    fn take(&mut self, item: ReadItem) {
        self.bump("read", 1);
        match item {
            ReadItem::Reject(r) => self.reject(r.position, None, r.raw, r.reason),
            ReadItem::Record(rec) => match self.prepare(&rec) {
                Ok(Some(incoming)) => self.batch.push(incoming),
                Ok(None) => self.bump("filtered", 1),
                Err((id, reason)) => {
                    let raw = serde_json::to_string(&rec.fields).unwrap_or_default();
                    self.reject(rec.position, id, raw, reason)
                }
            },
        }
    }

    /// `Ok(None)`: filtered out. `Err((external id if known, reason))`: rejected.
    fn prepare(&mut self, rec: &RawRecord) -> Result<Option<Incoming>, (Option<String>, String)> {
        let (external_id, fields) = match self.mapping.pull(&rec.fields) {
            Ok(Pulled::Filtered) => return Ok(None),
            Ok(Pulled::Record { external_id, fields }) => (external_id, fields),
            Err(e) => return Err((None, e.to_string())),
        };
        let values = self.schema.normalise(fields, &self.norm).map_err(|errs| {
            let reasons: Vec<String> = errs.iter().map(|e| e.to_string()).collect();
            (Some(external_id.clone()), reasons.join("; "))
        })?;
        let id_hash = xxhash_rust::xxh3::xxh3_128(external_id.as_bytes());
        if !self.seen.insert(id_hash) {
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

    fn reject(&mut self, position: String, external_id: Option<String>, raw: String, reason: String) {
        self.bump("quarantined", 1);
        self.rejects.push(NewQuarantine {
            connector: self.mapping.connector.clone(),
            entity: self.mapping.entity.clone(),
            external_id,
            position,
            raw: einklang_connectors::excerpt(&raw, RAW_LIMIT),
            reason,
        });
    }

    /// Plan and apply the current batch, store its rejects.
    fn flush(&mut self, ctx: &mut PullContext<'_>, tenant: &str) -> Result<(), EngineError> {
        let n = (self.batch.len() + self.rejects.len()) as u64;
        let changes = self.plan_batch(ctx, tenant)?;
        if !changes.is_empty() {
            ctx.store.apply(tenant, ctx.run, &changes)?;
            self.bump("writes", changes.len() as u64);
        }
        if !self.rejects.is_empty() {
            ctx.store.quarantine(tenant, ctx.run, &self.rejects)?;
            self.rejects.clear();
        }
        self.batch.clear();
        ctx.progress.records(n);
        Ok(())
    }

    /// Look up the batch's links and decide each record's change.
    fn plan_batch(&mut self, ctx: &mut PullContext<'_>, tenant: &str) -> Result<Vec<Change>, EngineError> {
        let ids: Vec<&str> = self.batch.iter().map(|i| i.external_id.as_str()).collect();
        let (connector, entity) = (&self.mapping.connector, &self.mapping.entity);
        let links = ctx.store.find_links(tenant, connector, entity, &ids)?;
        let mut changes = Vec::new();
        let mut stale: Vec<(LinkKey, usize)> = Vec::new();
        for (i, link) in links.into_iter().enumerate() {
            let incoming = &self.batch[i];
            match link {
                None => changes.push(plan_create(entity, incoming)),
                Some(key) if key.content_hash == incoming.hash && key.version == incoming.version => {}
                Some(key) => stale.push((key, i)),
            }
        }
        let created = changes.len() as u64;
        let keys: Vec<LinkKey> = stale.iter().map(|(k, _)| k.clone()).collect();
        let loaded = if keys.is_empty() { Vec::new() } else { ctx.store.load_for_update(tenant, &keys)? };
        let mut updated = 0;
        let mut orphans = Vec::new();
        for ((key, i), current) in stale.iter().zip(loaded) {
            let Some(current) = current else {
                orphans.push((*i, key.record_id));
                continue;
            };
            if let Some(change) = plan_update(&current, &self.batch[*i]) {
                if matches!(&change, Change::Update { history, .. } if !history.is_empty()) {
                    updated += 1;
                }
                changes.push(change);
            }
        }
        for (i, record_id) in &orphans {
            let inc = &self.batch[*i];
            let (id, raw) = (inc.external_id.clone(), serde_json::to_string(&inc.values).unwrap_or_default());
            let reason = format!("link of `{id}` points at hub record {record_id}, which no longer exists");
            self.reject(format!("id {id}"), Some(id), raw, reason);
        }
        let unchanged = self.batch.len() as u64 - created - updated - orphans.len() as u64;
        self.bump("created", created);
        self.bump("updated", updated);
        self.bump("unchanged", unchanged);
        Ok(changes)
    }
}
