//! Counts over a tenant's hub for monitoring (`/metrics` of
//! `einklang serve`): live records per entity, links per connector and
//! status, open conflicts and review pairs, runs per job and status, and
//! the run queue. One grouped query each, the same SQL on both stores.

use crate::Result;

/// The counts (see the module docs). Rows are `(labels…, count)`.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Overview {
    /// Live records (not merged away, not deleted) by entity.
    pub records: Vec<(String, u64)>,
    /// Links by connector and status.
    pub links: Vec<(String, String, u64)>,
    /// Open conflicts.
    pub open_conflicts: u64,
    /// Review pairs waiting for a person.
    pub open_reviews: u64,
    /// Runs by job and status.
    pub runs: Vec<(String, String, u64)>,
    /// Runs waiting or claimed in the queue.
    pub queued: u64,
}

/// The SQL of each count; `$1` is the tenant (SQLite takes `?1`).
pub(crate) const RECORDS: &str = "SELECT entity, count(*) FROM records
    WHERE tenant = $1 AND merged_into IS NULL AND deleted_at IS NULL GROUP BY entity ORDER BY entity";
pub(crate) const LINKS: &str = "SELECT connector, status, count(*) FROM links
    WHERE tenant = $1 GROUP BY connector, status ORDER BY connector, status";
pub(crate) const OPEN_LINKS: &str = "SELECT connector, status, count(*) FROM (
      SELECT connector, status FROM links WHERE tenant = $1 AND status <> 'clean' LIMIT 50001
    ) open GROUP BY connector, status ORDER BY connector, status";

/// The most links [`Overviews::open_links`] counts.
pub const OPEN_LINKS_COUNTED: u64 = 50_000;
pub(crate) const CONFLICTS: &str =
    "SELECT count(*) FROM conflicts WHERE tenant = $1 AND status = 'open'";
pub(crate) const REVIEWS: &str =
    "SELECT count(*) FROM reviews WHERE tenant = $1 AND status = 'open'";
pub(crate) const RUNS: &str = "SELECT job, status, count(*) FROM runs
    WHERE tenant = $1 GROUP BY job, status ORDER BY job, status";
pub(crate) const QUEUED: &str =
    "SELECT count(*) FROM run_queue WHERE tenant = $1 AND state <> 'done'";

/// Counts for monitoring, and the links that need attention.
pub trait Overviews {
    /// The tenant's counts.
    fn overview(&mut self, tenant: &str) -> Result<Overview>;

    /// Links that are not clean, by connector and status (`(connector,
    /// status, count)`): what a connector still owes, counted over the
    /// partial index of such links — quick however many clean links the
    /// hub has (the dashboard's connector health). At most
    /// [`OPEN_LINKS_COUNTED`] + 1 are counted (a merge pass can leave a
    /// million links dirty): counts summing to more mean "more than that".
    fn open_links(&mut self, tenant: &str) -> Result<Vec<(String, String, u64)>>;

    /// Make a failed or permanently failed link of `tenant` due now
    /// ("retry now"): its waiting time cleared, its error and attempts
    /// kept (a permanently failed one starts its retry schedule again on
    /// its next try). The link as it is then; `None` when the tenant has
    /// no link `link_id` in either state.
    fn retry_now(&mut self, tenant: &str, link_id: i64) -> Result<Option<crate::Link>>;

    /// Links of one status (`pending`, `dirty`, `failed`, `conflict`, …:
    /// "not yet synced"; never `clean`, so the query keeps to the partial
    /// index of the links that are not), optionally of one connector,
    /// oldest first, after link id `after` (keyset paging): at most
    /// `limit`.
    fn links_with_status(
        &mut self,
        tenant: &str,
        status: &str,
        connector: Option<&str>,
        after: i64,
        limit: usize,
    ) -> Result<Vec<crate::Link>>;
}

/// Finding records by a field's value (`GET /api/records/{entity}?field=&value=`).
pub trait RecordSearch {
    /// Live records of `entity` whose `field` (any field when empty)
    /// equals `value`, ignoring case — a text field, or an element of a
    /// list field — with ids in `(after, upto]`, by id, at most `limit`.
    /// `field` must be a field of the entity (the caller checks it
    /// against the schema). A scan of the records in that window: the
    /// caller keeps the window small enough to answer quickly and pages
    /// through a large hub window by window.
    fn search_records(
        &mut self,
        tenant: &str,
        entity: &str,
        field_value: (&str, &str),
        window: (crate::RecordId, crate::RecordId),
        limit: usize,
    ) -> Result<Vec<crate::HubRecord>>;
}
