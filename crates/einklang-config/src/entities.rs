//! `[entities.NAME]`: typed field schemas.

use crate::ctx::{Ctx, Val};
use einklang_core::{EntitySchema, FieldSpec, FieldType};
use std::collections::BTreeMap;
use std::ops::Range;
use toml::de::DeValue;

const TYPES: [&str; 12] = [
    "text",
    "email",
    "phone",
    "date",
    "datetime",
    "number",
    "bool",
    "enum",
    "ref",
    "emails",
    "phones",
    "addresses",
];

/// A `ref` to check once every entity is known.
pub struct PendingRef {
    pub entity: String,
    pub span: Range<usize>,
    pub field: String,
    /// `create = true`: the target must be creatable empty.
    pub create: bool,
}

/// Parse all entities; refs are returned for checking against the full set.
pub fn parse(ctx: &mut Ctx<'_>, v: &Val<'_>) -> (BTreeMap<String, EntitySchema>, Vec<PendingRef>) {
    let mut out = BTreeMap::new();
    let mut refs = Vec::new();
    let Some(table) = ctx.table(v, "`entities`") else {
        return (out, refs);
    };
    for (name, fields_v) in table.iter() {
        let name = name.get_ref().to_string();
        let Some(fields) = ctx.table(fields_v, &format!("entity `{name}`")) else {
            continue;
        };
        if fields.is_empty() {
            ctx.error(fields_v.span(), format!("entity `{name}` has no fields"));
        }
        let mut schema = EntitySchema {
            name: name.clone(),
            fields: Vec::new(),
        };
        for (field, spec_v) in fields.iter() {
            let field = field.get_ref().to_string();
            let what = format!("{name}.{field}");
            if let Some(spec) = field_spec(ctx, &what, &field, spec_v, &mut refs) {
                schema.fields.push(spec);
            }
        }
        out.insert(name, schema);
    }
    (out, refs)
}

fn field_spec(
    ctx: &mut Ctx<'_>,
    what: &str,
    field: &str,
    v: &Val<'_>,
    refs: &mut Vec<PendingRef>,
) -> Option<FieldSpec> {
    let (type_v, mut required, mut values, mut entity) = (v, false, None, None);
    let mut create = None;
    let mut type_v = type_v;
    if let DeValue::Table(t) = v.get_ref() {
        ctx.unknown_keys(
            t,
            &["type", "required", "values", "entity", "create"],
            &format!("field {what}"),
        );
        match t.get("type") {
            Some(tv) => type_v = tv,
            None => {
                ctx.error(v.span(), format!("field {what} needs a `type`"));
                return None;
            }
        }
        if let Some(r) = t.get("required") {
            required = ctx.boolean(r, &format!("{what}.required"))?;
        }
        if let Some(vals) = t.get("values") {
            values = Some((ctx.texts(vals, &format!("{what}.values"))?, vals.span()));
        }
        if let Some(c) = t.get("create") {
            create = Some((ctx.boolean(c, &format!("{what}.create"))?, c.span()));
        }
        if let Some(e) = t.get("entity") {
            entity = Some((ctx.text(e, &format!("{what}.entity"))?, e.span()));
        }
    }
    let ty_name = ctx.text(type_v, &format!("the type of {what}"))?;
    let span = type_v.span();
    let ty = match ty_name.trim() {
        "text" => FieldType::Text,
        "email" => FieldType::Email,
        "phone" => FieldType::Phone,
        "date" => FieldType::Date,
        "datetime" => FieldType::DateTime,
        "number" => FieldType::Number,
        "bool" => FieldType::Bool,
        "emails" | "list<email>" => FieldType::Emails,
        "phones" | "list<phone>" => FieldType::Phones,
        "addresses" | "list<address>" => FieldType::Addresses,
        "enum" => match &values {
            Some((vals, _)) if !vals.is_empty() => {
                FieldType::Enum(vals.iter().map(|(s, _)| s.clone()).collect())
            }
            _ => {
                ctx.error(span, format!("field {what} is an enum but has no `values` (e.g. {{ type = \"enum\", values = [\"a\", \"b\"] }})"));
                return None;
            }
        },
        "ref" => match entity {
            Some((e, espan)) => {
                refs.push(PendingRef {
                    entity: e.clone(),
                    span: espan,
                    field: what.to_string(),
                    create: create.as_ref().is_some_and(|(c, _)| *c),
                });
                FieldType::Ref(e)
            }
            None => {
                ctx.error(span, format!("field {what} is a ref but names no `entity` (write \"ref<company>\" or add entity = \"company\")"));
                return None;
            }
        },
        t if t.starts_with("ref<") && t.ends_with('>') => {
            let e = t[4..t.len() - 1].trim().to_string();
            refs.push(PendingRef {
                entity: e.clone(),
                span: span.clone(),
                field: what.to_string(),
                create: create.as_ref().is_some_and(|(c, _)| *c),
            });
            FieldType::Ref(e)
        }
        other => {
            let hint = crate::ctx::closest(other, &TYPES)
                .map(|c| format!(" — did you mean `{c}`?"))
                .unwrap_or_default();
            ctx.error(
                span,
                format!(
                    "unknown field type \"{other}\" for {what} (expected one of {}){hint}",
                    TYPES.join(", ")
                ),
            );
            return None;
        }
    };
    if let (Some((_, vspan)), false) = (&values, matches!(ty, FieldType::Enum(_))) {
        ctx.error(
            vspan.clone(),
            format!("field {what}: `values` only applies to enum fields"),
        );
    }
    if let (Some((_, cspan)), false) = (&create, matches!(ty, FieldType::Ref(_))) {
        ctx.error(
            cspan.clone(),
            format!("field {what}: `create` only applies to ref fields"),
        );
    }
    Some(FieldSpec {
        name: field.to_string(),
        ty,
        required,
        create: create.as_ref().is_some_and(|(c, _)| *c),
    })
}
