//! The transforms of a field rule (`trim`, `map`, `date`, … `default`):
//! each key checked, every problem reported.

use crate::ctx::{Ctx, Val};
use einklang_core::mapping::{EpochUnit, NamePart};
use einklang_core::{Source, Transform};
use std::collections::BTreeMap;
use toml::de::DeTable;

/// The transforms of a rule, in the fixed order of docs/CONFIG.md. Every
/// key is checked (None when any had a problem, each one reported).
pub(super) fn transforms(
    ctx: &mut Ctx<'_>,
    what: &str,
    t: &DeTable<'_>,
    source: Option<&Source>,
) -> Option<Vec<Transform>> {
    let flag = |ctx: &mut Ctx<'_>, key: &str| {
        t.get(key)
            .and_then(|v| ctx.boolean(v, &format!("{what}.{key}")))
            .unwrap_or(false)
    };
    let steps = [
        t.get("each").map(|e| super::each::parse(ctx, what, e)),
        flag(ctx, "trim").then_some(Some(Transform::Trim)),
        t.get("map").map(|m| value_map(ctx, what, t, m)),
        text(ctx, what, t, "date").map(|(f, span)| {
            let format = check_format(ctx, what, "date", f?, span)?;
            Some(Transform::Date { format })
        }),
        text(ctx, what, t, "datetime").map(|(f, span)| datetime(ctx, what, t, f, span)),
        text(ctx, what, t, "epoch").map(|(unit, span)| {
            let unit = match unit?.as_str() {
                "s" => EpochUnit::Seconds,
                "ms" => EpochUnit::Millis,
                other => {
                    let message = format!("{what}.epoch: \"{other}\" is not \"s\" or \"ms\"");
                    ctx.error(span, message);
                    return None;
                }
            };
            Some(Transform::Epoch { unit })
        }),
        text(ctx, what, t, "split_name").map(|(part, span)| {
            let part = match part?.as_str() {
                "first" => NamePart::First,
                "last" => NamePart::Last,
                other => {
                    let message =
                        format!("{what}.split_name: \"{other}\" is not \"first\" or \"last\"");
                    ctx.error(span, message);
                    return None;
                }
            };
            Some(Transform::SplitName { part })
        }),
        text(ctx, what, t, "join").map(|(sep, _)| Some(Transform::Join { sep: sep? })),
        flag(ctx, "person_or_company").then(|| person_or_company(ctx, what, t, source)),
        flag(ctx, "lowercase").then_some(Some(Transform::Lowercase)),
        flag(ctx, "uppercase").then_some(Some(Transform::Uppercase)),
        text(ctx, what, t, "phone").map(|(region, span)| phone(ctx, what, region?, span)),
        match (t.get("map"), t.get("default")) {
            (None, Some(d)) => Some(
                ctx.json(d, &format!("{what}.default"))
                    .map(|(j, _)| Transform::Default(j)),
            ),
            _ => None,
        },
    ];
    steps.into_iter().flatten().collect()
}

/// A text setting of a rule with its span (the text None when it is not one).
fn text(
    ctx: &mut Ctx<'_>,
    what: &str,
    t: &DeTable<'_>,
    key: &str,
) -> Option<(Option<String>, std::ops::Range<usize>)> {
    t.get(key)
        .map(|v| (ctx.text(v, &format!("{what}.{key}")), v.span()))
}

/// `map = { … }` with its `default` or `passthrough`.
fn value_map(ctx: &mut Ctx<'_>, what: &str, t: &DeTable<'_>, m: &Val<'_>) -> Option<Transform> {
    let table = ctx.table(m, &format!("{what}.map"));
    let entries: Vec<_> = table
        .into_iter()
        .flat_map(|t| t.iter())
        .map(|(k, val)| {
            let (json, _) = ctx.json(val, &format!("{what}.map"))?;
            Some((k.get_ref().to_string(), json))
        })
        .collect();
    let passthrough = t
        .get("passthrough")
        .and_then(|v| ctx.boolean(v, &format!("{what}.passthrough")))
        .unwrap_or(false);
    let default = match t.get("default") {
        Some(d) => ctx
            .json(d, &format!("{what}.default"))
            .map(|(j, _)| Some(j)),
        None => Some(None),
    };
    table?;
    Some(Transform::ValueMap {
        map: entries.into_iter().collect::<Option<BTreeMap<_, _>>>()?,
        default: default?,
        passthrough,
    })
}

/// `datetime = "…"` with its `tz`.
fn datetime(
    ctx: &mut Ctx<'_>,
    what: &str,
    t: &DeTable<'_>,
    format: Option<String>,
    span: std::ops::Range<usize>,
) -> Option<Transform> {
    let format = format.and_then(|f| check_format(ctx, what, "datetime", f, span));
    let tz = match text(ctx, what, t, "tz") {
        Some((tz, span)) => tz.and_then(|tz| {
            if tz.parse::<chrono_tz::Tz>().is_ok() {
                return Some(tz);
            }
            ctx.error(span, format!("{what}.tz: unknown time zone \"{tz}\" (use an IANA name such as Europe/Berlin)"));
            None
        }),
        None => Some("UTC".to_string()),
    };
    Some(Transform::DateTime {
        format: format?,
        tz: tz?,
    })
}

fn person_or_company(
    ctx: &mut Ctx<'_>,
    what: &str,
    t: &DeTable<'_>,
    source: Option<&Source>,
) -> Option<Transform> {
    match source {
        Some(Source::Fields(f)) if f.len() == 3 => Some(Transform::PersonOrCompany),
        // a broken source is reported by itself
        None => None,
        Some(_) => {
            ctx.error(
                t.get("person_or_company").map_or(0..0, |v| v.span()),
                format!("{what}.person_or_company needs from = [company, first name, last name]"),
            );
            None
        }
    }
}

fn phone(
    ctx: &mut Ctx<'_>,
    what: &str,
    region: String,
    span: std::ops::Range<usize>,
) -> Option<Transform> {
    if region.len() != 2 || !region.chars().all(|c| c.is_ascii_alphabetic()) {
        ctx.error(
            span,
            format!("{what}.phone: \"{region}\" is not a two-letter region such as DE"),
        );
        return None;
    }
    Some(Transform::Phone {
        region: region.to_uppercase(),
    })
}

/// The format when chrono understands it.
fn check_format(
    ctx: &mut Ctx<'_>,
    what: &str,
    key: &str,
    format: String,
    span: std::ops::Range<usize>,
) -> Option<String> {
    use chrono::format::{Item, StrftimeItems};
    if StrftimeItems::new(&format).any(|i| matches!(i, Item::Error)) {
        ctx.error(span, format!("{what}.{key}: \"{format}\" is not a valid date format (use chrono/strftime codes such as %d.%m.%Y)"));
        return None;
    }
    Some(format)
}
