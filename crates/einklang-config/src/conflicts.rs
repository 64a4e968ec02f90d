//! `[conflicts.ENTITY]`: who wins a conflict, per field or named group of
//! fields, with a default, checked against the entity's fields and the
//! connectors.

use crate::ctx::{hint, shown, Ctx, Val};
use einklang_core::{EntitySchema, FieldType, Policies, Policy};
use std::collections::BTreeMap;
use toml::de::DeValue;

/// The party name that keeps the hub's value in an `authority` list.
const HUB: &str = "hub";

/// Parse the conflict policies of every entity.
pub fn parse(
    ctx: &mut Ctx<'_>,
    v: &Val<'_>,
    entities: &BTreeMap<String, EntitySchema>,
    connectors: &[String],
) -> BTreeMap<String, Policies> {
    let mut out = BTreeMap::new();
    let Some(table) = ctx.table(v, "`conflicts`") else {
        return out;
    };
    let mut parties: Vec<&str> = connectors.iter().map(String::as_str).collect();
    parties.push(HUB);
    for (ent_key, p_v) in table.iter() {
        let entity = ent_key.get_ref().to_string();
        let Some(schema) = entities.get(&entity) else {
            let known: Vec<&str> = entities.keys().map(String::as_str).collect();
            let tip = hint(&entity, &known);
            ctx.error(
                ent_key.span(),
                format!("conflicts.{entity}: unknown entity `{entity}`{tip}"),
            );
            continue;
        };
        if let Some(policies) = entity_policies(ctx, schema, &parties, p_v) {
            out.insert(entity, policies);
        }
    }
    out
}

fn entity_policies(
    ctx: &mut Ctx<'_>,
    schema: &EntitySchema,
    parties: &[&str],
    v: &Val<'_>,
) -> Option<Policies> {
    let what = format!("conflicts.{}", schema.name);
    let t = ctx.table(v, &what)?;
    let mut keys: Vec<&str> = vec!["default"];
    keys.extend(schema.fields.iter().map(|f| f.name.as_str()));
    let mut policies = Policies::default();
    for (key, p_v) in t.iter() {
        let name = key.get_ref().to_string();
        if !keys.contains(&name.as_str()) {
            if let Some(fields) = group_fields(ctx, &format!("{what}.{name}"), schema, p_v) {
                let Some(policy) =
                    policy(ctx, &format!("{what}.{name}"), schema, parties, p_v, true)
                else {
                    continue;
                };
                for field in fields {
                    policies.fields.insert(field, policy.clone());
                }
                continue;
            }
            let tip = hint(&name, &keys);
            ctx.error(
                key.span(),
                format!(
                    "{what}: `{name}` is neither `default` nor a field of entity `{}`{tip} (a group of fields takes `fields = [...]`)",
                    schema.name
                ),
            );
            continue;
        }
        let Some(policy) = policy(ctx, &format!("{what}.{name}"), schema, parties, p_v, false)
        else {
            continue;
        };
        if name == "default" {
            policies.default = policy;
        } else {
            policies.fields.insert(name, policy);
        }
    }
    Some(policies)
}

/// The fields of a named group (`stammdaten = { fields = [...], authority = "espo" }`),
/// or `None` when `v` is no group.
fn group_fields(
    ctx: &mut Ctx<'_>,
    what: &str,
    schema: &EntitySchema,
    v: &Val<'_>,
) -> Option<Vec<String>> {
    let DeValue::Table(t) = v.get_ref() else {
        return None;
    };
    let list = t.get("fields")?;
    let names = ctx.texts(list, &format!("{what}.fields"))?;
    if names.is_empty() {
        ctx.error(list.span(), format!("{what}.fields names no field"));
        return None;
    }
    let known: Vec<&str> = schema.fields.iter().map(|f| f.name.as_str()).collect();
    let mut out = Vec::new();
    for (name, span) in names {
        if known.contains(&name.as_str()) {
            out.push(name);
        } else {
            let tip = hint(&name, &known);
            ctx.error(
                span,
                format!(
                    "{what}.fields: entity `{}` has no field `{name}`{tip}",
                    schema.name
                ),
            );
        }
    }
    Some(out)
}

/// `"review"`, `{ authority = ... }` or `{ newest = ... }` (with `fields`
/// for a group).
fn policy(
    ctx: &mut Ctx<'_>,
    what: &str,
    schema: &EntitySchema,
    parties: &[&str],
    v: &Val<'_>,
    group: bool,
) -> Option<Policy> {
    let t = match v.get_ref() {
        DeValue::String(s) if s == "review" => return Some(Policy::Review),
        DeValue::Table(t) => t,
        other => {
            let tip = match other {
                DeValue::String(s) if parties.contains(&s.as_ref()) => {
                    format!(" — did you mean {{ authority = \"{s}\" }}?")
                }
                DeValue::String(s) => hint(s, &["review"]),
                _ => String::new(),
            };
            ctx.error(
                v.span(),
                format!(
                    "{what} must be \"review\", {{ authority = \"…\" }} or {{ newest = \"…\" }}, found {}{tip}",
                    shown(other)
                ),
            );
            return None;
        }
    };
    let allowed: &[&str] = if group {
        &["fields", "authority", "newest"]
    } else {
        &["authority", "newest"]
    };
    ctx.unknown_keys(t, allowed, what);
    match (t.get("authority"), t.get("newest")) {
        (Some(a), None) => authority(ctx, what, parties, a),
        (None, Some(n)) => newest(ctx, what, schema, n),
        // Only unknown keys, reported above.
        (None, None) if !t.is_empty() && !group => None,
        _ => {
            ctx.error(
                v.span(),
                format!("{what} needs exactly one of `authority` or `newest`"),
            );
            None
        }
    }
}

fn authority(ctx: &mut Ctx<'_>, what: &str, parties: &[&str], v: &Val<'_>) -> Option<Policy> {
    let what = format!("{what}.authority");
    let list = ctx.texts(v, &what)?;
    if list.is_empty() {
        ctx.error(
            v.span(),
            format!("{what} names no one: list connectors or `hub`, such as [\"espo\", \"hub\"]"),
        );
        return None;
    }
    let mut names: Vec<String> = Vec::new();
    let mut fits = true;
    for (name, span) in list {
        if !parties.contains(&name.as_str()) {
            let tip = hint(&name, parties);
            ctx.error(
                span,
                format!("{what}: `{name}` is neither a connector nor `hub`{tip}"),
            );
            fits = false;
        } else if names.contains(&name) {
            ctx.error(span, format!("{what} names `{name}` twice"));
            fits = false;
        }
        names.push(name);
    }
    fits.then_some(Policy::Authority(names))
}

fn newest(ctx: &mut Ctx<'_>, what: &str, schema: &EntitySchema, v: &Val<'_>) -> Option<Policy> {
    let what = format!("{what}.newest");
    let field = ctx.text(v, &what)?;
    let stamps: Vec<&str> = schema
        .fields
        .iter()
        .filter(|f| matches!(f.ty, FieldType::DateTime | FieldType::Date))
        .map(|f| f.name.as_str())
        .collect();
    let message = match schema.field(&field) {
        None => format!(
            "{what}: entity `{}` has no field `{field}`{}",
            schema.name,
            stamp_hint(&field, &stamps)
        ),
        Some(f) if !stamps.contains(&f.name.as_str()) => format!(
            "{what}: field `{field}` is {}, but `newest` needs a datetime or date field",
            f.ty.name()
        ),
        Some(_) => return Some(Policy::Newest(field)),
    };
    ctx.error(v.span(), message);
    None
}

/// A did-you-mean for a `newest` field, else the fields that would do.
fn stamp_hint(field: &str, stamps: &[&str]) -> String {
    match (hint(field, stamps), stamps) {
        (tip, _) if !tip.is_empty() => tip,
        (_, []) => " (it has no datetime or date field)".into(),
        (_, _) => format!(" (its datetime and date fields: {})", stamps.join(", ")),
    }
}
