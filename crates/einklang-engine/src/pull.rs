//! The pull step: one connector's records for one entity into the hub.
//! The algorithm is described in the crate docs.
//!
//! Two stages run on two threads, joined by a bounded channel so memory
//! stays flat however large the source: the preparer reads, maps, normalises
//! and de-duplicates records into batches ([`prepare`]); the applier (this
//! thread) plans each batch against the store and applies it.

mod prepare;

use crate::plan::{plan_create, plan_update, Incoming};
use crate::{EngineError, Progress};
use einklang_config::Config;
use einklang_connectors::Connector;
use einklang_core::Mapping;
use einklang_store::{Change, Counters, HubStore, LinkKey, NewQuarantine, RunId};
use prepare::{Prepared, Preparer};
use std::sync::mpsc::sync_channel;

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

/// Run the preparer on its own thread and apply what it sends. Returns the
/// preparer's counters, or its connector error.
fn run_stages(
    ctx: &mut PullContext<'_>,
    tenant: &str,
    connector: &mut dyn Connector,
    preparer: Preparer<'_>,
    applier: &mut Applier<'_>,
) -> Result<Result<Counters, String>, EngineError> {
    let (tx, rx) = sync_channel::<Prepared>(IN_FLIGHT);
    std::thread::scope(|scope| {
        let worker = scope.spawn(move || preparer.run(connector, tx));
        let mut applied = Ok(());
        for batch in rx.iter() {
            if let Err(e) = applier.apply(ctx, tenant, batch) {
                applied = Err(e);
                break; // dropping the receiver stops the preparer
            }
        }
        drop(rx);
        let prepared = worker
            .join()
            .unwrap_or_else(|_| Err("record preparation panicked".into()));
        applied.map(|()| prepared)
    })
}

/// The store side of a pull: plans batches against the hub and applies them.
struct Applier<'m> {
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
            mut rejects,
        } = batch;
        let n = (incoming.len() + rejects.len()) as u64;
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
