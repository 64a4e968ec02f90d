//! File connectors: `csv`, `jsonl` and `vcard` (a vdir folder).
//!
//! Owns what the three share: the source fingerprint (an xxh3-128 hash of
//! the bytes, streamed, so an unchanged file causes no work), the stamp
//! (metadata only: length, modification and change time, inode — and for a
//! folder the file names — so a writer busy during a read is noticed
//! cheaply), atomic writes (`atomic`: temporary file in the same folder,
//! fsync, rename; the file keeps its mode, owner and symbolic links) and I/O
//! error wrapping that names the connector and the path, and for the two row
//! files (csv, jsonl) the
//! streaming write (`rows`): the ops of a call are indexed by id, the old
//! file is copied row by row into the temporary file with the ops applied,
//! creates are appended, so a write costs memory for its ops, not its file.
//!
//! All three declare the same capabilities (`capabilities`): the mapping's
//! id field is the key, a create's marker becomes the record's id (so a
//! re-sent create updates instead of duplicating), updates are partial.

mod atomic;
pub mod csv;
pub mod jsonl;
mod rows;
pub mod vcard;

use crate::{Capabilities, ConnectorError};
use std::fs::{File, Metadata};
use std::io::{BufWriter, Read, Write};
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

/// What moves when a file is written, renamed over or touched: length,
/// modification and change time (ns), device and inode.
#[cfg(unix)]
fn stamp_of(meta: &Metadata) -> String {
    use std::os::unix::fs::MetadataExt;
    format!(
        "{}:{}.{:09}:{}.{:09}:{}:{}",
        meta.len(),
        meta.mtime(),
        meta.mtime_nsec(),
        meta.ctime(),
        meta.ctime_nsec(),
        meta.dev(),
        meta.ino()
    )
}

#[cfg(not(unix))]
fn stamp_of(meta: &Metadata) -> String {
    let modified = meta.modified().ok();
    let nanos = modified.and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok());
    format!("{}:{}", meta.len(), nanos.map_or(0, |d| d.as_nanos()))
}

/// The stamp of one file (through symbolic links): its metadata only.
pub(crate) fn stamp_file(connector: &str, path: &Path) -> Result<String, ConnectorError> {
    let meta = std::fs::metadata(path).map_err(|e| io_err(connector, path, e))?;
    Ok(stamp_of(&meta))
}

/// The stamp of a folder: names and stamps of its files with `ext`, hashed.
pub(crate) fn stamp_dir(connector: &str, dir: &Path, ext: &str) -> Result<String, ConnectorError> {
    let mut hasher = Xxh3::new();
    for path in list_dir(connector, dir, ext)? {
        let name = path.file_name().unwrap_or_default().to_string_lossy();
        hasher.update(name.as_bytes());
        hasher.update(&[0]);
        hasher.update(stamp_file(connector, &path)?.as_bytes());
        hasher.update(&[0]);
    }
    Ok(format!("stamp:{:032x}", hasher.digest128()))
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
    atomic_write_with(connector, path, |out| {
        out.write_all(bytes).map_err(|e| io_err(connector, path, e))
    })
}

/// Replace `path` atomically with what `fill` writes, streaming (see
/// `atomic`: mode, owner and symbolic links are kept).
pub(crate) fn atomic_write_with<T>(
    connector: &str,
    path: &Path,
    fill: impl FnOnce(&mut BufWriter<File>) -> Result<T, ConnectorError>,
) -> Result<T, ConnectorError> {
    atomic::replace_with(connector, path, fill)
}

/// Lossy text of raw bytes, cut for quarantine payloads.
pub(crate) fn payload(bytes: &[u8]) -> String {
    crate::excerpt(&String::from_utf8_lossy(bytes), 4096)
}

/// The capabilities the three file kinds share; only vCard has version
/// tokens (and so conditional writes).
pub(crate) fn capabilities(versions: bool) -> Capabilities {
    Capabilities {
        read: true,
        write: true,
        delete: true,
        fingerprint: true,
        version_tokens: versions,
        list_versions: false,
        fetch: false,
        change_feed: false,
        key_field: None,
        client_ids: true,
        finds_created: true,
        partial_update: true,
        conditional_writes: versions,
        writable: None,
        batch_size: 10_000,
    }
}

/// The error for a record of the existing file that cannot be read back
/// while writing: the write is refused and the file stays as it was.
pub(crate) fn unreadable(
    connector: &str,
    path: &Path,
    position: &str,
    reason: &str,
) -> ConnectorError {
    ConnectorError::Other {
        connector: connector.to_string(),
        message: format!(
            "{}: {position}: {reason} — fix the file before writing to it",
            path.display()
        ),
    }
}
