//! Each step's result of a finished run (seed 004: "the run reports …
//! partial success when a later step fails"): the action, connector and
//! entity, its counters, error, notes and time, kept with the run so the
//! API and `einklang runs RUN` show them after the process that ran it is
//! gone. The run's own row keeps the summed counters; this keeps the parts.

use crate::{Counters, Result, RunId};
use serde::{Deserialize, Serialize};

/// One step of a run, as it ended.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct StepOutcome {
    /// `pull`, `push`, `sync` or `refresh`.
    pub action: String,
    /// The connector.
    pub connector: String,
    /// The entity.
    pub entity: String,
    /// Its counters.
    #[cfg_attr(feature = "openapi", schema(value_type = std::collections::BTreeMap<String, u64>))]
    pub counters: Counters,
    /// Why it failed, if it did.
    pub error: Option<String>,
    /// What a person should know.
    #[serde(default)]
    pub notes: Vec<String>,
    /// A guard held something for review.
    #[serde(default)]
    pub needs_review: bool,
    /// Wall time in seconds.
    #[serde(default)]
    pub seconds: f64,
}

/// Keeping and reading the steps of runs.
pub trait RunSteps {
    /// Keep the steps of finished run `run` (replacing any kept before).
    fn record_steps(&mut self, tenant: &str, run: RunId, steps: &[StepOutcome]) -> Result<()>;
    /// The steps kept for `run`, in order (none for a run that kept none).
    fn steps_of(&mut self, tenant: &str, run: RunId) -> Result<Vec<StepOutcome>>;
}
