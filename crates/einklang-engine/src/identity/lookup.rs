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
    for entity in config.matching.keys() {
        out.extend(carrying(config, store, (entity, &[Kind::Phone]), number)?);
    }
    Ok(tidy(out))
}

/// The records of `entity` carrying `value` as an e-mail or a phone
/// number its matching compares, in any format (the dashboard's and the
/// API's record search): one indexed query, whatever the hub's size.
/// None when the entity has no `[matching]` comparing either.
pub fn by_identifier(
    config: &Config,
    store: &mut dyn HubStore,
    entity: &str,
    value: &str,
) -> Result<Vec<Found>, StoreError> {
    let found = carrying(config, store, (entity, &[Kind::Email, Kind::Phone]), value)?;
    Ok(tidy(found))
}

/// The records of `entity` whose identifier keys of comparisons of
/// `kinds` include a form of `value`.
fn carrying(
    config: &Config,
    store: &mut dyn HubStore,
    (entity, kinds): (&str, &[Kind]),
    value: &str,
) -> Result<Vec<Found>, StoreError> {
    let Some(m) = config.matching.get(entity) else {
        return Ok(Vec::new());
    };
    let value = Value::String(value.to_string());
    let mut keys: Vec<i64> = m
        .model
        .comparisons
        .iter()
        .filter(|c| kinds.contains(&c.kind))
        .flat_map(|c| {
            compare::forms(c.kind, Some(&value), &m.model.region)
                .into_iter()
                .map(|form| identifier_key(&c.field, &form))
                .collect::<Vec<_>>()
        })
        .collect();
    keys.sort_unstable();
    keys.dedup();
    if keys.is_empty() {
        return Ok(Vec::new());
    }
    let found = store.match_candidates(&config.tenant, entity, &keys, MAX_FOUND)?;
    Ok(found
        .into_iter()
        .map(|(id, values)| Found {
            entity: entity.to_string(),
            id,
            values,
        })
        .collect())
}

/// By id, each once, at most [`MAX_FOUND`].
fn tidy(mut out: Vec<Found>) -> Vec<Found> {
    out.sort_by_key(|f| f.id);
    out.dedup_by_key(|f| f.id);
    out.truncate(MAX_FOUND);
    out
}
