//! Registry of connector kinds: build a connector from its `kind` and settings (to be written).

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
}

/// A problem with one setting (key None: the connector as a whole).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SettingProblem {
    /// Setting key.
    pub key: Option<String>,
    /// Message.
    pub message: String,
}

/// All kinds.
pub fn kinds() -> Vec<KindInfo> {
    todo!()
}

/// Check a connector's settings without touching the system.
pub fn validate_settings(kind: &str, settings: &Settings) -> Vec<SettingProblem> {
    let _ = (kind, settings);
    todo!()
}

/// Build a connector. Relative paths are resolved against `base_dir` (the config file's folder).
pub fn open(
    name: &str,
    kind: &str,
    settings: &Settings,
    base_dir: &Path,
) -> Result<Box<dyn Connector>, ConnectorError> {
    let _ = (name, kind, settings, base_dir);
    todo!()
}
