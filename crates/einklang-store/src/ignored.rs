//! Fields a connector does not keep as written: einklang sent a value and
//! the record as the remote holds it afterwards (the write's answer, or a
//! read right after it) has another one — Advoware's `PUT` silently
//! ignores some fields. Each is noted once per connector, entity and field
//! with an example; later writes to that connector leave the field out,
//! and `einklang show` lists them.

use crate::Result;

/// One field a connector did not keep.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct IgnoredField {
    /// The connector.
    pub connector: String,
    /// The entity.
    pub entity: String,
    /// The entity field.
    pub field: String,
    /// What was sent and what the remote held, for a person to read
    /// (values shortened; no secret is a field value of a record).
    pub example: String,
    /// When it was first noticed (RFC 3339).
    pub noticed_at: String,
}

/// The fields connectors do not keep, in the hub store.
pub trait IgnoredFields: Send {
    /// The fields `connector` does not keep for `entity`.
    fn ignored_fields(
        &mut self,
        tenant: &str,
        connector: &str,
        entity: &str,
    ) -> Result<Vec<IgnoredField>>;
    /// Note one; `true` when it is new (then the run warns once).
    fn note_ignored(&mut self, tenant: &str, field: &IgnoredField) -> Result<bool>;
}
