//! `postgres_table`: a user's existing PostgreSQL table (a Supabase
//! `kontakte`, a `bookings` table) as a two-way peer.
//!
//! - Records are rows as JSON objects (`row_to_json`), keyed by the `key`
//!   column. The version token is the row's `xmin` (the transaction that
//!   last wrote it): it changes on every write, like Advoware's `rowId`,
//!   and costs no column of the user's.
//! - Reads: `list` gives keys and versions, `fetch` rows by key, `read`
//!   streams the table. With `change_log = true` and the change log
//!   installed (`einklang connector install NAME`: a table
//!   `einklang_changes` and a row trigger, as Heroku Connect does),
//!   `changes` gives what was inserted, updated or deleted since a cursor;
//!   the trigger also `NOTIFY`s `einklang_changes` for near-real-time use.
//! - Writes go in one transaction per call, each op in a savepoint (a
//!   failing row does not take the others with it), converted to the
//!   table's column types by `json_populate_record`, only the columns given,
//!   conditional on `xmin` when a version is expected, answering the new
//!   key and `xmin` (`RETURNING`: nothing is read back). Our own writes set
//!   `einklang.writer` for the transaction, so the trigger does not log
//!   them: they never come back as changes.
//! - Ids: `ids = "client"` (default) uses einklang's marker as the new row's
//!   key; `ids = "server"` lets the table's default assign it and stores the
//!   marker in `marker_column`, where `find_created` looks (without one,
//!   `find_created` cannot tell and the engine holds such a create until a
//!   read finds its row).

mod remote;
mod sql;

use crate::Lookup;
use crate::{
    Capabilities, ChangeFeed, Connector, ConnectorError, Listed, ReadItem, Rejected, WriteOp,
    WriteOutcome, WriteResult,
};
use postgres::Client;
use sql::Table;

/// Settings of a `postgres_table` connector, checked.
#[derive(Clone, Debug)]
pub struct PgTableSettings {
    /// Connection URL (may hold a password from `${VAR}`: never printed).
    pub url: String,
    /// `table` or `schema.table`.
    pub table: String,
    /// The key column.
    pub key: String,
    /// Whether the table assigns keys (`server`) or takes the marker (`client`).
    pub server_ids: bool,
    /// Column that keeps the marker of rows einklang created (server ids).
    pub marker_column: Option<String>,
    /// Read changes from the installed change log.
    pub change_log: bool,
    /// Or read changes by a timestamp column the application keeps
    /// (`updated_at`): rows with a newer value since the last read.
    pub updated_column: Option<String>,
}

/// Seconds an `updated_column` window reaches back before the previous
/// read's start, for transactions that committed after it with an earlier
/// timestamp.
const UPDATED_OVERLAP_S: i64 = 5;

/// The connector.
pub struct PgTable {
    name: String,
    settings: PgTableSettings,
    table: Table,
    client: Option<Client>,
}

impl PgTable {
    /// A connector; it connects on first use.
    pub fn new(name: &str, settings: PgTableSettings) -> Self {
        let table = Table::new(
            &settings.table,
            &settings.key,
            settings.marker_column.as_deref(),
        );
        PgTable {
            name: name.to_string(),
            settings,
            table,
            client: None,
        }
    }
}

impl PgTable {
    /// Create the change log table, its trigger function and this table's
    /// trigger (idempotent). Returns what it did, for the operator.
    fn install_change_log(&mut self) -> Result<Vec<String>, ConnectorError> {
        let statements = self.table.install_sql();
        self.run("INSTALL", "installing the change log", |c| {
            c.batch_execute(&statements)
        })?;
        Ok(vec![
            "table einklang_changes (the change log)".to_string(),
            "function einklang_capture()".to_string(),
            format!(
                "trigger {} on {}",
                self.table.trigger_name(),
                self.settings.table
            ),
        ])
    }
}

impl Connector for PgTable {
    fn name(&self) -> &str {
        &self.name
    }
    fn probe(&mut self) -> Result<String, ConnectorError> {
        let _span = crate::calls::span(&self.name, "postgres_table", "probe");
        let query = self.table.probe();
        self.run("SELECT", "reading", |c| c.query_one(&query, &[]))?;
        Ok(format!("table {} can be read", self.settings.table))
    }
    fn kind(&self) -> &'static str {
        "postgres_table"
    }
    fn capabilities(&self) -> Capabilities {
        Capabilities {
            read: true,
            write: true,
            delete: true,
            fingerprint: false,
            version_tokens: true,
            list_versions: true,
            fetch: true,
            change_feed: self.settings.change_log || self.settings.updated_column.is_some(),
            key_field: Some(self.settings.key.clone()),
            client_ids: !self.settings.server_ids,
            finds_created: !self.settings.server_ids || self.table.find_marker().is_some(),
            partial_update: true,
            conditional_writes: true,
            writable: None,
            batch_size: 500,
        }
    }
    fn fingerprint(&mut self) -> Result<Option<String>, ConnectorError> {
        Ok(None)
    }
    fn read(&mut self) -> Result<Box<dyn Iterator<Item = ReadItem> + '_>, ConnectorError> {
        let _span = crate::calls::span(&self.name, "postgres_table", "read");
        let query = self.table.select_all();
        let name = self.name.clone();
        let (started, table) = (std::time::Instant::now(), self.settings.table.clone());
        let rows = self
            .client()?
            .query_raw(query.as_str(), std::iter::empty::<&str>());
        remote::traced(&name, "SELECT", &table, &rows, started);
        let rows = rows.map_err(|e| ConnectorError::Other {
            connector: name.clone(),
            message: format!("reading: {}", sql::describe(&e)),
        })?;
        use postgres::fallible_iterator::FallibleIterator;
        Ok(Box::new(rows.iterator().map(move |row| match row {
            Ok(row) => sql::item(&row),
            Err(e) => ReadItem::Broken(Rejected {
                position: "the rest of the table".into(),
                raw: String::new(),
                reason: format!(
                    "connector `{name}`: the read broke off: {}",
                    sql::describe(&e)
                ),
            }),
        })))
    }
    fn list(&mut self) -> Result<Vec<Listed>, ConnectorError> {
        let _span = crate::calls::span(&self.name, "postgres_table", "list");
        let query = self.table.list();
        let rows = self.run("SELECT", "listing", |c| c.query(query.as_str(), &[]))?;
        Ok(rows
            .iter()
            .map(|r| Listed {
                id: r.get(0),
                version: r.get(1),
            })
            .collect())
    }
    fn fetch(&mut self, ids: &[String]) -> Result<Vec<ReadItem>, ConnectorError> {
        let _span = crate::calls::span(&self.name, "postgres_table", "fetch");
        let query = self.table.fetch();
        let rows = self.run("SELECT", "fetching", |c| c.query(query.as_str(), &[&ids]))?;
        Ok(rows.iter().map(sql::item).collect())
    }
    fn cursor(&mut self) -> Result<String, ConnectorError> {
        if !self.settings.change_log && self.settings.updated_column.is_some() {
            let query = format!("SELECT (now() - interval '{UPDATED_OVERLAP_S} seconds')::text");
            let row = self.run("SELECT", "reading the server's clock", |c| {
                c.query_one(query.as_str(), &[])
            })?;
            return Ok(format!("updated:{}", row.get::<_, String>(0)));
        }
        let query = self.table.cursor();
        let row = self.run("SELECT", "reading the change log (installed?)", |c| {
            c.query_one(query.as_str(), &[])
        })?;
        Ok(row.get::<_, i64>(0).to_string())
    }
    fn changes(&mut self, cursor: &str) -> Result<Option<ChangeFeed>, ConnectorError> {
        let _span = crate::calls::span(&self.name, "postgres_table", "changes");
        if let Some(since) = cursor.strip_prefix("updated:") {
            let Some(column) = self.settings.updated_column.clone() else {
                return Ok(None);
            };
            let next = self.cursor()?;
            let query = self.table.updated_since(&column);
            let doing = format!("reading rows changed since {since} (by `{column}`)");
            let rows = self.run("SELECT", &doing, |c| c.query(query.as_str(), &[&since]))?;
            let changed = rows
                .iter()
                .map(|r| Listed {
                    id: r.get(0),
                    version: r.get(1),
                })
                .collect();
            // a timestamp column shows no deletes: a full read finds them
            return Ok(Some(ChangeFeed {
                changed,
                deleted: Vec::new(),
                cursor: next,
            }));
        }
        let Ok(since) = cursor.parse::<i64>() else {
            return Ok(None);
        };
        let table = self.table.clone();
        let feed = self.run("SELECT", "reading the change log (installed?)", |c| {
            sql::changes(c, &table, since)
        });
        feed.map(Some)
    }
    fn write(
        &mut self,
        _key_field: &str,
        ops: &[WriteOp],
    ) -> Result<Vec<WriteResult>, ConnectorError> {
        let (table, name, server_ids) = (
            self.table.clone(),
            self.name.clone(),
            self.settings.server_ids,
        );
        let _span = crate::calls::span(&self.name, "postgres_table", "write");
        self.run("WRITE", "writing", |c| {
            sql::write(c, &table, &name, server_ids, ops)
        })
    }
    fn install(&mut self) -> Result<Vec<String>, ConnectorError> {
        self.install_change_log()
    }
    fn listener(&self) -> Result<Option<Box<dyn crate::ChangeListener>>, ConnectorError> {
        if !self.settings.change_log {
            return Ok(None);
        }
        let mut client = self.connect()?;
        client
            .batch_execute("LISTEN einklang_changes")
            .map_err(|e| self.error("listening", e))?;
        Ok(Some(Box::new(Listener {
            name: self.name.clone(),
            client,
        })))
    }
    fn find_created(&mut self, _key_field: &str, marker: &str) -> Result<Lookup, ConnectorError> {
        let Some(query) = self.table.find_marker() else {
            return Ok(Lookup::CannotTell);
        };
        let row = self.run("SELECT", "looking for a created row", |c| {
            c.query_opt(query.as_str(), &[&marker])
        })?;
        Ok(match row {
            Some(r) => Lookup::Found(WriteOutcome {
                id: r.get(0),
                version: r.get(1),
                record: None,
                complete: false,
                unwritten: Vec::new(),
            }),
            None => Lookup::Absent,
        })
    }
}

/// `LISTEN einklang_changes` on a connection of its own: the change log's
/// trigger sends a `NOTIFY` for every row written by others.
struct Listener {
    name: String,
    client: Client,
}

impl crate::ChangeListener for Listener {
    fn wait(&mut self, timeout: std::time::Duration) -> Result<bool, ConnectorError> {
        use postgres::fallible_iterator::FallibleIterator;
        let mut notes = self.client.notifications();
        let first = notes.timeout_iter(timeout).next();
        let first = first.map_err(|e| ConnectorError::Other {
            connector: self.name.clone(),
            message: format!("waiting for notifications: {}", sql::describe(&e)),
        })?;
        if first.is_none() {
            return Ok(false);
        }
        // a burst of writes: take what queued with it
        while let Ok(Some(_)) = notes
            .timeout_iter(std::time::Duration::from_millis(50))
            .next()
        {}
        Ok(true)
    }
}

/// A record's position in messages.
fn position(key: &str) -> String {
    format!("row {key}")
}
