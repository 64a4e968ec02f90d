//! Live progress of the runs this process is working on: each step's
//! label, the records it has processed so far, its read counters after
//! each batch, and whether it is done —
//! fed by the engine's [`Progress`] calls, read by `GET /api/runs/{id}`
//! (`"progress"`) and streamed by `GET /api/runs/{id}/events` as
//! Server-Sent Events until the run ends. A run another process works on
//! shows its stored status and, once it ends, its counters.

use einklang_engine::Progress;
use einklang_store::RunId;
use serde::Serialize;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};

/// One step as it goes.
#[derive(Clone, Debug, Serialize, PartialEq, utoipa::ToSchema)]
pub struct StepProgress {
    /// `pull crm → contact`, as the command line shows it.
    pub step: String,
    /// Records processed so far.
    pub records: u64,
    /// Whether the step ended.
    pub done: bool,
    /// The step's read counters so far (`read`, `created`, `updated`,
    /// `unchanged`, `quarantined`, `writes`, …), after each batch.
    #[schema(value_type = std::collections::BTreeMap<String, u64>)]
    pub counters: einklang_store::Counters,
}

/// The runs in progress here, by id.
#[derive(Default)]
pub struct LiveRuns(Mutex<HashMap<RunId, Vec<StepProgress>>>);

impl LiveRuns {
    /// The steps of `run` so far (`None`: not running in this process).
    pub fn of(&self, run: RunId) -> Option<Vec<StepProgress>> {
        self.0
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .get(&run)
            .cloned()
    }

    /// The engine's progress for `run`, kept here until [`Self::end`].
    pub fn start(self: &Arc<Self>, run: RunId) -> RunProgress {
        self.0
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(run, Vec::new());
        RunProgress {
            live: Arc::clone(self),
            run,
        }
    }

    /// `run` ended: forget it (its counters are in the store).
    pub fn end(&self, run: RunId) {
        self.0
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .remove(&run);
    }

    fn update(&self, run: RunId, f: impl FnOnce(&mut Vec<StepProgress>)) {
        if let Some(steps) = self
            .0
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .get_mut(&run)
        {
            f(steps)
        }
    }
}

/// The [`Progress`] of one run.
pub struct RunProgress {
    live: Arc<LiveRuns>,
    run: RunId,
}

impl Progress for RunProgress {
    fn step(&self, label: &str) {
        let step = StepProgress {
            step: label.to_string(),
            records: 0,
            done: false,
            counters: Default::default(),
        };
        self.live.update(self.run, |s| s.push(step));
    }

    fn records(&self, n: u64) {
        self.live.update(self.run, |s| {
            if let Some(last) = s.last_mut() {
                last.records += n;
            }
        });
    }

    fn step_done(&self) {
        self.live.update(self.run, |s| {
            if let Some(last) = s.last_mut() {
                last.done = true;
            }
        });
    }

    fn counters(&self, counters: &einklang_store::Counters) {
        // a read's counters and a push's have keys of their own: merged
        self.live.update(self.run, |s| {
            if let Some(last) = s.last_mut() {
                last.counters
                    .extend(counters.iter().map(|(k, v)| (k.clone(), *v)));
            }
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_engines_calls_make_each_steps_progress_until_the_run_ends() {
        let live = Arc::new(LiveRuns::default());
        assert_eq!(live.of(7), None);
        let p = live.start(7);
        p.step("pull crm → contact");
        p.records(2000);
        p.counters(&[("read".to_string(), 2000), ("created".to_string(), 1990)].into());
        p.records(500);
        p.counters(&[("read".to_string(), 2500), ("created".to_string(), 2490)].into());
        p.step_done();
        p.step("push crm ← contact");
        p.records(3);
        let steps = live.of(7).unwrap();
        assert_eq!(steps.len(), 2);
        assert_eq!((steps[0].records, steps[0].done), (2500, true));
        assert_eq!(
            steps[0].counters["created"], 2490,
            "the latest counters of the read"
        );
        assert!(steps[1].counters.is_empty());
        assert_eq!(
            (steps[1].step.as_str(), steps[1].records, steps[1].done),
            ("push crm ← contact", 3, false)
        );
        live.end(7);
        assert_eq!(live.of(7), None, "ended: the store has its counters");
        p.records(1); // a late call after the end changes nothing
        assert_eq!(live.of(7), None);
    }
}
