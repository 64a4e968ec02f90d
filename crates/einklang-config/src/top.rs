//! The top level of the file: store, tenant, region, limits and connectors
//! (their settings checked by the kind's [`SettingsCheck`]), and the pass
//! that puts the whole [`Config`] together (entities, mappings, conflicts,
//! retry and jobs have their own modules). Every part is checked whatever
//! the others hold, so one pass finds every problem.

use crate::ctx::{Ctx, Val};
use crate::{
    conflicts, entities, jobs, mappings, matching, retry, Config, ConnectorConfig, SettingsCheck,
    StoreLocation,
};
use std::collections::BTreeMap;
use std::path::Path;
use toml::de::DeTable;

const TOP_KEYS: [&str; 13] = [
    "store",
    "tenant",
    "region",
    "max_field_bytes",
    "entities",
    "connectors",
    "map",
    "jobs",
    "conflicts",
    "retry",
    "matching",
    "serve",
    "tenants",
];

/// Check a parsed file and build the config (problems land in `ctx`), each
/// connector's settings with `check`.
pub fn build(ctx: &mut Ctx<'_>, root: &DeTable<'_>, path: &Path, check: &SettingsCheck) -> Config {
    ctx.unknown_keys(root, &TOP_KEYS, "the top level");
    let base_dir = path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."))
        .to_path_buf();
    let store = match root.get("store") {
        None => StoreLocation::Sqlite(base_dir.join("einklang.db")),
        Some(v) => store(ctx, v, &base_dir),
    };
    let tenant = root
        .get("tenant")
        .and_then(|v| ctx.text(v, "`tenant`"))
        .unwrap_or_else(|| "default".into());
    let region = match root.get("region") {
        None => "DE".to_string(),
        Some(v) => {
            let r = ctx.text(v, "`region`").unwrap_or_default();
            if r.len() != 2 || !r.chars().all(|c| c.is_ascii_alphabetic()) {
                ctx.error(
                    v.span(),
                    format!("`region` must be a two-letter country code such as DE, found \"{r}\""),
                );
            }
            r.to_uppercase()
        }
    };
    let max_field_bytes = match root.get("max_field_bytes") {
        None => 65536,
        Some(v) => match v
            .get_ref()
            .as_integer()
            .and_then(|i| i.as_str().replace('_', "").parse::<usize>().ok())
        {
            Some(n) if n > 0 => n,
            _ => {
                ctx.error(
                    v.span(),
                    "`max_field_bytes` must be a positive whole number",
                );
                65536
            }
        },
    };
    let (entities, refs) = root
        .get("entities")
        .map(|v| entities::parse(ctx, v))
        .unwrap_or_default();
    for r in refs {
        let Some(target) = entities.get(&r.entity) else {
            ctx.error(
                r.span,
                format!("field {} refers to unknown entity `{}`", r.field, r.entity),
            );
            continue;
        };
        let required = target.fields.iter().find(|f| f.required);
        if let (true, Some(f)) = (r.create, required) {
            ctx.error(
                r.span,
                format!(
                    "field {}: `create = true` makes empty `{}` records, but `{}.{}` is required",
                    r.field, r.entity, r.entity, f.name
                ),
            );
        }
    }
    let (connectors, instances) = root
        .get("connectors")
        .map(|v| connectors(ctx, v, check))
        .unwrap_or_default();
    // a definition's name stands for all its instances
    let names: Vec<String> = (connectors.keys().chain(instances.keys()))
        .cloned()
        .collect();
    let mappings = root
        .get("map")
        .map(|v| mappings::parse(ctx, v, &names, &entities, &region))
        .unwrap_or_default();
    let mappings = crate::instances::mappings(mappings, &instances);
    let mut policies = root
        .get("conflicts")
        .map(|v| conflicts::parse(ctx, v, &entities, &names))
        .unwrap_or_default();
    crate::instances::policies(&mut policies, &instances);
    let retry = root
        .get("retry")
        .map(|v| retry::parse(ctx, v))
        .unwrap_or_default();
    let mut matching: BTreeMap<String, crate::Matching> = root
        .get("matching")
        .map(|v| matching::parse(ctx, v, &entities, &region, &names))
        .unwrap_or_default();
    for m in matching.values_mut() {
        crate::instances::survive_rule(&mut m.survive.default, &instances);
        let rules = m.survive.fields.values_mut();
        rules.for_each(|r| crate::instances::survive_rule(r, &instances));
    }
    let serve = root
        .get("serve")
        .map(|v| crate::serve::parse(ctx, v))
        .unwrap_or_default();
    let tenants = root
        .get("tenants")
        .map(|v| crate::tenants::parse(ctx, v))
        .unwrap_or_default();
    crate::tenants::check(ctx, &tenants, &connectors);
    let mut config = Config {
        path: path.to_path_buf(),
        base_dir,
        store,
        tenant,
        region,
        max_field_bytes,
        entities,
        connectors,
        instances,
        mappings,
        jobs: BTreeMap::new(),
        policies,
        retry,
        matching,
        serve,
        tenants,
    };
    if let Some(v) = root.get("jobs") {
        config.jobs = jobs::parse(ctx, v, &config);
    }
    config
}

fn store(ctx: &mut Ctx<'_>, v: &Val<'_>, base_dir: &Path) -> StoreLocation {
    let Some(s) = ctx.text(v, "`store`") else {
        return StoreLocation::Sqlite(base_dir.join("einklang.db"));
    };
    if s.starts_with("postgres://") || s.starts_with("postgresql://") {
        StoreLocation::Postgres(s)
    } else if let Some(p) = s.strip_prefix("sqlite:") {
        StoreLocation::Sqlite(base_dir.join(p))
    } else if s.contains("://") || s.trim().is_empty() {
        ctx.error(
            v.span(),
            "`store` must be a file path, \"sqlite:PATH\" or \"postgres://…\"",
        );
        StoreLocation::Sqlite(base_dir.join("einklang.db"))
    } else {
        StoreLocation::Sqlite(base_dir.join(s))
    }
}

/// The connectors, a definition with `instances` as its instances, and
/// which instances each such definition has.
fn connectors(
    ctx: &mut Ctx<'_>,
    v: &Val<'_>,
    check: &SettingsCheck,
) -> (
    BTreeMap<String, ConnectorConfig>,
    crate::instances::Instances,
) {
    let mut out = BTreeMap::new();
    let mut instances = crate::instances::Instances::new();
    let Some(table) = ctx.table(v, "`connectors`") else {
        return (out, instances);
    };
    for (name_key, c_v) in table.iter() {
        let name = name_key.get_ref().to_string();
        let Some(t) = ctx.table(c_v, &format!("connector `{name}`")) else {
            continue;
        };
        let kind = match t.get("kind") {
            Some(k) => ctx.text(k, &format!("connector `{name}`: `kind`")),
            None => {
                ctx.error(
                    name_key.span(),
                    format!("connector `{name}` needs `kind` (csv, jsonl, vcard, …)"),
                );
                continue;
            }
        };
        let mut c = ConnectorConfig {
            name: name.clone(),
            kind: kind.clone().unwrap_or_default(),
            settings: BTreeMap::new(),
            setting_locations: BTreeMap::new(),
            secret_keys: Vec::new(),
            location: ctx.loc(name_key.span().start),
        };
        let mut unresolved = Vec::new();
        for (key, value) in t.iter() {
            let key_name = key.get_ref().to_string();
            c.setting_locations
                .insert(key_name.clone(), ctx.loc(key.span().start));
            if key_name == "kind" || key_name == "instances" {
                continue;
            }
            match ctx.json(value, &format!("connector `{name}`: `{key_name}`")) {
                Some((json, secret)) => {
                    if secret {
                        c.secret_keys.push(key_name.clone());
                    }
                    c.settings.insert(key_name, json);
                }
                None => unresolved.push(key_name),
            }
        }
        let Some(inst_v) = t.get("instances") else {
            if kind.is_some() {
                check_settings(ctx, &c, &unresolved, check);
            }
            out.insert(name, c);
            continue;
        };
        let each = crate::instances::parse(ctx, &c, inst_v);
        for one in &each {
            if kind.is_some() {
                check_settings(ctx, one, &unresolved, check);
            }
        }
        instances.insert(name, each.iter().map(|c| c.name.clone()).collect());
        out.extend(each.into_iter().map(|c| (c.name.clone(), c)));
    }
    (out, instances)
}

/// The kind's problems with the settings of `c`, each at its setting (or at
/// the connector's table). A setting whose value could not be read (a
/// missing `${VAR}`, reported already) is there as `null` so that it is not
/// reported missing, and its own problems are left out.
fn check_settings(
    ctx: &mut Ctx<'_>,
    c: &ConnectorConfig,
    unresolved: &[String],
    check: &SettingsCheck,
) {
    let mut settings = c.settings.clone();
    for key in unresolved {
        settings.insert(key.clone(), serde_json::Value::Null);
    }
    for (key, message) in check(&c.kind, &settings) {
        if key.as_ref().is_some_and(|k| unresolved.contains(k)) {
            continue;
        }
        let location = key
            .as_ref()
            .and_then(|k| c.setting_locations.get(k))
            .unwrap_or(&c.location)
            .clone();
        let message = format!("connector `{}`: {message}", c.name);
        ctx.diags.push(crate::Diagnostic { location, message });
    }
}
