//! `on_delete` of a mapping: what a hub delete does on the connector.

use crate::ctx::{hint, shown, Ctx, Val};
use einklang_core::OnDelete;
use serde_json::Value;
use toml::de::DeValue;

/// `"delete"`, `"ignore"` or `{ set = { raw_field = value, ... } }`.
pub fn parse(ctx: &mut Ctx<'_>, what: &str, v: &Val<'_>) -> Option<OnDelete> {
    let t = match v.get_ref() {
        DeValue::String(s) if s == "delete" => return Some(OnDelete::Delete),
        DeValue::String(s) if s == "ignore" => return Some(OnDelete::Ignore),
        DeValue::Table(t) => t,
        other => {
            let tip = match other {
                DeValue::String(s) => hint(s, &["delete", "ignore"]),
                _ => String::new(),
            };
            ctx.error(
                v.span(),
                format!(
                    "{what} must be \"delete\", \"ignore\" or {{ set = {{ field = value }} }}, found {}{tip}",
                    shown(other)
                ),
            );
            return None;
        }
    };
    ctx.unknown_keys(t, &["set"], what);
    let Some(set_v) = t.get("set") else {
        if t.is_empty() {
            ctx.error(
                v.span(),
                format!("{what} needs `set`, such as {{ set = {{ status = \"deleted\" }} }}"),
            );
        }
        return None;
    };
    let set = ctx.table(set_v, &format!("{what}.set"))?;
    if set.is_empty() {
        ctx.error(
            set_v.span(),
            format!("{what}.set names no fields: give the raw fields a delete writes, such as {{ status = \"deleted\" }}"),
        );
        return None;
    }
    // every field is converted, so each missing secret is reported
    let fields: Vec<_> = set
        .iter()
        .map(|(key, value)| {
            let name = crate::mappings::raw_key(ctx, key, &format!("{what}.set"))?;
            let json = templated(ctx, &format!("{what}.set.{name}"), value)?;
            Some((name, json))
        })
        .collect();
    let fields = fields.into_iter().collect::<Option<_>>()?;
    Some(OnDelete::Set(fields))
}

/// A raw value einklang writes of itself: a text may hold placeholders
/// (`{now}`, `{link.status}`, …, see `einklang_core::mirror`), each
/// checked here so a misspelt one fails `check`, not a write.
pub(crate) fn templated(ctx: &mut Ctx<'_>, what: &str, value: &Val<'_>) -> Option<Value> {
    let (json, _) = ctx.json(value, what)?;
    if let Some(bad) = json.as_str().and_then(einklang_core::mirror::unknown) {
        let known = einklang_core::mirror::NAMES.join("}, {");
        let message = format!("{what}: `{{{bad}}}` is not a value einklang has (or its format cannot be written); use {{{known}}}");
        ctx.error(value.span(), message);
        return None;
    }
    Some(json)
}
