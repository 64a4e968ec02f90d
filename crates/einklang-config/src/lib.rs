//! einklang-config: the `einklang.toml` file.
//!
//! Owns parsing, `${VAR}` secret interpolation and validation of the whole
//! configuration into validated types ([`Config`]). Validation is one pure
//! pass that reports every problem at once, each with file, line and column
//! ([`Diagnostic`]); a missing secret names the variable and never a value.
#![deny(missing_docs)]

mod checks;
mod conflicts;
mod matching;
mod survive;
pub use matching::Matching;
mod ctx;
mod entities;
mod instances;
mod jobs;
mod mappings;
mod on_delete;
mod retry;
mod serve;
mod tenants;
pub use serve::{Notify, NotifyFormat, ServeConfig, NOTIFY_EVENTS};
pub use tenants::{Tenant, Tenants};
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
    /// Location of each setting's key, `kind` too (for located errors from connector validation).
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
    /// Two-way sync of these connectors through the hub: each one's changes
    /// are merged into the hub (in this order), then the hub's changes are
    /// written to each one. For one entity, or every entity that at least
    /// one of them has a mapping for.
    Sync {
        /// Connectors, in the order their changes are merged.
        connectors: Vec<String>,
        /// Entity (None: every mapped entity).
        entity: Option<String>,
    },
    /// A full refresh from a connector (seed 003): everything it returns
    /// is staged, pre-checked ([`JobConfig::max_drop`]) and applied in one
    /// transaction; records it no longer has end as [`JobConfig::absent`]
    /// says. For one entity, or every entity it has a mapping for.
    Refresh {
        /// Connector.
        connector: String,
        /// Entity (None: all mapped entities of the connector).
        entity: Option<String>,
    },
}

/// What a refresh does with hub records its snapshot no longer has.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Absent {
    /// They are deleted in the hub (default).
    Delete,
    /// They stay, unlinked from nothing: the snapshot only adds and updates.
    Keep,
}

/// Default guard of a refresh: a snapshot with more than this share fewer
/// records than the last applied one waits for review.
pub const DEFAULT_MAX_DROP: f64 = 0.3;

/// Default guard: a sync that would delete more than this share of a
/// connector's linked records stops instead.
pub const DEFAULT_MAX_DELETES: f64 = 0.5;

/// When a failed write to a link is tried again.
#[derive(Clone, Debug, PartialEq)]
pub struct RetryPolicy {
    /// Waits before the 1st, 2nd, ... retry, in seconds (default 1m, 5m,
    /// 15m, 1h, 4h). After the last one the link is `permanently_failed`.
    pub delays_secs: Vec<u64>,
    /// A `permanently_failed` link is tried again after this long (default 24 h).
    pub reset_after_secs: u64,
    /// Random spread of each wait, as a fraction (default 0.1: ±10%).
    pub jitter: f64,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy {
            delays_secs: vec![60, 300, 900, 3600, 14400],
            reset_after_secs: 86_400,
            jitter: 0.1,
        }
    }
}

/// A job: ordered steps, optionally on a cron schedule.
#[derive(Clone, Debug, PartialEq)]
pub struct JobConfig {
    /// Name.
    pub name: String,
    /// Steps in order.
    pub steps: Vec<Step>,
    /// For each step (same order): it runs only when the step before it
    /// succeeded (`needs_previous = true` in `steps`), else it is skipped.
    pub needs_previous: Vec<bool>,
    /// Cron expression (5 fields), if scheduled ([`einklang_core::schedule::Schedule`]).
    pub schedule: Option<String>,
    /// The IANA time zone the schedule is read in (default `UTC`).
    pub tz: String,
    /// Guard: the largest share (0..=1) of a connector's linked records one
    /// run may delete; more stops the deletes and the run needs review.
    pub max_deletes: f64,
    /// Guard of its refresh steps: the largest share (0..=1) of records a
    /// snapshot may have fewer than the last applied one (default 0.3).
    pub max_drop: f64,
    /// What its refresh steps do with records a snapshot no longer has.
    pub absent: Absent,
    /// Extra pre-checks of its refresh steps: counts of staged records.
    pub checks: Vec<einklang_core::refresh::CountCheck>,
    /// How many applied snapshots of each refreshed entity the hub keeps
    /// (default 2: the last two, what `einklang changes` compares).
    pub keep_snapshots: usize,
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
    /// Connectors by name (a definition with `instances` is here as its
    /// instances, `mailbox.anna`, …; see [`Config::instances`]).
    pub connectors: BTreeMap<String, ConnectorConfig>,
    /// Definitions with `instances`: name → its instances' connector
    /// names, in the file's order.
    pub instances: BTreeMap<String, Vec<String>>,
    /// Mappings (connector × entity).
    pub mappings: Vec<Mapping>,
    /// Jobs by name.
    pub jobs: BTreeMap<String, JobConfig>,
    /// Conflict policies by entity (entities without one: everything `review`).
    pub policies: BTreeMap<String, einklang_core::Policies>,
    /// When failed writes are retried.
    pub retry: RetryPolicy,
    /// Identity matching by entity (`[matching.ENTITY]`).
    pub matching: BTreeMap<String, Matching>,
    /// How `einklang serve` runs (`[serve]`).
    pub serve: ServeConfig,
    /// The tenants one config serves (`[tenants.NAME]`; empty: only
    /// `tenant`).
    pub tenants: Tenants,
}

impl Config {
    /// The tenants this config serves: those of `[tenants]`, else `tenant`.
    pub fn tenant_names(&self) -> Vec<String> {
        match self.tenants.is_empty() {
            true => vec![self.tenant.clone()],
            false => self.tenants.keys().cloned().collect(),
        }
    }

    /// The config as tenant `name` runs it: `tenant` set to it, its
    /// values in every connector setting (`{tenant}`, `{tenant.KEY}`).
    /// `None` when the config does not serve `name`.
    pub fn for_tenant(&self, name: &str) -> Option<Config> {
        if self.tenants.is_empty() {
            return (name == self.tenant).then(|| self.clone());
        }
        let t = self.tenants.get(name)?;
        let mut out = self.clone();
        out.tenant = name.to_string();
        // it serves this tenant only: its settings hold this tenant's values
        out.tenants = Tenants::from([(name.to_string(), t.clone())]);
        for c in out.connectors.values_mut() {
            *c = tenants::connector_for(c, name, t);
        }
        Some(out)
    }

    /// The conflict policies of `entity`.
    pub fn policies_of(&self, entity: &str) -> std::borrow::Cow<'_, einklang_core::Policies> {
        match self.policies.get(entity) {
            Some(p) => std::borrow::Cow::Borrowed(p),
            None => std::borrow::Cow::Owned(einklang_core::Policies::default()),
        }
    }

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

/// A connector kind's check of its settings, without I/O: each problem
/// with the setting it concerns (None: the connector as a whole). This
/// crate does not know the kinds; the binary passes
/// `einklang_connectors::validate_settings`, so one pass reports the
/// settings' problems with every other problem of the file, each located
/// at its setting (or at the connector's table).
pub type SettingsCheck =
    dyn Fn(&str, &BTreeMap<String, serde_json::Value>) -> Vec<(Option<String>, String)>;

fn no_settings_check(
    _: &str,
    _: &BTreeMap<String, serde_json::Value>,
) -> Vec<(Option<String>, String)> {
    Vec::new()
}

/// Read and check the config file at `path` (secrets from the process
/// environment), all but the kind-specific connector settings: see
/// [`load_with`].
pub fn load(path: &Path) -> Result<Config, ConfigErrors> {
    load_with(path, &no_settings_check)
}

/// Read and check the config file at `path`, each connector's settings
/// with `check`.
pub fn load_with(path: &Path, check: &SettingsCheck) -> Result<Config, ConfigErrors> {
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
    load_str_with(&text, path, &|var| std::env::var(var).ok(), check)
}

/// Check config `text` as if read from `path`, taking `${VAR}` values from
/// `env`; all but the kind-specific connector settings (see [`load_str_with`]).
/// Every problem is returned at once, sorted by position.
pub fn load_str(
    text: &str,
    path: &Path,
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<Config, ConfigErrors> {
    load_str_with(text, path, env, &no_settings_check)
}

/// [`load_str`], each connector's settings checked with `check`.
pub fn load_str_with(
    text: &str,
    path: &Path,
    env: &dyn Fn(&str) -> Option<String>,
    check: &SettingsCheck,
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
    let config = top::build(&mut ctx, root.get_ref(), path, check);
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
