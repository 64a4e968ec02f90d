//! The top level of the file: store, tenant, region, limits, connectors and
//! jobs, and the pass that puts the whole [`Config`] together.

use crate::ctx::{Ctx, Val};
use crate::{entities, mappings, Config, ConnectorConfig, JobConfig, Step, StoreLocation};
use std::collections::BTreeMap;
use std::path::Path;
use toml::de::{DeTable, DeValue};

const TOP_KEYS: [&str; 8] = [
    "store",
    "tenant",
    "region",
    "max_field_bytes",
    "entities",
    "connectors",
    "map",
    "jobs",
];

/// Check a parsed file and build the config (problems land in `ctx`).
pub fn build(ctx: &mut Ctx<'_>, root: &DeTable<'_>, path: &Path) -> Config {
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
        if !entities.contains_key(&r.entity) {
            ctx.error(
                r.span,
                format!("field {} refers to unknown entity `{}`", r.field, r.entity),
            );
        }
    }
    let connectors = root
        .get("connectors")
        .map(|v| connectors(ctx, v))
        .unwrap_or_default();
    let names: Vec<String> = connectors.keys().cloned().collect();
    let mappings = root
        .get("map")
        .map(|v| mappings::parse(ctx, v, &names, &entities))
        .unwrap_or_default();
    let mut config = Config {
        path: path.to_path_buf(),
        base_dir,
        store,
        tenant,
        region,
        max_field_bytes,
        entities,
        connectors,
        mappings,
        jobs: BTreeMap::new(),
    };
    if let Some(v) = root.get("jobs") {
        config.jobs = jobs(ctx, v, &config);
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

fn connectors(ctx: &mut Ctx<'_>, v: &Val<'_>) -> BTreeMap<String, ConnectorConfig> {
    let mut out = BTreeMap::new();
    let Some(table) = ctx.table(v, "`connectors`") else {
        return out;
    };
    for (name_key, c_v) in table.iter() {
        let name = name_key.get_ref().to_string();
        let Some(t) = ctx.table(c_v, &format!("connector `{name}`")) else {
            continue;
        };
        let kind = match t.get("kind") {
            Some(k) => ctx
                .text(k, &format!("connector `{name}`: `kind`"))
                .unwrap_or_default(),
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
            kind,
            settings: BTreeMap::new(),
            setting_locations: BTreeMap::new(),
            secret_keys: Vec::new(),
            location: ctx.loc(name_key.span().start),
        };
        for (key, value) in t.iter().filter(|(k, _)| k.get_ref() != "kind") {
            let key_name = key.get_ref().to_string();
            c.setting_locations
                .insert(key_name.clone(), ctx.loc(key.span().start));
            if let Some((json, secret)) =
                ctx.json(value, &format!("connector `{name}`: `{key_name}`"))
            {
                if secret {
                    c.secret_keys.push(key_name.clone());
                }
                c.settings.insert(key_name, json);
            }
        }
        out.insert(name, c);
    }
    out
}

fn jobs(ctx: &mut Ctx<'_>, v: &Val<'_>, config: &Config) -> BTreeMap<String, JobConfig> {
    let mut out = BTreeMap::new();
    let Some(table) = ctx.table(v, "`jobs`") else {
        return out;
    };
    for (name_key, j_v) in table.iter() {
        let name = name_key.get_ref().to_string();
        let what = format!("job `{name}`");
        let Some(t) = ctx.table(j_v, &what) else {
            continue;
        };
        ctx.unknown_keys(t, &["pull", "push", "steps", "schedule"], &what);
        let mut steps = Vec::new();
        for (key, push) in [("pull", false), ("push", true)] {
            if let Some(list) = t
                .get(key)
                .and_then(|l| ctx.texts(l, &format!("{what}: `{key}`")))
            {
                for (connector, span) in list {
                    if let Some(step) = step(ctx, &what, config, push, connector, None, span) {
                        steps.push(step);
                    }
                }
            }
        }
        if let Some(s) = t.get("steps") {
            steps.extend(explicit_steps(ctx, &what, config, s));
        }
        if steps.is_empty() && !ctx.diags.iter().any(|d| d.message.starts_with(&what)) {
            ctx.error(
                name_key.span(),
                format!("{what} has no steps: add pull = [\"connector\"] or steps = [...]"),
            );
        }
        let schedule = t.get("schedule").and_then(|s| {
            let text = ctx.text(s, &format!("{what}: `schedule`"))?;
            if text.split_whitespace().count() != 5 {
                ctx.error(s.span(), format!("{what}: schedule \"{text}\" must have 5 cron fields (minute hour day month weekday)"));
            }
            Some(text)
        });
        let location = ctx.loc(name_key.span().start);
        out.insert(
            name.clone(),
            JobConfig {
                name,
                steps,
                schedule,
                location,
            },
        );
    }
    out
}

fn explicit_steps(ctx: &mut Ctx<'_>, what: &str, config: &Config, v: &Val<'_>) -> Vec<Step> {
    let mut out = Vec::new();
    let DeValue::Array(items) = v.get_ref() else {
        ctx.error(v.span(), format!("{what}: `steps` must be a list of {{ pull = \"…\" }} or {{ push = \"…\", entity = \"…\" }}"));
        return out;
    };
    for item in items.iter() {
        let Some(t) = ctx.table(item, &format!("{what}: a step")) else {
            continue;
        };
        ctx.unknown_keys(t, &["pull", "push", "entity"], &format!("{what}: a step"));
        let entity = t
            .get("entity")
            .and_then(|e| ctx.text(e, &format!("{what}: `entity`")));
        let (push, conn_v) = match (t.get("pull"), t.get("push")) {
            (Some(c), None) => (false, c),
            (None, Some(c)) => (true, c),
            _ => {
                ctx.error(
                    item.span(),
                    format!("{what}: a step needs exactly one of `pull` or `push`"),
                );
                continue;
            }
        };
        if let Some(connector) = ctx.text(conn_v, &format!("{what}: step connector")) {
            if let Some(s) = step(ctx, what, config, push, connector, entity, conn_v.span()) {
                out.push(s);
            }
        }
    }
    out
}

fn step(
    ctx: &mut Ctx<'_>,
    what: &str,
    config: &Config,
    push: bool,
    connector: String,
    entity: Option<String>,
    span: std::ops::Range<usize>,
) -> Option<Step> {
    if !config.connectors.contains_key(&connector) {
        let known: Vec<&str> = config.connectors.keys().map(String::as_str).collect();
        let hint = crate::ctx::closest(&connector, &known)
            .map(|c| format!(" — did you mean `{c}`?"))
            .unwrap_or_default();
        ctx.error(
            span,
            format!("{what} refers to unknown connector `{connector}`{hint}"),
        );
        return None;
    }
    match &entity {
        Some(e) if !config.entities.contains_key(e) => {
            ctx.error(span, format!("{what}: unknown entity `{e}`"));
            return None;
        }
        Some(e) if config.mapping(&connector, e).is_none() => {
            ctx.error(span, format!("{what}: connector `{connector}` has no mapping for entity `{e}` (add [map.{connector}.{e}])"));
            return None;
        }
        None if config.mappings_of(&connector).next().is_none() => {
            ctx.error(span, format!("{what}: connector `{connector}` has no mapping (add [map.{connector}.<entity>])"));
            return None;
        }
        _ => {}
    }
    Some(if push {
        Step::Push { connector, entity }
    } else {
        Step::Pull { connector, entity }
    })
}
