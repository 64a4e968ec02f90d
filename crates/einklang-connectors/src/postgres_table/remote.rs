//! The connection of a `postgres_table` connector: connecting on first
//! use, running each remote call traced (method, the table as its path,
//! `ok` or the error, duration) and its errors named — never with the
//! connection URL's password, which [`redact_dsn`] masks wherever a URL
//! is shown.

use super::{sql, PgTable};
use crate::ConnectorError;
use postgres::{Client, NoTls};
use std::time::Instant;

impl PgTable {
    /// An error naming the connector and what was done, never the URL.
    pub(super) fn error(&self, doing: &str, e: postgres::Error) -> ConnectorError {
        ConnectorError::Other {
            connector: self.name.clone(),
            message: format!(
                "{doing} on table `{}`: {}",
                self.settings.table,
                sql::describe(&e)
            ),
        }
    }

    /// A new connection, traced as `CONNECT` to the masked URL.
    pub(super) fn connect(&self) -> Result<Client, ConnectorError> {
        let started = Instant::now();
        let result = Client::connect(&self.settings.url, NoTls);
        let server = redact_dsn(&self.settings.url);
        traced(&self.name, "CONNECT", &server, &result, started);
        result.map_err(|e| self.error("connecting", e))
    }

    /// The connection, made on first use.
    pub(super) fn client(&mut self) -> Result<&mut Client, ConnectorError> {
        if self.client.is_none() {
            self.client = Some(self.connect()?);
        }
        Ok(self.client.as_mut().expect("just connected"))
    }

    /// One remote call on the connection (`method`: `SELECT`, `WRITE`,
    /// `INSTALL`), traced; a failure names what was being done.
    pub(super) fn run<T>(
        &mut self,
        method: &str,
        doing: &str,
        call: impl FnOnce(&mut Client) -> Result<T, postgres::Error>,
    ) -> Result<T, ConnectorError> {
        let client = self.client()?;
        let started = Instant::now();
        let result = call(client);
        traced(&self.name, method, &self.settings.table, &result, started);
        result.map_err(|e| self.error(doing, e))
    }
}

/// The event of one remote call of connector `name` on `path` (the
/// table, or the masked URL when connecting).
pub(super) fn traced<T>(
    name: &str,
    method: &str,
    path: &str,
    result: &Result<T, postgres::Error>,
    started: Instant,
) {
    match result {
        Ok(_) => crate::calls::remote_call(name, method, path, Ok(&"ok"), started),
        Err(e) => {
            let error = sql::describe(e);
            crate::calls::remote_call(name, method, path, Err(&error), started)
        }
    }
}

/// A connection string with its password masked: the password of a URL's
/// user (`postgres://u:***@host/db`) and every `password=` value (a URL's
/// query, `key=value` settings, quoted or not).
pub fn redact_dsn(dsn: &str) -> String {
    let dsn = match dsn.split_once("://") {
        Some((scheme, rest)) => {
            let end = rest.find(['/', '?']).unwrap_or(rest.len());
            match rest[..end].rsplit_once('@') {
                Some((user, host)) if user.contains(':') => {
                    let name = user.split(':').next().unwrap_or("");
                    format!("{scheme}://{name}:***@{host}{}", &rest[end..])
                }
                _ => dsn.to_string(),
            }
        }
        None => dsn.to_string(),
    };
    let mut out = String::new();
    let mut rest = dsn.as_str();
    while let Some(i) = rest.find("password=") {
        out.push_str(&rest[..i + 9]);
        out.push_str("***");
        let value = &rest[i + 9..];
        let end = match value.strip_prefix('\'') {
            Some(quoted) => quoted.find('\'').map_or(value.len(), |j| j + 2),
            None => value.find(['&', ' ']).unwrap_or(value.len()),
        };
        rest = &value[end..];
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests {
    use super::redact_dsn;

    #[test]
    fn passwords_in_connection_strings_are_masked() {
        let cases = [
            (
                "postgres://u:s3cret@h:5432/db",
                "postgres://u:***@h:5432/db",
            ),
            (
                "postgres://u:p@ss@h/db?sslmode=disable",
                "postgres://u:***@h/db?sslmode=disable",
            ),
            ("postgres://u@h/db", "postgres://u@h/db"),
            (
                "postgres://h/db?user=u&password=s3cret&x=1",
                "postgres://h/db?user=u&password=***&x=1",
            ),
            (
                "host=h password=s3cret user=u",
                "host=h password=*** user=u",
            ),
            (
                "host=h password='s3 cret' user=u",
                "host=h password=*** user=u",
            ),
        ];
        for (dsn, masked) in cases {
            assert_eq!(redact_dsn(dsn), masked, "{dsn}");
        }
    }
}
