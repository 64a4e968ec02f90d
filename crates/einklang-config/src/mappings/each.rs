//! `each = { value = "address", when = { kommKz = [4, 8] }, primary =
//! "primary", set = { type = "mobile" } }`: a list of objects as a hub
//! list (see `einklang_core::transform::each`). Every key is checked and
//! every problem reported; paths are located.

use crate::ctx::{Ctx, Val};
use einklang_core::mapping::Each;
use einklang_core::Transform;
use toml::de::DeValue;

const KEYS: [&str; 4] = ["value", "when", "primary", "set"];

/// The `each` table of rule `what`.
pub(super) fn parse(ctx: &mut Ctx<'_>, what: &str, v: &Val<'_>) -> Option<Transform> {
    let what = format!("{what}.each");
    let t = ctx.table(v, &what)?;
    ctx.unknown_keys(t, &KEYS, &what);
    let value = match t.get("value") {
        Some(p) => super::raw_field(ctx, p, &format!("{what}.value")),
        None => {
            let message = format!("{what} needs `value`: where an element holds its value");
            ctx.error(v.span(), message);
            None
        }
    };
    let primary = t
        .get("primary")
        .map(|p| super::raw_field(ctx, p, &format!("{what}.primary")));
    let when = t.get("when").map(|w| when(ctx, &what, w));
    let set = t
        .get("set")
        .map(|s| ctx.json(s, &format!("{what}.set")).map(|(j, _)| j));
    let set = match set {
        None => Some(serde_json::Map::new()),
        Some(Some(serde_json::Value::Object(m))) => Some(m),
        Some(Some(_)) => {
            let span = t.get("set").map(|s| s.span()).unwrap_or(v.span());
            ctx.error(span, format!("{what}.set must be a table of constants"));
            None
        }
        Some(None) => None,
    };
    Some(Transform::Each(Each {
        value: value?,
        when: when.unwrap_or(Some(Vec::new()))?,
        primary: match primary {
            Some(p) => Some(p?),
            None => None,
        },
        set: set?,
    }))
}

/// `when = { kommKz = [4, 8], primary = true }`: each key one value or several.
fn when(
    ctx: &mut Ctx<'_>,
    what: &str,
    v: &Val<'_>,
) -> Option<Vec<(String, Vec<serde_json::Value>)>> {
    let what = format!("{what}.when");
    let t = ctx.table(v, &what)?;
    let mut out = Vec::new();
    for (key, value) in t.iter() {
        let key = key.get_ref().to_string();
        let values = match value.get_ref() {
            DeValue::Array(items) => items
                .iter()
                .map(|i| ctx.json(i, &format!("{what}.{key}")).map(|(j, _)| j))
                .collect::<Option<Vec<_>>>()?,
            _ => vec![ctx.json(value, &format!("{what}.{key}"))?.0],
        };
        out.push((key, values));
    }
    Some(out)
}
