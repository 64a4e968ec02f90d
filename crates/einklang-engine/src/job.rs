//! Running a job: a run record around its steps, the steps in order (each
//! for every entity it covers), and the run's final status. Also the
//! options a run takes, the reports it returns, and where connectors come
//! from ([`ConnectorSource`]: the registry, or a test's own).

use crate::lease::{Holding, LeaseOptions};
use crate::report::Plan;
use crate::step::{run_entity, SideSpec};
use crate::{CrashAt, CrashGuard, EngineError, Progress};
use chrono::{DateTime, Utc};
use einklang_config::{Config, ConnectorConfig, Step};
use einklang_connectors::{Connector, ConnectorError};
use einklang_store::{Counters, HubStore, NewRun, RunId, RunOutcome, RunSource, RunStatus};
use serde::Serialize;
use std::path::Path;
use std::time::Instant;

/// How a job is run.
#[derive(Clone, Debug)]
pub struct RunOptions {
    /// How the run was started.
    pub source: RunSource,
    /// Who started it.
    pub triggered_by: String,
    /// Ignore source fingerprints and compare every record (a full reconcile).
    pub full: bool,
    /// Plan only: everything is computed, nothing is written (the hub's
    /// changes are rolled back, no remote is written).
    pub dry_run: bool,
    /// The time to run at (retry schedules); `None`: now.
    pub now: Option<DateTime<Utc>>,
    /// Tests only: stop the run as if the process died at this point.
    pub crash: Option<CrashAt>,
    /// How the run takes its leases (exclusive runs).
    pub lease: LeaseOptions,
    /// A targeted run (a webhook's): the external ids to read, by
    /// connector. A side of such a connector fetches only these records
    /// by id (one side that cannot fetch by id is read as usual); the
    /// other sides are not read. Nothing is taken as deleted: a named
    /// record the remote no longer has is left to the next ordinary read.
    /// Writes go out as usual. `None`: every side is read.
    pub targets: Option<std::collections::BTreeMap<String, Vec<String>>>,
    /// A run already recorded by the queue of `einklang serve`
    /// ([`einklang_store::RunQueue`]): the run goes on under this id
    /// instead of recording a new one.
    pub queued: Option<einklang_store::RunId>,
    /// Apply the snapshot this held refresh run staged instead of reading
    /// the connector again (`einklang approve RUN`); the drop guard is not
    /// asked again, a person looked.
    pub approve: Option<einklang_store::RunId>,
    /// Keep every planned change in the report, not only the first
    /// [`Plan::DETAIL`] (`einklang plan --jsonl`, an audit before applying).
    pub plan_all: bool,
}

impl Default for RunOptions {
    fn default() -> Self {
        Self {
            source: RunSource::Manual,
            triggered_by: "cli".into(),
            full: false,
            dry_run: false,
            now: None,
            crash: None,
            lease: LeaseOptions::default(),
            targets: None,
            queued: None,
            approve: None,
            plan_all: false,
        }
    }
}

/// Where a run gets its connectors.
pub trait ConnectorSource {
    /// Open the configured connector.
    fn open(
        &mut self,
        config: &ConnectorConfig,
        base_dir: &Path,
    ) -> Result<Box<dyn Connector>, ConnectorError>;
}

/// Connectors by their configured `kind`, from the registry.
pub struct Registry;

impl ConnectorSource for Registry {
    fn open(
        &mut self,
        cc: &ConnectorConfig,
        base_dir: &Path,
    ) -> Result<Box<dyn Connector>, ConnectorError> {
        einklang_connectors::open(&cc.name, &cc.kind, &cc.settings, base_dir)
    }
}

/// What one step did for one connector and entity.
#[derive(Clone, Debug, Serialize)]
pub struct StepReport {
    /// `pull`, `push` or `sync`.
    pub action: String,
    /// Connector.
    pub connector: String,
    /// Entity.
    pub entity: String,
    /// Counters of the step.
    pub counters: Counters,
    /// The source had not changed since the last complete read.
    pub source_unchanged: bool,
    /// Why the step failed, if it did.
    pub error: Option<String>,
    /// Things a person should know (guards, skipped delete detection, failed writes).
    pub notes: Vec<String>,
    /// A guard stopped something: a person must look.
    pub needs_review: bool,
    /// Wall time in seconds.
    pub seconds: f64,
}

impl StepReport {
    pub(crate) fn new(action: &str, connector: &str, entity: &str) -> Self {
        StepReport {
            action: action.to_string(),
            connector: connector.to_string(),
            entity: entity.to_string(),
            counters: Counters::new(),
            source_unchanged: false,
            error: None,
            notes: Vec::new(),
            needs_review: false,
            seconds: 0.0,
        }
    }

    pub(crate) fn failed(action: &str, connector: &str, entity: &str, error: String) -> Self {
        StepReport {
            error: Some(error),
            ..Self::new(action, connector, entity)
        }
    }
}

/// What a run did.
#[derive(Clone, Debug, Serialize)]
pub struct RunReport {
    /// Run id in the store (0 for a dry run: it is not recorded).
    pub run_id: RunId,
    /// Job name.
    pub job: String,
    /// Final status.
    pub status: RunStatus,
    /// Counters summed over steps.
    pub counters: Counters,
    /// Per step.
    pub steps: Vec<StepReport>,
    /// Run-level errors.
    pub errors: Vec<String>,
    /// What the run changed (or, in a dry run, would change).
    pub plan: Plan,
    /// Wall time in seconds.
    pub seconds: f64,
}

/// What the steps of a run share.
pub(crate) struct RunEnv<'a> {
    pub config: &'a Config,
    pub store: &'a mut dyn HubStore,
    pub connectors: &'a mut dyn ConnectorSource,
    pub options: &'a RunOptions,
    pub progress: &'a dyn Progress,
    pub run: RunId,
    pub now: DateTime<Utc>,
    pub plan: Plan,
    pub crash: CrashGuard,
    pub max_deletes: f64,
    /// The job running.
    pub job: &'a einklang_config::JobConfig,
    /// Its leases: a long transaction renews them through its own
    /// connection (a refresh's swap on SQLite holds the write lock the
    /// keeper would need).
    pub holding: &'a crate::lease::Holding,
}

/// Run job `name` once with the registry's connectors.
pub fn run_job(
    config: &Config,
    store: &mut dyn HubStore,
    name: &str,
    options: &RunOptions,
    progress: &dyn Progress,
) -> Result<RunReport, EngineError> {
    run_job_with(config, store, name, options, progress, &mut Registry)
}

/// Run job `name` once. Store errors stop the run and are returned after
/// the run was marked `failed` (when the store still answers).
pub fn run_job_with(
    config: &Config,
    store: &mut dyn HubStore,
    name: &str,
    options: &RunOptions,
    progress: &dyn Progress,
    connectors: &mut dyn ConnectorSource,
) -> Result<RunReport, EngineError> {
    let job = config
        .jobs
        .get(name)
        .ok_or_else(|| EngineError::UnknownJob(name.into()))?;
    let tenant = config.tenant.as_str();
    let names = lease_names(config, name);
    let who = (name, options.triggered_by.as_str());
    let holding = Holding::acquire(store, tenant, names, who, &options.lease)?;
    if !options.lease.disabled {
        let reaped = store.reap_abandoned(tenant, options.lease.ttl)?;
        if !reaped.is_empty() {
            tracing::warn!(runs = ?reaped, "runs whose process stopped marked abandoned");
        }
    }
    let mut steps = |store: &mut dyn HubStore| {
        let env = (job, &holding);
        run_steps(config, store, name, options, progress, connectors, env)
    };
    let result = match options.dry_run {
        true => store
            .begin_dry_run()
            .map_err(EngineError::from)
            .and_then(|_| {
                let r = steps(store);
                store.end_dry_run()?;
                r
            }),
        false => steps(store),
    };
    if let Err(e) = holding.release(store) {
        tracing::warn!(error = %e, "giving back the run's leases failed; they expire by themselves");
    }
    result.map(|mut r| {
        if options.dry_run {
            r.run_id = 0;
        }
        r
    })
}

/// The leases a run of job `name` takes: the job, every entity its steps
/// cover and every connector they name.
pub fn lease_names(config: &Config, name: &str) -> Vec<String> {
    let Some(job) = config.jobs.get(name) else {
        return Vec::new();
    };
    let mut names = vec![format!("job:{name}")];
    for step in &job.steps {
        let (connectors, _) = step_connectors(step);
        for entity in step_entities(config, step) {
            names.push(format!("entity:{entity}"));
        }
        names.extend(connectors.iter().map(|c| format!("connector:{c}")));
    }
    names.sort();
    names.dedup();
    names
}

/// The connectors a step names, and its entity if it names one.
fn step_connectors(step: &Step) -> (Vec<String>, &Option<String>) {
    match step {
        Step::Pull { connector, entity }
        | Step::Push { connector, entity }
        | Step::Refresh { connector, entity } => (vec![connector.clone()], entity),
        Step::Sync { connectors, entity } => (connectors.clone(), entity),
    }
}

/// The entities a step covers: the one it names, else every entity its
/// connectors have a mapping for, sorted.
fn step_entities(config: &Config, step: &Step) -> Vec<String> {
    let (connectors, entity) = step_connectors(step);
    if let Some(e) = entity {
        return vec![e.clone()];
    }
    let mut all: Vec<String> = config
        .mappings
        .iter()
        .filter(|m| connectors.contains(&m.connector))
        .map(|m| m.entity.clone())
        .collect();
    all.sort();
    all.dedup();
    all
}

fn run_steps(
    config: &Config,
    store: &mut dyn HubStore,
    name: &str,
    options: &RunOptions,
    progress: &dyn Progress,
    connectors: &mut dyn ConnectorSource,
    (job, holding): (&einklang_config::JobConfig, &Holding),
) -> Result<RunReport, EngineError> {
    let started = Instant::now();
    let tenant = config.tenant.clone();
    let new_run = NewRun {
        job: name.to_string(),
        source: options.source,
        triggered_by: options.triggered_by.clone(),
    };
    let run = match options.queued {
        Some(run) => {
            store.begin_queued(&tenant, run)?;
            run
        }
        None => store.start_run(&tenant, &new_run)?,
    };
    holding.attach(store, run)?;
    let _span =
        tracing::info_span!("run", job = %name, run, source = options.source.as_str()).entered();
    tracing::info!(by = %options.triggered_by, dry_run = options.dry_run, full = options.full, "run started");
    let mut env = RunEnv {
        config,
        store,
        connectors,
        options,
        progress,
        run,
        now: options.now.unwrap_or_else(Utc::now),
        plan: Plan {
            all: options.plan_all,
            ..Plan::default()
        },
        crash: CrashGuard::new(options.crash),
        max_deletes: job.max_deletes,
        job,
        holding,
    };
    let mut steps = Vec::new();
    // the reports of the step before: whether a dependent step may run
    let mut previous: std::ops::Range<usize> = 0..0;
    for (i, step) in job.steps.iter().enumerate() {
        let needs = job.needs_previous.get(i).copied().unwrap_or(false);
        if needs && !succeeded(&steps[previous.clone()]) {
            let first = steps.len();
            steps.extend(skipped(env.config, step));
            previous = first..steps.len();
            continue;
        }
        let first = steps.len();
        let done = run_step(&mut env, step);
        previous = first..first + done.as_ref().map_or(0, Vec::len);
        match done {
            Ok(mut reports) => steps.append(&mut reports),
            Err(e @ EngineError::Crashed(_)) => return Err(e),
            Err(e) => {
                let outcome = RunOutcome {
                    status: RunStatus::Failed,
                    counters: sum_counters(&steps),
                    errors: vec![e.to_string()],
                };
                let _ = env.store.finish_run(&tenant, run, &outcome);
                let _ = env.store.record_steps(&tenant, run, &outcomes(&steps));
                return Err(e);
            }
        }
    }
    let plan = std::mem::take(&mut env.plan);
    let report = finish(run, name, steps, plan, started);
    let outcome = RunOutcome {
        status: report.status,
        counters: report.counters.clone(),
        errors: report.errors.clone(),
    };
    env.store.finish_run(&tenant, run, &outcome)?;
    env.store
        .record_steps(&tenant, run, &outcomes(&report.steps))?;
    tracing::info!(status = report.status.as_str(), seconds = report.seconds, counters = ?report.counters, "run finished");
    Ok(report)
}

/// The steps' reports as the store keeps them with the run.
fn outcomes(steps: &[StepReport]) -> Vec<einklang_store::StepOutcome> {
    steps
        .iter()
        .map(|s| einklang_store::StepOutcome {
            action: s.action.clone(),
            connector: s.connector.clone(),
            entity: s.entity.clone(),
            counters: s.counters.clone(),
            error: s.error.clone(),
            notes: s.notes.clone(),
            needs_review: s.needs_review,
            seconds: s.seconds,
        })
        .collect()
}

/// Whether a step (its reports) succeeded: no error, nothing held.
fn succeeded(reports: &[StepReport]) -> bool {
    reports.iter().all(|r| r.error.is_none() && !r.needs_review)
}

/// The reports of a step skipped because the step before it did not
/// succeed (`needs_previous`): one per (connector, entity) it covers.
fn skipped(config: &Config, step: &Step) -> Vec<StepReport> {
    let (action, connectors) = match step {
        Step::Pull { connector, .. } => ("pull", vec![connector.clone()]),
        Step::Push { connector, .. } => ("push", vec![connector.clone()]),
        Step::Refresh { connector, .. } => ("refresh", vec![connector.clone()]),
        Step::Sync { connectors, .. } => ("sync", connectors.clone()),
    };
    let mut out = Vec::new();
    for entity in step_entities(config, step) {
        for connector in &connectors {
            let mut r = StepReport::new(action, connector, &entity);
            r.error = Some("skipped: it needs the step before it to succeed (needs_previous), and that one did not".into());
            out.push(r);
        }
    }
    out
}

/// Run one configured step: one report per (connector, entity) it covers.
fn run_step(env: &mut RunEnv<'_>, step: &Step) -> Result<Vec<StepReport>, EngineError> {
    let (action, pull, push) = match step {
        Step::Pull { .. } => ("pull", true, false),
        Step::Push { .. } => ("push", false, true),
        Step::Sync { .. } => ("sync", true, true),
        Step::Refresh { connector, .. } => {
            let entities = step_entities(env.config, step);
            return crate::refresh::run_step(env, connector, &entities);
        }
    };
    let (connectors, _) = step_connectors(step);
    let entities = step_entities(env.config, step);
    let mut reports = Vec::new();
    for entity in entities {
        let specs: Vec<SideSpec> = connectors
            .iter()
            .filter(|c| env.config.mapping(c, &entity).is_some())
            .map(|c| SideSpec {
                connector: c.clone(),
                pull,
                push,
            })
            .collect();
        reports.extend(run_entity(env, action, &entity, &specs)?);
    }
    Ok(reports)
}

fn sum_counters(steps: &[StepReport]) -> Counters {
    let mut total = Counters::new();
    for step in steps {
        for (k, v) in &step.counters {
            *total.entry(k.clone()).or_default() += v;
        }
    }
    total
}

/// Status rules: every step failed → `failed`; a guard stopped something
/// or a conflict waits for review → `needs_review`; a failed step, a
/// quarantined record, a failed write or one the remote refused for a
/// newer version (412) → `partial`; else `succeeded`.
fn finish(
    run_id: RunId,
    job: &str,
    steps: Vec<StepReport>,
    plan: Plan,
    started: Instant,
) -> RunReport {
    let counters = sum_counters(&steps);
    let mut errors: Vec<String> = steps
        .iter()
        .filter_map(|s| {
            s.error
                .as_ref()
                .map(|e| format!("{} {}: {e}", s.action, s.connector))
        })
        .collect();
    errors.extend(steps.iter().flat_map(|s| s.notes.iter().cloned()));
    let failed = steps.iter().filter(|s| s.error.is_some()).count();
    let get = |k: &str| counters.get(k).copied().unwrap_or(0);
    let status = if !steps.is_empty() && failed == steps.len() {
        RunStatus::Failed
    } else if steps.iter().any(|s| s.needs_review) || get("held") > 0 {
        RunStatus::NeedsReview
    } else if failed > 0
        || get("quarantined") > 0
        || get("push_failed") > 0
        || get("write_conflicts") > 0
    {
        RunStatus::Partial
    } else {
        RunStatus::Succeeded
    };
    RunReport {
        run_id,
        job: job.to_string(),
        status,
        counters,
        steps,
        errors,
        plan,
        seconds: started.elapsed().as_secs_f64(),
    }
}
