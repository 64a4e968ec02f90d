//! Broken configs: each file in `tests/broken/` must be rejected with every
//! problem at once — connector settings checked by their kinds, as
//! `einklang check` does — located at file:line:col, in plain language. The
//! exact output is pinned with insta snapshots (`tests/snapshots/`).

use std::path::Path;

const SECRET: &str = "s3cr3t-value-never-printed";

fn env(var: &str) -> Option<String> {
    (var == "KNOWN_SECRET").then(|| SECRET.to_string())
}

fn settings(kind: &str, s: &einklang_connectors::Settings) -> Vec<(Option<String>, String)> {
    einklang_connectors::validate_settings(kind, s)
        .into_iter()
        .map(|p| (p.key, p.message))
        .collect()
}

#[test]
fn every_broken_config_is_reported_in_full() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/broken");
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    files.sort();
    assert!(files.len() >= 12, "expected at least 12 broken configs");
    for file in files {
        let text = std::fs::read_to_string(&file).unwrap();
        let name = file.file_stem().unwrap().to_string_lossy().to_string();
        let errors =
            einklang_config::load_str_with(&text, Path::new("einklang.toml"), &env, &settings)
                .expect_err(&format!("{name} must be rejected"));
        let report = errors.to_string();
        assert!(
            !report.contains(SECRET),
            "{name}: a secret value was printed"
        );
        assert!(
            report.lines().all(|l| l.starts_with("einklang.toml:")),
            "{name}: unlocated problem\n{report}"
        );
        insta::assert_snapshot!(name, report);
    }
}
