//! Files kept as the user had them: a rewrite keeps the mode, owner and
//! symbolic links of the file it replaces, and never shares a temporary
//! file with another writer; the stamp moves with every change.

use crate::files::CARD;
use crate::{connector, create, read_fields, update};
use serde_json::json;
use std::os::unix::fs::{symlink, MetadataExt, PermissionsExt};
use std::path::Path;

fn mode(path: &Path) -> u32 {
    std::fs::metadata(path).unwrap().mode() & 0o7777
}

fn chmod(path: &Path, mode: u32) {
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).unwrap();
}

#[test]
fn rewrite_keeps_mode_0600() {
    let dir = tempfile::tempdir().unwrap();
    let files = [
        ("csv", "c.csv", "id,name\n1,a\n"),
        ("jsonl", "j.jsonl", "{\"id\":\"1\"}\n"),
    ];
    for (kind, name, text) in files {
        let path = dir.path().join(name);
        std::fs::write(&path, text).unwrap();
        chmod(&path, 0o600);
        let mut c = connector(dir.path(), kind, json!({ "path": name }));
        c.write("id", &[update("1", json!({"name": "b"}))]).unwrap()[0]
            .as_ref()
            .unwrap();
        assert_eq!(mode(&path), 0o600, "{kind}");
    }
    let card = dir.path().join("anna-1.vcf");
    std::fs::write(&card, CARD).unwrap();
    chmod(&card, 0o640);
    let mut c = connector(dir.path(), "vcard", json!({"path": "."}));
    c.write("uid", &[update("anna-1", json!({"title": "Dr."}))])
        .unwrap()[0]
        .as_ref()
        .unwrap();
    assert_eq!(mode(&card), 0o640);
}

#[test]
fn new_files_get_the_umask_default() {
    let dir = tempfile::tempdir().unwrap();
    let reference = dir.path().join("reference");
    std::fs::File::create(&reference).unwrap();
    let mut c = connector(dir.path(), "jsonl", json!({"path": "new.jsonl"}));
    c.write("id", &[create("ek-1", json!({}))]).unwrap()[0]
        .as_ref()
        .unwrap();
    assert_eq!(mode(&dir.path().join("new.jsonl")), mode(&reference));
}

#[test]
fn rewrite_keeps_owner_and_group_as_root() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("c.csv");
    std::fs::write(&path, "id,name\n1,a\n").unwrap();
    if std::fs::metadata(&path).unwrap().uid() != 0 {
        eprintln!("not root: only root can hand a file to another owner");
        return;
    }
    std::os::unix::fs::chown(&path, Some(4242), Some(4343)).unwrap();
    let mut c = connector(dir.path(), "csv", json!({"path": "c.csv"}));
    c.write("id", &[update("1", json!({"name": "b"}))]).unwrap()[0]
        .as_ref()
        .unwrap();
    let meta = std::fs::metadata(&path).unwrap();
    assert_eq!((meta.uid(), meta.gid()), (4242, 4343));
}

#[test]
fn csv_symlink_target_rewritten() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join("exports")).unwrap();
    let export = dir.path().join("exports/crm-2025.csv");
    std::fs::write(&export, "id,name\n1,a\n2,b\n3,c\n").unwrap();
    symlink("exports/crm-2025.csv", dir.path().join("crm.csv")).unwrap();
    let mut c = connector(dir.path(), "csv", json!({"path": "crm.csv"}));
    let ops = [
        create("4", json!({"name": "d"})),
        create("5", json!({"name": "e"})),
    ];
    for r in c.write("id", &ops).unwrap() {
        r.unwrap();
    }
    let link = std::fs::symlink_metadata(dir.path().join("crm.csv")).unwrap();
    assert!(link.file_type().is_symlink(), "the link stays a link");
    assert_eq!(
        std::fs::read_to_string(&export).unwrap(),
        "id,name\n1,a\n2,b\n3,c\n4,d\n5,e\n"
    );
    assert_eq!(read_fields(c.as_mut()).len(), 5);
}

#[test]
fn temp_file_unique_per_process() {
    // Another process's write in flight, under the name every process used.
    let dir = tempfile::tempdir().unwrap();
    let theirs = dir.path().join(".crm.csv.einklang-tmp");
    std::fs::write(&theirs, "id,name\n9,theirs\n").unwrap();
    std::fs::write(dir.path().join("crm.csv"), "id,name\n1,a\n").unwrap();
    let mut c = connector(dir.path(), "csv", json!({"path": "crm.csv"}));
    c.write("id", &[update("1", json!({"name": "b"}))]).unwrap()[0]
        .as_ref()
        .unwrap();
    assert_eq!(
        std::fs::read_to_string(&theirs).unwrap(),
        "id,name\n9,theirs\n",
        "the other writer's temporary file is not ours to touch"
    );
    let ours = std::fs::read_to_string(dir.path().join("crm.csv")).unwrap();
    assert_eq!(ours, "id,name\n1,b\n");
}

#[test]
fn concurrent_writers_of_one_file_never_fail_or_mix() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("d.jsonl"), "").unwrap();
    let threads: Vec<_> = (0..2)
        .map(|t| {
            let root = dir.path().to_path_buf();
            std::thread::spawn(move || {
                let mut c = connector(&root, "jsonl", json!({"path": "d.jsonl"}));
                for i in 0..50 {
                    let op = create(&format!("t{t}-{i}"), json!({}));
                    c.write("id", &[op]).unwrap()[0].as_ref().unwrap();
                }
            })
        })
        .collect();
    threads.into_iter().for_each(|t| t.join().unwrap());
    let mut c = connector(dir.path(), "jsonl", json!({"path": "d.jsonl"}));
    // Lost updates are possible (no lock: the engine's job lock is the
    // guard), a torn or failed write is not.
    assert!(!read_fields(c.as_mut()).is_empty());
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);
}

/// Every file kind's stamp, and whether `change` moves it.
fn stamps_move(change: impl Fn(&Path)) -> [bool; 3] {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("a.csv"), "id\n1\n").unwrap();
    std::fs::write(dir.path().join("a.jsonl"), "{\"id\":1}\n").unwrap();
    std::fs::write(dir.path().join("a.vcf"), CARD).unwrap();
    let mut kinds = [
        connector(dir.path(), "csv", json!({"path": "a.csv"})),
        connector(dir.path(), "jsonl", json!({"path": "a.jsonl"})),
        connector(dir.path(), "vcard", json!({"path": "."})),
    ];
    let before: Vec<_> = kinds.iter_mut().map(|c| c.stamp().unwrap()).collect();
    assert!(before.iter().all(Option::is_some));
    change(dir.path());
    let after: Vec<_> = kinds.iter_mut().map(|c| c.stamp().unwrap()).collect();
    [0, 1, 2].map(|i| before[i] != after[i])
}

fn each_file(dir: &Path, f: impl Fn(&Path)) {
    for name in ["a.csv", "a.jsonl", "a.vcf"] {
        f(&dir.join(name));
    }
}

#[test]
fn stamp_moves_when_a_file_is_appended_touched_or_renamed() {
    assert_eq!(stamps_move(|_| {}), [false; 3], "nothing changed");
    let append = |p: &Path| {
        use std::io::Write;
        let mut f = std::fs::OpenOptions::new().append(true).open(p).unwrap();
        f.write_all(b"\n").unwrap();
    };
    assert_eq!(stamps_move(|d| each_file(d, append)), [true; 3], "appended");
    let touch = |p: &Path| {
        let f = std::fs::File::options().write(true).open(p).unwrap();
        f.set_modified(std::time::SystemTime::UNIX_EPOCH).unwrap();
    };
    assert_eq!(stamps_move(|d| each_file(d, touch)), [true; 3], "touched");
    // Replaced by a rename: same bytes, a new inode (and for the folder, a
    // card under another name).
    let renamed = |d: &Path| {
        for name in ["a.csv", "a.jsonl"] {
            std::fs::copy(d.join(name), d.join("tmp")).unwrap();
            std::fs::rename(d.join("tmp"), d.join(name)).unwrap();
        }
        std::fs::rename(d.join("a.vcf"), d.join("b.vcf")).unwrap();
    };
    assert_eq!(stamps_move(renamed), [true; 3], "renamed");
}
