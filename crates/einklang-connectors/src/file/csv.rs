//! `csv`: a delimited text file with a header row. Reads stream record by
//! record through the `csv` crate (quoting, embedded newlines, BOM); every
//! value is text. A row with the wrong number of fields or invalid UTF-8 is
//! rejected with its line number, and the read goes on; so is the line of
//! an unclosed quote, and the lines it swallowed are read again as rows
//! (see `scan`).
//!
//! A header that names one column twice fails the whole read (and any
//! write) with both column numbers: every row would carry two values for
//! one field, and no choice between them would be right. Empty column names
//! (trailing delimiters) are not checked: no mapping can name them.
//!
//! A write streams the old file into a new one (see `file::rows`): rows keep
//! their order and their unknown columns, columns new to the file are
//! appended to the header (earlier rows get empty cells), created rows are
//! appended, a null clears a cell; an object (a dotted field built as a
//! path) is written to its dotted columns (`Vor.name`). A row that cannot be read refuses the
//! whole write and leaves the file as it was.

mod scan;

use super::rows::RowOps;
use super::{
    atomic_write_with, capabilities, fingerprint_file, io_err, payload, stamp_file, unreadable,
};
use crate::{
    Capabilities, Connector, ConnectorError, RawFields, RawRecord, ReadItem, Rejected, WriteOp,
    WriteResult,
};
use csv::ByteRecord;
use scan::{Reader, Scan, Step};
use serde_json::Value;
use std::fs::File;
use std::io::{BufReader, Write};
use std::path::PathBuf;

/// A CSV file.
pub struct Csv {
    name: String,
    path: PathBuf,
    delimiter: u8,
}

impl Csv {
    /// A connector over the file at `path` with this field delimiter.
    pub fn new(name: &str, path: PathBuf, delimiter: u8) -> Self {
        Self {
            name: name.to_string(),
            path,
            delimiter,
        }
    }

    fn reader(&self) -> Result<(Reader, Vec<String>), ConnectorError> {
        let file = File::open(&self.path).map_err(|e| io_err(&self.name, &self.path, e))?;
        let mut reader = csv::ReaderBuilder::new()
            .delimiter(self.delimiter)
            .flexible(true)
            .from_reader(BufReader::with_capacity(1 << 20, file));
        let headers = reader
            .byte_headers()
            .map_err(|e| self.header_error(e.to_string()))?
            .clone();
        let mut names: Vec<String> = Vec::with_capacity(headers.len());
        for (i, h) in headers.iter().enumerate() {
            let h = std::str::from_utf8(h).map_err(|_| {
                self.header_error(format!("column {} of the header is not valid UTF-8", i + 1))
            })?;
            let h = h.trim();
            if let Some(j) = names.iter().position(|n| !h.is_empty() && n == h) {
                return Err(self.header_error(format!(
                    "column `{h}` is named twice, as column {} and column {}: \
                     rename one of them (einklang cannot tell which one is meant)",
                    j + 1,
                    i + 1
                )));
            }
            names.push(h.to_string());
        }
        Ok((reader, names))
    }

    /// The records of the file after its header.
    fn scan(&self, reader: Reader, headers: &[String]) -> Scan {
        Scan::new(reader, self.path.clone(), self.delimiter, headers.len())
    }

    fn header_error(&self, message: String) -> ConnectorError {
        ConnectorError::Other {
            connector: self.name.clone(),
            message: format!("{}: header row: {message}", self.path.display()),
        }
    }

    /// The old file cannot be parsed on (a broken quote, I/O).
    fn broken(&self, e: csv::Error) -> ConnectorError {
        let line = e.position().map_or(0, |p| p.line());
        unreadable(
            &self.name,
            &self.path,
            &format!("line {line}"),
            &e.to_string(),
        )
    }

    fn csv_error(&self, e: csv::Error) -> ConnectorError {
        ConnectorError::Other {
            connector: self.name.clone(),
            message: format!("{}: {e}", self.path.display()),
        }
    }
}

/// The row's width must be the header's.
fn check_width(headers: &[String], record: &ByteRecord) -> Result<(), String> {
    if record.len() == headers.len() {
        return Ok(());
    }
    Err(format!(
        "expected {} fields as in the header, found {}",
        headers.len(),
        record.len()
    ))
}

/// Field `i` (column `name`) as text.
fn field_text<'r>(i: usize, name: &str, value: &'r [u8]) -> Result<&'r str, String> {
    std::str::from_utf8(value).map_err(|e| {
        format!(
            "field {} (`{name}`) is not valid UTF-8 at byte {}",
            i + 1,
            e.valid_up_to()
        )
    })
}

/// A readable row's fields, or why it is not readable.
fn row_fields(headers: &[String], record: &ByteRecord) -> Result<RawFields, String> {
    check_width(headers, record)?;
    let mut fields = RawFields::new();
    for (i, (name, value)) in headers.iter().zip(record).enumerate() {
        let text = field_text(i, name, value)?;
        fields.insert(name.clone(), Value::String(text.to_string()));
    }
    Ok(fields)
}

/// Is the row readable? (As [`row_fields`], without building the fields.)
fn check_row(headers: &[String], record: &ByteRecord) -> Result<(), String> {
    check_width(headers, record)?;
    for (i, (name, value)) in headers.iter().zip(record).enumerate() {
        field_text(i, name, value)?;
    }
    Ok(())
}

/// A record's cells in header order: text as is, null and missing empty,
/// a list of texts or numbers joined with `, ` (as a cell of several
/// e-mails or phone numbers is written by hand, and read back into a list
/// by the list types), other JSON as JSON text.
fn cells(header: &[String], row: &RawFields) -> Vec<String> {
    let cell = |name: &String| match row.get(name) {
        None | Some(Value::Null) => String::new(),
        Some(Value::String(s)) => s.clone(),
        Some(Value::Array(items)) if items.iter().all(|i| i.is_string() || i.is_number()) => items
            .iter()
            .map(|i| i.as_str().map_or_else(|| i.to_string(), str::to_string))
            .collect::<Vec<_>>()
            .join(", "),
        Some(other) => other.to_string(),
    };
    header.iter().map(cell).collect()
}

/// The ops with every object written to a column the header does not have
/// spread over dotted columns: `{"Vor": {"name": "Anna"}}` (a mapping's
/// `Vor.name`, built as a path by the core) writes the column `Vor.name`,
/// which a read gives by that exact name. A CSV has no nesting; an object
/// written to a column that exists is written there as JSON text.
fn flat(header: &[String], ops: &[WriteOp]) -> Vec<WriteOp> {
    let flatten = |fields: &RawFields| {
        let mut out = RawFields::new();
        for (name, value) in fields {
            spread(header, name, value, &mut out);
        }
        out
    };
    ops.iter()
        .map(|op| match op {
            WriteOp::Create { marker, fields } => WriteOp::Create {
                marker: marker.clone(),
                fields: flatten(fields),
            },
            WriteOp::Update {
                id,
                fields,
                expected_version,
            } => WriteOp::Update {
                id: id.clone(),
                fields: flatten(fields),
                expected_version: expected_version.clone(),
            },
            WriteOp::Delete { .. } => op.clone(),
        })
        .collect()
}

/// `value` under `name`, an object not named by the header spread over
/// `name.key` columns.
fn spread(header: &[String], name: &str, value: &Value, out: &mut RawFields) {
    match value {
        Value::Object(inner) if !header.iter().any(|h| h == name) => {
            for (key, v) in inner {
                spread(header, &format!("{name}.{key}"), v, out);
            }
        }
        _ => {
            out.insert(name.to_string(), value.clone());
        }
    }
}

fn line_of(record: &ByteRecord) -> String {
    format!("line {}", record.position().map_or(0, |p| p.line()))
}

struct Rows {
    scan: Scan,
    headers: Vec<String>,
    record: ByteRecord,
    delimiter: u8,
    done: bool,
}

impl Rows {
    fn item(&self) -> ReadItem {
        let position = line_of(&self.record);
        match row_fields(&self.headers, &self.record) {
            Ok(fields) => ReadItem::Record(RawRecord {
                position,
                fields,
                version: None,
            }),
            Err(reason) => {
                let joined: Vec<&[u8]> = self.record.iter().collect();
                ReadItem::Reject(Rejected {
                    position,
                    raw: payload(&joined.join(&[self.delimiter][..])),
                    reason,
                })
            }
        }
    }
}

impl Iterator for Rows {
    type Item = ReadItem;
    fn next(&mut self) -> Option<ReadItem> {
        if self.done {
            return None;
        }
        match self.scan.step(&mut self.record) {
            Ok(Step::Row) => Some(self.item()),
            Ok(Step::Unclosed(rejected)) => Some(ReadItem::Reject(rejected)),
            Ok(Step::End) => None,
            Err(e) => {
                // I/O: report and stop.
                self.done = true;
                let line = e.position().map_or(0, |p| p.line());
                Some(ReadItem::Reject(Rejected {
                    position: format!("line {line}"),
                    raw: String::new(),
                    reason: format!("unreadable CSV, rest of the file skipped: {e}"),
                }))
            }
        }
    }
}

/// One streaming write: the old file's header, the new one, and the ops.
struct Rewrite<'a> {
    old: Vec<String>,
    header: Vec<String>,
    plan: RowOps<'a>,
}

impl Csv {
    /// Copy the old rows into `out`, applying the ops to the rows they address.
    fn copy<W: Write>(
        &self,
        reader: Reader,
        job: &mut Rewrite<'_>,
        out: &mut csv::Writer<W>,
    ) -> Result<(), ConnectorError> {
        let key = job.old.iter().position(|h| h == job.plan.key_field());
        let mut record = ByteRecord::new();
        let bad = |r: &ByteRecord, reason: String| {
            unreadable(&self.name, &self.path, &line_of(r), &reason)
        };
        let mut scan = self.scan(reader, &job.old);
        loop {
            match scan.step(&mut record).map_err(|e| self.broken(e))? {
                Step::Row => {}
                Step::End => break,
                Step::Unclosed(r) => {
                    return Err(unreadable(&self.name, &self.path, &r.position, &r.reason))
                }
            }
            let id = key
                .and_then(|k| record.get(k))
                .and_then(|v| std::str::from_utf8(v).ok());
            if let Some(id) = id.filter(|id| job.plan.wants(id)) {
                let fields = row_fields(&job.old, &record).map_err(|e| bad(&record, e))?;
                if let Some(row) = job.plan.apply(id, fields) {
                    out.write_record(cells(&job.header, &row))
                        .map_err(|e| self.csv_error(e))?;
                }
                continue;
            }
            check_row(&job.old, &record).map_err(|e| bad(&record, e))?;
            (job.old.len()..job.header.len()).for_each(|_| record.push_field(b""));
            out.write_byte_record(&record)
                .map_err(|e| self.csv_error(e))?;
        }
        Ok(())
    }

    /// Write the new file: header, old rows with the ops applied, new rows.
    fn fill<W: Write>(
        &self,
        reader: Option<Reader>,
        job: &mut Rewrite<'_>,
        out: W,
    ) -> Result<(), ConnectorError> {
        let mut out = csv::WriterBuilder::new()
            .delimiter(self.delimiter)
            .from_writer(out);
        let err = |e| self.csv_error(e);
        if !job.header.is_empty() {
            out.write_record(&job.header).map_err(err)?;
        }
        if let Some(reader) = reader {
            self.copy(reader, job, &mut out)?;
        }
        for row in job.plan.rest() {
            out.write_record(cells(&job.header, &row)).map_err(err)?;
        }
        out.flush().map_err(|e| io_err(&self.name, &self.path, e))
    }
}

impl Connector for Csv {
    fn name(&self) -> &str {
        &self.name
    }
    fn kind(&self) -> &'static str {
        "csv"
    }
    fn capabilities(&self) -> Capabilities {
        capabilities(false)
    }
    fn fingerprint(&mut self) -> Result<Option<String>, ConnectorError> {
        fingerprint_file(&self.name, &self.path).map(Some)
    }
    fn stamp(&mut self) -> Result<Option<String>, ConnectorError> {
        stamp_file(&self.name, &self.path).map(Some)
    }
    fn read(&mut self) -> Result<Box<dyn Iterator<Item = ReadItem> + '_>, ConnectorError> {
        let (reader, headers) = self.reader()?;
        Ok(Box::new(Rows {
            scan: self.scan(reader, &headers),
            headers,
            record: ByteRecord::new(),
            delimiter: self.delimiter,
            done: false,
        }))
    }
    fn write(
        &mut self,
        key_field: &str,
        ops: &[WriteOp],
    ) -> Result<Vec<WriteResult>, ConnectorError> {
        if ops.is_empty() {
            return Ok(Vec::new());
        }
        let (reader, old) = match self.path.exists() {
            true => self.reader().map(|(r, names)| (Some(r), names))?,
            false => (None, Vec::new()),
        };
        let ops = flat(&old, ops);
        let plan = RowOps::new(&self.name, key_field, &ops);
        let mut header = old.clone();
        for name in plan.columns() {
            if !header.iter().any(|h| h == name) {
                header.push(name.to_string());
            }
        }
        let mut job = Rewrite { old, header, plan };
        atomic_write_with(&self.name, &self.path, |out| {
            self.fill(reader, &mut job, out)
        })?;
        Ok(job.plan.results())
    }
}
