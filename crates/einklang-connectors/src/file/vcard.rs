//! `vcard`: a vdir folder as vdirsyncer keeps it, one `.vcf` per contact.
//!
//! Each card is one raw record (its position is `file NAME.vcf`, its version
//! token the hash of the file's bytes). Writing replaces only the properties
//! einklang owns and keeps every other property of the card as it was.

pub mod parse;

use super::{atomic_write, fingerprint_dir, hex, io_err, list_dir, payload};
use crate::{
    Capabilities, Connector, ConnectorError, RawRecord, ReadItem, Rejected, WriteOp, WriteOutcome,
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

/// Read one card file into a record or a reject.
pub(crate) fn read_card(path: &Path) -> ReadItem {
    let file = path
        .file_name()
        .unwrap_or_default()
        .to_string_lossy()
        .to_string();
    let position = format!("file {file}");
    let reject = |raw: String, reason: String| {
        ReadItem::Reject(Rejected {
            position: position.clone(),
            raw,
            reason,
        })
    };
    let bytes = match std::fs::read(path) {
        Ok(b) => b,
        Err(e) => return reject(String::new(), format!("cannot read: {e}")),
    };
    let text = match std::str::from_utf8(&bytes) {
        Ok(t) => t,
        Err(e) => {
            return reject(
                payload(&bytes),
                format!("invalid UTF-8 at byte {}", e.valid_up_to()),
            )
        }
    };
    let lines = match parse::lines(text) {
        Ok(l) => l,
        Err(reason) => return reject(payload(&bytes), reason),
    };
    let begins = lines
        .first()
        .is_some_and(|l| l.name == "BEGIN" && l.value.eq_ignore_ascii_case("VCARD"));
    let ends = lines
        .last()
        .is_some_and(|l| l.name == "END" && l.value.eq_ignore_ascii_case("VCARD"));
    if !begins || !ends {
        return reject(
            payload(&bytes),
            "not a vCard: expected BEGIN:VCARD … END:VCARD".into(),
        );
    }
    let version = Some(hex(xxhash_rust::xxh3::xxh3_128(&bytes)));
    ReadItem::Record(RawRecord {
        position,
        fields: parse::fields(&lines),
        version,
    })
}

/// A file name for a UID: safe characters kept, others replaced.
fn file_name(uid: &str) -> String {
    let safe: String = uid
        .chars()
        .map(|c| {
            if c.is_alphanumeric() || "-_@.".contains(c) {
                c
            } else {
                '_'
            }
        })
        .collect();
    format!("{safe}.vcf")
}

impl Vcard {
    /// UID → file, for every readable card.
    fn index(&self) -> Result<HashMap<String, PathBuf>, ConnectorError> {
        let mut map = HashMap::new();
        for path in list_dir(&self.name, &self.dir, "vcf")? {
            if let ReadItem::Record(r) = read_card(&path) {
                if let Some(serde_json::Value::String(uid)) = r.fields.get("uid") {
                    map.insert(uid.clone(), path);
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
        Capabilities {
            read: true,
            write: true,
            delete: true,
            fingerprint: true,
            version_tokens: true,
        }
    }
    fn fingerprint(&mut self) -> Result<Option<String>, ConnectorError> {
        fingerprint_dir(&self.name, &self.dir, "vcf").map(Some)
    }
    fn read(&mut self) -> Result<Box<dyn Iterator<Item = ReadItem> + '_>, ConnectorError> {
        let paths = list_dir(&self.name, &self.dir, "vcf")?;
        Ok(Box::new(paths.into_iter().map(|p| read_card(&p))))
    }
    fn write(
        &mut self,
        _key_field: &str,
        ops: &[WriteOp],
    ) -> Result<Vec<WriteOutcome>, ConnectorError> {
        std::fs::create_dir_all(&self.dir).map_err(|e| io_err(&self.name, &self.dir, e))?;
        let mut index = self.index()?;
        let mut outcomes = Vec::new();
        for op in ops {
            match op {
                WriteOp::Upsert { id, fields } => {
                    let path = index
                        .get(id)
                        .cloned()
                        .unwrap_or_else(|| self.dir.join(file_name(id)));
                    let kept = match std::fs::read_to_string(&path) {
                        Ok(text) => parse::lines(&text)
                            .unwrap_or_default()
                            .into_iter()
                            .filter(|l| !parse::OWNED.contains(&l.name.as_str()))
                            .collect(),
                        Err(_) => Vec::new(),
                    };
                    let card = parse::render(id, fields, &kept);
                    atomic_write(&self.name, &path, card.as_bytes())?;
                    index.insert(id.clone(), path);
                    let version = Some(hex(xxhash_rust::xxh3::xxh3_128(card.as_bytes())));
                    outcomes.push(WriteOutcome {
                        id: id.clone(),
                        version,
                    });
                }
                WriteOp::Delete { id } => {
                    if let Some(path) = index.remove(id) {
                        std::fs::remove_file(&path).map_err(|e| io_err(&self.name, &path, e))?;
                    }
                    outcomes.push(WriteOutcome {
                        id: id.clone(),
                        version: None,
                    });
                }
            }
        }
        Ok(outcomes)
    }
}
