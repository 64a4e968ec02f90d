//! Value transforms, record mapping and schema normalisation.
//!
//! Owns the functions behind [`crate::Mapping::pull`] and
//! [`crate::EntitySchema::normalise`].

use crate::mapping::{MapError, Mapping, Pulled};
use crate::record::{Fields, Value};
use crate::schema::{EntitySchema, FieldError, NormaliseContext};

/// See [`Mapping::pull`].
pub fn pull_record(
    mapping: &Mapping,
    raw: &serde_json::Map<String, Value>,
) -> Result<Pulled, MapError> {
    let _ = (mapping, raw);
    todo!("pull_record")
}

/// See [`EntitySchema::normalise`].
pub fn normalise_record(
    schema: &EntitySchema,
    fields: Fields,
    ctx: &NormaliseContext,
) -> Result<Fields, Vec<FieldError>> {
    let _ = (schema, fields, ctx);
    todo!("normalise_record")
}
