//! The SQL of `postgres_table`: quoted names, the queries, the change log,
//! and the writes with their per-op outcomes.

use crate::{
    ChangeFeed, Listed, RawRecord, ReadItem, Rejected, WriteError, WriteErrorKind, WriteOp,
    WriteOutcome, WriteResult,
};
use postgres::{Client, Row};
use serde_json::Value;

/// A table and its key, with every name quoted for SQL.
#[derive(Clone, Debug)]
pub(super) struct Table {
    /// `"schema"."table"` or `"table"`.
    name: String,
    /// The bare table name (for the change log's `tbl` column).
    bare: String,
    /// `"key"`.
    key: String,
    key_plain: String,
    marker: Option<String>,
    marker_plain: Option<String>,
}

/// `"name"` with inner quotes doubled.
fn quote(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

/// `'text'` with inner quotes doubled.
fn literal(text: &str) -> String {
    format!("'{}'", text.replace('\'', "''"))
}

impl Table {
    pub fn new(table: &str, key: &str, marker: Option<&str>) -> Self {
        let name = table.split('.').map(quote).collect::<Vec<_>>().join(".");
        Table {
            name,
            bare: table.rsplit('.').next().unwrap_or(table).to_string(),
            key: quote(key),
            key_plain: key.to_string(),
            marker: marker.map(quote),
            marker_plain: marker.map(str::to_string),
        }
    }

    /// One cheap read of the table: can it be reached and read?
    pub fn probe(&self) -> String {
        format!(
            "SELECT count(*) FROM (SELECT 1 FROM {} LIMIT 1) AS probe",
            self.name
        )
    }

    pub fn select_all(&self) -> String {
        format!(
            "SELECT row_to_json(t)::text, t.xmin::text, t.{k}::text FROM {} t ORDER BY t.{k}",
            self.name,
            k = self.key
        )
    }

    pub fn list(&self) -> String {
        format!(
            "SELECT t.{k}::text, t.xmin::text FROM {} t",
            self.name,
            k = self.key
        )
    }

    pub fn fetch(&self) -> String {
        format!(
            "SELECT row_to_json(t)::text, t.xmin::text, t.{k}::text FROM {} t WHERE t.{k}::text = ANY($1)",
            self.name,
            k = self.key
        )
    }

    pub fn find_marker(&self) -> Option<String> {
        let m = self.marker.as_ref()?;
        Some(format!(
            "SELECT t.{k}::text, t.xmin::text FROM {} t WHERE t.{m} = $1",
            self.name,
            k = self.key
        ))
    }

    /// Keys and versions of rows whose `column` is at or after `$1`.
    pub fn updated_since(&self, column: &str) -> String {
        format!(
            "SELECT t.{k}::text, t.xmin::text FROM {} t WHERE t.{} >= $1::text::timestamptz",
            self.name,
            quote(column),
            k = self.key
        )
    }

    pub fn cursor(&self) -> String {
        "SELECT COALESCE(MAX(id), 0) FROM einklang_changes".to_string()
    }

    pub fn trigger_name(&self) -> String {
        quote(&format!("einklang_capture_{}", self.bare))
    }

    /// The change log, its trigger function and this table's trigger.
    pub fn install_sql(&self) -> String {
        format!(
            "CREATE TABLE IF NOT EXISTS einklang_changes (
                id BIGSERIAL PRIMARY KEY, tbl TEXT NOT NULL, key TEXT NOT NULL,
                op TEXT NOT NULL, at TIMESTAMPTZ NOT NULL DEFAULT now());
             CREATE INDEX IF NOT EXISTS einklang_changes_tbl ON einklang_changes (tbl, id);
             CREATE OR REPLACE FUNCTION einklang_capture() RETURNS trigger AS $fn$
             BEGIN
               IF current_setting('einklang.writer', true) = 'on' THEN RETURN NULL; END IF;
               INSERT INTO einklang_changes (tbl, key, op) VALUES (
                 TG_TABLE_NAME,
                 CASE WHEN TG_OP = 'DELETE' THEN to_jsonb(OLD) ->> TG_ARGV[0] ELSE to_jsonb(NEW) ->> TG_ARGV[0] END,
                 TG_OP);
               PERFORM pg_notify('einklang_changes', TG_TABLE_NAME);
               RETURN NULL;
             END $fn$ LANGUAGE plpgsql;
             DROP TRIGGER IF EXISTS {trigger} ON {table};
             CREATE TRIGGER {trigger} AFTER INSERT OR UPDATE OR DELETE ON {table}
               FOR EACH ROW EXECUTE FUNCTION einklang_capture({key});",
            trigger = self.trigger_name(),
            table = self.name,
            key = literal(&self.key_plain),
        )
    }

    /// Quoted names of the columns of `fields`.
    fn columns<'f>(&self, fields: impl Iterator<Item = &'f String>) -> Vec<String> {
        fields.map(|c| quote(c)).collect()
    }
}

/// A PostgreSQL error as a sentence (the server's message, not the URL).
pub(super) fn describe(e: &postgres::Error) -> String {
    match e.as_db_error() {
        Some(db) => format!("{} ({})", db.message(), db.code().code()),
        None => e.to_string(),
    }
}

/// A row of `select_all` / `fetch` as a read item.
pub(super) fn item(row: &Row) -> ReadItem {
    let (json, version, key): (String, Option<String>, Option<String>) =
        (row.get(0), row.get(1), row.get(2));
    let position = super::position(key.as_deref().unwrap_or("?"));
    match serde_json::from_str::<Value>(&json) {
        Ok(Value::Object(fields)) => ReadItem::Record(RawRecord {
            position,
            fields,
            version,
        }),
        _ => ReadItem::Reject(Rejected {
            position,
            raw: crate::excerpt(&json, 4096),
            reason: "the row is not a JSON object".into(),
        }),
    }
}

/// What changed since the change-log id `since`.
pub(super) fn changes(
    client: &mut Client,
    table: &Table,
    since: i64,
) -> Result<ChangeFeed, postgres::Error> {
    let rows = client.query(
        "SELECT key, MAX(id) FROM einklang_changes WHERE tbl = $1 AND id > $2 GROUP BY key",
        &[&table.bare, &since],
    )?;
    let keys: Vec<String> = rows.iter().map(|r| r.get(0)).collect();
    let top = rows
        .iter()
        .map(|r| r.get::<_, i64>(1))
        .max()
        .unwrap_or(since);
    let live = client.query(
        &format!(
            "SELECT t.{k}::text, t.xmin::text FROM {} t WHERE t.{k}::text = ANY($1)",
            table.name,
            k = table.key
        ),
        &[&keys],
    )?;
    let mut feed = ChangeFeed {
        cursor: top.to_string(),
        ..ChangeFeed::default()
    };
    let found: std::collections::HashMap<String, Option<String>> =
        live.iter().map(|r| (r.get(0), r.get(1))).collect();
    for key in keys {
        match found.get(&key) {
            Some(version) => feed.changed.push(Listed {
                id: key,
                version: version.clone(),
            }),
            None => feed.deleted.push(key),
        }
    }
    Ok(feed)
}

/// Apply `ops` in one transaction, each in a savepoint.
pub(super) fn write(
    client: &mut Client,
    table: &Table,
    connector: &str,
    server_ids: bool,
    ops: &[WriteOp],
) -> Result<Vec<WriteResult>, postgres::Error> {
    let mut tx = client.transaction()?;
    tx.batch_execute("SET LOCAL einklang.writer = 'on'")?;
    let mut results = Vec::with_capacity(ops.len());
    for op in ops {
        let mut sp = tx.savepoint("op")?;
        let result = one(&mut sp, table, connector, server_ids, op);
        match &result {
            Ok(_) => sp.commit()?,
            Err(_) => sp.rollback()?,
        }
        results.push(result);
    }
    tx.commit()?;
    Ok(results)
}

fn one(
    tx: &mut postgres::Transaction<'_>,
    table: &Table,
    connector: &str,
    server_ids: bool,
    op: &WriteOp,
) -> WriteResult {
    let fail = |kind, what: &str, id: &str, e: Option<&postgres::Error>| WriteError {
        kind,
        message: format!(
            "connector `{connector}`: {what} of `{id}`: {}",
            e.map_or_else(|| "no such row".to_string(), describe)
        ),
    };
    let (what, id) = match op {
        WriteOp::Create { marker, .. } => ("create", marker.as_str()),
        WriteOp::Update { id, .. } => ("update", id.as_str()),
        WriteOp::Delete { id, .. } => ("delete", id.as_str()),
    };
    let row = match statement(table, server_ids, op) {
        (sql, Args::Create(json)) => tx.query_opt(sql.as_str(), &[&json]),
        (sql, Args::Update(json, id, v)) => tx.query_opt(sql.as_str(), &[&json, &id, &v]),
        (sql, Args::Delete(id, v)) => tx.query_opt(sql.as_str(), &[&id, &v]),
    };
    match row {
        Ok(Some(r)) => Ok(WriteOutcome {
            id: r.get(0),
            version: r.get(1),
            record: None,
            complete: false,
            unwritten: Vec::new(),
        }),
        Ok(None) => {
            // a conditional write that matched nothing: gone, or changed since
            let exists = tx
                .query_opt(
                    &format!(
                        "SELECT 1 FROM {} t WHERE t.{}::text = $1",
                        table.name, table.key
                    ),
                    &[&id],
                )
                .map_err(|e| fail(WriteErrorKind::Transient, what, id, Some(&e)))?;
            Err(match exists {
                Some(_) => WriteError {
                    kind: WriteErrorKind::Conflict,
                    message: format!("connector `{connector}`: {what} of `{id}`: the row changed since it was read"),
                },
                None => fail(WriteErrorKind::NotFound, what, id, None),
            })
        }
        Err(e) => Err(fail(classify(&e), what, id, Some(&e))),
    }
}

/// Constraint and type errors are the record's fault; the rest may pass.
fn classify(e: &postgres::Error) -> WriteErrorKind {
    match e.as_db_error().map(|d| d.code().code()) {
        Some(code)
            if code.starts_with("22") || code.starts_with("23") || code.starts_with("42") =>
        {
            WriteErrorKind::Rejected
        }
        Some("40001") | Some("40P01") => WriteErrorKind::Transient,
        Some(code) if code.starts_with("42501") => WriteErrorKind::Forbidden,
        _ => WriteErrorKind::Transient,
    }
}

enum Args {
    Create(String),
    Update(String, String, Option<String>),
    Delete(String, Option<String>),
}

/// The SQL of one op and its parameters: JSON is converted to the
/// table's column types by `json_populate_record`.
fn statement(table: &Table, server_ids: bool, op: &WriteOp) -> (String, Args) {
    let returning = format!("RETURNING {k}::text, xmin::text", k = table.key);
    match op {
        WriteOp::Create { marker, fields } => {
            let mut fields = fields.clone();
            if server_ids {
                if let Some(m) = &table.marker_plain {
                    fields.insert(m.clone(), Value::String(marker.clone()));
                }
            } else {
                fields.insert(table.key_plain.clone(), Value::String(marker.clone()));
            }
            let cols = table.columns(fields.keys());
            let list = cols.join(", ");
            let set: Vec<String> = cols
                .iter()
                .filter(|c| **c != table.key)
                .map(|c| format!("{c} = EXCLUDED.{c}"))
                .collect();
            let conflict = match (server_ids, set.is_empty()) {
                (true, _) => String::new(),
                (false, true) => format!("ON CONFLICT ({}) DO NOTHING", table.key),
                (false, false) => format!(
                    "ON CONFLICT ({}) DO UPDATE SET {}",
                    table.key,
                    set.join(", ")
                ),
            };
            let sql = format!(
                "INSERT INTO {t} AS t ({list}) SELECT {list} FROM json_populate_record(NULL::{t}, $1::text::json) {conflict} {returning}",
                t = table.name
            );
            (sql, Args::Create(Value::Object(fields).to_string()))
        }
        WriteOp::Update {
            id,
            fields,
            expected_version,
        } => {
            let cols = table.columns(fields.keys().filter(|k| **k != table.key_plain));
            let sql = if cols.is_empty() {
                format!(
                    "UPDATE {t} t SET {k} = t.{k} WHERE t.{k}::text = $2 AND ($3::text IS NULL OR t.xmin::text = $3) AND $1::text::json IS NOT NULL {returning}",
                    t = table.name,
                    k = table.key
                )
            } else {
                let list = cols.join(", ");
                format!(
                    "UPDATE {t} t SET ({list}) = (SELECT {list} FROM json_populate_record(NULL::{t}, $1::text::json))
                     WHERE t.{k}::text = $2 AND ($3::text IS NULL OR t.xmin::text = $3) {returning}",
                    t = table.name,
                    k = table.key
                )
            };
            let json = Value::Object(fields.clone()).to_string();
            (
                sql,
                Args::Update(json, id.clone(), expected_version.clone()),
            )
        }
        WriteOp::Delete {
            id,
            expected_version,
        } => {
            let sql = format!(
                "DELETE FROM {t} t WHERE t.{k}::text = $1 AND ($2::text IS NULL OR t.xmin::text = $2) {returning}",
                t = table.name,
                k = table.key
            );
            (sql, Args::Delete(id.clone(), expected_version.clone()))
        }
    }
}
