//! `einklang doctor`, the engine's half: every invariant of a hub store
//! checked, and what is safe repaired.
//!
//! [`examine`] reads only: the store's own invariants
//! ([`einklang_store::Integrity`]) and the link invariant
//! ([`crate::invariant`]: a clean link owes its connector nothing) on
//! every mapping a job writes, judged with the capabilities of the
//! configured connector. A mapping no job writes is not judged (its links
//! are read, never written: a clean link there may well differ from the
//! hub), and a connector that cannot be opened is named with its error.
//!
//! [`repair`] takes the leases `doctor` and `entity:E` for every entity
//! (so no sync runs meanwhile), examines, repairs what the store can
//! repair safely and marks the links that owe a write `dirty` (the next
//! sync writes it), all as one run of job `doctor`, and examines again.

use crate::identity::ops::op_lease;
use crate::invariant::{self, SideRef, Violation};
use crate::job::ConnectorSource;
use crate::lease::Holding;
use crate::EngineError;
use einklang_config::{Config, Step};
use einklang_connectors::Capabilities;
use einklang_core::{Mapping, NormaliseContext};
use einklang_store::{
    Check, Counters, Finding, HubStore, IntegrityOptions, NewRun, RunId, RunOutcome, RunSource,
    RunStatus,
};
use serde::Serialize;
use std::collections::BTreeMap;

/// The link invariant on one mapping (connector × entity).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct SideCheck {
    /// Connector.
    pub connector: String,
    /// Entity.
    pub entity: String,
    /// What the check found.
    pub outcome: SideOutcome,
}

/// What the link check of one mapping found.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case", tag = "status", content = "details")]
pub enum SideOutcome {
    /// Checked: the clean links that owe the connector a write (none: ok).
    Checked(Vec<Violation>),
    /// No job writes this mapping: its links owe nothing.
    NotWritten,
    /// The connector could not be opened, so its links were not checked.
    Unchecked(String),
}

impl SideCheck {
    /// Violations found, or the connector could not be checked.
    pub fn is_problem(&self) -> bool {
        match &self.outcome {
            SideOutcome::Checked(v) => !v.is_empty(),
            SideOutcome::NotWritten => false,
            SideOutcome::Unchecked(_) => true,
        }
    }
}

/// Everything `doctor` found.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Examination {
    /// One finding per store invariant ([`Check::ALL`] order).
    pub store: Vec<Finding>,
    /// The link invariant, per mapping.
    pub sides: Vec<SideCheck>,
}

impl Examination {
    /// How many checks found a problem (information does not count).
    pub fn problems(&self) -> usize {
        self.store.iter().filter(|f| f.is_problem()).count()
            + self.sides.iter().filter(|s| s.is_problem()).count()
    }

    /// How many of those `repair` can fix.
    pub fn repairable(&self) -> usize {
        let store = self
            .store
            .iter()
            .filter(|f| f.is_problem() && f.repair.is_some());
        let sides = self
            .sides
            .iter()
            .filter(|s| matches!(&s.outcome, SideOutcome::Checked(v) if !v.is_empty()));
        store.count() + sides.count()
    }

    /// One line per remaining problem, for the run's notes.
    fn notes(&self) -> Vec<String> {
        let store = self
            .store
            .iter()
            .filter(|f| f.is_problem())
            .map(|f| format!("{}: {}", f.title, f.message));
        let sides = self.sides.iter().filter(|s| s.is_problem()).map(|s| {
            let what = match &s.outcome {
                SideOutcome::Checked(v) => format!("{} clean link(s) differ from the hub", v.len()),
                SideOutcome::Unchecked(e) => format!("could not be checked: {e}"),
                SideOutcome::NotWritten => String::new(),
            };
            format!("links of `{}` {}: {what}", s.connector, s.entity)
        });
        store.chain(sides).collect()
    }
}

/// What [`repair`] did.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Repair {
    /// The run the repairs were made as.
    pub run: RunId,
    /// What was found before.
    pub before: Examination,
    /// Rows fixed per store check (only those that fixed some).
    pub store: BTreeMap<Check, u64>,
    /// Links marked dirty because they owed a write.
    pub links: u64,
    /// What is found after.
    pub after: Examination,
}

/// The leases `doctor --repair` holds: its own and every entity's.
pub fn lease_names(config: &Config) -> Vec<String> {
    let mut names = vec!["doctor".to_string()];
    names.extend(config.entities.keys().map(|e| format!("entity:{e}")));
    names
}

/// Every check, reading only (see the module docs).
pub fn examine(
    store: &mut dyn HubStore,
    config: &Config,
    connectors: &mut dyn ConnectorSource,
    options: &IntegrityOptions,
) -> Result<Examination, EngineError> {
    let findings = store.check_integrity(&config.tenant, options)?;
    let mut opened = BTreeMap::new();
    let mut sides = Vec::new();
    for mapping in &config.mappings {
        let (connector, entity) = (&mapping.connector, &mapping.entity);
        let outcome = match written(config, connector, entity) {
            false => SideOutcome::NotWritten,
            true => {
                let caps = opened
                    .entry(connector.clone())
                    .or_insert_with(|| capabilities(config, connectors, connector))
                    .clone();
                check_side(store, config, mapping, caps)?
            }
        };
        sides.push(SideCheck {
            connector: connector.clone(),
            entity: entity.clone(),
            outcome,
        });
    }
    Ok(Examination {
        store: findings,
        sides,
    })
}

/// The capabilities of a configured connector, or why it cannot be opened.
fn capabilities(
    config: &Config,
    connectors: &mut dyn ConnectorSource,
    name: &str,
) -> Result<Capabilities, String> {
    let cc = config.connectors.get(name).ok_or("it is not configured")?;
    connectors
        .open(cc, &config.base_dir)
        .map(|c| c.capabilities())
        .map_err(|e| e.to_string())
}

/// The link invariant on the clean links of one mapping.
fn check_side(
    store: &mut dyn HubStore,
    config: &Config,
    mapping: &Mapping,
    caps: Result<Capabilities, String>,
) -> Result<SideOutcome, EngineError> {
    let caps = match caps {
        Ok(caps) => caps,
        Err(e) => return Ok(SideOutcome::Unchecked(e)),
    };
    let Some(schema) = config.entities.get(&mapping.entity) else {
        let e = format!("entity `{}` is not defined", mapping.entity);
        return Ok(SideOutcome::Unchecked(e));
    };
    let norm = NormaliseContext {
        region: config.region.clone(),
        max_field_bytes: config.max_field_bytes,
    };
    let side = SideRef::new(mapping, schema, norm, caps);
    let found = invariant::scan_side_links(store, &config.tenant, &side)?;
    Ok(SideOutcome::Checked(found))
}

/// Whether a job writes `connector`'s records of `entity`.
fn written(config: &Config, connector: &str, entity: &str) -> bool {
    let covers = |e: &Option<String>| e.as_deref().is_none_or(|e| e == entity);
    config
        .jobs
        .values()
        .flat_map(|j| &j.steps)
        .any(|step| match step {
            Step::Pull { .. } | Step::Refresh { .. } => false,
            Step::Push {
                connector: c,
                entity: e,
            } => c == connector && covers(e),
            Step::Sync {
                connectors,
                entity: e,
            } => connectors.iter().any(|c| c == connector) && covers(e),
        })
}

/// Examine and repair what is safe, as a run of job `doctor` started by
/// `by`, holding [`lease_names`] (waiting for a sync to finish as a
/// person's command does).
pub fn repair(
    store: &mut dyn HubStore,
    config: &Config,
    connectors: &mut dyn ConnectorSource,
    by: &str,
    options: &IntegrityOptions,
) -> Result<Repair, EngineError> {
    let tenant = config.tenant.as_str();
    let names = lease_names(config);
    let holding = Holding::acquire(store, tenant, names, ("doctor", by), &op_lease())?;
    let out = repair_held(store, config, connectors, (by, &holding), options);
    holding.release(store)?;
    out
}

fn repair_held(
    store: &mut dyn HubStore,
    config: &Config,
    connectors: &mut dyn ConnectorSource,
    (by, holding): (&str, &Holding),
    options: &IntegrityOptions,
) -> Result<Repair, EngineError> {
    let tenant = config.tenant.as_str();
    let before = examine(store, config, connectors, options)?;
    let new = NewRun {
        job: "doctor".into(),
        source: RunSource::Manual,
        triggered_by: by.to_string(),
    };
    let run = store.start_run(tenant, &new)?;
    holding.attach(store, run)?;
    let fixed = fix(store, (tenant, run), &before, options)
        .and_then(|fixed| Ok((fixed, examine(store, config, connectors, options)?)));
    let ((fixed_store, links), after) = match fixed {
        Ok(done) => done,
        Err(e) => {
            let outcome = RunOutcome {
                status: RunStatus::Failed,
                counters: Counters::new(),
                errors: vec![e.to_string()],
            };
            store.finish_run(tenant, run, &outcome)?;
            return Err(e);
        }
    };
    let outcome = succeeded(&before, (&fixed_store, links), &after);
    store.finish_run(tenant, run, &outcome)?;
    Ok(Repair {
        run,
        before,
        store: fixed_store,
        links,
        after,
    })
}

/// The outcome of a repair run: what it fixed, and what is left as notes.
fn succeeded(
    before: &Examination,
    (store, links): (&BTreeMap<Check, u64>, u64),
    after: &Examination,
) -> RunOutcome {
    let mut counters: Counters = store
        .iter()
        .map(|(c, n)| (format!("repaired_{}", c.name()), *n))
        .collect();
    counters.insert("links_repaired".into(), links);
    counters.insert("problems_found".into(), before.problems() as u64);
    counters.insert("problems_left".into(), after.problems() as u64);
    counters.retain(|_, n| *n > 0);
    RunOutcome {
        status: RunStatus::Succeeded,
        counters,
        errors: after.notes(),
    }
}

/// Repair what `found` says can be: store checks, then links that owe a write.
fn fix(
    store: &mut dyn HubStore,
    (tenant, run): (&str, RunId),
    found: &Examination,
    options: &IntegrityOptions,
) -> Result<(BTreeMap<Check, u64>, u64), EngineError> {
    let mut fixed = BTreeMap::new();
    for f in found
        .store
        .iter()
        .filter(|f| f.count > 0 && f.repair.is_some())
    {
        let n = store.repair_integrity(tenant, run, f.check, options)?;
        if n > 0 {
            fixed.insert(f.check, n);
        }
    }
    let owed: Vec<Violation> = found
        .sides
        .iter()
        .flat_map(|s| match &s.outcome {
            SideOutcome::Checked(v) => v.clone(),
            _ => Vec::new(),
        })
        .collect();
    invariant::repair(store, (tenant, run), &owed)?;
    Ok((fixed, owed.len() as u64))
}
