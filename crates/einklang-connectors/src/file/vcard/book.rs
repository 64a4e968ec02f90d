//! One `.vcf` file as the cards it holds.
//!
//! A file may hold one card or many (an export of a whole address book):
//! [`Book::pieces`] are its `BEGIN:VCARD … END:VCARD` spans in order, by
//! byte range, plus what does not belong to a card (text outside any card,
//! a card without its END). A UTF-8 byte order mark at the start is
//! skipped on reading and, since a rewrite replaces only a card's own
//! bytes, kept, as is everything between the cards.

use super::parse::{self, Line};
use std::ops::Range;
use std::path::Path;

/// Part of a `.vcf` file.
#[derive(Clone, Debug, PartialEq)]
pub(crate) enum Piece {
    /// A card: its bytes from the start of `BEGIN:VCARD` to the end of the
    /// `END:VCARD` line (its line break included), and the line it begins on.
    Card {
        /// Byte range in the file.
        span: Range<usize>,
        /// Line of its BEGIN (from 1).
        line: usize,
    },
    /// Text that is no card: outside every card, or a card never ended.
    Broken {
        /// Byte range in the file.
        span: Range<usize>,
        /// Its first line (from 1).
        line: usize,
        /// What is wrong.
        reason: String,
    },
}

/// A `.vcf` file's text and pieces.
pub(crate) struct Book {
    /// The file's text (a BOM included).
    pub text: String,
    /// Its cards and the text that is none, in order.
    pub pieces: Vec<Piece>,
}

/// The version token of a card: the hash of its bytes.
pub(crate) fn version_of(bytes: &[u8]) -> String {
    super::super::hex(xxhash_rust::xxh3::xxh3_128(bytes))
}

impl Book {
    /// Read and split the file at `path`; the error is why it cannot be
    /// read at all (I/O, invalid UTF-8), with the raw bytes when there are some.
    pub(crate) fn load(path: &Path) -> Result<Book, (Vec<u8>, String)> {
        let bytes = std::fs::read(path).map_err(|e| (Vec::new(), format!("cannot read: {e}")))?;
        match String::from_utf8(bytes) {
            Ok(text) => Ok(Book::split(text)),
            Err(e) => {
                let reason = format!("invalid UTF-8 at byte {}", e.utf8_error().valid_up_to());
                Err((e.into_bytes(), reason))
            }
        }
    }

    /// Split `text` into its pieces.
    pub(crate) fn split(text: String) -> Book {
        let mut pieces = Vec::new();
        let mut offset = if text.starts_with('\u{feff}') { 3 } else { 0 };
        let mut card: Option<(usize, usize)> = None;
        let mut stray: Option<(usize, usize)> = None;
        for (i, physical) in text[offset..].split_inclusive('\n').enumerate() {
            let (start, line) = (offset, i + 1);
            offset += physical.len();
            let content = physical.trim();
            if content.eq_ignore_ascii_case("BEGIN:VCARD") {
                if let Some((from, at)) = card.take() {
                    let reason = format!("its END:VCARD is missing: line {line} begins a new card");
                    pieces.push(broken(from..start, at, reason));
                }
                if let Some((from, at)) = stray.take() {
                    pieces.push(broken(from..start, at, outside()));
                }
                card = Some((start, line));
            } else if let Some((from, at)) = card.filter(|_| is_end(content)) {
                pieces.push(Piece::Card {
                    span: from..offset,
                    line: at,
                });
                card = None;
            } else if card.is_none() && stray.is_none() && !content.is_empty() {
                stray = Some((start, line));
            }
        }
        if let Some((from, at)) = card {
            let reason = "its END:VCARD is missing at the end of the file".to_string();
            pieces.push(broken(from..offset, at, reason));
        }
        if let Some((from, at)) = stray {
            pieces.push(broken(from..offset, at, outside()));
        }
        Book { text, pieces }
    }

    /// The cards' byte spans, in order.
    pub(crate) fn cards(&self) -> impl Iterator<Item = Range<usize>> + '_ {
        self.pieces.iter().filter_map(|p| match p {
            Piece::Card { span, .. } => Some(span.clone()),
            Piece::Broken { .. } => None,
        })
    }

    /// The first card with this UID: its span, lines and version.
    pub(crate) fn find(&self, uid: &str) -> Option<(Range<usize>, Vec<Line>, String)> {
        self.cards().find_map(|span| {
            let lines = parse::lines(&self.text[span.clone()]).ok()?;
            (uid_of(&lines)? == uid).then(|| {
                let version = version_of(self.text[span.clone()].as_bytes());
                (span, lines, version)
            })
        })
    }

    /// The file's text with the bytes `span` replaced by `card`.
    pub(crate) fn splice(&self, span: Range<usize>, card: &str) -> String {
        let mut out = String::with_capacity(self.text.len() + card.len());
        out.push_str(&self.text[..span.start]);
        out.push_str(card);
        out.push_str(&self.text[span.end..]);
        out
    }
}

/// The UID of a card's lines, unescaped.
pub(crate) fn uid_of(lines: &[Line]) -> Option<String> {
    let uid = lines.iter().find(|l| l.name == "UID")?;
    Some(parse::unescape(&uid.value))
}

fn is_end(content: &str) -> bool {
    content.eq_ignore_ascii_case("END:VCARD")
}

fn outside() -> String {
    "not a vCard: text outside BEGIN:VCARD … END:VCARD".to_string()
}

fn broken(span: Range<usize>, line: usize, reason: String) -> Piece {
    Piece::Broken { span, line, reason }
}

#[cfg(test)]
mod tests {
    use super::*;

    const A: &str = "BEGIN:VCARD\r\nUID:a\r\nEND:VCARD\r\n";

    #[test]
    fn cards_stray_text_and_unended_cards_are_pieces() {
        let text =
            format!("\u{feff}{A}\r\n{A}hello\r\n\r\nBEGIN:VCARD\nUID:c\n{A}BEGIN:vcard\nUID:d");
        let book = Book::split(text.clone());
        let kinds: Vec<(usize, bool)> = book
            .pieces
            .iter()
            .map(|p| match p {
                Piece::Card { line, .. } => (*line, true),
                Piece::Broken { line, .. } => (*line, false),
            })
            .collect();
        assert_eq!(
            kinds,
            [
                (1, true),
                (5, true),
                (8, false),
                (10, false),
                (12, true),
                (15, false)
            ]
        );
        let first = book.cards().next().unwrap();
        assert_eq!((first.start, &text[first.clone()]), (3, A));
        assert_eq!(
            book.find("a").unwrap().0,
            first,
            "the first card with the UID"
        );
    }

    #[test]
    fn a_splice_keeps_the_bom_and_the_other_cards() {
        let book = Book::split(format!("\u{feff}{A}{}", A.replace(":a", ":b")));
        let (span, _, version) = book.find("b").unwrap();
        assert_eq!(version, version_of(A.replace(":a", ":b").as_bytes()));
        let out = book.splice(span, "X\r\n");
        assert_eq!(out, format!("\u{feff}{A}X\r\n"));
    }
}
