//! `jsonl`: one JSON object per line. Reads stream line by line; a line
//! that is not valid UTF-8, not JSON or not an object, or whose object
//! names a key twice (`unique`: `serde_json` would keep the last one), is
//! rejected with its line number and the rest of the file is read on.
//!
//! A write streams the old file into a new one (see `file::rows`): lines
//! the ops do not address are copied byte for byte, addressed ones are
//! rewritten with the ops merged in (a null removes the key), created
//! records are appended. A line that cannot be read refuses the whole write
//! and leaves the file as it was.

mod unique;

use super::rows::RowOps;
use super::{
    atomic_write_with, capabilities, fingerprint_file, io_err, payload, stamp_file, unreadable,
};
use crate::ops::key_text;
use crate::{
    Capabilities, Connector, ConnectorError, RawFields, RawRecord, ReadItem, Rejected, WriteOp,
    WriteResult,
};
use serde_json::Value;
use std::fs::File;
use std::io::{BufRead, BufReader, Write};
use std::path::PathBuf;

/// A JSONL file.
pub struct Jsonl {
    name: String,
    path: PathBuf,
}

impl Jsonl {
    /// A connector over the file at `path`.
    pub fn new(name: &str, path: PathBuf) -> Self {
        Self {
            name: name.to_string(),
            path,
        }
    }
}

/// Parse one line (without its newline) into a record or a reject.
pub(crate) fn parse_line(line_no: usize, bytes: &[u8]) -> Option<ReadItem> {
    let position = format!("line {line_no}");
    let reject = |reason: String| {
        Some(ReadItem::Reject(Rejected {
            position: position.clone(),
            raw: payload(bytes),
            reason,
        }))
    };
    let text = match std::str::from_utf8(bytes) {
        Ok(t) => t,
        Err(e) => return reject(format!("invalid UTF-8 at byte {}", e.valid_up_to())),
    };
    if text.trim().is_empty() {
        return None;
    }
    match unique::parse(text) {
        Ok(Value::Object(fields)) => Some(ReadItem::Record(RawRecord {
            position,
            fields,
            version: None,
        })),
        Ok(other) => reject(format!("expected a JSON object, found {}", kind_of(&other))),
        Err(e) if e.is_data() => reject(format!(
            "{}: an object must name each key once",
            at_column(&e)
        )),
        Err(e) => reject(format!("malformed JSON: {e}")),
    }
}

/// A JSON error of one line, with its column only.
fn at_column(e: &serde_json::Error) -> String {
    let text = e.to_string();
    let place = format!(" at line {} column {}", e.line(), e.column());
    let what = text.strip_suffix(&place).unwrap_or(&text);
    format!("{what} at column {}", e.column())
}

fn kind_of(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

/// A line without its `\n` or `\r\n`.
fn trim_newline(buf: &[u8]) -> &[u8] {
    let line = buf.strip_suffix(b"\n").unwrap_or(buf);
    line.strip_suffix(b"\r").unwrap_or(line)
}

struct Lines {
    reader: BufReader<File>,
    line_no: usize,
    buf: Vec<u8>,
    failed: bool,
}

impl Iterator for Lines {
    type Item = ReadItem;
    fn next(&mut self) -> Option<ReadItem> {
        while !self.failed {
            self.buf.clear();
            self.line_no += 1;
            match self.reader.read_until(b'\n', &mut self.buf) {
                Ok(0) => return None,
                Ok(_) => {
                    if let Some(item) = parse_line(self.line_no, trim_newline(&self.buf)) {
                        return Some(item);
                    }
                }
                Err(e) => {
                    self.failed = true;
                    return Some(ReadItem::Reject(Rejected {
                        position: format!("line {}", self.line_no),
                        raw: String::new(),
                        reason: format!("read error, rest of the file skipped: {e}"),
                    }));
                }
            }
        }
        None
    }
}

impl Jsonl {
    /// Append one record as a line.
    fn put(&self, out: &mut impl Write, row: &RawFields) -> Result<(), ConnectorError> {
        serde_json::to_writer(&mut *out, row)
            .map_err(std::io::Error::from)
            .and_then(|()| out.write_all(b"\n"))
            .map_err(|e| io_err(&self.name, &self.path, e))
    }

    /// Copy the old lines into `out`, applying the ops to the records they address.
    fn copy(
        &self,
        mut reader: impl BufRead,
        plan: &mut RowOps<'_>,
        out: &mut impl Write,
    ) -> Result<(), ConnectorError> {
        let io = |e| io_err(&self.name, &self.path, e);
        let mut buf = Vec::new();
        for line_no in 1.. {
            buf.clear();
            if reader.read_until(b'\n', &mut buf).map_err(io)? == 0 {
                break;
            }
            match parse_line(line_no, trim_newline(&buf)) {
                Some(ReadItem::Reject(r) | ReadItem::Broken(r)) => {
                    return Err(unreadable(&self.name, &self.path, &r.position, &r.reason))
                }
                Some(ReadItem::Record(r)) => {
                    let id = key_text(r.fields.get(plan.key_field()));
                    if let Some(id) = id.filter(|id| plan.wants(id)) {
                        if let Some(row) = plan.apply(&id, r.fields) {
                            self.put(out, &row)?;
                        }
                        continue;
                    }
                }
                None => {}
            }
            out.write_all(&buf).map_err(io)?;
            if !buf.ends_with(b"\n") {
                out.write_all(b"\n").map_err(io)?;
            }
        }
        Ok(())
    }
}

impl Connector for Jsonl {
    fn name(&self) -> &str {
        &self.name
    }
    fn kind(&self) -> &'static str {
        "jsonl"
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
        let file = File::open(&self.path).map_err(|e| io_err(&self.name, &self.path, e))?;
        Ok(Box::new(Lines {
            reader: BufReader::with_capacity(1 << 20, file),
            line_no: 0,
            buf: Vec::new(),
            failed: false,
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
        let mut plan = RowOps::new(&self.name, key_field, ops);
        let old = match File::open(&self.path) {
            Ok(file) => Some(BufReader::with_capacity(1 << 20, file)),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
            Err(e) => return Err(io_err(&self.name, &self.path, e)),
        };
        atomic_write_with(&self.name, &self.path, |out| {
            if let Some(old) = old {
                self.copy(old, &mut plan, out)?;
            }
            plan.rest().iter().try_for_each(|row| self.put(out, row))
        })?;
        Ok(plan.results())
    }
}
