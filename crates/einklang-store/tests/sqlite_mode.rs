//! The SQLite hub store's file holds every record: a new one is created
//! readable by its owner only, and so are its WAL siblings; an existing one
//! keeps the mode its owner gave it.
#![cfg(unix)]

use std::os::unix::fs::PermissionsExt;
use std::path::Path;

fn mode(path: &Path) -> u32 {
    std::fs::metadata(path).unwrap().permissions().mode() & 0o777
}

#[test]
fn store_created_0600() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("hub.db");
    let store = einklang_store::open(db.to_str().unwrap()).unwrap();
    assert_eq!(mode(&db), 0o600);
    for sibling in ["hub.db-wal", "hub.db-shm"] {
        let path = dir.path().join(sibling);
        assert!(path.exists(), "{sibling}: the store uses WAL");
        assert_eq!(mode(&path), 0o600, "{sibling}");
    }
    drop(store);
}

#[test]
fn existing_store_keeps_its_mode() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("hub.db");
    drop(einklang_store::open(db.to_str().unwrap()).unwrap());
    std::fs::set_permissions(&db, std::fs::Permissions::from_mode(0o640)).unwrap();
    drop(einklang_store::open(db.to_str().unwrap()).unwrap());
    assert_eq!(mode(&db), 0o640);
}
