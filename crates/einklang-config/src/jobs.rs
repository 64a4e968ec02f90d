//! `[jobs.NAME]`: pull, sync, push and refresh steps, the schedule, the
//! delete guard and the refresh's drop guard, checked against the
//! connectors, entities and mappings.

use crate::ctx::{hint, number, shown, Ctx, Val};
use crate::{Absent, Config, JobConfig, Step, DEFAULT_MAX_DELETES, DEFAULT_MAX_DROP};
use std::collections::BTreeMap;
use std::ops::Range;
use toml::de::{DeTable, DeValue};

const JOB_KEYS: [&str; 12] = [
    "pull",
    "sync",
    "push",
    "refresh",
    "steps",
    "schedule",
    "tz",
    "max_deletes",
    "max_drop",
    "absent",
    "keep_snapshots",
    "checks",
];
const STEP_KEYS: [&str; 6] = [
    "pull",
    "push",
    "sync",
    "refresh",
    "entity",
    "needs_previous",
];

/// Parse every job.
pub fn parse(ctx: &mut Ctx<'_>, v: &Val<'_>, config: &Config) -> BTreeMap<String, JobConfig> {
    let mut out = BTreeMap::new();
    let Some(table) = ctx.table(v, "`jobs`") else {
        return out;
    };
    for (name_key, j_v) in table.iter() {
        let name = name_key.get_ref().to_string();
        if let Some(mut job) = job(ctx, config, &name, name_key.span(), j_v) {
            let flags = std::mem::take(&mut job.needs_previous);
            let steps = std::mem::take(&mut job.steps);
            for (step, needs) in steps.into_iter().zip(flags) {
                for s in instance_steps(step, &config.instances) {
                    job.steps.push(s);
                    job.needs_previous.push(needs);
                }
            }
            out.insert(name, job);
        }
    }
    out
}

/// A step naming a definition with instances as the step for each: a
/// pull or push one per instance, a sync with the instances in its list.
fn instance_steps(step: Step, instances: &crate::instances::Instances) -> Vec<Step> {
    match step {
        Step::Pull { connector, entity } if instances.contains_key(&connector) => instances
            [&connector]
            .iter()
            .map(|c| Step::Pull {
                connector: c.clone(),
                entity: entity.clone(),
            })
            .collect(),
        Step::Push { connector, entity } if instances.contains_key(&connector) => instances
            [&connector]
            .iter()
            .map(|c| Step::Push {
                connector: c.clone(),
                entity: entity.clone(),
            })
            .collect(),
        Step::Refresh { connector, entity } if instances.contains_key(&connector) => instances
            [&connector]
            .iter()
            .map(|c| Step::Refresh {
                connector: c.clone(),
                entity: entity.clone(),
            })
            .collect(),
        Step::Sync { connectors, entity } => vec![Step::Sync {
            connectors: crate::instances::names(&connectors, instances),
            entity,
        }],
        other => vec![other],
    }
}

fn job(
    ctx: &mut Ctx<'_>,
    config: &Config,
    name: &str,
    name_span: Range<usize>,
    v: &Val<'_>,
) -> Option<JobConfig> {
    let what = format!("job `{name}`");
    let t = ctx.table(v, &what)?;
    ctx.unknown_keys(t, &JOB_KEYS, &what);
    let mut steps = shorthand_steps(ctx, &what, config, t);
    let mut needs_previous = vec![false; steps.len()];
    if let Some(s) = t.get("steps") {
        for (step, needs) in explicit_steps(ctx, &what, config, s) {
            steps.push(step);
            needs_previous.push(needs);
        }
    }
    if needs_previous.first() == Some(&true) {
        ctx.error(
            name_span.clone(),
            format!(
                "{what}: its first step has `needs_previous = true`, but no step comes before it"
            ),
        );
    }
    if steps.is_empty() && !ctx.diags.iter().any(|d| d.message.starts_with(&what)) {
        ctx.error(
            name_span.clone(),
            format!(
                "{what} has no steps: add pull = [\"connector\"], sync = [\"a\", \"b\"] or steps = [...]"
            ),
        );
    }
    let schedule = t.get("schedule").and_then(|s| {
        let text = ctx.text(s, &format!("{what}: `schedule`"))?;
        match einklang_core::schedule::Schedule::parse(&text, "UTC") {
            Ok(_) => Some(text),
            Err(e) => {
                ctx.error(s.span(), format!("{what}: {e}"));
                None
            }
        }
    });
    let tz = match t.get("tz") {
        None => "UTC".to_string(),
        Some(v) => {
            let text = ctx.text(v, &format!("{what}: `tz`")).unwrap_or_default();
            if let Err(e) = einklang_core::schedule::Schedule::parse("0 0 * * *", &text) {
                ctx.error(v.span(), format!("{what}: `tz`: {e}"));
            }
            if t.get("schedule").is_none() {
                ctx.error(v.span(), format!("{what}: `tz` without a `schedule`"));
            }
            text
        }
    };
    let max_deletes = t
        .get("max_deletes")
        .map_or(DEFAULT_MAX_DELETES, |m| share(ctx, &what, "max_deletes", m));
    let max_drop = t
        .get("max_drop")
        .map_or(DEFAULT_MAX_DROP, |m| share(ctx, &what, "max_drop", m));
    let absent = t
        .get("absent")
        .map_or(Absent::Delete, |a| absent(ctx, &what, a));
    let keep_snapshots = match t.get("keep_snapshots").map(|k| (k, number(k.get_ref()))) {
        None => 2,
        Some((_, Some(n))) if n >= 0.0 && n.fract() == 0.0 => n as usize,
        Some((k, _)) => {
            ctx.error(
                k.span(),
                format!(
                    "{what}: `keep_snapshots` is how many applied snapshots to keep, a whole number such as 2; found {}",
                    shown(k.get_ref())
                ),
            );
            2
        }
    };
    let checks = t
        .get("checks")
        .map(|c| crate::checks::parse(ctx, &what, config, c))
        .unwrap_or_default();
    Some(JobConfig {
        name: name.to_string(),
        steps,
        needs_previous,
        checks,
        schedule,
        tz,
        max_deletes,
        max_drop,
        absent,
        keep_snapshots,
        location: ctx.loc(name_span.start),
    })
}

/// `refresh = "a"`, `pull = [...]`, `sync = [...]`, `push = [...]` on
/// the job itself, in that order: one step per refreshed, pulled or
/// pushed connector, one sync step.
fn shorthand_steps(ctx: &mut Ctx<'_>, what: &str, config: &Config, t: &DeTable<'_>) -> Vec<Step> {
    let mut steps = Vec::new();
    for key in ["refresh", "pull", "sync", "push"] {
        let Some(v) = t.get(key) else {
            continue;
        };
        if key == "sync" {
            steps.extend(sync_step(ctx, what, config, v, None));
            continue;
        }
        let list = match v.get_ref() {
            DeValue::String(s) if key == "refresh" => vec![(s.to_string(), v.span())],
            _ => match ctx.texts(v, &format!("{what}: `{key}`")) {
                Some(list) => list,
                None => continue,
            },
        };
        for (connector, span) in list {
            steps.extend(single_step(ctx, what, config, key, connector, None, span));
        }
    }
    steps
}

/// The explicit steps, each with its `needs_previous`.
fn explicit_steps(
    ctx: &mut Ctx<'_>,
    what: &str,
    config: &Config,
    v: &Val<'_>,
) -> Vec<(Step, bool)> {
    let DeValue::Array(items) = v.get_ref() else {
        ctx.error(
            v.span(),
            format!("{what}: `steps` must be a list such as [{{ pull = \"a\" }}, {{ sync = [\"a\", \"b\"] }}, {{ push = \"c\", entity = \"contact\" }}]"),
        );
        return Vec::new();
    };
    items
        .iter()
        .filter_map(|item| explicit_step(ctx, what, config, item))
        .collect()
}

fn explicit_step(
    ctx: &mut Ctx<'_>,
    what: &str,
    config: &Config,
    item: &Val<'_>,
) -> Option<(Step, bool)> {
    let t = ctx.table(item, &format!("{what}: a step"))?;
    ctx.unknown_keys(t, &STEP_KEYS, &format!("{what}: a step"));
    let needs = match t.get("needs_previous") {
        Some(n) => ctx.boolean(n, &format!("{what}: a step's `needs_previous`"))?,
        None => false,
    };
    let given: Vec<(&str, &Val<'_>)> = ["pull", "push", "sync", "refresh"]
        .into_iter()
        .filter_map(|k| t.get(k).map(|v| (k, v)))
        .collect();
    let [(kind, conn_v)] = given[..] else {
        ctx.error(
            item.span(),
            format!("{what}: a step needs exactly one of `pull`, `push`, `sync` or `refresh`"),
        );
        return None;
    };
    let entity = step_entity(ctx, what, config, t)?;
    if kind == "sync" {
        return sync_step(ctx, what, config, conn_v, entity).map(|s| (s, needs));
    }
    let connector = ctx.text(conn_v, &format!("{what}: step connector"))?;
    single_step(ctx, what, config, kind, connector, entity, conn_v.span()).map(|s| (s, needs))
}

/// The step's `entity`: `Some(None)` without one, `None` when it is wrong.
fn step_entity(
    ctx: &mut Ctx<'_>,
    what: &str,
    config: &Config,
    t: &DeTable<'_>,
) -> Option<Option<String>> {
    let Some(e_v) = t.get("entity") else {
        return Some(None);
    };
    let entity = ctx.text(e_v, &format!("{what}: `entity`"))?;
    if !config.entities.contains_key(&entity) {
        let known: Vec<&str> = config.entities.keys().map(String::as_str).collect();
        let tip = hint(&entity, &known);
        ctx.error(
            e_v.span(),
            format!("{what}: unknown entity `{entity}`{tip}"),
        );
        return None;
    }
    Some(Some(entity))
}

/// A step of one connector: `kind` is `pull`, `push` or `refresh`.
fn single_step(
    ctx: &mut Ctx<'_>,
    what: &str,
    config: &Config,
    kind: &str,
    connector: String,
    entity: Option<String>,
    span: Range<usize>,
) -> Option<Step> {
    if !connector_fits(ctx, what, config, &connector, entity.as_deref(), span) {
        return None;
    }
    Some(match kind {
        "push" => Step::Push { connector, entity },
        "refresh" => Step::Refresh { connector, entity },
        _ => Step::Pull { connector, entity },
    })
}

fn sync_step(
    ctx: &mut Ctx<'_>,
    what: &str,
    config: &Config,
    v: &Val<'_>,
    entity: Option<String>,
) -> Option<Step> {
    let list = ctx.texts(v, &format!("{what}: `sync`"))?;
    if list.is_empty() {
        ctx.error(
            v.span(),
            format!(
                "{what}: a sync step needs at least one connector, such as sync = [\"a\", \"b\"]"
            ),
        );
        return None;
    }
    let mut connectors: Vec<String> = Vec::new();
    let mut fits = true;
    for (connector, span) in list {
        if connectors.contains(&connector) {
            ctx.error(
                span,
                format!("{what}: connector `{connector}` is named twice in one sync step"),
            );
            fits = false;
            continue;
        }
        fits &= connector_fits(ctx, what, config, &connector, entity.as_deref(), span);
        connectors.push(connector);
    }
    fits.then_some(Step::Sync { connectors, entity })
}

/// Whether `connector` exists and has a mapping for `entity` (or, without
/// one, any mapping); reports the problem at `span` when not.
fn connector_fits(
    ctx: &mut Ctx<'_>,
    what: &str,
    config: &Config,
    connector: &str,
    entity: Option<&str>,
    span: Range<usize>,
) -> bool {
    if let Some(each) = config.instances.get(connector) {
        // every instance must fit (one has its own mappings maybe)
        return each.iter().fold(true, |fits, one| {
            fits & connector_fits(ctx, what, config, one, entity, span.clone())
        });
    }
    if !config.connectors.contains_key(connector) {
        let known: Vec<&str> = (config.connectors.keys().chain(config.instances.keys()))
            .map(String::as_str)
            .collect();
        let tip = hint(connector, &known);
        ctx.error(
            span,
            format!("{what} refers to unknown connector `{connector}`{tip}"),
        );
        return false;
    }
    let message = match entity {
        Some(e) if config.mapping(connector, e).is_none() => format!(
            "{what}: connector `{connector}` has no mapping for entity `{e}` (add [map.{connector}.{e}])"
        ),
        None if config.mappings_of(connector).next().is_none() => format!(
            "{what}: connector `{connector}` has no mapping (add [map.{connector}.<entity>])"
        ),
        _ => return true,
    };
    ctx.error(span, message);
    false
}

/// `absent`: `"delete"` or `"keep"`.
fn absent(ctx: &mut Ctx<'_>, what: &str, v: &Val<'_>) -> Absent {
    match v.get_ref() {
        DeValue::String(s) if s == "delete" => Absent::Delete,
        DeValue::String(s) if s == "keep" => Absent::Keep,
        other => {
            ctx.error(
                v.span(),
                format!(
                    "{what}: `absent` is \"delete\" (records a refresh no longer finds are deleted) or \"keep\"; found {}",
                    shown(other)
                ),
            );
            Absent::Delete
        }
    }
}

/// `max_deletes`, `max_drop` (`key`): a share from 0 to 1 (`0.3`) or a
/// percentage (`"30%"`).
pub(crate) fn share(ctx: &mut Ctx<'_>, what: &str, key: &str, v: &Val<'_>) -> f64 {
    let share = match v.get_ref() {
        DeValue::String(s) => s
            .trim()
            .strip_suffix('%')
            .and_then(|p| p.trim().parse::<f64>().ok())
            .map(|p| p / 100.0),
        other => number(other),
    };
    match share {
        Some(s) if (0.0..=1.0).contains(&s) => s,
        _ => {
            ctx.error(
                v.span(),
                format!(
                    "{what}: `{key}` must be a share from 0 to 1 such as 0.3, or a percentage from 0% to 100% such as \"30%\"; found {}{}",
                    shown(v.get_ref()),
                    share_hint(v.get_ref())
                ),
            );
            match key {
                "max_drop" => DEFAULT_MAX_DROP,
                _ => DEFAULT_MAX_DELETES,
            }
        }
    }
}

/// A hint for a share that is a number in the wrong form: `"0.3"`
/// (quoted) or `30` (a percentage without `%`).
fn share_hint(v: &DeValue<'_>) -> String {
    let (n, text) = match v {
        DeValue::String(s) => (s.trim().parse::<f64>().ok(), s.trim().to_string()),
        other => (number(other), shown(other)),
    };
    match n {
        Some(n) if (0.0..=1.0).contains(&n) => format!(" — did you mean {text} without quotes?"),
        Some(n) if n > 1.0 && n <= 100.0 && n.fract() == 0.0 => {
            format!(" — did you mean \"{text}%\"?")
        }
        _ => String::new(),
    }
}
