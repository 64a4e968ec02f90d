//! `[map.CONNECTOR.ENTITY]`: external id, filter, delete behaviour, `find`
//! fields and field rules (their transforms in [`transforms`]), checked
//! against the connectors and entity schemas; every part of a mapping is
//! checked even when another part has a problem.

mod transforms;

use crate::ctx::{Ctx, Val};
use einklang_core::{Direction, EntitySchema, FieldRule, Mapping, OnDelete, Source};
use std::collections::BTreeMap;
use toml::de::{DeTable, DeValue};
use transforms::transforms;

const RULE_KEYS: [&str; 18] = [
    "from",
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
            if let Some(m) = mapping(ctx, &connector, schema, m_v, region) {
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
    connector: &str,
    schema: &EntitySchema,
    v: &Val<'_>,
    region: &str,
) -> Option<Mapping> {
    let what = format!("map.{connector}.{}", schema.name);
    let t = ctx.table(v, &what)?;
    ctx.unknown_keys(t, &["id", "filter", "on_delete", "fields", "find"], &what);
    let id_field = match t.get("id") {
        Some(id) => ctx.text(id, &format!("{what}.id")),
        None => {
            ctx.error(
                v.span(),
                format!("{what} needs `id`, the raw field holding the external id"),
            );
            None
        }
    };
    let filter = match t.get("filter") {
        None => None,
        Some(f) => {
            let text = ctx.text(f, &format!("{what}.filter")).unwrap_or_default();
            match einklang_core::filter::parse(&text) {
                Ok(filter) => Some(filter),
                Err(e) => {
                    let at = f.span().start
                        + 1
                        + text
                            .char_indices()
                            .nth(e.column)
                            .map_or(text.len(), |(i, _)| i);
                    ctx.error(at..at, format!("{what}.filter: {}", e.message));
                    None
                }
            }
        }
    };
    let on_delete = match t.get("on_delete") {
        Some(d) => crate::on_delete::parse(ctx, &format!("{what}.on_delete"), d),
        None => Some(OnDelete::Delete),
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
    })
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

fn field_rule(
    ctx: &mut Ctx<'_>,
    what: &str,
    target: &str,
    v: &Val<'_>,
    region: &str,
) -> Option<FieldRule> {
    let t = match v.get_ref() {
        DeValue::String(_) => {
            let from = ctx.text(v, what)?;
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
            DeValue::Array(_) => Source::Fields(
                ctx.texts(f, &format!("{what}.from"))?
                    .into_iter()
                    .map(|(s, _)| s)
                    .collect(),
            ),
            _ => Source::Field(ctx.text(f, &format!("{what}.from"))?),
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
