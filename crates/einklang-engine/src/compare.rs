//! A hub record next to each linked system's current values, field by
//! field, fetched live (`GET /api/records/{entity}/{id}/compare`): what
//! each system holds now, read by id through the connector and mapped and
//! normalised as a read would, against the hub's values and the link's
//! base (what einklang last wrote or read there). Nothing is written.
//!
//! A side that cannot be read by id (`fetch`), or whose record is gone,
//! says so instead of values.

use einklang_config::Config;
use einklang_connectors::ReadItem;
use einklang_core::mapping::Pulled;
use einklang_core::{NormaliseContext, Value};
use einklang_store::{HubRecord, HubStore, Link, RecordId, StoreError};
use serde::Serialize;
use std::collections::BTreeSet;

/// One field on one side.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct FieldCompare {
    /// The entity field.
    pub field: String,
    /// The hub's value.
    pub hub: Value,
    /// The system's value now (`null` when it has none).
    pub remote: Value,
    /// What einklang last wrote or read there.
    pub base: Value,
    /// `remote == hub`.
    pub same: bool,
}

/// One linked system.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SideCompare {
    /// The connector.
    pub connector: String,
    /// The record's id there.
    pub external_id: String,
    /// `read`, `missing` (the system no longer has it), `cannot_fetch`
    /// (no read by id) or `error`.
    pub state: &'static str,
    /// Why not `read`.
    pub error: Option<String>,
    /// Field by field, the mapping's fields (empty unless `read`).
    pub fields: Vec<FieldCompare>,
}

/// Compare hub record `id` of `entity` with each linked system; `None`
/// when there is no such record.
pub fn compare(
    config: &Config,
    store: &mut dyn HubStore,
    entity: &str,
    id: RecordId,
) -> Result<Option<Vec<SideCompare>>, StoreError> {
    let tenant = &config.tenant;
    let Some(record) = store.record(tenant, entity, id)? else {
        return Ok(None);
    };
    let links = store.links_of(tenant, id)?;
    Ok(Some(compare_with(config, entity, &record, &links)))
}

/// [`compare`] of a record and its links already read: only the
/// connectors are called (no store is held meanwhile).
pub fn compare_with(
    config: &Config,
    entity: &str,
    record: &HubRecord,
    links: &[Link],
) -> Vec<SideCompare> {
    let mut out = Vec::new();
    for link in links.iter().filter(|l| l.entity == entity) {
        let mut side = SideCompare {
            connector: link.connector.clone(),
            external_id: link.external_id.clone(),
            state: "read",
            error: None,
            fields: Vec::new(),
        };
        match remote_values(config, entity, &link.connector, &link.external_id) {
            Ok(Some(remote)) => {
                let names: BTreeSet<&String> = record
                    .values
                    .keys()
                    .chain(remote.keys())
                    .chain(link.base.keys())
                    .collect();
                side.fields = names
                    .into_iter()
                    .map(|f| {
                        let hub = record.values.get(f).cloned().unwrap_or(Value::Null);
                        let now = remote.get(f).cloned().unwrap_or(Value::Null);
                        FieldCompare {
                            field: f.clone(),
                            same: hub == now,
                            base: link.base.get(f).cloned().unwrap_or(Value::Null),
                            hub,
                            remote: now,
                        }
                    })
                    .collect();
            }
            Ok(None) => side.state = "missing",
            Err((state, e)) => {
                side.state = state;
                side.error = Some(e);
            }
        }
        out.push(side);
    }
    out
}

/// The record `external_id` of `connector`, read by id and mapped:
/// `Ok(None)` when the system no longer has it.
fn remote_values(
    config: &Config,
    entity: &str,
    connector: &str,
    external_id: &str,
) -> Result<Option<einklang_core::Fields>, (&'static str, String)> {
    let fail = |e: String| ("error", e);
    let cc = config.connectors.get(connector).ok_or_else(|| {
        fail(format!(
            "connector `{connector}` is no longer in the config"
        ))
    })?;
    let mapping = config
        .mapping(connector, entity)
        .ok_or_else(|| fail(format!("no mapping of `{connector}` for {entity}")))?;
    let schema = config
        .entities
        .get(entity)
        .ok_or_else(|| fail(format!("entity `{entity}` is no longer in the config")))?;
    let mut c = einklang_connectors::open(&cc.name, &cc.kind, &cc.settings, &config.base_dir)
        .map_err(|e| fail(e.to_string()))?;
    if !c.capabilities().fetch {
        return Err((
            "cannot_fetch",
            format!("connector `{connector}` cannot read one record by id"),
        ));
    }
    let items = c
        .fetch(&[external_id.to_string()])
        .map_err(|e| fail(e.to_string()))?;
    let ctx = NormaliseContext {
        region: config.region.clone(),
        max_field_bytes: config.max_field_bytes,
    };
    for item in items {
        let ReadItem::Record(raw) = item else {
            continue;
        };
        match mapping.pull_checked_unfiltered(schema, &ctx, &raw.fields) {
            Ok(Pulled::Record {
                external_id: got,
                fields,
            }) if got == external_id => return Ok(Some(fields)),
            Ok(_) => continue,
            Err(e) => return Err(fail(e.to_string())),
        }
    }
    Ok(None)
}
