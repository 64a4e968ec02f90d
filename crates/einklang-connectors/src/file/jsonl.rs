//! `jsonl`: one JSON object per line. Reads stream line by line; a line
//! that is not valid UTF-8, not JSON or not an object is rejected with its
//! line number and the rest of the file is read on.

use super::{atomic_write, fingerprint_file, io_err, payload};
use crate::{
    Capabilities, Connector, ConnectorError, RawFields, RawRecord, ReadItem, Rejected, WriteOp,
    WriteOutcome,
};
use serde_json::Value;
use std::fs::File;
use std::io::{BufRead, BufReader};
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
    match serde_json::from_str::<Value>(text) {
        Ok(Value::Object(fields)) => Some(ReadItem::Record(RawRecord {
            position,
            fields,
            version: None,
        })),
        Ok(other) => reject(format!("expected a JSON object, found {}", kind_of(&other))),
        Err(e) => reject(format!("malformed JSON: {e}")),
    }
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

struct Lines {
    reader: BufReader<File>,
    line_no: usize,
    buf: Vec<u8>,
    failed: bool,
}

impl Iterator for Lines {
    type Item = ReadItem;
    fn next(&mut self) -> Option<ReadItem> {
        loop {
            if self.failed {
                return None;
            }
            self.buf.clear();
            self.line_no += 1;
            match self.reader.read_until(b'\n', &mut self.buf) {
                Ok(0) => return None,
                Ok(_) => {
                    let line = self.buf.strip_suffix(b"\n").unwrap_or(&self.buf);
                    let line = line.strip_suffix(b"\r").unwrap_or(line);
                    if let Some(item) = parse_line(self.line_no, line) {
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
    ) -> Result<Vec<WriteOutcome>, ConnectorError> {
        let mut rows: Vec<RawFields> = Vec::new();
        if self.path.exists() {
            let file = File::open(&self.path).map_err(|e| io_err(&self.name, &self.path, e))?;
            let lines = Lines {
                reader: BufReader::new(file),
                line_no: 0,
                buf: Vec::new(),
                failed: false,
            };
            for item in lines {
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
        let outcomes = super::apply_ops(&mut rows, key_field, ops);
        let mut out = Vec::new();
        for row in &rows {
            serde_json::to_writer(&mut out, row).expect("JSON of a map");
            out.push(b'\n');
        }
        atomic_write(&self.name, &self.path, &out)?;
        Ok(outcomes)
    }
}
