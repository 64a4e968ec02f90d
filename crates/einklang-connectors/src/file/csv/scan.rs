//! Reading CSV records with unclosed quotes caught.
//!
//! A quote that opens a field and is never closed makes the `csv` crate
//! read on, across line ends, until the next quote anywhere in the file:
//! the good rows in between become one field of a single bad record, and
//! are lost to the read. The crate reports nothing, so [`Scan`] looks at
//! every record that spans lines (the only way a record can: a quoted field
//! holding a line break) and takes it for an unclosed quote when
//!
//! - its quoting is not well formed: a closing quote followed by anything
//!   but a delimiter or a line end, or the end of the file inside quotes
//!   ([`quoting_ok`], on the record's raw bytes, read again from the file),
//! - or it has another number of fields than the header.
//!
//! Then the record's first line (where the quote opened) is rejected,
//! naming the lines the quote swallowed, and the reader is moved back to
//! the start of the next line, so the swallowed lines are read again as
//! rows. A multi-line field with the header's width and clean quoting is a
//! legitimate one (an address, a note) and read as it is. What cannot be
//! told apart: a stray quote closed, lines later, by a literal quote inside
//! a field (`12"`) right before a delimiter, leaving the header's width —
//! those bytes are exactly a legitimate multi-line field.

use super::super::payload;
use crate::Rejected;
use csv::{ByteRecord, Position};
use std::fs::File;
use std::io::{BufReader, Read, Seek, SeekFrom};
use std::path::PathBuf;

/// The CSV reader of a file.
pub(crate) type Reader = csv::Reader<BufReader<File>>;

/// What [`Scan::step`] read.
pub(crate) enum Step {
    /// A record (check its width and text).
    Row,
    /// The first line of a record with an unclosed quote, rejected; the
    /// reader is back at the line after it.
    Unclosed(Rejected),
    /// The end of the file.
    End,
}

/// A CSV file's records after its header.
pub(crate) struct Scan {
    reader: Reader,
    path: PathBuf,
    delimiter: u8,
    width: usize,
}

impl Scan {
    /// Records of `reader` (past the header of `width` columns) of the file at `path`.
    pub(crate) fn new(reader: Reader, path: PathBuf, delimiter: u8, width: usize) -> Self {
        Scan {
            reader,
            path,
            delimiter,
            width,
        }
    }

    /// Read the next record into `record`.
    pub(crate) fn step(&mut self, record: &mut ByteRecord) -> Result<Step, csv::Error> {
        if !self.reader.read_byte_record(record)? {
            return Ok(Step::End);
        }
        if !record.as_slice().iter().any(|&b| b == b'\n' || b == b'\r') {
            return Ok(Step::Row);
        }
        let read_from = record.position().cloned().unwrap_or_else(Position::new);
        let (start, span) = self.span(&read_from)?;
        let well_formed = quoting_ok(&span, self.delimiter);
        if well_formed && record.len() == self.width {
            return Ok(Step::Row);
        }
        let (first, swallowed) = lines(&span);
        let (line, last) = (start.line(), start.line() + swallowed);
        let mut why = format!(
            "unclosed quote: the quoted field opening on line {line} runs on to line {last}"
        );
        if well_formed {
            why = format!(
                "{why}, and the record then has {} fields where the header has {}",
                record.len(),
                self.width
            );
        }
        let mut next = Position::new();
        next.set_byte(start.byte() + first.len() as u64)
            .set_line(line + 1)
            .set_record(start.record() + 1);
        self.reader.seek(next)?;
        Ok(Step::Unclosed(Rejected {
            position: format!("line {line}"),
            raw: payload(first.strip_suffix(b"\n").unwrap_or(first)),
            reason: format!(
                "{why}; line {line} is set aside and lines {}–{last} are read again as rows",
                line + 1
            ),
        }))
    }

    /// Where the record read from `from` really starts and its raw bytes,
    /// up to where the reader stands now. (The `csv` crate's position is
    /// where the read began: before the blank lines it skipped, and after a
    /// CRLF line end, at its `\n`.)
    fn span(&mut self, from: &Position) -> Result<(Position, Vec<u8>), csv::Error> {
        let end = self.reader.position().byte();
        let mut file = File::open(&self.path)?;
        file.seek(SeekFrom::Start(from.byte()))?;
        let mut bytes = Vec::new();
        file.take(end - from.byte()).read_to_end(&mut bytes)?;
        let lead = bytes
            .iter()
            .take_while(|b| matches!(b, b'\r' | b'\n'))
            .count();
        let breaks = bytes[..lead].iter().filter(|&&b| b == b'\n').count() as u64;
        let mut start = from.clone();
        start
            .set_byte(from.byte() + lead as u64)
            .set_line(from.line() + breaks);
        bytes.drain(..lead);
        Ok((start, bytes))
    }
}

/// The first line of a multi-line record's bytes (with its line break)
/// and how many line breaks follow inside the record.
fn lines(span: &[u8]) -> (&[u8], u64) {
    let first = match span.iter().position(|&b| b == b'\n' || b == b'\r') {
        Some(i) if span[i] == b'\r' && span.get(i + 1) == Some(&b'\n') => i + 2,
        Some(i) => i + 1,
        None => span.len(),
    };
    let body = span.trim_ascii_end();
    let breaks = body.iter().filter(|&&b| b == b'\n').count() as u64;
    (&span[..first], breaks)
}

/// Is the quoting of a record's raw bytes well formed: every quoted field
/// closed, and each closing quote followed by a delimiter, a line end or
/// the end? (A quote inside an unquoted field is literal, as the `csv`
/// crate reads it; `""` inside quotes is an escaped quote.)
pub(crate) fn quoting_ok(raw: &[u8], delimiter: u8) -> bool {
    let mut i = 0;
    let mut field_start = true;
    while i < raw.len() {
        if field_start && raw[i] == b'"' {
            i += 1;
            loop {
                match (raw.get(i), raw.get(i + 1)) {
                    (None, _) => return false,
                    (Some(b'"'), Some(b'"')) => i += 2,
                    (Some(b'"'), _) => break,
                    _ => i += 1,
                }
            }
            i += 1;
            match raw.get(i) {
                None | Some(b'\r' | b'\n') => {}
                Some(&b) if b == delimiter => {}
                Some(_) => return false,
            }
            field_start = false;
            continue;
        }
        field_start = matches!(raw[i], b'\r' | b'\n') || raw[i] == delimiter;
        i += 1;
    }
    true
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quoting_is_checked_as_the_csv_crate_reads_it() {
        for ok in [
            "1,\"a\nb\",c\n",
            "1,\"a \"\"x\"\"\nb\";c",
            "1,x\"y,\"z\n\"\r\n",
        ] {
            let delimiter = if ok.contains(';') { b';' } else { b',' };
            assert!(quoting_ok(ok.as_bytes(), delimiter), "{ok:?}");
        }
        for bad in ["1,\"a\nb", "1,\"a\n2,\"b\",c\n", "1,\"a\nb\" ,c\n"] {
            assert!(!quoting_ok(bad.as_bytes(), b','), "{bad:?}");
        }
    }

    #[test]
    fn lines_of_a_span() {
        assert_eq!(lines(b"1,\"a\r\n2,b\r\n3,c\""), (&b"1,\"a\r\n"[..], 2));
        assert_eq!(lines(b"1,\"a\nb\"\n"), (&b"1,\"a\n"[..], 1));
    }
}
