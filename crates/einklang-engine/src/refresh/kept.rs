//! What a refresh keeps between runs: each applied snapshot (the last
//! `keep_snapshots` of the job), which earlier runs applied one (the drop
//! guard's measure, what `einklang changes` compares), and the source's
//! mark of the last applied snapshot (an unchanged file is not read).

use crate::job::RunEnv;
use crate::step::Open;
use crate::EngineError;
use einklang_store::RunStatus;

/// What an unchanged snapshot is known by: the source's fingerprint (a
/// file's content hash; `None` for a kind without one) with a hash of the
/// step's mappings and schemas — a changed mapping reads the source again.
pub(super) fn source_mark(opens: &mut [Open<'_>]) -> Result<Option<String>, String> {
    let Some(first) = opens.first_mut() else {
        return Ok(None);
    };
    let Some(fp) = first.connector.fingerprint().map_err(|e| e.to_string())? else {
        return Ok(None);
    };
    let shape: Vec<_> = opens
        .iter()
        .map(|o| (o.side.mapping, o.side.schema))
        .collect();
    let shape = serde_json::to_string(&shape).unwrap_or_default();
    let shape = xxhash_rust::xxh3::xxh3_64(shape.as_bytes());
    Ok(Some(format!("refresh:{fp}:{shape:016x}")))
}

/// Whether every entity of the step last applied a snapshot of the source
/// as it is now.
pub(super) fn same_source(
    env: &mut RunEnv<'_>,
    opens: &[Open<'_>],
    mark: &str,
) -> Result<bool, EngineError> {
    let tenant = env.config.tenant.clone();
    for open in opens {
        let stored =
            (env.store).source_fingerprint(&tenant, open.side.name, &open.side.schema.name)?;
        if stored.as_deref() != Some(mark) {
            return Ok(false);
        }
    }
    Ok(true)
}

pub(super) fn set_mark(
    env: &mut RunEnv<'_>,
    opens: &[Open<'_>],
    mark: &str,
) -> Result<(), EngineError> {
    let tenant = env.config.tenant.clone();
    for open in opens {
        (env.store).set_source_fingerprint(
            &tenant,
            open.side.name,
            &open.side.schema.name,
            mark,
        )?;
    }
    Ok(())
}

/// Keep the snapshot just applied (staged by `run`) as this run's, and
/// of the job's earlier applied snapshots of each of `entities` only as
/// many as `keep_snapshots` allows; held and failed runs' staging is not
/// touched.
pub(super) fn keep_snapshot(
    env: &mut RunEnv<'_>,
    entities: &[String],
    run: i64,
) -> Result<(), EngineError> {
    let tenant = env.config.tenant.clone();
    if env.job.keep_snapshots == 0 {
        env.store.drop_staged(&tenant, run)?;
        return Ok(());
    }
    if run != env.run {
        env.store.move_staged(&tenant, run, env.run)?;
    }
    for entity in entities {
        let earlier = kept_snapshots(env.store, &tenant, entity, Some(&env.job.name))?;
        // this run's is the newest kept one
        for r in earlier.iter().skip(env.job.keep_snapshots - 1) {
            env.store.drop_staged(&tenant, r.id)?;
        }
    }
    Ok(())
}

/// The applied refresh runs (of `job`, when given) whose snapshot of
/// `entity` is kept, newest first: what `einklang changes` compares and
/// the drop guard measures against.
pub fn kept_snapshots(
    store: &mut dyn einklang_store::HubStore,
    tenant: &str,
    entity: &str,
    job: Option<&str>,
) -> Result<Vec<einklang_store::Run>, EngineError> {
    let staged = store.staged_runs(tenant)?;
    let mut out = Vec::new();
    for c in staged.iter().filter(|c| c.entity == entity) {
        if let Some(r) = store.run(tenant, c.run)? {
            if applied(&r, entity).is_some() && job.is_none_or(|j| r.job == j) {
                out.push(r);
            }
        }
    }
    Ok(out)
}

/// A run's count of `entity` records applied, when it applied a refresh
/// of it (its `snapshot_{entity}` counter).
fn applied(r: &einklang_store::Run, entity: &str) -> Option<u64> {
    let done = matches!(r.status, RunStatus::Succeeded | RunStatus::Partial);
    let n = r.counters.get(&format!("snapshot_{entity}")).copied();
    n.filter(|_| done)
}

/// The run and record count of this job's last applied refresh of
/// `entity`: the newest kept snapshot's run, else the newest such run
/// among the latest 1,000 runs.
pub(super) fn last_applied(
    env: &mut RunEnv<'_>,
    entity: &str,
) -> Result<Option<(i64, u64)>, EngineError> {
    let tenant = env.config.tenant.clone();
    let kept = kept_snapshots(env.store, &tenant, entity, Some(&env.job.name))?;
    let runs = match kept.is_empty() {
        true => env.store.runs(&tenant, 1_000)?,
        false => kept,
    };
    Ok(runs
        .iter()
        .filter(|r| r.job == env.job.name && r.id != env.run)
        .find_map(|r| applied(r, entity).map(|n| (r.id, n))))
}
