//! `vcard`: a vdir folder as vdirsyncer keeps it, one `.vcf` per contact —
//! or several: an exported address book holds many cards in one file.
//!
//! Each card is one raw record: its position is `file NAME.vcf` (or
//! `file NAME.vcf, card 2` in a file of many), its version token the hash
//! of the card's own bytes (for a file of one card, as einklang writes
//! them, the file's bytes). A file's cards, a UTF-8 BOM and the text that
//! is no card are told apart by `book`; text that is no card is rejected
//! with its line, and the other cards are read. Cards sharing a UID are
//! sorted out by `folder`: one is the record, the others are rejected
//! naming both files — einklang's own copy gives way to the user's card.
//!
//! A write scans the folder once to find the cards by UID, then handles
//! each op on its own file (`write`, atomically): a create writes a new
//! file named after the marker (UID = marker; a create whose UID exists
//! updates that card), an update merges the given fields into the card's
//! fields (null removes the property) and rewrites only the lines of the
//! values that changed, every other line kept byte for byte
//! (`parse::update`); a delete removes the
//! card — its file, or its bytes from a file of many. A card in a file of
//! many is rewritten in place, the file's other bytes kept. Updates and
//! deletes honour `expected_version`. A file that cannot be written fails
//! its op (`Transient`), not the call.

mod book;
mod folder;
pub mod parse;
mod write;

use super::{capabilities, fingerprint_dir, io_err, list_dir, payload, stamp_dir};
use crate::{
    Capabilities, Connector, ConnectorError, RawRecord, ReadItem, Rejected, WriteOp, WriteResult,
};
use book::{version_of, Book, Piece};
use std::collections::HashMap;
use std::path::{Path, PathBuf};

/// A vdir folder of vCards.
pub struct Vcard {
    name: String,
    dir: PathBuf,
}

impl Vcard {
    /// A connector over the folder `dir`.
    pub fn new(name: &str, dir: PathBuf) -> Self {
        Self {
            name: name.to_string(),
            dir,
        }
    }
}

/// Cards set aside by the folder scan: (file, card number) → (UID, why).
type SetAside = HashMap<(PathBuf, usize), (String, String)>;

/// Read one `.vcf` file into its records and rejects.
fn read_file(path: &Path, set_aside: &SetAside) -> Vec<ReadItem> {
    let reject = |position: String, raw: &[u8], reason: String| {
        ReadItem::Reject(Rejected {
            position,
            raw: payload(raw),
            reason,
        })
    };
    let book = match Book::load(path) {
        Ok(book) => book,
        Err((raw, reason)) => return vec![reject(folder::position(path, 0, true), &raw, reason)],
    };
    if book.pieces.is_empty() {
        let reason = "not a vCard: expected BEGIN:VCARD … END:VCARD".to_string();
        return vec![reject(
            folder::position(path, 0, true),
            book.text.as_bytes(),
            reason,
        )];
    }
    let alone = book.pieces.len() == 1;
    let mut card = 0;
    let mut items = Vec::with_capacity(book.pieces.len());
    for piece in &book.pieces {
        let item = match piece {
            Piece::Card { span, .. } => {
                let text = &book.text[span.clone()];
                let position = folder::position(path, card, alone);
                let key = (path.to_path_buf(), card);
                card += 1;
                match parse::lines(text) {
                    Err(reason) => reject(position, text.as_bytes(), reason),
                    Ok(lines) => match set_aside.get(&key) {
                        Some((uid, why)) if book::uid_of(&lines).as_ref() == Some(uid) => {
                            reject(position, text.as_bytes(), why.clone())
                        }
                        _ => ReadItem::Record(RawRecord {
                            position,
                            fields: parse::fields(&lines),
                            version: Some(version_of(text.as_bytes())),
                        }),
                    },
                }
            }
            Piece::Broken { span, line, reason } => {
                let file = path.file_name().unwrap_or_default().to_string_lossy();
                let position = match alone {
                    true => format!("file {file}"),
                    false => format!("file {file}, line {line}"),
                };
                reject(position, book.text[span.clone()].as_bytes(), reason.clone())
            }
        };
        items.push(item);
    }
    items
}

/// A file name for a UID: its [`file_stem`] and `.vcf` (`-2.vcf`, … for
/// later attempts).
pub(crate) fn file_name(uid: &str, attempt: usize) -> String {
    let safe = file_stem(uid);
    match attempt {
        0 => format!("{safe}.vcf"),
        n => format!("{safe}-{}.vcf", n + 1),
    }
}

/// A safe file stem for a UID: letters, digits and `-_@.` kept, others
/// replaced by `_`, no leading dot (a hidden file), at most about 100 bytes.
pub(crate) fn file_stem(uid: &str) -> String {
    let mut safe = String::new();
    for c in uid.chars() {
        if safe.len() + c.len_utf8() > 100 {
            break;
        }
        let keep = c.is_alphanumeric() || "-_@.".contains(c);
        safe.push(if keep && !(safe.is_empty() && c == '.') {
            c
        } else {
            '_'
        });
    }
    if safe.is_empty() {
        safe.push_str("card");
    }
    safe
}

impl Connector for Vcard {
    fn name(&self) -> &str {
        &self.name
    }
    fn kind(&self) -> &'static str {
        "vcard"
    }
    fn capabilities(&self) -> Capabilities {
        capabilities(true)
    }
    fn fingerprint(&mut self) -> Result<Option<String>, ConnectorError> {
        fingerprint_dir(&self.name, &self.dir, "vcf").map(Some)
    }
    fn stamp(&mut self) -> Result<Option<String>, ConnectorError> {
        stamp_dir(&self.name, &self.dir, "vcf").map(Some)
    }
    fn read(&mut self) -> Result<Box<dyn Iterator<Item = ReadItem> + '_>, ConnectorError> {
        let paths = list_dir(&self.name, &self.dir, "vcf")?;
        let set_aside = folder::scan(&paths).set_aside;
        let items = paths
            .into_iter()
            .flat_map(move |p| read_file(&p, &set_aside));
        Ok(Box::new(items))
    }
    fn write(
        &mut self,
        _key_field: &str,
        ops: &[WriteOp],
    ) -> Result<Vec<WriteResult>, ConnectorError> {
        std::fs::create_dir_all(&self.dir).map_err(|e| io_err(&self.name, &self.dir, e))?;
        let paths = list_dir(&self.name, &self.dir, "vcf")?;
        let records = folder::scan(&paths).records;
        let mut cards = write::Cards {
            connector: &self.name,
            dir: &self.dir,
            by_uid: records.into_iter().map(|(uid, p)| (uid, p.path)).collect(),
        };
        Ok(ops.iter().map(|op| cards.apply(op)).collect())
    }
}
