//! einklang-core: the pure heart of einklang.
//!
//! Owns the vocabulary every other crate speaks: entity schemas and field
//! types ([`schema`]), record values ([`record`]), mappings from a
//! connector's raw records onto an entity ([`mapping`]), the value
//! transforms they use ([`transform`]) and filter expressions ([`filter`]).
//!
//! Nothing here performs I/O: no files, no network, no clock reads except
//! where a caller passes the time in. Everything is a plain function over
//! data, so it is tested exhaustively with unit and property tests.
#![deny(missing_docs)]

pub mod filter;
pub mod mapping;
pub mod record;
pub mod schema;
pub mod transform;

pub use mapping::{Direction, FieldRule, Mapping, Pulled, Source, Transform};
pub use record::{content_hash, ContentHash, Fields, Value};
pub use schema::{EntitySchema, FieldSpec, FieldType, NormaliseContext};
