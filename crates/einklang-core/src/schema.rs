//! Entity schemas: typed fields, and bringing values into canonical form.
//!
//! An entity (`contact`, `company`, `booking`, ...) is a named list of typed
//! fields. [`EntitySchema::normalise`] takes the output of a mapping and
//! returns the canonical record, or every field error at once;
//! [`EntitySchema::normalise_or_flag`] keeps an invalid value of an
//! optional field as a flag instead ([`crate::transform::flag`]): every
//! field type's value may be a flag, and every list type's element.

use crate::record::{Fields, Value};
use serde::{Deserialize, Serialize};

/// The type of one entity field, with its canonical JSON form.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum FieldType {
    /// Free text: a JSON string (numbers and bools are turned into text).
    Text,
    /// An e-mail address: trimmed, lower-cased string containing one `@`.
    Email,
    /// A phone number in E.164 (`+498912345678`).
    Phone,
    /// A calendar date: `"YYYY-MM-DD"`.
    Date,
    /// An instant: RFC 3339 in UTC with seconds, `"2025-01-31T09:30:00Z"`.
    DateTime,
    /// A number: JSON number (numeric strings are parsed).
    Number,
    /// A boolean: JSON bool (`"true"`, `"1"`, `"yes"`, `"ja"` ... are accepted).
    Bool,
    /// One of a fixed set of strings.
    Enum(Vec<String>),
    /// The id of a record of another entity (named here), as a string.
    Ref(String),
    /// A list of e-mail addresses: JSON array of canonical emails, duplicates removed.
    Emails,
    /// A list of phone numbers: JSON array of E.164 strings, duplicates removed.
    Phones,
    /// A list of postal addresses: JSON array of objects with the optional
    /// string keys `street`, `postcode`, `city`, `region`, `country`, `type`.
    Addresses,
}

impl FieldType {
    /// A list type (emails, phones, addresses), merged element-wise.
    pub fn is_list(&self) -> bool {
        matches!(
            self,
            FieldType::Emails | FieldType::Phones | FieldType::Addresses
        )
    }

    /// The name used in config files (`"text"`, `"email"`, `"list<phone>"` ...).
    pub fn name(&self) -> String {
        match self {
            FieldType::Text => "text".into(),
            FieldType::Email => "email".into(),
            FieldType::Phone => "phone".into(),
            FieldType::Date => "date".into(),
            FieldType::DateTime => "datetime".into(),
            FieldType::Number => "number".into(),
            FieldType::Bool => "bool".into(),
            FieldType::Enum(_) => "enum".into(),
            FieldType::Ref(e) => format!("ref<{e}>"),
            FieldType::Emails => "emails".into(),
            FieldType::Phones => "phones".into(),
            FieldType::Addresses => "addresses".into(),
        }
    }
}

/// One field of an entity.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct FieldSpec {
    /// Field name as used in mappings and the hub.
    pub name: String,
    /// Value type.
    pub ty: FieldType,
    /// A record without a (non-empty) value here is invalid.
    pub required: bool,
    /// A `ref` field only: a refresh that reads a reference to a record
    /// the hub does not have creates it (empty, linked to the source's id:
    /// [`crate::refs`]) instead of flagging the value.
    #[serde(default)]
    pub create: bool,
}

/// A record type: its name and fields.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct EntitySchema {
    /// Entity name (`contact`).
    pub name: String,
    /// Fields in declaration order.
    pub fields: Vec<FieldSpec>,
}

/// Settings that normalisation needs from the configuration.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NormaliseContext {
    /// Default region for phone numbers without a country code (ISO 3166 alpha-2, e.g. `"DE"`).
    pub region: String,
    /// Largest allowed size of one field's canonical JSON, in bytes.
    pub max_field_bytes: usize,
}

impl Default for NormaliseContext {
    fn default() -> Self {
        Self {
            region: "DE".into(),
            max_field_bytes: 64 * 1024,
        }
    }
}

/// Why one field of a record was rejected.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("field `{field}`: {message}")]
pub struct FieldError {
    /// The entity field.
    pub field: String,
    /// Plain-language reason, naming the offending value (shortened).
    pub message: String,
}

impl EntitySchema {
    /// The spec of field `name`, if the entity has one.
    pub fn field(&self, name: &str) -> Option<&FieldSpec> {
        self.fields.iter().find(|f| f.name == name)
    }

    /// Validate `fields` against the schema and bring every value into its
    /// canonical form. Nulls and empty values (`""`, `[]`) are dropped.
    /// Unknown fields, wrong types, invalid emails/phones/dates, oversized
    /// values and missing required fields are all reported, every one. A
    /// flag already in an optional field passes (it is a hub value).
    pub fn normalise(
        &self,
        fields: Fields,
        ctx: &NormaliseContext,
    ) -> Result<Fields, Vec<FieldError>> {
        crate::transform::normalise_record(self, fields, ctx, false)
    }

    /// [`EntitySchema::normalise`], keeping what it can: an invalid value
    /// of an optional field (or an invalid element of a list) becomes a
    /// flag ([`crate::transform::flag`]) instead of an error. Only a
    /// required field missing or invalid, or a value over the size limit,
    /// is an error.
    pub fn normalise_or_flag(
        &self,
        fields: Fields,
        ctx: &NormaliseContext,
    ) -> Result<Fields, Vec<FieldError>> {
        crate::transform::normalise_record(self, fields, ctx, true)
    }
}

/// Is this value empty (null, blank string, empty list/object)? Empty values are never evidence and are dropped.
pub fn is_empty(v: &Value) -> bool {
    match v {
        Value::Null => true,
        Value::String(s) => s.trim().is_empty(),
        Value::Array(a) => a.iter().all(is_empty),
        Value::Object(o) => o.values().all(is_empty),
        _ => false,
    }
}
