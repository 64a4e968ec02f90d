//! Instances: one connector definition serving several accounts — the
//! three mailboxes of seed 000, one API per tenant of seed 001.
//!
//! ```toml
//! [connectors.mailbox]
//! kind = "http"
//! list = { path = "/users/{instance.user}/contacts", records = "/value" }
//! instances = { anna = { user = "anna@firma.de" }, office = { user = "office@firma.de" } }
//! ```
//!
//! Each instance is a connector of its own, named `mailbox.anna`, with the
//! definition's settings in which `{instance}` is the instance's name and
//! `{instance.KEY}` its value of `KEY` — so it has its own links, cursors
//! and runs. Everything that names the definition (`mailbox`) names every
//! instance: its mappings apply to each (a mapping of one instance,
//! `[map."mailbox.anna".contact]`, replaces the shared one for it), a job
//! step `pull = "mailbox"` reads each, `sync = ["mailbox", "crm"]` syncs
//! them all with `crm`, and `authority`, `creates.from` and survivorship
//! `sources` take the instances in their order. Expansion happens here,
//! once, so nothing after the config knows about instances — except the
//! `http` connector, which shares one OAuth2 token between clients of the
//! same realm (`einklang_connectors::http`).

use crate::ctx::{Ctx, Val};
use crate::{ConnectorConfig, Diagnostic};
use einklang_core::identity::survive::Rule;
use einklang_core::{Creates, Mapping, Policies, Policy};
use serde_json::Value;
use std::collections::BTreeMap;

/// Definition name → its instances' connector names, in the file's order.
pub type Instances = BTreeMap<String, Vec<String>>;

/// The instances of `base` from its `instances` table: each a connector
/// named `BASE.NAME` with `{instance…}` filled in every setting.
pub(crate) fn parse(
    ctx: &mut Ctx<'_>,
    base: &ConnectorConfig,
    v: &Val<'_>,
) -> Vec<ConnectorConfig> {
    let what = format!("connector `{}`: `instances`", base.name);
    let Some(table) = ctx.table(v, &what) else {
        return Vec::new();
    };
    if table.is_empty() {
        ctx.error(v.span(), format!("{what} names no instance: give each a table, such as {{ anna = {{ user = \"anna@firma.de\" }} }}"));
    }
    let mut out = Vec::new();
    // in the file's order: it is the order a sync merges them in
    let mut entries: Vec<_> = table.iter().collect();
    entries.sort_by_key(|(key, _)| key.span().start);
    for (key, value) in entries {
        let name = key.get_ref().to_string();
        if name.is_empty() || name.contains(['.', '/', ' ']) {
            let message =
                format!("{what}: `{name}` cannot name an instance (letters, digits, `-` and `_`)");
            ctx.error(key.span(), message);
            continue;
        }
        let Some(vars) = ctx.table(value, &format!("{what}.{name}")) else {
            continue;
        };
        let mut values = BTreeMap::new();
        let mut secret = Vec::new();
        for (k, v) in vars.iter() {
            let k = k.get_ref().to_string();
            if let Some((json, is_secret)) = ctx.json(v, &format!("{what}.{name}.{k}")) {
                if is_secret {
                    secret.push(k.clone());
                }
                values.insert(k, json);
            }
        }
        let vars = Vars {
            word: "instance",
            name: &name,
            values: &values,
            secret: &secret,
        };
        out.push(instance(ctx, base, &vars));
    }
    out
}

/// What `{instance…}` can name.
pub(crate) struct Vars<'a> {
    /// `instance` or `tenant`: the placeholders are `{WORD}` and `{WORD.KEY}`.
    pub(crate) word: &'a str,
    pub(crate) name: &'a str,
    pub(crate) values: &'a BTreeMap<String, Value>,
    /// Keys whose value came from `${VAR}`.
    pub(crate) secret: &'a [String],
}

fn instance(ctx: &mut Ctx<'_>, base: &ConnectorConfig, vars: &Vars<'_>) -> ConnectorConfig {
    let mut c = ConnectorConfig {
        name: format!("{}.{}", base.name, vars.name),
        settings: BTreeMap::new(),
        ..base.clone()
    };
    for (key, value) in &base.settings {
        let mut used = Vec::new();
        let filled = fill(value, vars, &mut used);
        for missing in used.iter().filter(|k| !known(vars, k)) {
            let location = base.setting_locations.get(key).unwrap_or(&base.location);
            let message = format!(
                "connector `{}`: `{key}` uses `{{instance.{missing}}}`, and instance `{}` has no `{missing}`",
                base.name, vars.name
            );
            ctx.diags.push(Diagnostic {
                location: location.clone(),
                message,
            });
        }
        if used.iter().any(|k| vars.secret.contains(k)) && !c.secret_keys.contains(key) {
            c.secret_keys.push(key.clone());
        }
        c.settings.insert(key.clone(), filled);
    }
    c
}

fn known(vars: &Vars<'_>, key: &str) -> bool {
    vars.values.contains_key(key)
}

/// `value` with `{instance}` and `{instance.KEY}` filled; the keys used
/// are added to `used`. A text that is only `{instance.KEY}` takes the
/// value as it is (a number, a table); inside other text it is its text.
pub(crate) fn fill(value: &Value, vars: &Vars<'_>, used: &mut Vec<String>) -> Value {
    match value {
        Value::String(s) => {
            if let Some(key) = s
                .strip_prefix('{')
                .and_then(|r| r.strip_prefix(vars.word))
                .and_then(|r| r.strip_prefix('.'))
                .and_then(|r| r.strip_suffix('}'))
            {
                if !key.contains('{') {
                    used.push(key.to_string());
                    return vars.values.get(key).cloned().unwrap_or(Value::Null);
                }
            }
            Value::String(fill_text(s, vars, used))
        }
        Value::Array(items) => Value::Array(items.iter().map(|v| fill(v, vars, used)).collect()),
        Value::Object(m) => Value::Object(
            m.iter()
                .map(|(k, v)| (k.clone(), fill(v, vars, used)))
                .collect(),
        ),
        other => other.clone(),
    }
}

fn fill_text(s: &str, vars: &Vars<'_>, used: &mut Vec<String>) -> String {
    let mut out = String::new();
    let mut rest = s;
    let open = format!("{{{}", vars.word);
    while let Some(at) = rest.find(&open) {
        out.push_str(&rest[..at]);
        let after = &rest[at + open.len()..];
        let Some(close) = after.find('}') else {
            out.push_str(&rest[at..]);
            return out;
        };
        match &after[..close] {
            "" => out.push_str(vars.name),
            inner if inner.starts_with('.') => {
                let key = &inner[1..];
                used.push(key.to_string());
                match vars.values.get(key) {
                    Some(Value::String(t)) => out.push_str(t),
                    Some(other) => out.push_str(&other.to_string()),
                    None => {}
                }
            }
            // `{instances}` or the like: not ours
            _ => out.push_str(&rest[at..at + open.len() + close + 1]),
        }
        rest = &after[close + 1..];
    }
    out.push_str(rest);
    out
}

/// `names` with every definition replaced by its instances, in place.
pub(crate) fn names(names: &[String], instances: &Instances) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for n in names {
        for one in instances.get(n).cloned().unwrap_or_else(|| vec![n.clone()]) {
            if !out.contains(&one) {
                out.push(one);
            }
        }
    }
    out
}

/// Every mapping of a definition as one mapping per instance (unless the
/// instance has its own for that entity); every connector list inside a
/// mapping expanded.
pub(crate) fn mappings(mappings: Vec<Mapping>, instances: &Instances) -> Vec<Mapping> {
    let own: Vec<(String, String)> = mappings
        .iter()
        .map(|m| (m.connector.clone(), m.entity.clone()))
        .collect();
    let mut out = Vec::new();
    for mut m in mappings {
        if let Creates::From(from) = &m.creates {
            m.creates = Creates::From(names(from, instances));
        }
        let Some(each) = instances.get(&m.connector) else {
            out.push(m);
            continue;
        };
        for inst in each {
            if own.contains(&(inst.clone(), m.entity.clone())) {
                continue;
            }
            out.push(Mapping {
                connector: inst.clone(),
                ..m.clone()
            });
        }
    }
    out
}

/// Conflict policies with every definition in an `authority` list
/// replaced by its instances.
pub(crate) fn policies(policies: &mut BTreeMap<String, Policies>, instances: &Instances) {
    let expand = |p: &mut Policy| {
        if let Policy::Authority(list) = p {
            *list = names(list, instances);
        }
    };
    for p in policies.values_mut() {
        expand(&mut p.default);
        p.fields.values_mut().for_each(expand);
    }
}

/// Survivorship `sources` with every definition replaced by its instances.
pub(crate) fn survive_rule(rule: &mut Rule, instances: &Instances) {
    if let Rule::SourcePriority(list) = rule {
        *list = names(list, instances);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn vars<'a>(values: &'a BTreeMap<String, Value>) -> Vars<'a> {
        Vars {
            word: "instance",
            name: "anna",
            values,
            secret: &[],
        }
    }

    #[test]
    fn placeholders_are_filled_structurally_and_as_text() {
        let values = BTreeMap::from([
            ("user".to_string(), json!("anna@firma.de")),
            ("limit".to_string(), json!(25)),
        ]);
        let mut used = Vec::new();
        let v = fill(
            &json!({"path": "/users/{instance.user}/contacts", "top": "{instance.limit}", "tag": "{instance}-{instances}", "n": 3}),
            &vars(&values),
            &mut used,
        );
        assert_eq!(
            v,
            json!({"path": "/users/anna@firma.de/contacts", "top": 25, "tag": "anna-{instances}", "n": 3})
        );
        assert_eq!(used, ["user", "limit"].map(String::from));
        let mut used = Vec::new();
        assert_eq!(
            fill(&json!("{instance.nope}"), &vars(&values), &mut used),
            Value::Null
        );
        assert_eq!(used, ["nope"]);
    }

    #[test]
    fn names_expand_in_place_without_doubles() {
        let inst = Instances::from([(
            "mailbox".to_string(),
            vec!["mailbox.anna".to_string(), "mailbox.office".to_string()],
        )]);
        let list = ["crm", "mailbox", "mailbox.anna", "hub"].map(String::from);
        assert_eq!(
            names(&list, &inst),
            ["crm", "mailbox.anna", "mailbox.office", "hub"].map(String::from)
        );
    }
}
