//! `[map.CONNECTOR.ENTITY]`: external id, filter, delete behaviour, `find`
//! fields and field rules (their transforms in [`transforms`]), checked
//! against the connectors and entity schemas; every part of a mapping is
//! checked even when another part has a problem.

mod each;
mod transforms;

use crate::ctx::{Ctx, Val};
use einklang_core::{Creates, OutOfScope};
use einklang_core::{Direction, EntitySchema, FieldRule, Mapping, OnDelete, Source};
use serde_json::Value;
use std::collections::BTreeMap;
use toml::de::{DeTable, DeValue};
use transforms::transforms;

const RULE_KEYS: [&str; 20] = [
    "from",
    "each",
    "value",
    "trim",
    "map",
    "default",
    "passthrough",
    "date",
    "datetime",
    "tz",
    "epoch",
    "split_name",
    "join",
    "first",
    "person_or_company",
    "lowercase",
    "uppercase",
    "phone",
    "region_from",
    "direction",
];

/// Parse every mapping.
pub fn parse(
    ctx: &mut Ctx<'_>,
    v: &Val<'_>,
    connectors: &[String],
    entities: &BTreeMap<String, EntitySchema>,
    region: &str,
) -> Vec<Mapping> {
    let mut out = Vec::new();
    let Some(by_connector) = ctx.table(v, "`map`") else {
        return out;
    };
    for (conn_key, conn_v) in by_connector.iter() {
        let connector = conn_key.get_ref().to_string();
        if !connectors.contains(&connector) {
            let known: Vec<&str> = connectors.iter().map(String::as_str).collect();
            let hint = crate::ctx::closest(&connector, &known)
                .map(|c| format!(" — did you mean `{c}`?"))
                .unwrap_or_default();
            ctx.error(
                conn_key.span(),
                format!("mapping for unknown connector `{connector}`{hint}"),
            );
        }
        let Some(by_entity) = ctx.table(conn_v, &format!("map.{connector}")) else {
            continue;
        };
        for (ent_key, m_v) in by_entity.iter() {
            let entity = ent_key.get_ref().to_string();
            let Some(schema) = entities.get(&entity) else {
                ctx.error(
                    ent_key.span(),
                    format!("map.{connector}.{entity}: unknown entity `{entity}`"),
                );
                continue;
            };
            // checked even for an unknown connector: its problems are its own
            if let Some(m) = mapping(ctx, (&connector, connectors), schema, m_v, region) {
                if connectors.contains(&connector) {
                    out.push(m);
                }
            }
        }
    }
    out
}

fn mapping(
    ctx: &mut Ctx<'_>,
    (connector, connectors): (&str, &[String]),
    schema: &EntitySchema,
    v: &Val<'_>,
    region: &str,
) -> Option<Mapping> {
    let what = format!("map.{connector}.{}", schema.name);
    let t = ctx.table(v, &what)?;
    ctx.unknown_keys(
        t,
        &[
            "id",
            "filter",
            "on_delete",
            "out_of_scope",
            "creates",
            "mirror",
            "fields",
            "find",
        ],
        &what,
    );
    let id_field = match t.get("id") {
        Some(id) => raw_field(ctx, id, &format!("{what}.id")),
        None => {
            ctx.error(
                v.span(),
                format!("{what} needs `id`, the raw field holding the external id"),
            );
            None
        }
    };
    let filter = t
        .get("filter")
        .and_then(|f| filter(ctx, &format!("{what}.filter"), f));
    let on_delete = match t.get("on_delete") {
        Some(d) => crate::on_delete::parse(ctx, &format!("{what}.on_delete"), d),
        None => Some(OnDelete::Delete),
    };
    let out_of_scope = match t.get("out_of_scope") {
        Some(o) => out_of_scope(ctx, &format!("{what}.out_of_scope"), schema, o),
        None => Some(OutOfScope::Delete),
    };
    let mirror = match t.get("mirror") {
        Some(m) => mirror(ctx, &format!("{what}.mirror"), m),
        None => Some(serde_json::Map::new()),
    };
    let creates = match t.get("creates") {
        Some(c) => creates(ctx, &format!("{what}.creates"), (schema, connectors), c),
        None => Some(Creates::All),
    };
    let find = match t.get("find") {
        Some(f) => find_fields(ctx, &what, schema, f),
        None => Some(Vec::new()),
    };
    let mut fields = Vec::new();
    if let Some(fv) = t.get("fields") {
        let ft = ctx.table(fv, &format!("{what}.fields"))?;
        for (target, rule_v) in ft.iter() {
            let target_name = target.get_ref().to_string();
            if schema.field(&target_name).is_none() {
                let known: Vec<&str> = schema.fields.iter().map(|f| f.name.as_str()).collect();
                let hint = crate::ctx::closest(&target_name, &known)
                    .map(|c| format!(" — did you mean `{c}`?"))
                    .unwrap_or_default();
                ctx.error(
                    target.span(),
                    format!(
                        "{what}.fields: entity `{}` has no field `{target_name}`{hint}",
                        schema.name
                    ),
                );
            }
            // checked even for an unknown field: its problems are its own
            let what = format!("{what}.fields.{target_name}");
            if let Some(rule) = field_rule(ctx, &what, &target_name, rule_v, region) {
                fields.push(rule);
            }
        }
    }
    Some(Mapping {
        id_field: id_field?,
        connector: connector.to_string(),
        entity: schema.name.clone(),
        filter,
        fields,
        on_delete: on_delete?,
        find: find?,
        out_of_scope: out_of_scope?,
        creates: creates?,
        mirror: mirror?,
    })
}

/// `"delete"`, `"keep"` or `{ set = { entity_field = value } }`.
fn out_of_scope(
    ctx: &mut Ctx<'_>,
    what: &str,
    schema: &EntitySchema,
    v: &Val<'_>,
) -> Option<OutOfScope> {
    match v.get_ref() {
        DeValue::String(s) if s == "delete" => return Some(OutOfScope::Delete),
        DeValue::String(s) if s == "keep" => return Some(OutOfScope::Keep),
        DeValue::Table(_) => {}
        other => {
            let tip = match other {
                DeValue::String(s) => crate::ctx::hint(s, &["delete", "keep"]),
                _ => String::new(),
            };
            let found = crate::ctx::shown(other);
            let message = format!(
                "{what} must be \"delete\", \"keep\" or {{ set = {{ field = value }} }}, found {found}{tip}"
            );
            ctx.error(v.span(), message);
            return None;
        }
    }
    let t = ctx.table(v, what)?;
    ctx.unknown_keys(t, &["set"], what);
    let set = t
        .get("set")
        .and_then(|s| ctx.table(s, &format!("{what}.set")))?;
    let mut fields = einklang_core::Fields::new();
    let mut ok = true;
    for (key, value) in set.iter() {
        let name = key.get_ref().to_string();
        if schema.field(&name).is_none() {
            let message = format!("{what}.set: entity `{}` has no field `{name}`", schema.name);
            ctx.error(key.span(), message);
            ok = false;
            continue;
        }
        match ctx.json(value, &format!("{what}.set.{name}")) {
            Some((j, _)) => {
                fields.insert(name, j);
            }
            None => ok = false,
        }
    }
    ok.then_some(OutOfScope::Set(fields))
}

/// `{ RAW_PATH = "template" }`: raw fields written with every create and
/// update, from einklang's own values; placeholders checked.
fn mirror(ctx: &mut Ctx<'_>, what: &str, v: &Val<'_>) -> Option<serde_json::Map<String, Value>> {
    let t = ctx.table(v, what)?;
    let mut out = serde_json::Map::new();
    let mut ok = true;
    for (key, value) in t.iter() {
        let Some(path) = raw_key(ctx, key, what) else {
            ok = false;
            continue;
        };
        match crate::on_delete::templated(ctx, &format!("{what}.{path}"), value) {
            Some(json) => {
                out.insert(path, json);
            }
            None => ok = false,
        }
    }
    ok.then_some(out)
}

/// `"all"`, `"none"`, `{ from = ["crm"] }` or `{ filter = "…" }` (entity fields).
fn creates(
    ctx: &mut Ctx<'_>,
    what: &str,
    (schema, connectors): (&EntitySchema, &[String]),
    v: &Val<'_>,
) -> Option<Creates> {
    match v.get_ref() {
        DeValue::String(s) if s == "all" => return Some(Creates::All),
        DeValue::String(s) if s == "none" => return Some(Creates::None),
        DeValue::Table(_) => {}
        other => {
            let tip = match other {
                DeValue::String(s) => crate::ctx::hint(s, &["all", "none"]),
                _ => String::new(),
            };
            let found = crate::ctx::shown(other);
            let message = format!(
                "{what} must be \"all\", \"none\", {{ from = [connectors] }} or {{ filter = \"…\" }}, found {found}{tip}"
            );
            ctx.error(v.span(), message);
            return None;
        }
    }
    let t = ctx.table(v, what)?;
    ctx.unknown_keys(t, &["from", "filter"], what);
    match (t.get("from"), t.get("filter")) {
        (Some(f), None) => {
            let names = ctx.texts(f, &format!("{what}.from"))?;
            let mut ok = true;
            for (name, span) in &names {
                if !connectors.contains(name) {
                    let known = connectors.join("`, `");
                    let message =
                        format!("{what}.from: unknown connector `{name}` (known: `{known}`)");
                    ctx.error(span.clone(), message);
                    ok = false;
                }
            }
            ok.then(|| Creates::From(names.into_iter().map(|(n, _)| n).collect()))
        }
        (None, Some(f)) => {
            let text = ctx.text(f, &format!("{what}.filter"))?;
            match einklang_core::filter::parse(&text) {
                Ok(filter) => {
                    let unknown: Vec<&str> = filter
                        .paths()
                        .into_iter()
                        .filter(|p| schema.field(&einklang_core::path::top_key_of(p)).is_none())
                        .collect();
                    if unknown.is_empty() {
                        return Some(Creates::Filter(filter));
                    }
                    let message = format!(
                        "{what}.filter reads hub fields, and entity `{}` has no field `{}`",
                        schema.name,
                        unknown.join("`, `")
                    );
                    ctx.error(f.span(), message);
                    None
                }
                Err(e) => {
                    let at = f.span().start + 1 + e.column;
                    ctx.error(at..at, format!("{what}.filter: {}", e.message));
                    None
                }
            }
        }
        _ => {
            ctx.error(v.span(), format!("{what}: give `from` or `filter`"));
            None
        }
    }
}

/// `find = ["email"]`: entity fields, at least one.
fn find_fields(
    ctx: &mut Ctx<'_>,
    what: &str,
    schema: &EntitySchema,
    v: &Val<'_>,
) -> Option<Vec<String>> {
    let names = ctx.texts(v, &format!("{what}.find"))?;
    if names.is_empty() {
        ctx.error(
            v.span(),
            format!("{what}.find: name at least one field of `{}`", schema.name),
        );
        return None;
    }
    let mut ok = true;
    for (name, span) in &names {
        if schema.field(name).is_none() {
            let known: Vec<&str> = schema.fields.iter().map(|f| f.name.as_str()).collect();
            let hint = crate::ctx::closest(name, &known)
                .map(|c| format!(" — did you mean `{c}`?"))
                .unwrap_or_default();
            let message = format!(
                "{what}.find: entity `{}` has no field `{name}`{hint}",
                schema.name
            );
            ctx.error(span.clone(), message);
            ok = false;
        }
    }
    ok.then(|| names.into_iter().map(|(n, _)| n).collect())
}

/// A raw field name or path (`a.b`, `list[key=1].value`, `/a/0`): a path
/// with bad syntax is reported at the character where it goes wrong.
pub(crate) fn raw_field(ctx: &mut Ctx<'_>, v: &Val<'_>, what: &str) -> Option<String> {
    let text = ctx.text(v, what)?;
    if text.contains('[') || text.starts_with('/') {
        if let Err(e) = einklang_core::Path::parse(&text) {
            located(ctx, (v, &text, e.column), format!("{what}: {}", e.message));
            return None;
        }
    }
    Some(text)
}

/// A table key that names a raw field or path (`mirror`, `on_delete.set`).
pub(crate) fn raw_key(
    ctx: &mut Ctx<'_>,
    key: &toml::Spanned<std::borrow::Cow<'_, str>>,
    what: &str,
) -> Option<String> {
    let text = key.get_ref().to_string();
    if text.contains('[') || text.starts_with('/') {
        if let Err(e) = einklang_core::Path::parse(&text) {
            ctx.error(key.span(), format!("{what}: `{text}`: {}", e.message));
            return None;
        }
    }
    Some(text)
}

fn field_rule(
    ctx: &mut Ctx<'_>,
    what: &str,
    target: &str,
    v: &Val<'_>,
    region: &str,
) -> Option<FieldRule> {
    let t = match v.get_ref() {
        DeValue::String(_) => {
            let from = raw_field(ctx, v, what)?;
            return Some(FieldRule {
                target: target.into(),
                source: Source::Field(from),
                transforms: vec![],
                direction: Direction::Both,
            });
        }
        DeValue::Table(t) => t,
        other => {
            ctx.error(
                v.span(),
                format!(
                    "{what} must be a raw field name or a table, found {}",
                    other.type_str()
                ),
            );
            return None;
        }
    };
    ctx.unknown_keys(t, &RULE_KEYS, what);
    // source, transforms and direction are each checked, so a rule reports
    // every problem it has
    let source = source(ctx, what, t, v);
    let transforms = transforms(ctx, what, t, source.as_ref(), region);
    let direction = direction(ctx, what, t);
    Some(FieldRule {
        target: target.into(),
        source: source?,
        transforms: transforms?,
        direction: direction?,
    })
}

/// `from` (one raw field or several) or `value` (a constant).
fn source(ctx: &mut Ctx<'_>, what: &str, t: &DeTable<'_>, v: &Val<'_>) -> Option<Source> {
    match (t.get("from"), t.get("value")) {
        (Some(f), None) => Some(match f.get_ref() {
            DeValue::Array(items) => {
                let what = format!("{what}.from");
                let paths: Vec<Option<String>> =
                    items.iter().map(|i| raw_field(ctx, i, &what)).collect();
                Source::Fields(paths.into_iter().collect::<Option<_>>()?)
            }
            _ => Source::Field(raw_field(ctx, f, &format!("{what}.from"))?),
        }),
        (None, Some(c)) => Some(Source::Constant(ctx.json(c, &format!("{what}.value"))?.0)),
        (Some(_), Some(c)) => {
            ctx.error(
                c.span(),
                format!("{what}: give either `from` or `value`, not both"),
            );
            None
        }
        (None, None) => {
            ctx.error(
                v.span(),
                format!("{what} needs `from` (a raw field) or `value` (a constant)"),
            );
            None
        }
    }
}

fn direction(ctx: &mut Ctx<'_>, what: &str, t: &DeTable<'_>) -> Option<Direction> {
    let Some(d) = t.get("direction") else {
        return Some(Direction::Both);
    };
    match ctx.text(d, &format!("{what}.direction"))?.as_str() {
        "pull" => Some(Direction::Pull),
        "push" => Some(Direction::Push),
        "both" => Some(Direction::Both),
        "read_only" => Some(Direction::ReadOnly),
        other => {
            ctx.error(
                d.span(),
                format!("{what}.direction: \"{other}\" is not one of pull, push, both, read_only"),
            );
            None
        }
    }
}

/// A filter expression, its syntax error located at the column it names.
pub(crate) fn filter(
    ctx: &mut Ctx<'_>,
    what: &str,
    f: &Val<'_>,
) -> Option<einklang_core::filter::Filter> {
    let text = ctx.text(f, what)?;
    match einklang_core::filter::parse(&text) {
        Ok(filter) => Some(filter),
        Err(e) => {
            located(ctx, (f, &text, e.column), format!("{what}: {}", e.message));
            None
        }
    }
}

/// Report `message` at character `column` of `text`, the quoted string `v`.
fn located(ctx: &mut Ctx<'_>, (v, text, column): (&Val<'_>, &str, usize), message: String) {
    let at = v.span().start
        + 1
        + text
            .char_indices()
            .nth(column)
            .map_or(text.len(), |(i, _)| i);
    ctx.error(at..at, message);
}
