//! `vcard`: a vdir folder as vdirsyncer keeps it, one `.vcf` per contact.
//!
//! Each card is one raw record (its position is `file NAME.vcf`, its version
//! token the hash of the file's bytes). A write scans the folder once to
//! find the cards by UID, then handles each op on its own file (atomically):
//! a create writes a new file named after the marker (UID = marker; a create
//! whose UID exists updates that card), an update merges the given fields
//! into the card's fields (null removes the property), re-renders the
//! properties einklang owns and keeps every other property as it was; a
//! delete removes the file. Updates and deletes honour `expected_version`.
//! A file that cannot be written fails its op (`Transient`), not the call.

pub mod parse;

use super::{
    atomic_write, capabilities, fingerprint_dir, hex, io_err, list_dir, payload, stamp_dir,
};
use crate::ops::{check_version, done, merge, not_found, op_error};
use crate::{
    Capabilities, Connector, ConnectorError, RawFields, RawRecord, ReadItem, Rejected, WriteError,
    WriteErrorKind, WriteOp, WriteResult,
};
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

/// The version token of a card: the hash of its bytes.
fn version_of(bytes: &[u8]) -> String {
    hex(xxhash_rust::xxh3::xxh3_128(bytes))
}

/// A card file's lines and version, or why it cannot be read (with the
/// raw text, when there is one).
fn load(path: &Path) -> Result<(Vec<parse::Line>, String), (String, String)> {
    let bytes = std::fs::read(path).map_err(|e| (String::new(), format!("cannot read: {e}")))?;
    let text = std::str::from_utf8(&bytes).map_err(|e| {
        let reason = format!("invalid UTF-8 at byte {}", e.valid_up_to());
        (payload(&bytes), reason)
    })?;
    let lines = parse::lines(text).map_err(|reason| (payload(&bytes), reason))?;
    let begins = lines
        .first()
        .is_some_and(|l| l.name == "BEGIN" && l.value.eq_ignore_ascii_case("VCARD"));
    let ends = lines
        .last()
        .is_some_and(|l| l.name == "END" && l.value.eq_ignore_ascii_case("VCARD"));
    if !begins || !ends {
        let reason = "not a vCard: expected BEGIN:VCARD … END:VCARD".to_string();
        return Err((payload(&bytes), reason));
    }
    Ok((lines, version_of(&bytes)))
}

/// Read one card file into a record or a reject.
pub(crate) fn read_card(path: &Path) -> ReadItem {
    let file = path.file_name().unwrap_or_default().to_string_lossy();
    let position = format!("file {file}");
    match load(path) {
        Ok((lines, version)) => ReadItem::Record(RawRecord {
            position,
            fields: parse::fields(&lines),
            version: Some(version),
        }),
        Err((raw, reason)) => ReadItem::Reject(Rejected {
            position,
            raw,
            reason,
        }),
    }
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

/// The cards of one write call, by UID.
struct Cards<'a> {
    connector: &'a str,
    dir: &'a Path,
    by_uid: HashMap<String, PathBuf>,
}

impl Cards<'_> {
    fn apply(&mut self, op: &WriteOp) -> WriteResult {
        match op {
            WriteOp::Create { marker, fields } => match self.by_uid.get(marker) {
                Some(path) => self.rewrite(op, path, fields),
                None => self.create(op, marker, fields),
            },
            WriteOp::Update { fields, .. } => self.rewrite(op, self.path(op)?, fields),
            WriteOp::Delete { id, .. } => {
                let path = self.path(op)?;
                let (_, version) = self.load(op, path)?;
                check_version(self.connector, op, &version)?;
                std::fs::remove_file(path).map_err(|e| self.failed(op, path, e))?;
                self.by_uid.remove(id);
                done(id, None)
            }
        }
    }

    fn path(&self, op: &WriteOp) -> Result<&PathBuf, WriteError> {
        self.by_uid
            .get(op.target())
            .ok_or_else(|| not_found(self.connector, op, "UID"))
    }

    fn load(&self, op: &WriteOp, path: &Path) -> Result<(Vec<parse::Line>, String), WriteError> {
        load(path).map_err(|(_, reason)| {
            let detail = format!("{}: {reason}", path.display());
            op_error(self.connector, op, WriteErrorKind::Transient, detail)
        })
    }

    fn failed(&self, op: &WriteOp, path: &Path, e: std::io::Error) -> WriteError {
        let detail = format!("{}: {e}", path.display());
        op_error(self.connector, op, WriteErrorKind::Transient, detail)
    }

    /// Merge `fields` into the card at `path`, keeping unknown properties.
    fn rewrite(&self, op: &WriteOp, path: &Path, fields: &RawFields) -> WriteResult {
        let (lines, version) = self.load(op, path)?;
        check_version(self.connector, op, &version)?;
        let card = parse::rewrite(lines, op.target(), fields);
        self.put(op, path, &card)
    }

    /// A new card file for `uid`, under a name no other file has.
    fn create(&mut self, op: &WriteOp, uid: &str, fields: &RawFields) -> WriteResult {
        let path = (0..)
            .map(|n| self.dir.join(file_name(uid, n)))
            .find(|p| !p.exists())
            .expect("some name is free");
        let mut clean = RawFields::new();
        merge(&mut clean, fields);
        let outcome = self.put(op, &path, &parse::render(uid, &clean))?;
        self.by_uid.insert(uid.to_string(), path);
        Ok(outcome)
    }

    fn put(&self, op: &WriteOp, path: &Path, card: &str) -> WriteResult {
        atomic_write(self.connector, path, card.as_bytes())
            .map_err(|e| op_error(self.connector, op, WriteErrorKind::Transient, e.to_string()))?;
        done(op.target(), Some(version_of(card.as_bytes())))
    }
}

impl Vcard {
    /// UID → file, for every readable card.
    fn index(&self) -> Result<HashMap<String, PathBuf>, ConnectorError> {
        let mut map = HashMap::new();
        for path in list_dir(&self.name, &self.dir, "vcf")? {
            if let Ok((lines, _)) = load(&path) {
                if let Some(uid) = lines.iter().find(|l| l.name == "UID") {
                    map.insert(parse::unescape(&uid.value), path);
                }
            }
        }
        Ok(map)
    }
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
        Ok(Box::new(paths.into_iter().map(|p| read_card(&p))))
    }
    fn write(
        &mut self,
        _key_field: &str,
        ops: &[WriteOp],
    ) -> Result<Vec<WriteResult>, ConnectorError> {
        std::fs::create_dir_all(&self.dir).map_err(|e| io_err(&self.name, &self.dir, e))?;
        let mut cards = Cards {
            connector: &self.name,
            dir: &self.dir,
            by_uid: self.index()?,
        };
        Ok(ops.iter().map(|op| cards.apply(op)).collect())
    }
}
