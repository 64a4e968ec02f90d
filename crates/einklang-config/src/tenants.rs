//! Tenants (`[tenants.NAME]`): one config serving several businesses,
//! each with its own hub rows and its own connector credentials (seed
//! 001: one CRM and one ERP account per tenant).
//!
//! ```toml
//! [tenants.acme]
//! crm_token = "${ACME_CRM_TOKEN}"
//! [tenants.globex]
//! crm_token = "${GLOBEX_CRM_TOKEN}"
//!
//! [connectors.crm]
//! kind = "http"
//! auth = { bearer = "{tenant.crm_token}" }
//! ```
//!
//! A connector setting may use `{tenant}` (the tenant's name) and
//! `{tenant.KEY}` (its value of `KEY`). Every tenant must have every key a
//! connector uses: checked here, so a run never starts with half a
//! credential. [`crate::Config::for_tenant`] gives the config as one
//! tenant runs it — its name as `tenant`, its values in every setting —
//! and nothing after the config knows about tenants.

use crate::ctx::{Ctx, Val};
use crate::instances::{fill, Vars};
use crate::{ConnectorConfig, Diagnostic, Location};
use serde_json::Value;
use std::collections::BTreeMap;

/// One tenant's values.
#[derive(Clone, Debug, PartialEq)]
pub struct Tenant {
    /// Its values by key (text, `${VAR}` filled).
    pub values: BTreeMap<String, Value>,
    /// The keys whose value came from `${VAR}` (secrets).
    pub secret: Vec<String>,
    /// Where it is defined.
    pub location: Location,
}

/// The tenants by name.
pub type Tenants = BTreeMap<String, Tenant>;

/// Parse `[tenants]`.
pub(crate) fn parse(ctx: &mut Ctx<'_>, v: &Val<'_>) -> Tenants {
    let mut out = Tenants::new();
    let Some(table) = ctx.table(v, "`tenants`") else {
        return out;
    };
    for (name, t) in table.iter() {
        let what = format!("tenant `{}`", name.get_ref());
        let location = ctx.loc(name.span().start);
        let Some(values) = ctx.table(t, &what) else {
            continue;
        };
        let mut tenant = Tenant {
            values: BTreeMap::new(),
            secret: Vec::new(),
            location,
        };
        for (key, value) in values.iter() {
            if let Some((text, secret)) =
                ctx.text_secret(value, &format!("{what}: `{}`", key.get_ref()))
            {
                tenant
                    .values
                    .insert(key.get_ref().to_string(), Value::String(text));
                if secret {
                    tenant.secret.push(key.get_ref().to_string());
                }
            }
        }
        out.insert(name.get_ref().to_string(), tenant);
    }
    out
}

/// The `{tenant.KEY}` keys each setting of `c` uses.
fn used_keys(c: &ConnectorConfig) -> Vec<(String, String)> {
    let empty = BTreeMap::new();
    let vars = Vars {
        word: "tenant",
        name: "",
        values: &empty,
        secret: &[],
    };
    let mut out = Vec::new();
    for (key, value) in &c.settings {
        let mut used = Vec::new();
        fill(value, &vars, &mut used);
        out.extend(used.into_iter().map(|u| (key.clone(), u)));
    }
    out
}

/// Every key a connector uses is in every tenant; a connector using one
/// needs tenants at all.
pub(crate) fn check(
    ctx: &mut Ctx<'_>,
    tenants: &Tenants,
    connectors: &BTreeMap<String, ConnectorConfig>,
) {
    for c in connectors.values() {
        for (setting, key) in used_keys(c) {
            let at = c
                .setting_locations
                .get(&setting)
                .unwrap_or(&c.location)
                .clone();
            if tenants.is_empty() {
                ctx.diags.push(Diagnostic {
                    location: at,
                    message: format!("connector `{}`: `{setting}` uses `{{tenant.{key}}}`, and the config has no [tenants]", c.name),
                });
                continue;
            }
            for (name, t) in tenants {
                if !t.values.contains_key(&key) {
                    ctx.diags.push(Diagnostic {
                        location: t.location.clone(),
                        message: format!("tenant `{name}` has no `{key}`, which connector `{}` uses in `{setting}`", c.name),
                    });
                }
            }
        }
    }
}

/// `c` as tenant `name` runs it.
pub(crate) fn connector_for(c: &ConnectorConfig, name: &str, t: &Tenant) -> ConnectorConfig {
    let vars = Vars {
        word: "tenant",
        name,
        values: &t.values,
        secret: &t.secret,
    };
    let mut out = c.clone();
    for (key, value) in &c.settings {
        let mut used = Vec::new();
        let filled = fill(value, &vars, &mut used);
        if used.iter().any(|k| t.secret.contains(k)) && !out.secret_keys.contains(key) {
            out.secret_keys.push(key.clone());
        }
        out.settings.insert(key.clone(), filled);
    }
    out
}
