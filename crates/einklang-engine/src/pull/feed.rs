//! Reading a connector through its change feed ([`Connector::changes`]):
//! what changed since the cursor stored after the last complete read. A
//! changed record whose version token equals its link's (our own write, its
//! version taken from the write's answer) is not fetched; the others are
//! fetched in batches, prepared and applied; deleted ids whose links are
//! live are the read's lost records. The cost is what changed, not the
//! size of the remote — no listing, no scan of the links.

use super::{Applier, Mark, Preparer, ReadOutcome, StepContext};
use crate::EngineError;
use einklang_connectors::{ChangeFeed, Connector};
use einklang_store::{Counters, LinkRef, LinkStatus};

/// Name of the cursor the feed's position is stored under.
pub(crate) const CURSOR: &str = "changes";

/// Records per lookup and per fetch call.
const CHUNK: usize = 500;

/// See the module docs.
pub(super) fn read(
    ctx: &mut StepContext<'_>,
    connector: &mut dyn Connector,
    mut preparer: Preparer<'_>,
    applier: &mut Applier<'_>,
    feed: ChangeFeed,
) -> Result<Result<ReadOutcome, String>, EngineError> {
    let (name, entity) = (applier.side.name, applier.side.schema.name.as_str());
    let (mut unchanged, mut ignored) = (0, 0);
    for chunk in feed.changed.chunks(CHUNK) {
        let ids: Vec<&str> = chunk.iter().map(|l| l.id.as_str()).collect();
        let links = ctx.store.find_links(&ctx.tenant, name, entity, &ids)?;
        let mut fetch = Vec::new();
        for (listed, link) in chunk.iter().zip(links) {
            match link {
                Some(k) if k.status == LinkStatus::DeletedRemote => ignored += 1,
                Some(k)
                    if k.status != LinkStatus::Pending
                        && k.version.is_some()
                        && k.version == listed.version =>
                {
                    unchanged += 1
                }
                _ => fetch.push(listed.id.clone()),
            }
        }
        if fetch.is_empty() {
            continue;
        }
        let items = match connector.fetch(&fetch) {
            Ok(items) => items,
            Err(e) => return Ok(Err(e.to_string())),
        };
        let prepared = preparer.prepare_all(items);
        applier.apply(ctx, prepared)?;
    }
    let mut gone = lost(ctx, name, entity, &feed.deleted)?;
    // records that left the job's scope count as lost
    gone.extend(lost(ctx, name, entity, &applier.left)?);
    let live_links = match gone.is_empty() {
        true => 0,
        false => ctx.store.count_links(&ctx.tenant, name, entity)?,
    };
    let mut counters: Counters = preparer.take_counters();
    counters.insert(
        "changes".into(),
        (feed.changed.len() + feed.deleted.len()) as u64,
    );
    *counters.entry("unchanged".into()).or_default() += unchanged;
    *counters.entry("ignored".into()).or_default() += ignored;
    Ok(Ok(ReadOutcome {
        counters,
        source_unchanged: feed.changed.is_empty() && feed.deleted.is_empty(),
        gone: Some(gone),
        live_links,
        note: None,
        marks: vec![Mark::Changes(feed.cursor)],
        left_scope: Default::default(),
    }))
}

/// The live links of the deleted ids.
pub(super) fn lost(
    ctx: &mut StepContext<'_>,
    name: &str,
    entity: &str,
    deleted: &[String],
) -> Result<Vec<LinkRef>, EngineError> {
    let mut gone = Vec::new();
    for chunk in deleted.chunks(CHUNK) {
        let ids: Vec<&str> = chunk.iter().map(String::as_str).collect();
        let links = ctx.store.find_links(&ctx.tenant, name, entity, &ids)?;
        for (id, key) in chunk.iter().zip(links) {
            let Some(k) = key else { continue };
            if matches!(k.status, LinkStatus::Pending | LinkStatus::DeletedRemote) {
                continue;
            }
            gone.push(LinkRef {
                link_id: k.link_id,
                record_id: k.record_id,
                external_id: id.clone(),
                version: k.version,
                status: k.status,
                attempts: 0,
                next_attempt_at: None,
            });
        }
    }
    Ok(gone)
}
