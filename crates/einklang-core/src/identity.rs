//! Identity resolution: deciding which records of the hub are the same
//! person or company. This module owns the comparison forms of values
//! ([`normalise`]), phonetic codes ([`phonetic`]), field comparisons
//! ([`compare`]), the Fellegi–Sunter match model with its explanations and
//! EM estimation ([`model`], per blocking rule in [`em`]), blocking and clustering ([`block`]), the
//! batch pass ([`batch`]) and the on-ingest match index ([`index`]),
//! and compact storage of forms ([`packed`]).
//! Merging, unmerging and the review queue build on these.

pub mod batch;
pub mod block;
pub mod compare;
pub mod em;
pub mod index;
pub mod model;
pub mod names;
pub mod normalise;
pub mod packed;
pub mod phonetic;
pub mod survive;

#[cfg(test)]
mod tests;
#[cfg(test)]
mod tests_em;
#[cfg(test)]
mod tests_index;
#[cfg(test)]
mod tests_model;
#[cfg(test)]
mod tests_shared;
#[cfg(test)]
mod tests_tf;
