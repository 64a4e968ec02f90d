//! Finding records by a phone number as a caller shows it (seed 002's
//! 3CX "who is calling"): the number in any format — `0152/4857109`,
//! `+49 152 4857109`, `0049 (152) 485-7109` — is read as every `phone`
//! comparison of a `[matching.ENTITY]` reads it (E.164 in the config's
//! `region`, or country code and national digits when the numbering plan
//! does not take it) and looked up in the store's match keys, which hold
//! one key per phone form of every live record: one indexed query per
//! entity, whatever the hub's size.
//!
//! The match keys are kept current by the runs that match on ingest
//! (`ingest = true`, the default) and by `einklang dedupe`; a record
//! created or changed by a run without matching is found once such a run
//! brought the keys up to date. A number more than [`MAX_FOUND`] records
//! carry (a switchboard) finds none: it says nothing about who calls.

use super::ingest::identifier_key;
use einklang_config::Config;
use einklang_core::identity::compare::{self, Kind};
use einklang_core::{Fields, Value};
use einklang_store::{HubStore, RecordId, StoreError};

/// A record a number reached.
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Found {
    /// Its entity.
    pub entity: String,
    /// Its hub id.
    pub id: RecordId,
    /// Its values.
    #[cfg_attr(feature = "openapi", schema(value_type = Object))]
    pub values: Fields,
}

/// The largest number of records one number returns (a switchboard's
/// number is on a whole company).
pub const MAX_FOUND: usize = 100;

/// The live records carrying `number` in a phone field that an entity's
/// matching compares; none when no entity compares phones.
pub fn by_phone(
    config: &Config,
    store: &mut dyn HubStore,
    number: &str,
) -> Result<Vec<Found>, StoreError> {
    let mut out = Vec::new();
    let value = Value::String(number.to_string());
    for (entity, m) in &config.matching {
        let mut keys: Vec<i64> = m
            .model
            .comparisons
            .iter()
            .filter(|c| c.kind == Kind::Phone)
            .flat_map(|c| {
                compare::forms(Kind::Phone, Some(&value), &m.model.region)
                    .into_iter()
                    .map(|form| identifier_key(&c.field, &form))
                    .collect::<Vec<_>>()
            })
            .collect();
        keys.sort_unstable();
        keys.dedup();
        if keys.is_empty() {
            continue;
        }
        for (id, values) in store.match_candidates(&config.tenant, entity, &keys, MAX_FOUND)? {
            out.push(Found {
                entity: entity.clone(),
                id,
                values,
            });
        }
    }
    out.sort_by_key(|f| f.id);
    out.dedup_by_key(|f| f.id);
    out.truncate(MAX_FOUND);
    Ok(out)
}
