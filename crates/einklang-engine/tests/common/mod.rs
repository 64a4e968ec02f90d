//! Shared by the engine's file-based end-to-end tests: running one
//! scenario against SQLite and against a fresh database of the real
//! PostgreSQL named by `EINKLANG_TEST_PG` (required when `CI=true`).

#![allow(dead_code)] // each test file uses some of these

use einklang_config::Config;
use einklang_store::HubStore;
use std::path::Path;

/// Run `scenario` with the config `setup` writes (given a store location,
/// `None` for the default SQLite file) on a fresh PostgreSQL database
/// named `name`, dropped afterwards.
pub fn on_postgres(
    name: &str,
    setup: impl FnOnce(Option<&str>) -> (tempfile::TempDir, Config),
    scenario: impl FnOnce(&Config, &mut dyn HubStore, &Path),
) {
    let Some(db) = einklang_testkit::PgDb::new(name) else {
        return;
    };
    let (dir, config) = setup(Some(&db.url));
    let mut store = einklang_store::open(&config.store.as_open_str()).unwrap();
    scenario(&config, store.as_mut(), dir.path());
}

/// A temporary folder holding `config` as `einklang.toml` (its `store =
/// "hub.db"` line replaced by `store_line` when given), and the config
/// loaded from there.
pub fn config_in_dir(config: &str, store_line: Option<&str>) -> (tempfile::TempDir, Config) {
    let dir = tempfile::tempdir().unwrap();
    let text = match store_line {
        Some(url) => config.replace("store = \"hub.db\"", &format!("store = \"{url}\"")),
        None => config.to_string(),
    };
    std::fs::write(dir.path().join("einklang.toml"), text).unwrap();
    let config = einklang_config::load(&dir.path().join("einklang.toml")).expect("config loads");
    (dir, config)
}
