//! A targeted read (a webhook's run, [`crate::RunOptions::targets`]): only
//! the records the call named are fetched by id — one `fetch` of at most
//! [`CHUNK`] ids, for an `http` connector one `GET` per record — prepared
//! and applied like any fetched record. It decides nothing about deletes:
//! a named record the fetch leaves out (the remote answered 404, or it
//! left the job's scope) is left to the next ordinary read, which decides
//! with its usual guards. It leaves no mark (fingerprint, listing hash or
//! change cursor) either, so the next ordinary read looks as it would
//! have; the records this read applied cost it nothing more (their links
//! hold the versions just read). Updates of the named records that a
//! crashed run left `sending` are recognised in what is read back, as an
//! ordinary read does (`Applier::sending`), so they are not sent twice.

use super::{Applier, Preparer, ReadOutcome, StepContext};
use crate::side::Side;
use crate::EngineError;
use einklang_connectors::Connector;
use einklang_store::Counters;

/// Records per fetch call.
const CHUNK: usize = 500;

/// Can this side be read by id?
pub(crate) fn can(side: &Side<'_>) -> bool {
    side.caps.fetch && side.caps.key_field.as_deref() == Some(side.mapping.id_field.as_str())
}

/// Fetch and apply the named records (see the module docs).
pub(crate) fn read(
    ctx: &mut StepContext<'_>,
    connector: &mut dyn Connector,
    side: &Side<'_>,
    ids: &[String],
) -> Result<Result<ReadOutcome, String>, EngineError> {
    let mut preparer = Preparer::new(side);
    let mut applier = Applier::new(side);
    if side.pushes {
        // a create whose answer was lost is claimed, not made a second record
        applier.hold(crate::outbound::unknown_creates(ctx, side)?);
        // an update of a named record whose answer was lost (a run that
        // died sending it) is recognised in what is read back, not sent
        // again
        applier.sending = sending_of(ctx, side, ids)?;
    }
    let mut found = 0u64;
    for chunk in ids.chunks(CHUNK) {
        let items = match connector.fetch(chunk) {
            Ok(items) => items,
            Err(e) => return Ok(Err(e.to_string())),
        };
        found += items.len() as u64;
        let prepared = preparer.prepare_all(items);
        applier.apply(ctx, prepared)?;
    }
    let mut counters: Counters = preparer.take_counters();
    for (k, v) in std::mem::take(&mut applier.counters) {
        *counters.entry(k).or_default() += v;
    }
    counters.insert("named".into(), ids.len() as u64);
    let absent = ids.len() as u64 - found.min(ids.len() as u64);
    let note = (absent > 0).then(|| {
        format!(
            "{absent} record(s) named by the webhook were not found: nothing is deleted on that alone (the next ordinary read decides)"
        )
    });
    if absent > 0 {
        counters.insert("named_absent".into(), absent);
    } else {
        // every named record was read: a lost update not seen landed did not
        super::drop_unlanded(ctx, &mut applier)?;
    }
    Ok(Ok(ReadOutcome {
        counters,
        source_unchanged: false,
        gone: None,
        live_links: 0,
        note,
        marks: Vec::new(),
        left_scope: Default::default(),
    }))
}

/// The `sending` updates of the named records' links.
fn sending_of(
    ctx: &mut StepContext<'_>,
    side: &Side<'_>,
    ids: &[String],
) -> Result<std::collections::HashMap<i64, einklang_store::OutboxEntry>, EngineError> {
    let sending = crate::outbound::sending_updates(ctx, side)?;
    if sending.is_empty() {
        return Ok(sending);
    }
    let refs: Vec<&str> = ids.iter().map(String::as_str).collect();
    let named: std::collections::HashSet<i64> = ctx
        .store
        .find_links(&ctx.tenant, side.name, &side.schema.name, &refs)?
        .into_iter()
        .flatten()
        .map(|k| k.link_id)
        .collect();
    Ok(sending
        .into_iter()
        .filter(|(link, _)| named.contains(link))
        .collect())
}
