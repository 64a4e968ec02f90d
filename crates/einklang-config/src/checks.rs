//! `checks` of a refresh job: extra pre-checks counting staged records
//! (`{ entity = "booking", filter = "status_id = 142", min = 10, max_drop
//! = "50%" }`), each needing its entity and a `min` or a `max_drop`.

use crate::ctx::{number, shown, Ctx, Val};
use crate::Config;
use einklang_core::refresh::CountCheck;
use toml::de::DeValue;

const KEYS: [&str; 4] = ["entity", "filter", "min", "max_drop"];

/// Parse a job's `checks`.
pub fn parse(ctx: &mut Ctx<'_>, what: &str, config: &Config, v: &Val<'_>) -> Vec<CountCheck> {
    let DeValue::Array(items) = v.get_ref() else {
        ctx.error(
            v.span(),
            format!("{what}: `checks` must be a list such as [{{ entity = \"booking\", filter = \"status_id = 142\", max_drop = \"50%\" }}]"),
        );
        return Vec::new();
    };
    items
        .iter()
        .filter_map(|item| check(ctx, what, config, item))
        .collect()
}

fn check(ctx: &mut Ctx<'_>, what: &str, config: &Config, item: &Val<'_>) -> Option<CountCheck> {
    let what = format!("{what}: a check");
    let t = ctx.table(item, &what)?;
    ctx.unknown_keys(t, &KEYS, &what);
    let Some(e) = t.get("entity") else {
        ctx.error(
            item.span(),
            format!("{what} needs `entity`, the entity whose staged records it counts"),
        );
        return None;
    };
    let entity = ctx.text(e, &format!("{what}: `entity`"))?;
    if !config.entities.contains_key(&entity) {
        ctx.error(e.span(), format!("{what}: unknown entity `{entity}`"));
        return None;
    }
    let filter = match t.get("filter") {
        Some(f) => Some(crate::mappings::filter(
            ctx,
            &format!("{what}: `filter`"),
            f,
        )?),
        None => None,
    };
    let min = match t.get("min") {
        None => None,
        Some(m) => match number(m.get_ref()) {
            Some(n) if n >= 0.0 && n.fract() == 0.0 => Some(n as u64),
            _ => {
                let found = shown(m.get_ref());
                ctx.error(
                    m.span(),
                    format!("{what}: `min` is a count of records such as 10; found {found}"),
                );
                return None;
            }
        },
    };
    let max_drop = t
        .get("max_drop")
        .map(|m| crate::jobs::share(ctx, &what, "max_drop", m));
    if min.is_none() && max_drop.is_none() {
        ctx.error(
            item.span(),
            format!("{what} needs `min` or `max_drop` (or both): what would hold the snapshot"),
        );
        return None;
    }
    Some(CountCheck {
        entity,
        filter,
        min,
        max_drop,
    })
}
