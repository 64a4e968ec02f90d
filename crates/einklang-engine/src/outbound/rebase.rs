//! Updates that write a list of objects (`each`) are written onto the
//! record as the remote holds it (`einklang_core::transform::rebase`): the
//! elements that did not change go back verbatim, elements no rule maps
//! stay. The records are fetched in one call per page (an `http`
//! connector answers from what this run read, else by its `get`). A
//! connector that cannot fetch (the file kinds), or a fetch that fails
//! (warned), leaves the update
//! as planned — the hub's values in canonical form, the old behaviour —
//! with a warning; a record the fetch no longer finds is left to the
//! write (whose "not found" re-creates it).

use super::ToSend;
use crate::report::PlanItem;
use crate::side::Side;
use einklang_connectors::{Connector, ConnectorError, RawFields, ReadItem, WriteOp};
use std::collections::HashMap;

/// Rebase the list fields of the updates in `planned` onto the records
/// as `connector` holds them.
pub(super) fn onto_remote(
    connector: &mut dyn Connector,
    side: &Side<'_>,
    planned: &mut [(ToSend, PlanItem)],
) {
    let ids: Vec<String> = planned
        .iter()
        .filter_map(|(s, _)| match &s.op {
            WriteOp::Update { id, fields, .. }
                if fields.keys().any(|k| side.mapping.writes_list_at(k)) =>
            {
                Some(id.clone())
            }
            _ => None,
        })
        .collect();
    if ids.is_empty() {
        return;
    }
    let current: HashMap<String, RawFields> = match connector.fetch(&ids) {
        Ok(items) => items
            .into_iter()
            .filter_map(|item| match item {
                ReadItem::Record(r) => Some((side.mapping.external_id_of(&r.fields)?, r.fields)),
                _ => None,
            })
            .collect(),
        Err(e @ ConnectorError::Unsupported { .. }) => {
            tracing::debug!(connector = side.name, error = %e, "lists are written from the hub's values");
            return;
        }
        Err(e) => {
            tracing::warn!(
                connector = side.name,
                records = ids.len(),
                error = %e,
                "lists are written from the hub's values: the records could not be fetched to keep their other elements"
            );
            return;
        }
    };
    for (send, _) in planned.iter_mut() {
        let WriteOp::Update { id, fields, .. } = &mut send.op else {
            continue;
        };
        let Some(now) = current.get(id.as_str()) else {
            continue;
        };
        side.mapping
            .rebase_lists(side.schema, &side.norm, fields, now);
        send.entry.payload = fields.clone();
    }
}
