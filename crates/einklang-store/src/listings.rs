//! The lists a person pages through — runs, conflicts, review pairs —
//! one page at a time by id (keyset paging: a page costs the same however
//! far in it is), filtered in the store, the same SQL shape on both
//! stores. The dashboard's and the API's lists.

use crate::{ConflictRow, Result, ReviewRow, Run, RunStatus};

/// Which runs a page shows.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct RunsPage {
    /// Only runs with a smaller id (the last id of the page before).
    pub before: Option<i64>,
    /// Only this job's.
    pub job: Option<String>,
    /// Only runs of this status.
    pub status: Option<RunStatus>,
}

/// Keyset-paged lists.
pub trait Listings {
    /// Runs newest first, as `page` filters them: at most `limit`.
    fn runs_page(&mut self, tenant: &str, page: &RunsPage, limit: usize) -> Result<Vec<Run>>;

    /// Conflicts newest first (open ones, or all), with ids below
    /// `before` when given: at most `limit`.
    fn conflicts_page(
        &mut self,
        tenant: &str,
        open_before: (bool, Option<i64>),
        limit: usize,
    ) -> Result<Vec<ConflictRow>>;

    /// Review pairs in queue order (open ones, or all), with ids above
    /// `after`: at most `limit`.
    fn reviews_page(
        &mut self,
        tenant: &str,
        open_after: (bool, i64),
        limit: usize,
    ) -> Result<Vec<ReviewRow>>;
}
