//! Identity resolution: deciding which records of the hub are the same
//! person or company. This module owns the comparison forms of values
//! ([`normalise`]) and phonetic codes ([`phonetic`]); matching, scoring,
//! merging and unmerging build on them.

pub mod normalise;
pub mod phonetic;

#[cfg(test)]
mod tests;
