//! einklang-config: the `einklang.toml` file.
//!
//! Owns parsing, `${VAR}` secret interpolation and validation of the whole
//! configuration into validated types ([`Config`]). Validation is one pure
//! pass that reports every problem at once, each with file, line and column
//! ([`Diagnostic`]); a missing secret names the variable and never a value.
#![deny(missing_docs)]

mod ctx;
mod entities;
mod mappings;
mod top;

use einklang_core::{EntitySchema, Mapping};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// A position in a config file (1-based line and column).
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct Location {
    /// The file.
    pub file: PathBuf,
    /// 1-based line.
    pub line: usize,
    /// 1-based column (in characters).
    pub col: usize,
}

impl std::fmt::Display for Location {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}:{}:{}", self.file.display(), self.line, self.col)
    }
}

/// One problem in the config file.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct Diagnostic {
    /// Where.
    pub location: Location,
    /// Plain-language message.
    pub message: String,
}

impl std::fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.location, self.message)
    }
}

/// Every problem found in a config file, sorted by location.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{}", .0.iter().map(|d| d.to_string()).collect::<Vec<_>>().join("\n"))]
pub struct ConfigErrors(pub Vec<Diagnostic>);

/// Where the hub store lives.
#[derive(Clone, PartialEq, Eq)]
pub enum StoreLocation {
    /// Embedded SQLite file (absolute, or relative to the config file's folder resolved).
    Sqlite(PathBuf),
    /// PostgreSQL URL (may contain a password from `${VAR}`: never print it).
    Postgres(String),
}

impl std::fmt::Debug for StoreLocation {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            StoreLocation::Sqlite(p) => write!(f, "Sqlite({})", p.display()),
            StoreLocation::Postgres(_) => write!(f, "Postgres(<redacted>)"),
        }
    }
}

impl StoreLocation {
    /// The string `einklang_store::open` takes.
    pub fn as_open_str(&self) -> String {
        match self {
            StoreLocation::Sqlite(p) => p.display().to_string(),
            StoreLocation::Postgres(u) => u.clone(),
        }
    }
}

/// One configured connector.
#[derive(Clone, PartialEq)]
pub struct ConnectorConfig {
    /// Name (the table key).
    pub name: String,
    /// Kind (`csv`, `jsonl`, `vcard`, ...).
    pub kind: String,
    /// Settings other than `kind`, with `${VAR}` resolved, as JSON values.
    pub settings: BTreeMap<String, serde_json::Value>,
    /// Location of each setting's value (for located errors from connector validation).
    pub setting_locations: BTreeMap<String, Location>,
    /// Setting keys whose value came (partly) from `${VAR}`: never print these values.
    pub secret_keys: Vec<String>,
    /// Location of the connector's table header.
    pub location: Location,
}

impl std::fmt::Debug for ConnectorConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ConnectorConfig")
            .field("name", &self.name)
            .field("kind", &self.kind)
            .field("settings", &self.settings.keys().collect::<Vec<_>>())
            .finish_non_exhaustive()
    }
}

/// One step of a job.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Step {
    /// Read a connector into the hub, for one entity or every entity it has a mapping for.
    Pull {
        /// Connector.
        connector: String,
        /// Entity (None: all mapped entities of the connector).
        entity: Option<String>,
    },
    /// Write hub records of the mapped entities out to a connector.
    Push {
        /// Connector.
        connector: String,
        /// Entity (None: all mapped entities of the connector).
        entity: Option<String>,
    },
}

/// A job: ordered steps, optionally on a cron schedule.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct JobConfig {
    /// Name.
    pub name: String,
    /// Steps in order.
    pub steps: Vec<Step>,
    /// Cron expression (5 fields), if scheduled.
    pub schedule: Option<String>,
    /// Where the job is defined.
    pub location: Location,
}

/// A validated configuration.
#[derive(Clone, Debug)]
pub struct Config {
    /// The config file.
    pub path: PathBuf,
    /// Its folder: relative paths in the config are relative to it.
    pub base_dir: PathBuf,
    /// Hub store location.
    pub store: StoreLocation,
    /// Tenant all records belong to (default `default`).
    pub tenant: String,
    /// Default phone region (default `DE`).
    pub region: String,
    /// Largest allowed field value in bytes (default 65536).
    pub max_field_bytes: usize,
    /// Entities by name.
    pub entities: BTreeMap<String, EntitySchema>,
    /// Connectors by name.
    pub connectors: BTreeMap<String, ConnectorConfig>,
    /// Mappings (connector × entity).
    pub mappings: Vec<Mapping>,
    /// Jobs by name.
    pub jobs: BTreeMap<String, JobConfig>,
}

impl Config {
    /// The mapping for (connector, entity).
    pub fn mapping(&self, connector: &str, entity: &str) -> Option<&Mapping> {
        self.mappings
            .iter()
            .find(|m| m.connector == connector && m.entity == entity)
    }
    /// All mappings of a connector.
    pub fn mappings_of<'a>(&'a self, connector: &'a str) -> impl Iterator<Item = &'a Mapping> + 'a {
        self.mappings
            .iter()
            .filter(move |m| m.connector == connector)
    }
}

/// Read and check the config file at `path` (secrets from the process environment).
pub fn load(path: &Path) -> Result<Config, ConfigErrors> {
    let problem = |message: String| {
        ConfigErrors(vec![Diagnostic {
            location: Location {
                file: path.to_path_buf(),
                line: 1,
                col: 1,
            },
            message,
        }])
    };
    let bytes = std::fs::read(path).map_err(|e| problem(format!("cannot read the config: {e}")))?;
    let text = String::from_utf8(bytes).map_err(|e| {
        problem(format!(
            "the config is not valid UTF-8 (byte {})",
            e.utf8_error().valid_up_to()
        ))
    })?;
    load_str(&text, path, &|var| std::env::var(var).ok())
}

/// Check config `text` as if read from `path`, taking `${VAR}` values from `env`.
/// Every problem is returned at once, sorted by position.
pub fn load_str(
    text: &str,
    path: &Path,
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<Config, ConfigErrors> {
    let mut ctx = ctx::Ctx::new(text, path, env);
    let (root, syntax) = toml::de::DeTable::parse_recoverable(text);
    if !syntax.is_empty() {
        for e in syntax {
            let span = e.span().unwrap_or(0..0);
            ctx.error(span, format!("TOML syntax: {}", e.message().trim()));
        }
        return Err(sorted(ctx.diags));
    }
    let config = top::build(&mut ctx, root.get_ref(), path);
    if ctx.diags.is_empty() {
        Ok(config)
    } else {
        Err(sorted(ctx.diags))
    }
}

fn sorted(mut diags: Vec<Diagnostic>) -> ConfigErrors {
    diags.sort();
    diags.dedup();
    ConfigErrors(diags)
}
