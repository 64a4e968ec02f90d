//! Reading references: what a record's `ref` fields point at, for
//! `einklang show` and the API. A ref holds a hub id
//! ([`einklang_core::refs`]); the record it names may since have been
//! merged into another (followed, through `merged_into`, to the survivor)
//! or deleted (shown as such).

use crate::EngineError;
use einklang_core::refs::ref_fields;
use einklang_core::transform::flag::flagged;
use einklang_core::{EntitySchema, Fields, Value};
use einklang_store::HubStore;
use serde::Serialize;

/// Merges followed at most (a longer chain is a broken hub).
const HOPS: usize = 32;

/// One ref field of a record and the record it leads to.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ShownRef {
    /// The field (`client`).
    pub field: String,
    /// The entity it refers to (`contact`).
    pub entity: String,
    /// The hub id the field holds.
    pub id: i64,
    /// The record it leads to now: the id itself, or the survivor of the
    /// merges it went into; none when no such record exists.
    pub record: Option<i64>,
    /// The record led to is deleted.
    pub deleted: bool,
    /// A value naming the record (its `name`, `label` or `title`, else its
    /// first text value; a record without one by its first link:
    /// `kommo 41003`), empty when it has neither.
    pub label: String,
}

/// The refs of a record of `schema` with `values` (flagged and empty ref
/// values name no record and are left out).
pub fn shown_refs(
    store: &mut dyn HubStore,
    tenant: &str,
    schema: &EntitySchema,
    values: &Fields,
) -> Result<Vec<ShownRef>, EngineError> {
    let mut out = Vec::new();
    for r in ref_fields(schema) {
        let Some(v) = values.get(&r.field) else {
            continue;
        };
        if flagged(v).is_some() {
            continue;
        }
        let Some(id) = v.as_str().and_then(|s| s.trim().parse::<i64>().ok()) else {
            continue;
        };
        let mut shown = ShownRef {
            field: r.field.clone(),
            entity: r.target.clone(),
            id,
            record: None,
            deleted: false,
            label: String::new(),
        };
        let mut at = id;
        for _ in 0..HOPS {
            let Some(rec) = store.record(tenant, &r.target, at)? else {
                break;
            };
            match rec.merged_into {
                Some(next) => at = next,
                None => {
                    shown.record = Some(rec.id);
                    shown.deleted = rec.deleted_at.is_some();
                    shown.label = label(&rec.values);
                    if shown.label.is_empty() {
                        // a record created by a relation: named by its source id
                        let links = store.links_of(tenant, rec.id)?;
                        if let Some(l) = links.first() {
                            shown.label = format!("{} {}", l.connector, l.external_id);
                        }
                    }
                    break;
                }
            }
        }
        out.push(shown);
    }
    Ok(out)
}

/// A value that names a record: `name`, `label`, `title`, else the first
/// text value.
fn label(values: &Fields) -> String {
    let text = |v: &Value| v.as_str().filter(|s| !s.is_empty()).map(str::to_string);
    ["name", "label", "title"]
        .iter()
        .find_map(|k| values.get(*k).and_then(text))
        .or_else(|| values.values().find_map(text))
        .unwrap_or_default()
}
