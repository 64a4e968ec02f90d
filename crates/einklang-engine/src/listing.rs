//! An order-independent hash of a remote's listing (ids and version
//! tokens): the XOR of one 128-bit hash per entry. Stored after a read, it
//! lets the next read skip the merge-join with the links when the listing
//! did not change; it is kept up to date across our own writes (each
//! answer's id and version replace the old entry), so a remote that only
//! received our writes is recognised as unchanged too. Anything uncertain
//! (a lost answer, a create answered without a version, someone else's
//! change) leaves it different from the listing, which only costs a join.

use einklang_connectors::Listed;

/// Name of the cursor it is stored under.
pub(crate) const CURSOR: &str = "listing";

/// The hash of one entry.
pub(crate) fn entry(id: &str, version: Option<&str>) -> u128 {
    let mut bytes = Vec::with_capacity(id.len() + 1 + version.map_or(0, str::len));
    bytes.extend_from_slice(id.as_bytes());
    bytes.push(0);
    bytes.extend_from_slice(version.unwrap_or("").as_bytes());
    xxhash_rust::xxh3::xxh3_128(&bytes)
}

/// The hash of a whole listing.
pub(crate) fn of(listing: &[Listed]) -> u128 {
    listing
        .iter()
        .fold(0, |acc, l| acc ^ entry(&l.id, l.version.as_deref()))
}

/// As stored.
pub(crate) fn text(hash: u128) -> String {
    format!("{hash:032x}")
}

/// From the stored text.
pub(crate) fn parse(text: &str) -> Option<u128> {
    u128::from_str_radix(text, 16).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn l(id: &str, v: &str) -> Listed {
        Listed {
            id: id.into(),
            version: Some(v.into()),
        }
    }

    #[test]
    fn order_does_not_matter_and_a_replaced_entry_can_be_patched() {
        let before = [l("a", "1"), l("b", "1"), l("c", "1")];
        let shuffled = [l("c", "1"), l("a", "1"), l("b", "1")];
        assert_eq!(of(&before), of(&shuffled));
        let after = [l("a", "1"), l("b", "2"), l("c", "1"), l("d", "1")];
        let patched =
            of(&before) ^ entry("b", Some("1")) ^ entry("b", Some("2")) ^ entry("d", Some("1"));
        assert_eq!(patched, of(&after));
        assert_ne!(of(&before), of(&after));
        assert_eq!(parse(&text(of(&after))), Some(of(&after)));
    }
}
