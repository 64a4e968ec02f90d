//! Shared by the engine's file-based end-to-end tests: running one
//! scenario against SQLite and against a fresh database of the real
//! PostgreSQL named by `EINKLANG_TEST_PG` (required when `CI=true`).

use einklang_config::Config;
use einklang_store::HubStore;
use std::path::Path;

/// The PostgreSQL base URL; fails under CI when it is missing.
pub fn pg_base() -> Option<String> {
    match std::env::var("EINKLANG_TEST_PG") {
        Ok(url) => Some(url),
        Err(_) if std::env::var("CI").as_deref() == Ok("true") => {
            panic!("EINKLANG_TEST_PG is not set: run scripts/test, which starts PostgreSQL")
        }
        Err(_) => {
            eprintln!(
                "EINKLANG_TEST_PG not set: skipping the PostgreSQL run (scripts/test sets it)"
            );
            None
        }
    }
}

fn postgres_admin(base: &str) -> impl FnMut(&str) {
    let mut client =
        postgres::Client::connect(base, postgres::NoTls).expect("connect to PostgreSQL");
    move |sql| client.batch_execute(sql).expect(sql)
}

/// Run `scenario` with the config `setup` writes (given a store location,
/// `None` for the default SQLite file) on a fresh PostgreSQL database
/// named `name`, dropped afterwards.
pub fn on_postgres(
    name: &str,
    setup: impl FnOnce(Option<&str>) -> (tempfile::TempDir, Config),
    scenario: impl FnOnce(&Config, &mut dyn HubStore, &Path),
) {
    let Some(base) = pg_base() else { return };
    let db = format!("{name}_{}", std::process::id());
    let mut admin = postgres_admin(&base);
    admin(&format!("DROP DATABASE IF EXISTS {db}"));
    admin(&format!("CREATE DATABASE {db}"));
    let url = format!("{}/{db}", base.rsplit_once('/').unwrap().0);
    let (dir, config) = setup(Some(&url));
    let mut store = einklang_store::open(&config.store.as_open_str()).unwrap();
    scenario(&config, store.as_mut(), dir.path());
    drop(store);
    admin(&format!("DROP DATABASE {db}"));
}
