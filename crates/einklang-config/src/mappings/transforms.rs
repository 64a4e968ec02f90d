//! The transforms of a field rule (`trim`, `map`, `date`, … `default`):
//! each key checked, every problem reported.

use crate::ctx::{Ctx, Val};
use einklang_core::mapping::{EpochUnit, NamePart};
use einklang_core::{Source, Transform};
use std::collections::BTreeMap;
use toml::de::DeTable;

/// The transforms of a rule, in the fixed order of docs/CONFIG.md. Every
/// key is checked (None when any had a problem, each one reported); a
/// `date` or `datetime` format must write a value and read it back
/// (`einklang_core::transform::format`), so a format that would fail or
/// panic on the way back to the source is refused here, located.
pub(super) fn transforms(
    ctx: &mut Ctx<'_>,
    what: &str,
    t: &DeTable<'_>,
    source: Option<&Source>,
    region: &str,
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
            let format = f?;
            let checked = einklang_core::transform::format::check_date(&format);
            let format = located(ctx, what, "date", format, checked, span)?;
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
        flag(ctx, "first").then_some(Some(Transform::First)),
        flag(ctx, "person_or_company").then(|| person_or_company(ctx, what, t, source)),
        flag(ctx, "lowercase").then_some(Some(Transform::Lowercase)),
        flag(ctx, "uppercase").then_some(Some(Transform::Uppercase)),
        phone(ctx, what, t, region),
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
    // with an unknown zone (reported above) the format is checked in UTC
    let zone = tz.as_deref().unwrap_or("UTC");
    let format = format.and_then(|f| {
        let checked = einklang_core::transform::format::check_datetime(&f, zone);
        located(ctx, what, "datetime", f, checked, span)
    });
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

/// `phone = "AT"` (the default region) and `region_from = "country"` (a
/// raw field naming each record's region; alone, the default region is
/// the file's `region`).
fn phone(
    ctx: &mut Ctx<'_>,
    what: &str,
    t: &DeTable<'_>,
    default_region: &str,
) -> Option<Option<Transform>> {
    let given = text(ctx, what, t, "phone");
    let region_from = text(ctx, what, t, "region_from");
    if given.is_none() && region_from.is_none() {
        return None;
    }
    let region = match given {
        None => Some(default_region.to_string()),
        Some((region, span)) => region.and_then(|region| {
            if region.len() == 2 && region.chars().all(|c| c.is_ascii_alphabetic()) {
                return Some(region.to_uppercase());
            }
            ctx.error(
                span,
                format!("{what}.phone: \"{region}\" is not a two-letter region such as DE"),
            );
            None
        }),
    };
    let region_from = match region_from {
        None => Some(None),
        Some((field, span)) => field.and_then(|field| {
            if !field.trim().is_empty() {
                return Some(Some(field));
            }
            ctx.error(
                span,
                format!("{what}.region_from: name the raw field holding the country"),
            );
            None
        }),
    };
    let phone = region
        .zip(region_from)
        .map(|(region, region_from)| Transform::Phone {
            region,
            region_from,
        });
    Some(phone)
}

/// The format when the check passed; else its message, located.
fn located(
    ctx: &mut Ctx<'_>,
    what: &str,
    key: &str,
    format: String,
    checked: Result<(), String>,
    span: std::ops::Range<usize>,
) -> Option<String> {
    match checked {
        Ok(()) => Some(format),
        Err(message) => {
            ctx.error(span, format!("{what}.{key}: {message}"));
            None
        }
    }
}
