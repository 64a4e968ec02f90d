//! Registry of connector kinds: what each kind accepts, checking settings
//! without touching the system, and building a connector from its `kind`.
//! Adding a kind means one entry in `KINDS` and one arm in [`open`].

use crate::file::{csv::Csv, jsonl::Jsonl, vcard::Vcard};
use crate::{Connector, ConnectorError};
use std::collections::BTreeMap;
use std::path::Path;

/// A connector's settings after `${VAR}` interpolation: key → value
/// (TOML values converted to JSON, so this crate does not depend on `toml`).
pub type Settings = BTreeMap<String, serde_json::Value>;

/// A kind and what it can do.
#[derive(Clone, Debug, serde::Serialize)]
pub struct KindInfo {
    /// Kind name.
    pub kind: &'static str,
    /// One line of description.
    pub summary: &'static str,
    /// Setting keys it accepts (required ones first).
    pub settings: &'static [&'static str],
    /// What it can do, in words (the exact [`crate::Capabilities`] may
    /// depend on the settings).
    pub can: &'static str,
}

/// A problem with one setting (key None: the connector as a whole).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SettingProblem {
    /// Setting key.
    pub key: Option<String>,
    /// Message.
    pub message: String,
}

const KINDS: [KindInfo; 8] = [
    KindInfo {
        kind: "csv",
        summary: "a delimited text file with a header row",
        settings: &["path", "delimiter"],
        can: "read, write (atomic rewrite), delete; fingerprint; new rows get the id ek-<hub id>",
    },
    KindInfo {
        kind: "jsonl",
        summary: "one JSON object per line",
        settings: &["path"],
        can: "read, write (atomic rewrite), delete; fingerprint; new lines get the id ek-<hub id>",
    },
    KindInfo {
        kind: "vcard",
        summary: "a vdir folder, one .vcf file per contact",
        settings: &["path"],
        can: "read, write, delete; fingerprint; version = file hash; conditional writes; unknown properties kept",
    },
    KindInfo {
        kind: "postgres_table",
        summary: "a table of a PostgreSQL database (xmin as version, optional trigger change log)",
        settings: &["url", "table", "key", "ids", "marker_column", "change_log", "updated_column"],
        can: "read, write, delete; version = xmin; list + fetch; change feed with change_log (deletes too) or updated_column; conditional writes; batches of 500",
    },
    KindInfo {
        kind: "carddav",
        summary: "an address book on a CardDAV server (Radicale, Nextcloud, iCloud, …)",
        settings: &["url", "collection", "username", "password"],
        can: "read, write, delete; version = ETag; list + multiget; change feed (sync-collection); conditional writes (If-Match); unknown properties kept",
    },
    KindInfo {
        kind: "caldav",
        summary: "a calendar on a CalDAV server (events: VEVENT)",
        settings: &["url", "collection", "username", "password"],
        can: "read, write, delete; version = ETag; list + multiget; change feed (sync-collection); conditional writes (If-Match); time zones, alarms, overrides and unknown properties kept",
    },
    KindInfo {
        kind: "http",
        summary: "a REST API, described in settings (endpoints, paging, auth, changes)",
        settings: crate::http::spec::HTTP_KEYS,
        can: "read (page, offset, cursor, next link), write and delete as configured; version from a field; change feed with `changes`; conditional writes with `conditional`; rate limit, retries",
    },
    KindInfo {
        kind: "graphql",
        summary: "a GraphQL API: a query per listing, mutations per write",
        settings: crate::http::spec::GRAPHQL_KEYS,
        can: "read (page, offset or cursor paging by variables), write and delete by mutations; version from a field; change feed with `changes`; rate limit, retries",
    },
];

/// All kinds.
pub fn kinds() -> Vec<KindInfo> {
    KINDS.to_vec()
}

fn problem(key: Option<&str>, message: String) -> SettingProblem {
    SettingProblem {
        key: key.map(str::to_string),
        message,
    }
}

/// Check a connector's settings without touching the system.
pub fn validate_settings(kind: &str, settings: &Settings) -> Vec<SettingProblem> {
    let Some(info) = KINDS.iter().find(|k| k.kind == kind) else {
        let known: Vec<&str> = KINDS.iter().map(|k| k.kind).collect();
        return vec![problem(
            Some("kind"),
            format!(
                "unknown connector kind `{kind}` (known: {})",
                known.join(", ")
            ),
        )];
    };
    let mut problems = Vec::new();
    for key in settings.keys().filter(|k| k.as_str() != "kind") {
        if !info.settings.contains(&key.as_str()) {
            problems.push(problem(
                Some(key),
                format!(
                    "unknown setting `{key}` for kind {kind} (accepted: {})",
                    info.settings.join(", ")
                ),
            ));
        }
    }
    if kind == "postgres_table" {
        problems.extend(postgres_problems(settings));
        return problems;
    }
    if kind == "carddav" || kind == "caldav" {
        problems.extend(dav_problems(settings));
        return problems;
    }
    if kind == "http" || kind == "graphql" {
        problems.extend(
            crate::http::spec::parse(kind, settings)
                .err()
                .unwrap_or_default(),
        );
        return problems;
    }
    match settings.get("path") {
        None => problems.push(problem(None, "missing setting `path`".into())),
        Some(serde_json::Value::String(p)) if !p.trim().is_empty() => {}
        Some(_) => problems.push(problem(
            Some("path"),
            "`path` must be a non-empty text".into(),
        )),
    }
    if let Some(d) = settings.get("delimiter") {
        if delimiter(d).is_none() {
            problems.push(problem(
                Some("delimiter"),
                "`delimiter` must be a single ASCII character such as \",\" or \";\"".into(),
            ));
        }
    }
    problems
}

fn text<'s>(settings: &'s Settings, key: &str) -> Option<&'s str> {
    settings
        .get(key)
        .and_then(|v| v.as_str())
        .filter(|v| !v.trim().is_empty())
}

fn postgres_problems(settings: &Settings) -> Vec<SettingProblem> {
    let mut problems = Vec::new();
    for key in ["url", "table", "key"] {
        if text(settings, key).is_none() {
            problems.push(problem(
                settings.get(key).map(|_| key),
                format!("missing setting `{key}` (a non-empty text)"),
            ));
        }
    }
    if let Some(url) = text(settings, "url") {
        if !(url.starts_with("postgres://") || url.starts_with("postgresql://")) {
            problems.push(problem(
                Some("url"),
                "`url` must start with postgres:// or postgresql://".into(),
            ));
        }
    }
    // `ids = "server"` without `marker_column` is allowed: a create whose
    // answer was lost is then held until a read finds its row (by the
    // mapping's `find` fields, else by every written field)
    if !matches!(
        settings.get("ids").map(|v| v.as_str()),
        None | Some(Some("client" | "server"))
    ) {
        problems.push(problem(Some("ids"), "`ids` must be \"client\" (the marker is the new row's key) or \"server\" (the table assigns it)".into()));
    }
    let change_log = settings.get("change_log") == Some(&serde_json::Value::Bool(true));
    if change_log && settings.contains_key("updated_column") {
        problems.push(problem(Some("updated_column"), "`updated_column` and `change_log = true` are two ways to read changes: choose one (the change log also sees deletes)".into()));
    }
    if settings
        .get("updated_column")
        .is_some_and(|v| !v.is_string())
    {
        problems.push(problem(
            Some("updated_column"),
            "`updated_column` must be a column name".into(),
        ));
    }
    if settings.get("change_log").is_some_and(|v| !v.is_boolean()) {
        problems.push(problem(
            Some("change_log"),
            "`change_log` must be true or false".into(),
        ));
    }
    problems
}

fn dav_problems(settings: &Settings) -> Vec<SettingProblem> {
    let mut problems = Vec::new();
    match text(settings, "url") {
        None => problems.push(problem(
            settings.get("url").map(|_| "url"),
            "missing setting `url` (the collection's URL, or the server's with `collection`)"
                .into(),
        )),
        Some(url) if !(url.starts_with("http://") || url.starts_with("https://")) => {
            problems.push(problem(
                Some("url"),
                "`url` must start with http:// or https://".into(),
            ))
        }
        Some(_) => {}
    }
    for key in ["collection", "username", "password"] {
        if settings.get(key).is_some_and(|v| !v.is_string()) {
            problems.push(problem(Some(key), format!("`{key}` must be a text")));
        }
    }
    if settings.contains_key("password") && !settings.contains_key("username") {
        problems.push(problem(
            Some("password"),
            "`password` without `username`: Basic auth needs both".into(),
        ));
    }
    problems
}

/// The checked settings of a `postgres_table` connector.
fn postgres_settings(settings: &Settings) -> crate::postgres_table::PgTableSettings {
    let get = |k: &str| text(settings, k).unwrap_or_default().to_string();
    crate::postgres_table::PgTableSettings {
        url: get("url"),
        table: get("table"),
        key: get("key"),
        server_ids: text(settings, "ids") == Some("server"),
        marker_column: text(settings, "marker_column").map(str::to_string),
        change_log: settings
            .get("change_log")
            .and_then(|v| v.as_bool())
            .unwrap_or(false),
        updated_column: text(settings, "updated_column").map(str::to_string),
    }
}

fn delimiter(v: &serde_json::Value) -> Option<u8> {
    match v.as_str()?.as_bytes() {
        [b] if b.is_ascii() => Some(*b),
        _ => None,
    }
}

/// Build a connector. Relative paths are resolved against `base_dir` (the config file's folder).
pub fn open(
    name: &str,
    kind: &str,
    settings: &Settings,
    base_dir: &Path,
) -> Result<Box<dyn Connector>, ConnectorError> {
    if let Some(p) = validate_settings(kind, settings).into_iter().next() {
        if p.key.as_deref() == Some("kind") {
            return Err(ConnectorError::UnknownKind(kind.to_string()));
        }
        return Err(ConnectorError::Setting {
            connector: name.to_string(),
            key: p.key.unwrap_or_else(|| "path".into()),
            message: p.message,
        });
    }
    if kind == "postgres_table" {
        let table = crate::postgres_table::PgTable::new(name, postgres_settings(settings));
        return Ok(Box::new(table));
    }
    if kind == "http" || kind == "graphql" {
        let spec = crate::http::spec::parse(kind, settings).map_err(|mut p| {
            let p = p.remove(0);
            ConnectorError::Setting {
                connector: name.to_string(),
                key: p.key.unwrap_or_else(|| "kind".into()),
                message: p.message,
            }
        })?;
        return Ok(Box::new(crate::http::Http::new(name, spec)));
    }
    if kind == "carddav" || kind == "caldav" {
        let get = |k: &str| settings.get(k).and_then(|v| v.as_str());
        let args = (
            get("url").unwrap_or_default(),
            get("collection"),
            get("username"),
            get("password"),
        );
        return Ok(if kind == "carddav" {
            let (url, c, u, p) = args;
            Box::new(crate::carddav::CardDav::new(name, url, c, u, p))
        } else {
            let (url, c, u, p) = args;
            Box::new(crate::caldav::CalDav::new(name, url, c, u, p))
        });
    }
    let path = settings
        .get("path")
        .and_then(|p| p.as_str())
        .map(|p| base_dir.join(p))
        .unwrap_or_default();
    Ok(match kind {
        "csv" => {
            let d = settings
                .get("delimiter")
                .and_then(delimiter)
                .unwrap_or(b',');
            Box::new(Csv::new(name, path, d))
        }
        "jsonl" => Box::new(Jsonl::new(name, path)),
        _ => Box::new(Vcard::new(name, path)),
    })
}
