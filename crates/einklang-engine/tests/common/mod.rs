//! Shared by the engine's file-based end-to-end tests: running one
//! scenario against SQLite and against a fresh database of the real
//! PostgreSQL named by `EINKLANG_TEST_PG` (required when `CI=true`).

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
