//! `[map.CONNECTOR.ENTITY]`: external id, filter, delete behaviour and field
//! rules, checked against the connectors and entity schemas.

use crate::ctx::{Ctx, Val};
use einklang_core::mapping::{EpochUnit, NamePart};
use einklang_core::{Direction, EntitySchema, FieldRule, Mapping, OnDelete, Source, Transform};
use std::collections::BTreeMap;
use toml::de::{DeTable, DeValue};

const RULE_KEYS: [&str; 17] = [
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
    "direction",
];

/// Parse every mapping.
pub fn parse(
    ctx: &mut Ctx<'_>,
    v: &Val<'_>,
    connectors: &[String],
    entities: &BTreeMap<String, EntitySchema>,
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
            continue;
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
            if let Some(m) = mapping(ctx, &connector, schema, m_v) {
                out.push(m);
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
        Some(f) => find_fields(ctx, &what, schema, f)?,
        None => Vec::new(),
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
                continue;
            }
            if let Some(rule) = field_rule(
                ctx,
                &format!("{what}.fields.{target_name}"),
                &target_name,
                rule_v,
            ) {
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
        find,
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

fn field_rule(ctx: &mut Ctx<'_>, what: &str, target: &str, v: &Val<'_>) -> Option<FieldRule> {
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
    let source = match (t.get("from"), t.get("value")) {
        (Some(f), None) => match f.get_ref() {
            DeValue::Array(_) => Source::Fields(
                ctx.texts(f, &format!("{what}.from"))?
                    .into_iter()
                    .map(|(s, _)| s)
                    .collect(),
            ),
            _ => Source::Field(ctx.text(f, &format!("{what}.from"))?),
        },
        (None, Some(c)) => Source::Constant(ctx.json(c, &format!("{what}.value"))?.0),
        (Some(_), Some(c)) => {
            ctx.error(
                c.span(),
                format!("{what}: give either `from` or `value`, not both"),
            );
            return None;
        }
        (None, None) => {
            ctx.error(
                v.span(),
                format!("{what} needs `from` (a raw field) or `value` (a constant)"),
            );
            return None;
        }
    };
    let transforms = transforms(ctx, what, t, &source)?;
    let direction = match t.get("direction") {
        None => Direction::Both,
        Some(d) => {
            match ctx.text(d, &format!("{what}.direction"))?.as_str() {
                "pull" => Direction::Pull,
                "push" => Direction::Push,
                "both" => Direction::Both,
                "read_only" => Direction::ReadOnly,
                other => {
                    ctx.error(d.span(), format!("{what}.direction: \"{other}\" is not one of pull, push, both, read_only"));
                    return None;
                }
            }
        }
    };
    Some(FieldRule {
        target: target.into(),
        source,
        transforms,
        direction,
    })
}

/// The transforms of a rule, in the fixed order of docs/CONFIG.md.
fn transforms(
    ctx: &mut Ctx<'_>,
    what: &str,
    t: &DeTable<'_>,
    source: &Source,
) -> Option<Vec<Transform>> {
    let mut out = Vec::new();
    let flag = |ctx: &mut Ctx<'_>, key: &str| {
        t.get(key)
            .and_then(|v| ctx.boolean(v, &format!("{what}.{key}")))
            .unwrap_or(false)
    };
    let text = |ctx: &mut Ctx<'_>, key: &str| {
        t.get(key)
            .map(|v| (ctx.text(v, &format!("{what}.{key}")), v.span()))
    };
    if flag(ctx, "trim") {
        out.push(Transform::Trim);
    }
    if let Some(m) = t.get("map") {
        let table = ctx.table(m, &format!("{what}.map"))?;
        let mut map = BTreeMap::new();
        for (k, val) in table.iter() {
            map.insert(
                k.get_ref().to_string(),
                ctx.json(val, &format!("{what}.map"))?.0,
            );
        }
        let passthrough = flag(ctx, "passthrough");
        let default = match t.get("default") {
            Some(d) => Some(ctx.json(d, &format!("{what}.default"))?.0),
            None => None,
        };
        out.push(Transform::ValueMap {
            map,
            default,
            passthrough,
        });
    }
    if let Some((format, span)) = text(ctx, "date") {
        let format = format?;
        check_format(ctx, what, "date", &format, span)?;
        out.push(Transform::Date { format });
    }
    if let Some((format, span)) = text(ctx, "datetime") {
        let format = format?;
        check_format(ctx, what, "datetime", &format, span)?;
        let tz = match text(ctx, "tz") {
            Some((tz, span)) => {
                let tz = tz?;
                if tz.parse::<chrono_tz::Tz>().is_err() {
                    ctx.error(span, format!("{what}.tz: unknown time zone \"{tz}\" (use an IANA name such as Europe/Berlin)"));
                    return None;
                }
                tz
            }
            None => "UTC".to_string(),
        };
        out.push(Transform::DateTime { format, tz });
    }
    if let Some((unit, span)) = text(ctx, "epoch") {
        out.push(Transform::Epoch {
            unit: match unit?.as_str() {
                "s" => EpochUnit::Seconds,
                "ms" => EpochUnit::Millis,
                other => {
                    ctx.error(
                        span,
                        format!("{what}.epoch: \"{other}\" is not \"s\" or \"ms\""),
                    );
                    return None;
                }
            },
        });
    }
    if let Some((part, span)) = text(ctx, "split_name") {
        out.push(Transform::SplitName {
            part: match part?.as_str() {
                "first" => NamePart::First,
                "last" => NamePart::Last,
                other => {
                    ctx.error(
                        span,
                        format!("{what}.split_name: \"{other}\" is not \"first\" or \"last\""),
                    );
                    return None;
                }
            },
        });
    }
    if let Some((sep, _)) = text(ctx, "join") {
        out.push(Transform::Join { sep: sep? });
    }
    if flag(ctx, "person_or_company") {
        if !matches!(source, Source::Fields(f) if f.len() == 3) {
            ctx.error(
                t.get("person_or_company").map_or(0..0, |v| v.span()),
                format!("{what}.person_or_company needs from = [company, first name, last name]"),
            );
            return None;
        }
        out.push(Transform::PersonOrCompany);
    }
    if flag(ctx, "lowercase") {
        out.push(Transform::Lowercase);
    }
    if flag(ctx, "uppercase") {
        out.push(Transform::Uppercase);
    }
    if let Some((region, span)) = text(ctx, "phone") {
        let region = region?;
        if region.len() != 2 || !region.chars().all(|c| c.is_ascii_alphabetic()) {
            ctx.error(
                span,
                format!("{what}.phone: \"{region}\" is not a two-letter region such as DE"),
            );
            return None;
        }
        out.push(Transform::Phone {
            region: region.to_uppercase(),
        });
    }
    if t.get("map").is_none() {
        if let Some(d) = t.get("default") {
            out.push(Transform::Default(
                ctx.json(d, &format!("{what}.default"))?.0,
            ));
        }
    }
    Some(out)
}

fn check_format(
    ctx: &mut Ctx<'_>,
    what: &str,
    key: &str,
    format: &str,
    span: std::ops::Range<usize>,
) -> Option<()> {
    use chrono::format::{Item, StrftimeItems};
    if StrftimeItems::new(format).any(|i| matches!(i, Item::Error)) {
        ctx.error(span, format!("{what}.{key}: \"{format}\" is not a valid date format (use chrono/strftime codes such as %d.%m.%Y)"));
        return None;
    }
    Some(())
}
