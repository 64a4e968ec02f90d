//! `csv`: a delimited text file with a header row. Reads stream record by
//! record through the `csv` crate (quoting, embedded newlines, BOM); every
//! value is text. A row with the wrong number of fields or invalid UTF-8 is
//! rejected with its line number, and the read goes on.

use super::{apply_ops, atomic_write, fingerprint_file, io_err, payload};
use crate::{
    Capabilities, Connector, ConnectorError, RawFields, RawRecord, ReadItem, Rejected, WriteOp,
    WriteOutcome,
};
use serde_json::Value;
use std::fs::File;
use std::io::BufReader;
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

    fn reader(&self) -> Result<(csv::Reader<BufReader<File>>, Vec<String>), ConnectorError> {
        let file = File::open(&self.path).map_err(|e| io_err(&self.name, &self.path, e))?;
        let mut reader = csv::ReaderBuilder::new()
            .delimiter(self.delimiter)
            .flexible(true)
            .from_reader(BufReader::with_capacity(1 << 20, file));
        let headers = reader
            .byte_headers()
            .map_err(|e| self.header_error(e.to_string()))?
            .clone();
        let mut names = Vec::with_capacity(headers.len());
        for (i, h) in headers.iter().enumerate() {
            let h = std::str::from_utf8(h).map_err(|_| {
                self.header_error(format!("column {} of the header is not valid UTF-8", i + 1))
            })?;
            names.push(h.trim().to_string());
        }
        Ok((reader, names))
    }

    fn header_error(&self, message: String) -> ConnectorError {
        ConnectorError::Other {
            connector: self.name.clone(),
            message: format!("{}: header row: {message}", self.path.display()),
        }
    }
}

struct Rows {
    reader: csv::Reader<BufReader<File>>,
    headers: Vec<String>,
    record: csv::ByteRecord,
    delimiter: u8,
    done: bool,
}

impl Rows {
    fn item(&self) -> ReadItem {
        let line = self.record.position().map_or(0, |p| p.line());
        let position = format!("line {line}");
        let raw = || {
            let joined: Vec<&[u8]> = self.record.iter().collect();
            payload(&joined.join(&[self.delimiter][..]))
        };
        if self.record.len() != self.headers.len() {
            let reason = format!(
                "expected {} fields as in the header, found {}",
                self.headers.len(),
                self.record.len()
            );
            return ReadItem::Reject(Rejected {
                position,
                raw: raw(),
                reason,
            });
        }
        let mut fields = RawFields::new();
        for (i, (name, value)) in self.headers.iter().zip(self.record.iter()).enumerate() {
            match std::str::from_utf8(value) {
                Ok(v) => {
                    fields.insert(name.clone(), Value::String(v.to_string()));
                }
                Err(e) => {
                    let reason = format!(
                        "field {} (`{name}`) is not valid UTF-8 at byte {}",
                        i + 1,
                        e.valid_up_to()
                    );
                    return ReadItem::Reject(Rejected {
                        position,
                        raw: raw(),
                        reason,
                    });
                }
            }
        }
        ReadItem::Record(RawRecord {
            position,
            fields,
            version: None,
        })
    }
}

impl Iterator for Rows {
    type Item = ReadItem;
    fn next(&mut self) -> Option<ReadItem> {
        if self.done {
            return None;
        }
        match self.reader.read_byte_record(&mut self.record) {
            Ok(true) => Some(self.item()),
            Ok(false) => None,
            Err(e) => {
                // I/O or a broken quote at the end: report and stop.
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

impl Connector for Csv {
    fn name(&self) -> &str {
        &self.name
    }
    fn kind(&self) -> &'static str {
        "csv"
    }
    fn capabilities(&self) -> Capabilities {
        Capabilities {
            read: true,
            write: true,
            delete: true,
            fingerprint: true,
            version_tokens: false,
        }
    }
    fn fingerprint(&mut self) -> Result<Option<String>, ConnectorError> {
        fingerprint_file(&self.name, &self.path).map(Some)
    }
    fn read(&mut self) -> Result<Box<dyn Iterator<Item = ReadItem> + '_>, ConnectorError> {
        let (reader, headers) = self.reader()?;
        Ok(Box::new(Rows {
            reader,
            headers,
            record: csv::ByteRecord::new(),
            delimiter: self.delimiter,
            done: false,
        }))
    }
    fn write(
        &mut self,
        key_field: &str,
        ops: &[WriteOp],
    ) -> Result<Vec<WriteOutcome>, ConnectorError> {
        let (mut headers, mut rows) = (Vec::new(), Vec::new());
        if self.path.exists() {
            let (reader, names) = self.reader()?;
            headers = names.clone();
            let rows_iter = Rows {
                reader,
                headers: names,
                record: csv::ByteRecord::new(),
                delimiter: self.delimiter,
                done: false,
            };
            for item in rows_iter {
                match item {
                    ReadItem::Record(r) => rows.push(r.fields),
                    ReadItem::Reject(r) => {
                        return Err(ConnectorError::Other {
                            connector: self.name.clone(),
                            message: format!(
                                "{}: {} — fix the file before writing to it",
                                r.position, r.reason
                            ),
                        })
                    }
                }
            }
        }
        let outcomes = apply_ops(&mut rows, key_field, ops);
        for row in &rows {
            for key in row.keys() {
                if !headers.contains(key) {
                    headers.push(key.clone());
                }
            }
        }
        let mut writer = csv::WriterBuilder::new()
            .delimiter(self.delimiter)
            .from_writer(Vec::new());
        let err = |e: csv::Error| ConnectorError::Other {
            connector: self.name.clone(),
            message: e.to_string(),
        };
        writer.write_record(&headers).map_err(err)?;
        for row in &rows {
            let cells = headers.iter().map(|h| match row.get(h) {
                None | Some(Value::Null) => String::new(),
                Some(Value::String(s)) => s.clone(),
                Some(other) => other.to_string(),
            });
            writer.write_record(cells).map_err(err)?;
        }
        let bytes = writer
            .into_inner()
            .map_err(|e| err(e.into_error().into()))?;
        atomic_write(&self.name, &self.path, &bytes)?;
        Ok(outcomes)
    }
}
