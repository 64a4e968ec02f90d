//! The binary as a user runs it: `check` on every example and on broken
//! configs, the quickstart job end to end, and secrets that never show.

use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn einklang(config: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_einklang"))
        .arg("--config")
        .arg(config)
        .args(args)
        .env_remove("EINKLANG_CONFIG")
        .output()
        .expect("einklang runs")
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_dir(&entry.path(), &target);
        } else if !entry.file_name().to_string_lossy().contains(".db") {
            std::fs::copy(entry.path(), target).unwrap();
        }
    }
}

#[test]
fn every_example_config_checks() {
    let mut seen = 0;
    for entry in std::fs::read_dir(repo().join("examples")).unwrap() {
        let config = entry.unwrap().path().join("einklang.toml");
        if config.exists() {
            let out = einklang(&config, &["check"]);
            assert!(
                out.status.success(),
                "{}: {}",
                config.display(),
                stdout(&out)
            );
            assert!(stdout(&out).contains(": ok ("), "{}", stdout(&out));
            seen += 1;
        }
    }
    assert!(seen >= 1, "no example configs found");
}

#[test]
fn quickstart_runs_end_to_end() {
    let dir = tempfile::tempdir().unwrap();
    copy_dir(&repo().join("examples/quickstart"), dir.path());
    let config = dir.path().join("einklang.toml");

    let out = einklang(&config, &["sync", "quickstart", "--json"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let report: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(
        report["status"], "partial",
        "the example ships some bad records"
    );
    let created = report["counters"]["created"].as_u64().unwrap();
    let quarantined = report["counters"]["quarantined"].as_u64().unwrap();
    assert!(created > 2000, "created {created}");
    assert!((3..50).contains(&quarantined), "quarantined {quarantined}");
    assert_eq!(report["steps"].as_array().unwrap().len(), 3);

    // Unchanged sources: nothing written.
    let out = einklang(&config, &["sync", "quickstart", "--json"]);
    let again: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(again["counters"]["writes"].as_u64().unwrap_or(0), 0);
    assert_eq!(again["counters"]["sources_unchanged"], 3);

    let runs = stdout(&einklang(&config, &["runs"]));
    assert!(
        runs.contains("quickstart") && runs.contains("partial"),
        "{runs}"
    );
    let q = stdout(&einklang(&config, &["quarantine", "--json"]));
    let q: Value = serde_json::from_str(&q).unwrap();
    assert_eq!(q.as_array().unwrap().len() as u64, quarantined);
    let shown = einklang(&config, &["show", "contact", "1"]);
    assert!(shown.status.success());
    let text = stdout(&shown);
    assert!(text.contains("links") && text.contains("history"), "{text}");
    let missing = einklang(&config, &["show", "contact", "999999"]);
    assert!(!missing.status.success());
    assert!(String::from_utf8_lossy(&missing.stderr).contains("no contact with id 999999"));
}

const SECRET_CONFIG: &str = r#"
[entities.contact]
name = "text"

[connectors.dump]
kind = "jsonl"
path = "${EINKLANG_TEST_SECRET_PATH}"
delimiter = ";"

[map.dump.contact]
id = "id"
[map.dump.contact.fields]
name = "name"

[jobs.pull]
pull = ["dump"]
"#;

#[test]
fn connector_setting_problems_are_located_and_secrets_never_printed() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("einklang.toml");
    std::fs::write(&config, SECRET_CONFIG).unwrap();
    let secret = "s3cr3t-Value-42.jsonl";
    let out = Command::new(env!("CARGO_BIN_EXE_einklang"))
        .arg("--config")
        .arg(&config)
        .arg("check")
        .env("EINKLANG_TEST_SECRET_PATH", secret)
        .output()
        .unwrap();
    let text = stdout(&out);
    assert!(!out.status.success());
    assert!(
        text.contains("einklang.toml:8:") && text.contains("connector `dump`"),
        "{text}"
    );
    assert!(text.contains("delimiter"), "{text}");
    assert!(!text.contains(secret) && !String::from_utf8_lossy(&out.stderr).contains(secret));

    let out = einklang(&config, &["check"]);
    let text = stdout(&out);
    assert!(
        text.contains("EINKLANG_TEST_SECRET_PATH") && text.contains("not set"),
        "{text}"
    );
}
