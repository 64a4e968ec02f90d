//! The cards of a vdir folder by UID, and which card is the record of a
//! UID that several cards share.
//!
//! Every card is found by its UID, so two cards with one UID cannot both
//! be records. Of such cards the record is the first (by file name, then
//! by place in the file) that einklang did not write — the user's card —
//! or, when einklang wrote them all, the first; the others are set aside
//! (quarantined by the read, never written) with a reason naming both
//! files. Writes go to the record.
//!
//! A card einklang wrote is one alone in a file named as a create names it
//! (see [`super::file_name`]): after its UID, an einklang marker (`ek-…`),
//! as `ek-7.vcf` or `ek-7-2.vcf`. The file name tells it better than a
//! property einklang could write into its cards: a copy of a card
//! (a client's duplicate, a restored backup) carries every property of the
//! original, but rarely its file name, and the cards einklang wrote before
//! would carry no such property at all.

use super::book::{uid_of, Book};
use super::parse;
use std::collections::HashMap;
use std::path::{Path, PathBuf};

/// Where a card sits.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct Place {
    /// Its file.
    pub path: PathBuf,
    /// Its number among the file's cards (from 0).
    pub card: usize,
    /// Its position for the quarantine (`file a.vcf`, `file all.vcf, card 2`).
    pub position: String,
    /// Did einklang write it?
    pub ours: bool,
}

/// The folder's cards by UID.
#[derive(Default)]
pub(crate) struct Folder {
    /// UID → the card that is its record.
    pub records: HashMap<String, Place>,
    /// (file, card number) → the UID and why the card is set aside.
    pub set_aside: HashMap<(PathBuf, usize), (String, String)>,
}

/// A card's position: the file alone when the file is just this card.
pub(crate) fn position(path: &Path, card: usize, alone: bool) -> String {
    let file = path.file_name().unwrap_or_default().to_string_lossy();
    match alone {
        true => format!("file {file}"),
        false => format!("file {file}, card {}", card + 1),
    }
}

/// Is the card with `uid`, alone in the file at `path`, one einklang wrote?
pub(crate) fn ours(path: &Path, uid: &str) -> bool {
    let Some(name) = path.file_name().and_then(|n| n.to_str()) else {
        return false;
    };
    let stem = super::file_stem(uid);
    let Some(rest) = name.strip_prefix(stem.as_str()) else {
        return false;
    };
    let attempt = rest.strip_prefix('-').and_then(|r| r.strip_suffix(".vcf"));
    uid.starts_with("ek-")
        && (rest == ".vcf" || attempt.is_some_and(|n| n.parse::<usize>().is_ok_and(|n| n >= 2)))
}

/// Scan the `.vcf` files `paths` (in name order). Unreadable files and
/// cards are skipped here: the read rejects them.
pub(crate) fn scan(paths: &[PathBuf]) -> Folder {
    let mut all: HashMap<String, Vec<Place>> = HashMap::new();
    for path in paths {
        let Ok(book) = Book::load(path) else { continue };
        let alone = book.pieces.len() == 1;
        for (card, span) in book.cards().enumerate() {
            let Some(uid) = parse::lines(&book.text[span]).ok().and_then(|l| uid_of(&l)) else {
                continue;
            };
            let place = Place {
                path: path.clone(),
                card,
                position: position(path, card, alone),
                ours: alone && ours(path, &uid),
            };
            all.entry(uid).or_default().push(place);
        }
    }
    let mut folder = Folder::default();
    for (uid, mut places) in all {
        let keep = places.iter().position(|p| !p.ours).unwrap_or(0);
        let record = places.remove(keep);
        for other in places {
            let why = reason(&uid, &record, &other);
            folder
                .set_aside
                .insert((other.path, other.card), (uid.clone(), why));
        }
        folder.records.insert(uid, record);
    }
    folder
}

/// Why `other` is set aside for `record`.
fn reason(uid: &str, record: &Place, other: &Place) -> String {
    let why = match (record.ours, other.ours) {
        (false, true) => "einklang did not write it; einklang wrote this one",
        _ => "it comes first by file name and place",
    };
    let here = other.position.trim_start_matches("file ");
    let there = record.position.trim_start_matches("file ");
    format!(
        "duplicate UID `{uid}`: {there} has it too and is kept as the record ({why}); \
         this card ({here}) is set aside — merge the two cards or give one a new UID"
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ours_means_named_for_an_einklang_marker() {
        for (name, uid, want) in [
            ("ek-7.vcf", "ek-7", true),
            ("ek-7-2.vcf", "ek-7", true),
            ("ek-7-1.vcf", "ek-7", false),
            ("ek-7 (copy).vcf", "ek-7", false),
            ("ek-7.vcf", "ek-8", false),
            ("anna-1.vcf", "anna-1", false),
            ("6f1c.vcf", "ek-7", false),
        ] {
            assert_eq!(ours(Path::new(name), uid), want, "{name} {uid}");
        }
    }
}
