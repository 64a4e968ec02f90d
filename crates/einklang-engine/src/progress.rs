//! Progress reporting hooks, so the binary can draw a bar without the engine knowing about terminals.

/// Receives progress of a run. Implementations must be cheap: `records` is
/// called once per batch.
pub trait Progress {
    /// A step starts (`pull crm → contact`).
    fn step(&self, label: &str);
    /// `n` more records were processed in the current step.
    fn records(&self, n: u64);
    /// The current step ended.
    fn step_done(&self);
    /// Counters of the current step so far: a read's (`read`, `created`,
    /// `updated`, `unchanged`, `quarantined`, `writes`, …) after each batch
    /// it committed, a push's (`remote_writes`, …) after each batch of
    /// writes. Nothing by default.
    fn counters(&self, _counters: &einklang_store::Counters) {}
}

/// Progress that reports nothing.
pub struct NoProgress;

impl Progress for NoProgress {
    fn step(&self, _label: &str) {}
    fn records(&self, _n: u64) {}
    fn step_done(&self) {}
}
