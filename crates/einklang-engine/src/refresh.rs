//! A refresh step (`[jobs.J] refresh = "kommo"`, seed 003): everything the
//! connector returns is read once, mapped by each of the step's entity
//! mappings (a Kommo lead becomes a lead, a booking, a client and a
//! vehicle) and staged under the run ([`einklang_store::Staging`]); each
//! entity's staged snapshot is pre-checked
//! ([`einklang_core::refresh::precheck`]: nothing staged fails the step,
//! more than `max_drop` fewer records than the last applied refresh holds
//! it for review) and then all of them are applied in one store
//! transaction (the swap, [`swap`]): the entities a record refers to
//! first, so its `ref` fields resolve to hub ids. The step is one unit:
//! one entity failing its check holds or fails them all. A failure
//! anywhere leaves the hub as it was; staging is kept for inspection
//! unless the snapshot was applied. A source whose fingerprint (with the
//! step's mappings) is the one its last applied snapshot had is not read
//! at all (`--full` reads it anyway).

mod held;
mod kept;
mod stage;
mod swap;

pub use held::{approvable, Unapprovable};
pub use kept::kept_snapshots;
use kept::{keep_snapshot, last_applied, same_source, set_mark, source_mark};
use stage::stage;

use crate::job::{RunEnv, StepReport};
use crate::step::{open_side, Open, SideSpec};
use crate::EngineError;
use einklang_core::refresh::{precheck, Verdict};
use einklang_core::EntitySchema;

/// Records staged, and written in the swap, at a time.
const PAGE: usize = 2_000;

/// Run a refresh of `connector` for `entities`, as one unit.
pub(crate) fn run_step(
    env: &mut RunEnv<'_>,
    connector: &str,
    entities: &[String],
) -> Result<Vec<StepReport>, EngineError> {
    let mut opens = Vec::new();
    let mut failed = Vec::new();
    for entity in entities {
        let spec = SideSpec {
            connector: connector.to_string(),
            pull: true,
            push: false,
        };
        match open_side(env, "refresh", entity, &spec) {
            Ok(open) => opens.push(open),
            Err(e) => {
                let mut r = StepReport::new("refresh", connector, entity);
                r.error = Some(e);
                failed.push(r);
            }
        }
    }
    if !failed.is_empty() {
        for mut open in opens {
            open.report.error = Some(format!(
                "not refreshed: {} of this step could not be opened",
                failed[0].entity
            ));
            failed.push(finish(open));
        }
        return Ok(failed);
    }
    // the entities a record refers to first
    let schemas: Vec<&EntitySchema> = opens.iter().map(|o| o.side.schema).collect();
    let order = einklang_core::refs::order(&schemas);
    let mut rank = vec![0; order.len()];
    for (at, &i) in order.iter().enumerate() {
        rank[i] = at;
    }
    let mut ranked: Vec<(usize, Open<'_>)> = rank.into_iter().zip(opens).collect();
    ranked.sort_by_key(|(r, _)| *r);
    refresh(env, ranked.into_iter().map(|(_, o)| o).collect())
}

/// Stage (or, approving, take a held run's staging), check and apply.
fn refresh(env: &mut RunEnv<'_>, mut opens: Vec<Open<'_>>) -> Result<Vec<StepReport>, EngineError> {
    if let Some(held) = env.options.approve {
        let verdicts = approved(env, &mut opens, held)?;
        return decided(env, opens, (verdicts, None), held);
    }
    let mark = match source_mark(&mut opens) {
        Ok(mark) => mark,
        Err(e) => {
            for open in &mut opens {
                open.report.error = Some(e.clone());
            }
            return Ok(opens.into_iter().map(finish).collect());
        }
    };
    if let Some(mark) = &mark {
        if !env.options.full && same_source(env, &opens, mark)? {
            for open in &mut opens {
                open.report.source_unchanged = true;
                bump(&mut open.report, "sources_unchanged", 1);
            }
            return Ok(opens.into_iter().map(finish).collect());
        }
        // the hub is about to change from this source: until the new mark
        // is stored, a crash must not let the next refresh skip it
        set_mark(env, &opens, "")?;
    }
    let staged = match stage(env, &mut opens) {
        Ok(staged) => staged,
        Err(e) => {
            for open in &mut opens {
                open.report.error = Some(format!(
                    "{e} — nothing applied, the records staged so far are kept (einklang staging {})",
                    env.run
                ));
            }
            return Ok(opens.into_iter().map(finish).collect());
        }
    };
    let mut verdicts = Vec::new();
    for (open, n) in opens.iter().zip(staged) {
        let entity = &open.side.schema.name;
        let last = last_applied(env, entity)?;
        let verdict = match precheck(entity, n, last, env.job.max_drop) {
            Verdict::Apply => checked(env, open, last)?,
            other => other,
        };
        verdicts.push((verdict, n));
    }
    decided(env, opens, (verdicts, mark), env.run)
}

/// The job's count checks of `open`'s entity against its counts in the
/// `last` applied refresh: the first that holds the snapshot, else apply.
fn checked(
    env: &mut RunEnv<'_>,
    open: &Open<'_>,
    last: Option<(i64, u64)>,
) -> Result<Verdict, EngineError> {
    let entity = &open.side.schema.name;
    let before = match last {
        Some((run, _)) => env.store.run(&env.config.tenant, run)?,
        None => None,
    };
    for check in env.job.checks.iter().filter(|c| &c.entity == entity) {
        let label = check.label();
        let n = open.report.counters.get(&label).copied().unwrap_or(0);
        let then = before
            .as_ref()
            .map(|r| (r.id, r.counters.get(&label).copied().unwrap_or(0)));
        if let Some(why) = check.hold(n, then) {
            return Ok(Verdict::Hold(why));
        }
    }
    Ok(Verdict::Apply)
}

/// The verdicts on what held run `held` staged: a person approved its drop.
fn approved(
    env: &mut RunEnv<'_>,
    opens: &mut [Open<'_>],
    held: i64,
) -> Result<Vec<(Verdict, u64)>, EngineError> {
    let counts = env.store.staged_counts(&env.config.tenant, held)?;
    // its read had records without a readable id: absent ones are kept
    let held_run = env.store.run(&env.config.tenant, held)?;
    let unsure = held_run.map_or(0, |r| r.counters.get("unidentified").copied().unwrap_or(0));
    let mut verdicts = Vec::new();
    for open in opens {
        if unsure > 0 {
            bump(&mut open.report, "unidentified", unsure);
        }
        let entity = &open.side.schema.name;
        let staged = counts
            .iter()
            .find(|c| &c.entity == entity)
            .map_or(0, |c| c.records);
        bump(&mut open.report, "staged", staged);
        let verdict = match staged {
            0 => Verdict::Abort(format!(
                "run {held} staged no {entity} record: nothing to approve"
            )),
            _ => Verdict::Apply,
        };
        verdicts.push((verdict, staged));
    }
    Ok(verdicts)
}

/// Act on the pre-checks of the snapshots `run` staged (a verdict and the
/// staged count per entity, in `opens`' order): apply them all, or none;
/// once applied, remember the source's `mark`.
fn decided(
    env: &mut RunEnv<'_>,
    mut opens: Vec<Open<'_>>,
    (verdicts, mark): (Vec<(Verdict, u64)>, Option<String>),
    run: i64,
) -> Result<Vec<StepReport>, EngineError> {
    let aborted = verdicts.iter().any(|(v, _)| matches!(v, Verdict::Abort(_)));
    let held = verdicts.iter().any(|(v, _)| matches!(v, Verdict::Hold(_)));
    if aborted || held {
        for (open, (verdict, _)) in opens.iter_mut().zip(verdicts) {
            held_or_failed(&mut open.report, verdict, aborted);
        }
        return Ok(opens.into_iter().map(finish).collect());
    }
    if env.options.dry_run {
        // a dry run is one transaction rolled back already: no swap of its own
        swap::apply_all(env, &mut opens, run)?;
        return Ok(opens.into_iter().map(finish).collect());
    }
    env.store.begin_swap()?;
    let swapped = swap::apply_all(env, &mut opens, run);
    env.store.end_swap(swapped.is_ok())?;
    swapped?;
    for (open, (_, staged)) in opens.iter_mut().zip(&verdicts) {
        let entity = open.side.schema.name.clone();
        bump(&mut open.report, &format!("snapshot_{entity}"), *staged);
    }
    let entities: Vec<String> = opens.iter().map(|o| o.side.schema.name.clone()).collect();
    keep_snapshot(env, &entities, run)?;
    if let Some(mark) = mark {
        set_mark(env, &opens, &mark)?;
    }
    Ok(opens.into_iter().map(finish).collect())
}

/// One entity's report when the step is not applied: its own verdict, or
/// (when its snapshot passed) why it waits for the others.
fn held_or_failed(report: &mut StepReport, verdict: Verdict, aborted: bool) {
    match (verdict, aborted) {
        (Verdict::Abort(why), _) => report.error = Some(why),
        (Verdict::Hold(why), _) => {
            report.needs_review = true;
            report.notes.push(why);
        }
        (Verdict::Apply, true) => {
            report.error =
                Some("not applied: another entity of this refresh failed its check".into())
        }
        (Verdict::Apply, false) => {
            report.needs_review = true;
            report
                .notes
                .push("held with the other entities of this refresh (one unit)".into());
        }
    }
}

fn finish(mut open: Open<'_>) -> StepReport {
    open.report.seconds = open.started.elapsed().as_secs_f64();
    open.report
}

fn bump(report: &mut StepReport, counter: &str, by: u64) {
    *report.counters.entry(counter.to_string()).or_default() += by;
}
