//! Atomic replacement of a file, keeping it as the user had it.
//!
//! [`replace_with`] streams the new content into a temporary file in the
//! folder of the file it replaces, flushes and fsyncs it, and renames it
//! over the file: a crash leaves the old file or the new one, never half of
//! one. Before the rename the new file gets the old one's permission bits
//! and, where the system allows it (as root; as the owner, the group if we
//! belong to it), its owner and group; a file that did not exist gets what
//! the process's umask gives any new file. A symbolic link is followed, also
//! through a chain of links, a relative target resolved against the folder
//! of the link that names it: the *target* is replaced, in the target's own
//! folder, and the link stays a link.
//!
//! The temporary file is `.NAME.PID.N.einklang-tmp` (N counts this
//! process's writes) and created exclusively (`O_EXCL`), so two processes or
//! threads writing the same file never share one; it starts readable by its
//! owner only, so a secret file is never briefly exposed. When anything
//! fails it is removed and the file stays as it was.
//!
//! Hand-written on `std` rather than with `tempfile` or `atomic-write-file`:
//! the part those crates would save is the exclusive create of a unique name
//! (a few lines here), while the rest — following links to the target and
//! carrying over mode and owner — is ours either way, and the crates would
//! bring `rustix` or `nix` and `rand` into the binary.

use super::io_err;
use crate::ConnectorError;
use std::fs::{File, Metadata, OpenOptions};
use std::io::{BufWriter, ErrorKind};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

/// Most symbolic links followed for one path (as Linux allows).
const MAX_LINKS: usize = 40;

/// This process's writes so far: the `N` of the temporary names.
static WRITES: AtomicU64 = AtomicU64::new(0);

/// The file a write to `path` replaces: `path`, or the end of its chain of
/// symbolic links (which need not exist yet).
pub(crate) fn target(path: &Path) -> std::io::Result<PathBuf> {
    let mut current = path.to_path_buf();
    for _ in 0..MAX_LINKS {
        match std::fs::symlink_metadata(&current) {
            Ok(meta) if meta.file_type().is_symlink() => {
                let link = std::fs::read_link(&current)?;
                // `join` keeps an absolute target as it is.
                current = match current.parent() {
                    Some(dir) => dir.join(link),
                    None => link,
                };
            }
            Err(e) if e.kind() != ErrorKind::NotFound => return Err(e),
            _ => return Ok(current),
        }
    }
    Err(std::io::Error::other(format!(
        "more than {MAX_LINKS} symbolic links in a row"
    )))
}

/// A new temporary file beside `target`, created exclusively: owner-only
/// when it is to replace a file (its mode is set later), else with the
/// mode the umask leaves of `0666`.
fn create_temp(target: &Path, replaces: bool) -> std::io::Result<(PathBuf, File)> {
    let dir = target
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let name = target.file_name().unwrap_or_default().to_string_lossy();
    let pid = std::process::id();
    loop {
        let n = WRITES.fetch_add(1, Ordering::Relaxed);
        let tmp = dir.join(format!(".{name}.{pid}.{n}.einklang-tmp"));
        let mut options = OpenOptions::new();
        options.write(true).create_new(true);
        #[cfg(unix)]
        std::os::unix::fs::OpenOptionsExt::mode(&mut options, if replaces { 0o600 } else { 0o666 });
        match options.open(&tmp) {
            // A leftover of a crashed process that had our pid: next number.
            Err(e) if e.kind() == ErrorKind::AlreadyExists => continue,
            other => return other.map(|file| (tmp, file)),
        }
    }
}

/// Give `file` the owner, group and permission bits of `old`, as far as
/// the system lets us change the owner (it always lets us set the mode).
#[cfg(unix)]
fn keep_owner_and_mode(file: &File, old: &Metadata) -> std::io::Result<()> {
    use std::os::unix::fs::{fchown, MetadataExt, PermissionsExt};
    let new = file.metadata()?;
    if (new.uid(), new.gid()) != (old.uid(), old.gid())
        && fchown(file, Some(old.uid()), Some(old.gid())).is_err()
    {
        // Not root: the group alone, when we belong to it; else the file becomes ours.
        let _ = fchown(file, None, Some(old.gid()));
    }
    // After chown, which may clear set-id bits.
    file.set_permissions(std::fs::Permissions::from_mode(old.mode() & 0o7777))
}

#[cfg(not(unix))]
fn keep_owner_and_mode(file: &File, old: &Metadata) -> std::io::Result<()> {
    file.set_permissions(old.permissions())
}

/// Replace `path` (through its symbolic links) atomically with what `fill`
/// writes; see the module doc. When `fill` fails, the temporary file is
/// removed and `path` stays as it was.
pub(crate) fn replace_with<T>(
    connector: &str,
    path: &Path,
    fill: impl FnOnce(&mut BufWriter<File>) -> Result<T, ConnectorError>,
) -> Result<T, ConnectorError> {
    let io = |e| io_err(connector, path, e);
    let target = target(path).map_err(io)?;
    let old = match std::fs::metadata(&target) {
        Ok(meta) => Some(meta),
        Err(e) if e.kind() == ErrorKind::NotFound => None,
        Err(e) => return Err(io(e)),
    };
    let (tmp, file) =
        create_temp(&target, old.is_some()).map_err(|e| io_err(connector, &target, e))?;
    let mut out = BufWriter::with_capacity(1 << 20, file);
    let result = fill(&mut out).and_then(|value| {
        let file = out.into_inner().map_err(|e| io(e.into_error()))?;
        if let Some(old) = &old {
            keep_owner_and_mode(&file, old).map_err(io)?;
        }
        file.sync_all().map_err(io)?;
        std::fs::rename(&tmp, &target).map_err(io)?;
        Ok(value)
    });
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    result
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    fn write(path: &Path, text: &str) -> Result<(), ConnectorError> {
        replace_with("c", path, |out| {
            out.write_all(text.as_bytes())
                .map_err(|e| io_err("c", path, e))
        })
    }

    #[cfg(unix)]
    #[test]
    fn a_chain_of_relative_links_is_followed_to_its_target() {
        let dir = tempfile::tempdir().unwrap();
        let (real, sub) = (dir.path().join("data"), dir.path().join("links"));
        std::fs::create_dir_all(&real).unwrap();
        std::fs::create_dir_all(&sub).unwrap();
        std::fs::write(real.join("export.csv"), "old").unwrap();
        // links/b.csv → ../data/export.csv, links/a.csv → b.csv
        std::os::unix::fs::symlink("../data/export.csv", sub.join("b.csv")).unwrap();
        std::os::unix::fs::symlink("b.csv", sub.join("a.csv")).unwrap();
        write(&sub.join("a.csv"), "new").unwrap();
        assert_eq!(
            std::fs::read_to_string(real.join("export.csv")).unwrap(),
            "new"
        );
        for link in ["a.csv", "b.csv"] {
            let meta = std::fs::symlink_metadata(sub.join(link)).unwrap();
            assert!(meta.file_type().is_symlink(), "{link} stays a link");
        }
        assert_eq!(
            std::fs::read_dir(&sub).unwrap().count(),
            2,
            "nothing left in links/"
        );
    }

    #[cfg(unix)]
    #[test]
    fn a_dangling_link_gets_its_target_created_and_a_loop_is_an_error() {
        let dir = tempfile::tempdir().unwrap();
        std::os::unix::fs::symlink("new.jsonl", dir.path().join("l.jsonl")).unwrap();
        write(&dir.path().join("l.jsonl"), "x").unwrap();
        assert_eq!(
            std::fs::read_to_string(dir.path().join("new.jsonl")).unwrap(),
            "x"
        );
        std::os::unix::fs::symlink("loop", dir.path().join("loop")).unwrap();
        let err = write(&dir.path().join("loop"), "x")
            .unwrap_err()
            .to_string();
        assert!(err.contains("symbolic links in a row"), "{err}");
    }

    #[test]
    fn temporary_names_carry_the_pid_and_differ_per_call() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("f.csv");
        let seen = |_: &mut BufWriter<File>| {
            let names: Vec<String> = std::fs::read_dir(dir.path())
                .unwrap()
                .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
                .collect();
            Ok(names)
        };
        let first = replace_with("c", &path, seen).unwrap();
        let second = replace_with("c", &path, seen).unwrap();
        let pid = format!(".f.csv.{}.", std::process::id());
        assert!(
            first[0].starts_with(&pid) && first[0].ends_with(".einklang-tmp"),
            "{first:?}"
        );
        assert_ne!(first, second);
    }

    #[test]
    fn a_failed_fill_removes_the_temporary_file_and_keeps_the_old_one() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("f.csv");
        std::fs::write(&path, "old").unwrap();
        let failed = replace_with("c", &path, |out| {
            out.write_all(b"half").unwrap();
            Err::<(), _>(ConnectorError::Other {
                connector: "c".into(),
                message: "boom".into(),
            })
        });
        assert!(failed.is_err());
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "old");
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);
    }
}
