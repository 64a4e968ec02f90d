//! The ops of one write call to a vdir folder, each on the file of its card.
//!
//! The folder is scanned once for the cards' UIDs ([`super::folder`]); each
//! op then reads its card's file afresh (so ops on cards of one file see
//! each other) and replaces it atomically. A card in a file of many is
//! rewritten or removed in place: the file's other bytes — its other
//! cards, a BOM, the text between — stay as they were. A file left without
//! anything but blank text by a delete is removed.

use super::book::{version_of, Book};
use super::{file_name, parse};
use crate::file::atomic_write;
use crate::ops::{check_version, done, merge, not_found, op_error};
use crate::{RawFields, WriteError, WriteErrorKind, WriteOp, WriteResult};
use std::collections::HashMap;
use std::path::{Path, PathBuf};

/// The cards of one write call, by UID.
pub(crate) struct Cards<'a> {
    /// Connector name, for messages.
    pub connector: &'a str,
    /// The folder.
    pub dir: &'a Path,
    /// UID → the file of the card that is its record.
    pub by_uid: HashMap<String, PathBuf>,
}

impl Cards<'_> {
    /// Apply one op.
    pub(crate) fn apply(&mut self, op: &WriteOp) -> WriteResult {
        match op {
            WriteOp::Create { marker, fields } => match self.by_uid.get(marker) {
                Some(path) => self.rewrite(op, path, fields),
                None => self.create(op, marker, fields),
            },
            WriteOp::Update { fields, .. } => self.rewrite(op, self.path(op)?, fields),
            WriteOp::Delete { id, .. } => {
                self.delete(op, self.path(op)?)?;
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

    fn failed(&self, op: &WriteOp, path: &Path, reason: &str) -> WriteError {
        let detail = format!("{}: {reason}", path.display());
        op_error(self.connector, op, WriteErrorKind::Transient, detail)
    }

    /// The op's card in the file at `path`: the file, the card's span,
    /// lines and version (checked against the op's expected version).
    fn card(
        &self,
        op: &WriteOp,
        path: &Path,
    ) -> Result<(Book, std::ops::Range<usize>, Vec<parse::Line>), WriteError> {
        let book = Book::load(path).map_err(|(_, reason)| self.failed(op, path, &reason))?;
        let Some((span, lines, version)) = book.find(op.target()) else {
            // The file changed since the scan: try again with a new one.
            let why = "the card is no longer in this file (it changed meanwhile)";
            return Err(self.failed(op, path, why));
        };
        check_version(self.connector, op, &version)?;
        Ok((book, span, lines))
    }

    /// Merge `fields` into the card, keeping unknown properties and the
    /// file's other bytes.
    fn rewrite(&self, op: &WriteOp, path: &Path, fields: &RawFields) -> WriteResult {
        let (book, span, lines) = self.card(op, path)?;
        let card = parse::rewrite(lines, op.target(), fields);
        self.put(op, path, &book.splice(span, &card))?;
        done(op.target(), Some(version_of(card.as_bytes())))
    }

    /// Remove the card: its file, or its bytes from a file of many.
    fn delete(&self, op: &WriteOp, path: &Path) -> Result<(), WriteError> {
        let (book, span, _) = self.card(op, path)?;
        let rest = book.splice(span, "");
        if rest.trim_start_matches('\u{feff}').trim().is_empty() {
            return std::fs::remove_file(path).map_err(|e| self.failed(op, path, &e.to_string()));
        }
        self.put(op, path, &rest)
    }

    /// A new card file for `uid`, under a name no other file has.
    fn create(&mut self, op: &WriteOp, uid: &str, fields: &RawFields) -> WriteResult {
        let path = (0..)
            .map(|n| self.dir.join(file_name(uid, n)))
            .find(|p| !p.exists())
            .expect("some name is free");
        let mut clean = RawFields::new();
        merge(&mut clean, fields);
        let card = parse::render(uid, &clean);
        self.put(op, &path, &card)?;
        self.by_uid.insert(uid.to_string(), path);
        done(op.target(), Some(version_of(card.as_bytes())))
    }

    fn put(&self, op: &WriteOp, path: &Path, text: &str) -> Result<(), WriteError> {
        atomic_write(self.connector, path, text.as_bytes())
            .map_err(|e| op_error(self.connector, op, WriteErrorKind::Transient, e.to_string()))
    }
}
