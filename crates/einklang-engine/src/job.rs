//! Running a job: a run record around its steps, and the run's final status.

use crate::pull::{pull, PullContext};
use crate::{EngineError, Progress};
use einklang_config::{Config, Step};
use einklang_store::{Counters, HubStore, NewRun, RunId, RunOutcome, RunSource, RunStatus};
use serde::Serialize;
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
}

impl Default for RunOptions {
    fn default() -> Self {
        Self {
            source: RunSource::Manual,
            triggered_by: "cli".into(),
            full: false,
        }
    }
}

/// What one step did.
#[derive(Clone, Debug, Serialize)]
pub struct StepReport {
    /// `pull` or `push`.
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
    /// Wall time in seconds.
    pub seconds: f64,
}

/// What a run did.
#[derive(Clone, Debug, Serialize)]
pub struct RunReport {
    /// Run id in the store.
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
    /// Wall time in seconds.
    pub seconds: f64,
}

/// Run job `name` once. Store errors stop the run and are returned after the
/// run was marked `failed` (when the store still answers).
pub fn run_job(
    config: &Config,
    store: &mut dyn HubStore,
    name: &str,
    options: &RunOptions,
    progress: &dyn Progress,
) -> Result<RunReport, EngineError> {
    let job = config
        .jobs
        .get(name)
        .ok_or_else(|| EngineError::UnknownJob(name.into()))?;
    let started = Instant::now();
    let tenant = config.tenant.clone();
    let new_run = NewRun {
        job: name.to_string(),
        source: options.source,
        triggered_by: options.triggered_by.clone(),
    };
    let run_id = store.start_run(&tenant, &new_run)?;
    let mut steps = Vec::new();
    for step in &job.steps {
        match run_step(config, store, run_id, step, options, progress) {
            Ok(mut reports) => steps.append(&mut reports),
            Err(e) => {
                let outcome = RunOutcome {
                    status: RunStatus::Failed,
                    counters: sum_counters(&steps),
                    errors: vec![e.to_string()],
                };
                let _ = store.finish_run(&tenant, run_id, &outcome);
                return Err(e);
            }
        }
    }
    let report = finish(run_id, name, steps, started);
    let outcome = RunOutcome {
        status: report.status,
        counters: report.counters.clone(),
        errors: report.errors.clone(),
    };
    store.finish_run(&tenant, run_id, &outcome)?;
    Ok(report)
}

/// Run one configured step: one report per (connector, entity) it covers.
fn run_step(
    config: &Config,
    store: &mut dyn HubStore,
    run: RunId,
    step: &Step,
    options: &RunOptions,
    progress: &dyn Progress,
) -> Result<Vec<StepReport>, EngineError> {
    let (action, connector, entity) = match step {
        Step::Pull { connector, entity } => ("pull", connector, entity),
        Step::Push { connector, entity } => ("push", connector, entity),
    };
    let mappings: Vec<_> = config
        .mappings_of(connector)
        .filter(|m| entity.as_ref().is_none_or(|e| *e == m.entity))
        .collect();
    let mut reports = Vec::new();
    for mapping in mappings {
        let started = Instant::now();
        progress.step(&format!(
            "{action} {} → {}",
            mapping.connector, mapping.entity
        ));
        let result = match action {
            "pull" => pull_one(config, store, run, mapping, options, progress)?,
            _ => Err(format!(
                "push steps are not available yet: connector `{connector}` cannot be written from a job"
            )),
        };
        progress.step_done();
        reports.push(step_report(action, mapping, result, started));
    }
    Ok(reports)
}

type StepResult = Result<(Counters, bool), String>;

fn pull_one(
    config: &Config,
    store: &mut dyn HubStore,
    run: RunId,
    mapping: &einklang_core::Mapping,
    options: &RunOptions,
    progress: &dyn Progress,
) -> Result<StepResult, EngineError> {
    let Some(cc) = config.connectors.get(&mapping.connector) else {
        return Ok(Err(format!(
            "connector `{}` is not configured",
            mapping.connector
        )));
    };
    let mut connector =
        match einklang_connectors::open(&cc.name, &cc.kind, &cc.settings, &config.base_dir) {
            Ok(c) => c,
            Err(e) => return Ok(Err(e.to_string())),
        };
    let mut ctx = PullContext {
        config,
        store,
        run,
        full: options.full,
        progress,
    };
    Ok(pull(&mut ctx, connector.as_mut(), mapping)?.map(|o| (o.counters, o.source_unchanged)))
}

fn step_report(
    action: &str,
    mapping: &einklang_core::Mapping,
    result: StepResult,
    started: Instant,
) -> StepReport {
    let (counters, source_unchanged, error) = match result {
        Ok((counters, unchanged)) => (counters, unchanged, None),
        Err(e) => (Counters::new(), false, Some(e)),
    };
    StepReport {
        action: action.to_string(),
        connector: mapping.connector.clone(),
        entity: mapping.entity.clone(),
        counters,
        source_unchanged,
        error,
        seconds: started.elapsed().as_secs_f64(),
    }
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

/// Status rules: a failed step or a quarantined record makes the run
/// `partial`; all steps failed makes it `failed`.
fn finish(run_id: RunId, job: &str, steps: Vec<StepReport>, started: Instant) -> RunReport {
    let counters = sum_counters(&steps);
    let errors: Vec<String> = steps
        .iter()
        .filter_map(|s| {
            s.error
                .as_ref()
                .map(|e| format!("{} {}: {e}", s.action, s.connector))
        })
        .collect();
    let failed = steps.iter().filter(|s| s.error.is_some()).count();
    let status = if !steps.is_empty() && failed == steps.len() {
        RunStatus::Failed
    } else if failed > 0 || counters.get("quarantined").copied().unwrap_or(0) > 0 {
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
        seconds: started.elapsed().as_secs_f64(),
    }
}
