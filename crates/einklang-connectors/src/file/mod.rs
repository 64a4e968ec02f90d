//! File connectors: `csv`, `jsonl` and `vcard` (a vdir folder).
//!
//! Owns what the three share: the source fingerprint (an xxh3-128 hash of
//! the bytes, streamed, so an unchanged file causes no work), atomic writes
//! (temporary file in the same folder, fsync, rename: a crash leaves the old
//! file or the new one, never half of one) and I/O error wrapping that names
//! the connector and the path.

pub mod csv;
pub mod jsonl;
pub mod vcard;

use crate::ConnectorError;
use std::fs::File;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use xxhash_rust::xxh3::Xxh3;

/// Wrap an I/O error with connector name and path.
pub(crate) fn io_err(connector: &str, path: &Path, source: std::io::Error) -> ConnectorError {
    ConnectorError::Io {
        connector: connector.to_string(),
        path: path.display().to_string(),
        source,
    }
}

/// Stream `reader` into `hasher`.
fn hash_into(hasher: &mut Xxh3, mut reader: impl Read) -> std::io::Result<()> {
    let mut buf = vec![0u8; 256 * 1024];
    loop {
        let n = reader.read(&mut buf)?;
        if n == 0 {
            return Ok(());
        }
        hasher.update(&buf[..n]);
    }
}

/// Hex of an xxh3-128 digest.
pub(crate) fn hex(digest: u128) -> String {
    format!("xxh3:{digest:032x}")
}

/// Fingerprint of one file's bytes.
pub(crate) fn fingerprint_file(connector: &str, path: &Path) -> Result<String, ConnectorError> {
    let mut hasher = Xxh3::new();
    let file = File::open(path).map_err(|e| io_err(connector, path, e))?;
    hash_into(&mut hasher, file).map_err(|e| io_err(connector, path, e))?;
    Ok(hex(hasher.digest128()))
}

/// Fingerprint of a folder: names and bytes of its files with `ext`, in name order.
pub(crate) fn fingerprint_dir(
    connector: &str,
    dir: &Path,
    ext: &str,
) -> Result<String, ConnectorError> {
    let mut hasher = Xxh3::new();
    for path in list_dir(connector, dir, ext)? {
        let name = path.file_name().unwrap_or_default().to_string_lossy();
        hasher.update(name.as_bytes());
        hasher.update(&[0]);
        let file = File::open(&path).map_err(|e| io_err(connector, &path, e))?;
        hash_into(&mut hasher, file).map_err(|e| io_err(connector, &path, e))?;
    }
    Ok(hex(hasher.digest128()))
}

/// The files in `dir` ending in `.ext`, sorted by name.
pub(crate) fn list_dir(
    connector: &str,
    dir: &Path,
    ext: &str,
) -> Result<Vec<PathBuf>, ConnectorError> {
    let entries = std::fs::read_dir(dir).map_err(|e| io_err(connector, dir, e))?;
    let mut paths = Vec::new();
    for entry in entries {
        let path = entry.map_err(|e| io_err(connector, dir, e))?.path();
        if path.is_file()
            && path
                .extension()
                .is_some_and(|x| x.eq_ignore_ascii_case(ext))
        {
            paths.push(path);
        }
    }
    paths.sort();
    Ok(paths)
}

/// Replace `path` with `bytes` atomically.
pub(crate) fn atomic_write(
    connector: &str,
    path: &Path,
    bytes: &[u8],
) -> Result<(), ConnectorError> {
    let dir = path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let name = path.file_name().unwrap_or_default().to_string_lossy();
    let tmp = dir.join(format!(".{name}.einklang-tmp"));
    let result = (|| {
        let mut file = File::create(&tmp)?;
        file.write_all(bytes)?;
        file.sync_all()?;
        std::fs::rename(&tmp, path)
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    result.map_err(|e| io_err(connector, path, e))
}

/// Lossy text of raw bytes, cut for quarantine payloads.
pub(crate) fn payload(bytes: &[u8]) -> String {
    crate::excerpt(&String::from_utf8_lossy(bytes), 4096)
}

/// Apply upserts and deletes to rows keyed by `key_field`: an upsert merges
/// its fields into the row with that key or appends a new row; a delete
/// removes the row. Rows keep their order.
pub(crate) fn apply_ops(
    rows: &mut Vec<crate::RawFields>,
    key_field: &str,
    ops: &[crate::WriteOp],
) -> Vec<crate::WriteOutcome> {
    use crate::WriteOp;
    use serde_json::Value;
    let key_of = |row: &crate::RawFields| match row.get(key_field) {
        Some(Value::String(s)) => Some(s.clone()),
        Some(Value::Number(n)) => Some(n.to_string()),
        _ => None,
    };
    let mut outcomes = Vec::new();
    for op in ops {
        match op {
            WriteOp::Upsert { id, fields } => {
                match rows.iter_mut().find(|r| key_of(r).as_deref() == Some(id)) {
                    Some(row) => row.extend(fields.clone()),
                    None => {
                        let mut row = fields.clone();
                        row.entry(key_field.to_string())
                            .or_insert_with(|| Value::String(id.clone()));
                        rows.push(row);
                    }
                }
                outcomes.push(crate::WriteOutcome {
                    id: id.clone(),
                    version: None,
                });
            }
            WriteOp::Delete { id } => {
                rows.retain(|r| key_of(r).as_deref() != Some(id));
                outcomes.push(crate::WriteOutcome {
                    id: id.clone(),
                    version: None,
                });
            }
        }
    }
    outcomes
}
