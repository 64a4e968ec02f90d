//! `survive` of `[matching.ENTITY]`: which values a merged record keeps.
//!
//! ```toml
//! survive = { default = "most_complete", sources = ["crm", "phonebook"], company = "source_priority", notes = "longest" }
//! ```
//!
//! `default` is the rule of fields not named (`most_complete` unless
//! `sources` is given, then `source_priority`); `sources` orders the
//! connectors for `source_priority`; any other key names a field of the
//! entity. List fields always take the union.

use crate::ctx::{hint, Ctx, Val};
use einklang_core::identity::survive::{Rule, Survivorship};
use einklang_core::EntitySchema;

const RULES: [&str; 4] = ["source_priority", "most_recent", "most_complete", "longest"];

/// Parse `survive` (absent: the default survivorship).
pub fn parse(
    ctx: &mut Ctx<'_>,
    v: Option<&Val<'_>>,
    schema: &EntitySchema,
    connectors: &[String],
    what: &str,
) -> Survivorship {
    let mut out = Survivorship::default();
    let Some(v) = v else { return out };
    let what = format!("{what}.survive");
    let Some(t) = ctx.table(v, &format!("`{what}`")) else {
        return out;
    };
    let sources = t
        .get("sources")
        .map(|s| self::sources(ctx, s, connectors, &what));
    let sources = sources.flatten().unwrap_or_default();
    let rule = |ctx: &mut Ctx<'_>, v: &Val<'_>, key: &str| -> Option<Rule> {
        let name = ctx.text(v, &format!("`{what}.{key}`"))?;
        let rule = match name.as_str() {
            "source_priority" if sources.is_empty() => {
                ctx.error(v.span(), format!("`{what}.{key}` is source_priority, but `{what}` has no `sources = [...]` to order the connectors"));
                return None;
            }
            "source_priority" => Rule::SourcePriority(sources.clone()),
            "most_recent" => Rule::MostRecent,
            "most_complete" => Rule::MostComplete,
            "longest" => Rule::Longest,
            _ => {
                let tip = hint(&name, &RULES);
                ctx.error(
                    v.span(),
                    format!(
                        "`{what}.{key}`: unknown rule `{name}`; the rules are {}{tip}",
                        RULES.join(", ")
                    ),
                );
                return None;
            }
        };
        Some(rule)
    };
    if !sources.is_empty() {
        out.default = Rule::SourcePriority(sources.clone());
    }
    for (key, item) in t.iter() {
        let key = key.get_ref().as_ref();
        match key {
            "sources" => {}
            "default" => out.default = rule(ctx, item, key).unwrap_or(out.default),
            field if schema.field(field).is_some() => {
                if let Some(r) = rule(ctx, item, key) {
                    out.fields.insert(field.to_string(), r);
                }
            }
            field => {
                let known: Vec<&str> = schema.fields.iter().map(|f| f.name.as_str()).collect();
                let tip = hint(field, &known);
                ctx.error(item.span(), format!("`{what}`: `{field}` is not a field of {} (keys are `default`, `sources` and field names){tip}", schema.name));
            }
        }
    }
    out
}

fn sources(
    ctx: &mut Ctx<'_>,
    v: &Val<'_>,
    connectors: &[String],
    what: &str,
) -> Option<Vec<String>> {
    let items = ctx.texts(v, &format!("`{what}.sources`"))?;
    let known: Vec<&str> = connectors.iter().map(String::as_str).collect();
    let mut out = Vec::new();
    for (name, span) in items {
        if !connectors.contains(&name) {
            let tip = hint(&name, &known);
            ctx.error(
                span,
                format!("`{what}.sources`: `{name}` is not a connector{tip}"),
            );
            continue;
        }
        out.push(name);
    }
    Some(out)
}
