//! The real test servers, as `scripts/test` announces them in the
//! environment: `EINKLANG_TEST_PG` (PostgreSQL), `EINKLANG_TEST_DAV`
//! (Radicale) and `EINKLANG_TEST_DIRECTUS` with `…_TOKEN` (Directus).
//!
//! Each guard gives `None` when its variable is missing, so the test
//! returns early with a note on stderr — except under `CI=true`, where a
//! missing server is a failure: CI must never pass by skipping.

use std::sync::atomic::{AtomicU64, Ordering};

/// The user of the Radicale that `scripts/dav.sh` starts.
pub const DAV_USER: &str = "alice";
/// Her password (htpasswd, plain).
pub const DAV_PASSWORD: &str = "alicepw";

/// The value of `var`, or `None` with a note — a panic when `CI=true`.
/// `server` names what `scripts/test` would have started.
pub fn required(var: &str, server: &str) -> Option<String> {
    match std::env::var(var) {
        Ok(value) if !value.is_empty() => Some(value),
        _ if std::env::var("CI").as_deref() == Ok("true") => {
            panic!("{var} is not set but CI=true: run scripts/test, which starts {server}")
        }
        _ => {
            eprintln!("note: {var} not set: skipping what needs {server} (scripts/test sets it)");
            None
        }
    }
}

/// The PostgreSQL base URL (`postgres://postgres@127.0.0.1:PORT/postgres`).
pub fn pg_base() -> Option<String> {
    required("EINKLANG_TEST_PG", "PostgreSQL")
}

/// The Radicale base URL (`http://127.0.0.1:PORT/alice/`), user
/// [`DAV_USER`], password [`DAV_PASSWORD`].
pub fn dav_base() -> Option<String> {
    required("EINKLANG_TEST_DAV", "Radicale")
}

/// A Directus 12 instance and its admin token.
#[derive(Clone, Debug)]
pub struct Directus {
    /// Base URL (`http://127.0.0.1:PORT`).
    pub url: String,
    /// A static admin token.
    pub token: String,
}

/// The Directus that `scripts/directus.sh` started.
pub fn directus() -> Option<Directus> {
    let url = required("EINKLANG_TEST_DIRECTUS", "Directus")?;
    let token = required("EINKLANG_TEST_DIRECTUS_TOKEN", "Directus")?;
    Some(Directus { url, token })
}

/// A fresh database on the test PostgreSQL, dropped (with its sessions)
/// when the guard is.
pub struct PgDb {
    admin: postgres::Client,
    /// The database's name.
    pub name: String,
    /// Its URL.
    pub url: String,
}

impl PgDb {
    /// A new database named after `tag` (lower-case letters, digits and
    /// `_`), unique in this process; `None` outside CI without a server.
    pub fn new(tag: &str) -> Option<PgDb> {
        let base = pg_base()?;
        static N: AtomicU64 = AtomicU64::new(0);
        let tag: String = tag.chars().take(40).collect();
        let n = N.fetch_add(1, Ordering::Relaxed);
        let name = format!("{tag}_{}_{n}", std::process::id());
        let mut admin = postgres::Client::connect(&base, postgres::NoTls)
            .unwrap_or_else(|e| panic!("connecting to EINKLANG_TEST_PG: {e}"));
        // two statements: CREATE DATABASE cannot run in a transaction block
        for sql in [
            format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"),
            format!("CREATE DATABASE {name}"),
        ] {
            admin
                .batch_execute(&sql)
                .unwrap_or_else(|e| panic!("{sql}: {e}"));
        }
        let url = database_url(&base, &name);
        Some(PgDb { admin, name, url })
    }

    /// A new connection to the database.
    pub fn client(&self) -> postgres::Client {
        postgres::Client::connect(&self.url, postgres::NoTls)
            .unwrap_or_else(|e| panic!("connecting to {}: {e}", self.name))
    }

    /// The database's URL with the server's address replaced by `addr`
    /// (a [`crate::FaultProxy`] in front of it).
    pub fn url_via(&self, addr: std::net::SocketAddr) -> String {
        let after_scheme = self.url.find("://").map_or(0, |i| i + 3);
        let rest = &self.url[after_scheme..];
        let authority = rest.split('/').next().unwrap_or(rest);
        let host_at = authority.rfind('@').map_or(0, |i| i + 1);
        let start = after_scheme + host_at;
        let end = after_scheme + authority.len();
        format!("{}{addr}{}", &self.url[..start], &self.url[end..])
    }

    /// Run `statements` (one or more, `;`-separated) on the database.
    pub fn sql(&self, statements: &str) {
        self.client()
            .batch_execute(statements)
            .unwrap_or_else(|e| panic!("{statements}: {e}"));
    }
}

impl Drop for PgDb {
    fn drop(&mut self) {
        let drop = format!("DROP DATABASE IF EXISTS {} WITH (FORCE)", self.name);
        let _ = self.admin.batch_execute(&drop);
    }
}

/// `base` with its database replaced by `name` (a query string stays).
pub fn database_url(base: &str, name: &str) -> String {
    let (url, query) = match base.split_once('?') {
        Some((u, q)) => (u, format!("?{q}")),
        None => (base, String::new()),
    };
    let after_scheme = url.find("://").map_or(0, |i| i + 3);
    let root = match url[after_scheme..].find('/') {
        Some(i) => &url[..after_scheme + i],
        None => url,
    };
    format!("{root}/{name}{query}")
}

#[cfg(test)]
mod tests {
    use super::database_url;

    #[test]
    fn the_database_of_a_url_is_replaced() {
        assert_eq!(
            database_url("postgres://postgres@127.0.0.1:5433/postgres", "t_1"),
            "postgres://postgres@127.0.0.1:5433/t_1"
        );
        assert_eq!(
            database_url("postgres://u:p@h:1/db?sslmode=disable", "x"),
            "postgres://u:p@h:1/x?sslmode=disable"
        );
        assert_eq!(database_url("postgres://h:1", "x"), "postgres://h:1/x");
    }
}
