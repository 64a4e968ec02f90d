//! Record values: the field map every record is made of, and its content hash.
//!
//! A value is a JSON value (`serde_json::Value`); the entity schema decides
//! which shapes are valid for a field and brings them into canonical form
//! (see [`crate::schema`]). Fields are kept in a `BTreeMap`, so a record
//! serialises the same way every time and its hash is stable.

use std::collections::BTreeMap;

/// One field value. Canonical forms per field type are documented in [`crate::schema::FieldType`].
pub type Value = serde_json::Value;

/// A record's fields by name, in a stable (sorted) order.
pub type Fields = BTreeMap<String, Value>;

/// 128-bit content hash of a record's canonical fields (xxh3).
///
/// Used for change detection: a record whose hash equals the hash stored on
/// its link has not changed. Not a cryptographic hash; collisions are not a
/// security concern here, only a (negligible) chance of a missed change.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ContentHash(pub u128);

impl ContentHash {
    /// The hash as 16 big-endian bytes, the form the store keeps.
    pub fn to_bytes(self) -> [u8; 16] {
        self.0.to_be_bytes()
    }
    /// Rebuild a hash from the 16 bytes written by [`ContentHash::to_bytes`].
    pub fn from_bytes(bytes: [u8; 16]) -> Self {
        Self(u128::from_be_bytes(bytes))
    }
    /// Hash arbitrary bytes (e.g. a file's content).
    pub fn of_bytes(bytes: &[u8]) -> Self {
        Self(xxhash_rust::xxh3::xxh3_128(bytes))
    }
}

impl std::fmt::Display for ContentHash {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{:032x}", self.0)
    }
}

/// Hash of the canonical JSON serialisation of `fields` (keys sorted).
pub fn content_hash(fields: &Fields) -> ContentHash {
    // Serialising a BTreeMap of JSON values cannot fail.
    let bytes = serde_json::to_vec(fields).unwrap_or_default();
    ContentHash::of_bytes(&bytes)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn hash_ignores_insertion_order_but_not_values() {
        let mut a = Fields::new();
        a.insert("b".into(), json!(1));
        a.insert("a".into(), json!("x"));
        let mut b = Fields::new();
        b.insert("a".into(), json!("x"));
        b.insert("b".into(), json!(1));
        assert_eq!(content_hash(&a), content_hash(&b));
        b.insert("b".into(), json!(2));
        assert_ne!(content_hash(&a), content_hash(&b));
    }

    #[test]
    fn hash_bytes_roundtrip() {
        let h = ContentHash::of_bytes(b"hello");
        assert_eq!(ContentHash::from_bytes(h.to_bytes()), h);
        assert_eq!(h.to_string().len(), 32);
    }
}
