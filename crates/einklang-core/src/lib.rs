//! einklang-core: the pure heart of einklang.
//!
//! Owns the vocabulary every other crate speaks: entity schemas and field
//! types ([`schema`]), record values ([`record`]), mappings from a
//! connector's raw records onto an entity ([`mapping`]), the value
//! transforms they use ([`transform`]) and their inverse for writing back
//! ([`transform::push`]), filter expressions ([`filter`]), the 3-way
//! per-field merge of a remote record into the hub ([`merge`]), the
//! conflict policies it consults ([`policy`]) and what a full refresh may
//! apply and does to a record ([`refresh`]).
//!
//! Nothing here performs I/O: no files, no network, no clock reads except
//! where a caller passes the time in. Everything is a plain function over
//! data, so it is tested exhaustively with unit and property tests.
#![deny(missing_docs)]

pub mod filter;
pub mod identity;
pub mod mapping;
pub mod merge;
pub mod mirror;
pub mod path;
pub mod policy;
pub mod record;
pub mod refresh;
pub mod refs;
pub mod schedule;
pub mod schema;
pub mod transform;

pub use mapping::{
    Creates, Direction, FieldRule, Mapping, OnDelete, OutOfScope, Pulled, Source, Transform,
};
pub use merge::{FieldRole, Inbound, InboundCase};
pub use path::{Path, PathError};
pub use policy::{Policies, Policy, Resolution};
pub use record::{content_hash, ContentHash, Fields, Value};
pub use schema::{EntitySchema, FieldSpec, FieldType, NormaliseContext};
