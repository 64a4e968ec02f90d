//! Recovering writes a crashed run left `sending`, or whose answer was
//! lost: such a write may or may not have reached the remote. Before
//! anything is read:
//!
//! - a create on a connector that assigns ids is looked up by its marker
//!   ([`Connector::find_created`]): found, the link takes the remote's id
//!   and version and the entry's base (so the record is never created
//!   twice); absent, the link is pending again and the create is sent
//!   again; when the connector cannot look records up by marker, the
//!   entry is held `unknown` for a read to settle ([`super::unknown`]);
//! - an update stays `sending` for the read that follows (when the step
//!   reads the side): when the record read back carries the values the
//!   update wrote, those fields are our own echo and not the remote's
//!   change ([`echo_base`]); an entry whose record did not change did not
//!   land and is dropped after the read; either way what remains to write
//!   is planned again from the hub;
//! - a create on a connector that takes the marker as id, and a delete, is
//!   simply planned again: sending it twice is harmless.

use crate::inbound::marker;
use crate::pull::StepContext;
use crate::side::Side;
use crate::EngineError;
use einklang_connectors::{Connector, Lookup};
use einklang_core::content_hash;
use einklang_store::{
    LinkChange, LinkStatus, OutboxEntry, OutboxOp, OutboxWrite, RecordId, SyncBatch,
};

/// What recovery did on one side.
#[derive(Debug, Default, PartialEq, Eq)]
pub(crate) struct Recovered {
    /// Creates found on the remote.
    pub found: u64,
    /// Creates now held `unknown` (found neither way).
    pub held: u64,
}

/// Recover one side's `sending` entries, or the connector's error.
pub(crate) fn recover(
    ctx: &mut StepContext<'_>,
    connector: &mut dyn Connector,
    side: &Side<'_>,
) -> Result<Result<Recovered, String>, EngineError> {
    let entries = ctx
        .store
        .outbox(&ctx.tenant, side.name, &side.schema.name)?;
    let mut batch = SyncBatch::default();
    let mut done = Recovered::default();
    for e in entries.iter().filter(|e| e.state == "sending") {
        if side.pulls && matches!(e.op, OutboxOp::Update | OutboxOp::SoftDelete) {
            continue; // the read recognises it (see `landed`)
        }
        if e.op == OutboxOp::Create && !side.caps.client_ids {
            match connector.find_created(&side.mapping.id_field, &e.target) {
                Ok(Lookup::Found(outcome)) => {
                    done.found += 1;
                    batch.links.push(LinkChange::Synced {
                        link_id: e.link_id,
                        expect_hash: None,
                        external_id: outcome.id,
                        base: e.new_base.clone(),
                        content_hash: content_hash(&e.new_base),
                        version: outcome.version,
                        status: LinkStatus::Dirty,
                    });
                }
                Ok(Lookup::Absent) => batch.links.push(recreate(e)),
                Ok(Lookup::CannotTell) => {
                    done.held += 1;
                    let mut held = e.clone();
                    held.state = "unknown".into();
                    batch.outbox.push(OutboxWrite::Queue(held));
                    continue;
                }
                Err(err) => return Ok(Err(err.to_string())),
            }
        }
        batch.outbox.push(OutboxWrite::Remove(e.idem_key.clone()));
    }
    if !batch.is_empty() {
        ctx.store.apply_sync(&ctx.tenant, ctx.run, &batch)?;
    }
    Ok(Ok(done))
}

/// The link of a create that did not land, pending again under its marker.
pub(crate) fn recreate(e: &OutboxEntry) -> LinkChange {
    LinkChange::Recreate {
        link_id: e.link_id,
        marker: marker(e.record_id as RecordId),
    }
}

/// The creates of one side held `unknown`, for the read to settle.
pub(crate) fn unknown_creates(
    ctx: &mut StepContext<'_>,
    side: &Side<'_>,
) -> Result<Vec<OutboxEntry>, EngineError> {
    Ok(ctx
        .store
        .outbox(&ctx.tenant, side.name, &side.schema.name)?
        .into_iter()
        .filter(|e| e.state == "unknown" && e.op == OutboxOp::Create)
        .collect())
}

/// The `sending` updates of one side, by link: writes whose answer was
/// lost, for the read to recognise.
pub(crate) fn sending_updates(
    ctx: &mut StepContext<'_>,
    side: &Side<'_>,
) -> Result<std::collections::HashMap<i64, OutboxEntry>, EngineError> {
    Ok(ctx
        .store
        .outbox(&ctx.tenant, side.name, &side.schema.name)?
        .into_iter()
        .filter(|e| e.state == "sending" && matches!(e.op, OutboxOp::Update | OutboxOp::SoftDelete))
        .map(|e| (e.link_id, e))
        .collect())
}

/// The base to merge a record against when an update of it may have
/// landed (its answer was lost): each field the update changed that reads
/// back as written is taken as our own echo (its base is the written
/// value); the others keep the old base, so what the remote shows there is
/// seen as the remote's own change — or as no change, when it still shows
/// the old value because the write never landed.
pub(crate) fn echo_base(
    entry: &OutboxEntry,
    base: &einklang_core::Fields,
    remote: &einklang_core::Fields,
) -> einklang_core::Fields {
    let mut out = base.clone();
    for (f, _, new) in einklang_core::merge::diff(base, &entry.new_base) {
        if remote.get(&f).unwrap_or(&serde_json::Value::Null) == &new {
            einklang_core::merge::put(&mut out, &f, new);
        }
    }
    out
}
