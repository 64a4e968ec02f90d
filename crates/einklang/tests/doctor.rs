//! `einklang doctor` as a user runs it on the two-way example (a CSV
//! client list ↔ a vCard folder): nothing found after a sync (exit 0);
//! a store broken on purpose — a hub change its clean links never got, a
//! tombstone whose links never got their delete, an outbox entry of no
//! link — found (exit 1); `--repair` fixes it as a run of its own (exit
//! 0), and the next sync writes what was owed.

use einklang_store::{
    FieldChange, HubStore, NewRun, OutboxEntry, OutboxOp, OutboxWrite, RecordId, RecordWrite,
    RunSource, SyncBatch,
};
use serde_json::{json, Value};
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

/// `args` must exit with `code`; returns its output.
fn expect(config: &Path, args: &[&str], code: i32) -> Output {
    let out = einklang(config, args);
    assert_eq!(
        out.status.code(),
        Some(code),
        "einklang {args:?}:\n{}\n{}",
        stdout(&out),
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

fn json_of(out: &Output) -> Value {
    serde_json::from_slice(&out.stdout).unwrap()
}

/// The two-way example, synced once.
fn synced() -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let example = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples/two-way");
    let data = dir.path().join("data/phonebook");
    std::fs::create_dir_all(&data).unwrap();
    std::fs::copy(
        example.join("einklang.toml"),
        dir.path().join("einklang.toml"),
    )
    .unwrap();
    std::fs::copy(
        example.join("data/mandanten.csv"),
        dir.path().join("data/mandanten.csv"),
    )
    .unwrap();
    for card in std::fs::read_dir(example.join("data/phonebook")).unwrap() {
        let card = card.unwrap();
        std::fs::copy(card.path(), data.join(card.file_name())).unwrap();
    }
    let config = dir.path().join("einklang.toml");
    expect(&config, &["sync", "office-phone"], 0);
    (dir, config)
}

fn record_of(store: &mut dyn HubStore, office_id: &str) -> RecordId {
    store
        .find_links("default", "office", "contact", &[office_id])
        .unwrap()[0]
        .as_ref()
        .unwrap()
        .record_id
}

/// Jürgen's company changed in the hub alone (his clean links never
/// marked), Grace deleted in the hub alone, an outbox entry of no link.
fn break_store(dir: &Path) {
    let mut store = einklang_store::open(dir.join("einklang.db").to_str().unwrap()).unwrap();
    let new = NewRun {
        job: "break".into(),
        source: RunSource::Manual,
        triggered_by: "test".into(),
    };
    let run = store.start_run("default", &new).unwrap();
    let (juergen, grace) = (
        record_of(store.as_mut(), "M-1001"),
        record_of(store.as_mut(), "M-1003"),
    );
    let mut values = store
        .record("default", "contact", juergen)
        .unwrap()
        .unwrap()
        .values;
    values.insert("company".into(), json!("Weißmüller Hochbau GmbH"));
    let change = |old, new| FieldChange { old, new };
    let batch = SyncBatch {
        records: vec![
            RecordWrite {
                record_id: juergen,
                values: Some(values),
                deleted: None,
                origin: "hub".into(),
                history: [(
                    "company".to_string(),
                    change(
                        json!("Weißmüller Bau GmbH"),
                        json!("Weißmüller Hochbau GmbH"),
                    ),
                )]
                .into(),
            },
            RecordWrite {
                record_id: grace,
                values: None,
                deleted: Some(true),
                origin: "hub".into(),
                history: [("_deleted".to_string(), change(json!(false), json!(true)))].into(),
            },
        ],
        outbox: vec![OutboxWrite::Queue(OutboxEntry {
            id: 0,
            link_id: 999_999,
            record_id: grace,
            // a connector since removed from the config: no sync settles it
            connector: "old-crm".into(),
            entity: "contact".into(),
            op: OutboxOp::Update,
            idem_key: "link:999999:v1:update".into(),
            payload: Default::default(),
            new_base: Default::default(),
            target: "42".into(),
            expected_version: None,
            state: "sending".into(),
        })],
        ..Default::default()
    };
    store.apply_sync("default", run, &batch).unwrap();
}

#[test]
fn doctor_finds_what_is_broken_repairs_it_and_the_sync_writes_what_was_owed() {
    let (dir, config) = synced();
    let out = expect(&config, &["doctor"], 0);
    let text = stdout(&out);
    assert!(text.contains("nothing wrong"), "{text}");
    assert!(!text.contains("PROBLEM"), "{text}");
    let report = json_of(&expect(&config, &["doctor", "--json"], 0));
    assert_eq!(report["problems"], 0);
    assert_eq!(report["store"].as_array().unwrap().len(), 13);

    break_store(dir.path());
    // an ordinary sync sees none of it
    let quiet = json_of(&expect(&config, &["sync", "office-phone", "--json"], 0));
    assert_eq!(quiet["counters"]["remote_writes"].as_u64().unwrap_or(0), 0);

    let text = stdout(&expect(&config, &["doctor"], 1));
    for line in [
        "PROBLEM  deletes owed: 2 clean link(s) of deleted records",
        "PROBLEM  outbox → links: 1 outbox row(s)",
        "PROBLEM  links of `office` contact: 2 clean link(s) differ from the hub",
        "PROBLEM  links of `phone` contact: 2 clean link(s) differ from the hub",
        "4 problem(s); `einklang doctor --repair` repairs 4 of them",
    ] {
        assert!(text.contains(line), "missing {line:?} in\n{text}");
    }
    let report = json_of(&expect(
        &config,
        &["doctor", "--json", "--examples", "1"],
        1,
    ));
    let deletes = &report["store"][2];
    assert_eq!(
        (
            &deletes["check"],
            &deletes["count"],
            deletes["examples"].as_array().unwrap().len()
        ),
        (&json!("tombstones_owing_delete"), &json!(2), 1)
    );

    let out = expect(&config, &["doctor", "--repair"], 0);
    let text = stdout(&out);
    assert!(
        text.contains("deletes owed: 2, outbox → links: 1, links marked dirty: 4"),
        "{text}"
    );
    assert!(text.contains("after the repair: nothing wrong"), "{text}");
    let runs = stdout(&expect(&config, &["runs"], 0));
    assert!(
        runs.contains("doctor") && runs.contains("succeeded"),
        "{runs}"
    );

    let r = json_of(&expect(&config, &["sync", "office-phone", "--json"], 0));
    assert_eq!(r["counters"]["pushed_update"], 2, "{r:#}");
    assert_eq!(r["counters"]["pushed_delete"], 2, "{r:#}");
    let csv = std::fs::read_to_string(dir.path().join("data/mandanten.csv")).unwrap();
    assert!(csv.contains("Weißmüller Hochbau GmbH"), "{csv}");
    assert!(!csv.contains("O'Brien"), "{csv}");
    let cards: Vec<String> = std::fs::read_dir(dir.path().join("data/phonebook"))
        .unwrap()
        .map(|c| std::fs::read_to_string(c.unwrap().path()).unwrap())
        .collect();
    assert!(cards.iter().any(|c| c.contains("Weißmüller Hochbau GmbH")));
    assert!(!cards.iter().any(|c| c.contains("O'Brien")), "{cards:?}");

    expect(&config, &["doctor"], 0);
    let again = json_of(&expect(&config, &["sync", "office-phone", "--json"], 0));
    assert_eq!(again["counters"]["remote_writes"].as_u64().unwrap_or(0), 0);
}
