//! Recovering writes a crashed run left `sending`: such a write may or may
//! not have reached the remote. Before anything is read:
//!
//! - a create on a connector that assigns ids is looked up by its marker
//!   ([`Connector::find_created`]): found, the link takes the remote's id
//!   and version and the entry's base (so the record is never created
//!   twice); not found, the link stays pending and is created again;
//! - a create on a connector that takes the marker as id, and every update
//!   or delete, is simply planned again: sending it twice is harmless, and
//!   if it did land the 3-way merge sees both sides agree.

use crate::pull::StepContext;
use crate::side::Side;
use crate::EngineError;
use einklang_connectors::Connector;
use einklang_core::content_hash;
use einklang_store::{LinkChange, LinkStatus, OutboxOp, OutboxWrite, SyncBatch};

/// Recover one side's `sending` entries; returns how many were recovered
/// (found on the remote), or the connector's error.
pub(crate) fn recover(
    ctx: &mut StepContext<'_>,
    connector: &mut dyn Connector,
    side: &Side<'_>,
) -> Result<Result<u64, String>, EngineError> {
    let entries = ctx
        .store
        .outbox(&ctx.tenant, side.name, &side.schema.name)?;
    let mut batch = SyncBatch::default();
    let mut found = 0;
    for e in entries.iter().filter(|e| e.state == "sending") {
        if e.op == OutboxOp::Create && !side.caps.client_ids {
            match connector.find_created(&side.mapping.id_field, &e.target) {
                Ok(Some(outcome)) => {
                    found += 1;
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
                Ok(None) => {}
                Err(err) => return Ok(Err(err.to_string())),
            }
        }
        batch.outbox.push(OutboxWrite::Remove(e.idem_key.clone()));
    }
    if !batch.is_empty() {
        ctx.store.apply_sync(&ctx.tenant, ctx.run, &batch)?;
    }
    Ok(Ok(found))
}
