//! The shapes of the API's answers: every JSON body a route answers with
//! is one of these types (or a store or engine row inside one), so the
//! OpenAPI document's response schemas are derived from the very types
//! that are serialized — they cannot drift from what is sent.

use crate::live::StepProgress;
use chrono::{DateTime, Utc};
use einklang_engine::compare::SideCompare;
use einklang_engine::identity::lookup::Found;
use einklang_store::{
    ConflictRow, Counters, HistoryEntry, HubRecord, Link, LinkStatus, MergeRow, QuarantineItem,
    ReviewRow, Role, Run, RunSource, RunStatus, TokenRow,
};
use serde::Serialize;
use utoipa::ToSchema;

/// An error: what went wrong, in words (never a secret).
#[derive(Serialize, ToSchema)]
pub struct ErrorAnswer {
    /// The message.
    pub error: String,
}

/// `GET /healthz`.
#[derive(Serialize, ToSchema)]
pub struct Health {
    /// `ok`.
    pub status: &'static str,
    /// Seconds since the service started.
    pub uptime_seconds: u64,
}

/// `GET /readyz`.
#[derive(Serialize, ToSchema)]
pub struct Ready {
    /// `ready`, or `not ready` (503).
    pub status: &'static str,
    /// Runs waiting or claimed, over the tenants served.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub queued_runs: Option<u64>,
    /// Why the store does not answer (503).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

/// A run as the API shows it.
#[derive(Serialize, ToSchema)]
pub struct RunView {
    /// Run id.
    pub id: i64,
    /// Its job (or `dedupe ENTITY`, `doctor`, …).
    pub job: String,
    /// Its status.
    pub status: RunStatus,
    /// How it was started.
    pub source: RunSource,
    /// Who or what started it.
    pub triggered_by: String,
    /// Its counters (`read`, `created`, `updated`, …).
    #[schema(value_type = std::collections::BTreeMap<String, u64>)]
    pub counters: Counters,
    /// Run-level errors.
    pub errors: Vec<String>,
    /// When it started (was queued, while `queued`).
    pub started_at: DateTime<Utc>,
    /// When it ended.
    pub finished_at: Option<DateTime<Utc>>,
    /// Each step as it goes, while this process works on the run.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub progress: Option<Vec<StepProgress>>,
    /// Each step's result once the run ended (`GET /api/runs/{id}`): its
    /// counters, error and notes — a later step failing after earlier ones
    /// succeeded is a `partial` run with the steps saying which.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub steps: Option<Vec<einklang_store::StepOutcome>>,
}

impl RunView {
    /// The run without live progress.
    pub fn of(r: &Run) -> RunView {
        RunView {
            id: r.id,
            job: r.job.clone(),
            status: r.status,
            source: r.source,
            triggered_by: r.triggered_by.clone(),
            counters: r.counters.clone(),
            errors: r.errors.clone(),
            started_at: r.started_at,
            finished_at: r.finished_at,
            progress: None,
            steps: None,
        }
    }
}

/// `GET /api/runs`.
#[derive(Serialize, ToSchema)]
pub struct Runs {
    /// Newest first.
    pub runs: Vec<RunView>,
}

/// A job with its schedule and last run.
#[derive(Serialize, ToSchema)]
pub struct JobView {
    /// The job's name.
    pub name: String,
    /// Its cron pattern, if scheduled.
    pub schedule: Option<String>,
    /// The zone the pattern is read in.
    pub tz: String,
    /// The next tick.
    pub next_run_at: Option<DateTime<Utc>>,
    /// Its latest run.
    pub last_run: Option<RunView>,
}

/// `GET /api/jobs`.
#[derive(Serialize, ToSchema)]
pub struct Jobs {
    /// Every job of the tenant's config.
    pub jobs: Vec<JobView>,
}

/// A run queued: poll `location`.
#[derive(Serialize, ToSchema)]
pub struct Queued {
    /// The run's id.
    pub run_id: i64,
    /// `queued`.
    pub status: &'static str,
    /// `/api/runs/{id}`.
    pub location: String,
}

impl Queued {
    /// The answer for run `id`.
    pub fn run(id: i64) -> Queued {
        Queued {
            run_id: id,
            status: "queued",
            location: format!("/api/runs/{id}"),
        }
    }

    /// `202 Accepted` for queued run `id`, its `Location` to poll.
    pub fn accepted(id: i64) -> axum::response::Response {
        use axum::response::IntoResponse;
        let answer = Queued::run(id);
        (
            axum::http::StatusCode::ACCEPTED,
            [(axum::http::header::LOCATION, answer.location.clone())],
            axum::Json(answer),
        )
            .into_response()
    }
}

/// `GET /api/records/{entity}/{id}`.
#[derive(Serialize, ToSchema)]
pub struct RecordShown {
    /// The hub record.
    pub record: HubRecord,
    /// Its links, one per system holding it.
    pub links: Vec<Link>,
    /// Its field history, oldest first.
    pub history: Vec<HistoryEntry>,
}

/// `GET /api/records/{entity}?field=&value=`.
#[derive(Serialize, ToSchema)]
pub struct Records {
    /// Live records: those found by an e-mail or phone number first
    /// (first page only), then the scanned window's, by id.
    pub records: Vec<HubRecord>,
    /// The `after` of the next page, when there may be more: the last
    /// record of a full page, or where this page's scan stopped.
    pub next: Option<i64>,
    /// The scan covered record ids up to here.
    pub scanned_to: i64,
    /// The entity's largest record id (the scan's end).
    pub last_id: i64,
}

/// `GET /api/mappings/{connector}/{entity}/{external_id}`.
#[derive(Serialize, ToSchema)]
pub struct Mapping {
    /// The connector.
    pub connector: String,
    /// The entity.
    pub entity: String,
    /// The connector's id.
    pub external_id: String,
    /// The hub record it is linked to.
    pub record_id: i64,
    /// The link's status.
    pub status: LinkStatus,
}

/// One record of a sync-now call.
#[derive(Serialize, ToSchema)]
pub struct RecordQueued {
    /// The hub id asked for.
    pub id: i64,
    /// `queued`, `not_found` or `not_linked`.
    pub status: &'static str,
    /// The runs that read it.
    pub runs: Vec<i64>,
}

/// A job's run queued by a sync-now call.
#[derive(Serialize, ToSchema)]
pub struct JobRun {
    /// The job.
    pub job: String,
    /// The run.
    pub run_id: i64,
}

/// `POST /api/records/{entity}/sync`.
#[derive(Serialize, ToSchema)]
pub struct SyncQueued {
    /// Per record asked for, in order.
    pub records: Vec<RecordQueued>,
    /// One targeted run per job.
    pub runs: Vec<JobRun>,
}

/// `GET /api/quarantine`.
#[derive(Serialize, ToSchema)]
pub struct Quarantine {
    /// Records a run could not take, with the reason.
    pub quarantine: Vec<QuarantineItem>,
}

/// `GET /lookup/phone`.
#[derive(Serialize, ToSchema)]
pub struct Lookup {
    /// The number as asked.
    pub number: String,
    /// The records carrying it.
    pub records: Vec<Found>,
}

/// `GET /api/links`.
#[derive(Serialize, ToSchema)]
pub struct Links {
    /// Oldest first.
    pub links: Vec<Link>,
    /// The `after` of the next page, when there may be more.
    pub next: Option<i64>,
}

/// `GET /api/merges`.
#[derive(Serialize, ToSchema)]
pub struct Merges {
    /// Newest first.
    pub merges: Vec<MergeRow>,
}

/// `POST /api/records/{entity}/{id}/unmerge`.
#[derive(Serialize, ToSchema)]
pub struct Unmerged {
    /// The record given back.
    pub record_id: i64,
    /// The merge undone.
    pub merge_id: i64,
    /// The record it had been merged into.
    pub survivor: i64,
    /// The run that recorded the unmerge.
    pub run_id: i64,
}

/// `GET /api/records/{entity}/{id}/compare`.
#[derive(Serialize, ToSchema)]
pub struct Compared {
    /// The hub record.
    pub record_id: i64,
    /// Per linked system.
    pub sides: Vec<SideCompare>,
}

/// `GET /api/conflicts`.
#[derive(Serialize, ToSchema)]
pub struct Conflicts {
    /// Conflicts, newest first: open ones (and decided ones with `all`).
    pub conflicts: Vec<ConflictRow>,
    /// The `before` of the next page, when there may be more.
    pub next: Option<i64>,
}

/// `GET /api/reviews`.
#[derive(Serialize, ToSchema)]
pub struct Reviews {
    /// Review pairs in queue order.
    pub reviews: Vec<ReviewRow>,
    /// The `after` of the next page, when there may be more.
    pub next: Option<i64>,
}

/// `POST /api/reviews/{id}/{verdict}`.
#[derive(Serialize, ToSchema)]
pub struct Decided {
    /// The pair.
    pub review_id: i64,
    /// `accepted` or `rejected`.
    pub status: &'static str,
    /// The merge an accept made.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub merge_id: Option<i64>,
    /// The run that recorded an accept.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub run_id: Option<i64>,
}

/// `GET /api/tokens`.
#[derive(Serialize, ToSchema)]
pub struct Tokens {
    /// The tenant's tokens (never their text).
    pub tokens: Vec<TokenRow>,
}

/// `POST /api/tokens`: the token's text, shown once.
#[derive(Serialize, ToSchema)]
pub struct NewTokenAnswer {
    /// The token (`ek_…`): keep it, it is stored only as a hash.
    pub token: String,
    /// Its name.
    pub name: String,
    /// Its role.
    pub role: Role,
}

/// `POST /webhooks/…`: the call queued.
#[derive(Serialize, ToSchema)]
pub struct WebhookQueued {
    /// How many record ids the call named.
    pub accepted: usize,
    /// The runs that read them.
    pub runs: Vec<i64>,
}

/// `POST /webhooks/…`: a copy of a call accepted before.
#[derive(Serialize, ToSchema)]
pub struct Duplicate {
    /// `true`.
    pub duplicate: bool,
    /// `true`: nothing queued.
    pub ignored: bool,
}

/// One run's staged records of one entity.
#[derive(Serialize, ToSchema)]
pub struct StagedRun {
    /// The run that staged them (or kept them as its applied snapshot).
    pub run: i64,
    /// The entity.
    pub entity: String,
    /// Distinct records.
    pub records: u64,
    /// Copies the source returned more than once.
    pub duplicates: u64,
}

/// `GET /api/staging`.
#[derive(Serialize, ToSchema)]
pub struct Staging {
    /// Runs with staged records: held or failed refreshes, kept snapshots.
    pub staged: Vec<StagedRun>,
}

/// `GET /api/staging/{run}`.
#[derive(Serialize, ToSchema)]
pub struct StagingOf {
    /// The run.
    pub run: i64,
    /// Its staged records per entity.
    pub counts: Vec<StagedRun>,
    /// The first staged records of each entity: `entity`, `external_id`, `values`.
    #[schema(value_type = Vec<Object>)]
    pub records: Vec<serde_json::Value>,
}

/// One change of `GET /api/changes/{entity}`: between snapshots (with
/// `external_id`) or from the history (with `record`, `run`, `origin`, `at`).
#[derive(Serialize, ToSchema, Default)]
pub struct ChangeRow {
    /// `new`, `gone` or `changed`.
    pub change: &'static str,
    /// The field (empty between snapshots for a record new or gone: `old`/`new` hold all its values).
    pub field: String,
    /// The value before.
    pub old: Option<serde_json::Value>,
    /// The value after.
    pub new: Option<serde_json::Value>,
    /// The record's id at the source (between snapshots).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub external_id: Option<String>,
    /// The hub record (from the history).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub record: Option<i64>,
    /// The run that made it (from the history).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub run: Option<i64>,
    /// Where it came from (from the history).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub origin: Option<String>,
    /// When (from the history).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub at: Option<String>,
}

/// `GET /api/changes/{entity}`.
#[derive(Serialize, ToSchema)]
pub struct Changes {
    /// The entity.
    pub entity: String,
    /// How many changes in all.
    pub total: u64,
    /// Changes per `change field` (`changed salary`, `new`).
    pub counts: std::collections::BTreeMap<String, u64>,
    /// The changes, the first `limit`.
    pub changes: Vec<ChangeRow>,
    /// Whether every change of the span was counted: a `since` span of
    /// more than 25,000 history entries is counted in parts — ask again
    /// with `after` = `next` for the next part.
    pub complete: bool,
    /// With `complete` false: the time of the last history entry counted.
    pub counted_to: Option<String>,
    /// With `complete` false: the `after` of the next part.
    pub next: Option<i64>,
}

/// One failed remote call.
#[derive(Serialize, ToSchema, Clone, Debug)]
pub struct CallFailure {
    /// When it ended.
    pub at: DateTime<Utc>,
    /// HTTP method.
    pub method: String,
    /// The path called.
    pub path: String,
    /// The status answered, or the error when there was no answer.
    pub error: String,
}

/// A connector's health.
#[derive(Serialize, ToSchema, Clone, Debug)]
pub struct ConnectorHealth {
    /// Its name.
    pub name: String,
    /// Its kind (`http`, `carddav`, …).
    pub kind: String,
    /// Its links that are not clean, by status (`pending`, `dirty`,
    /// `failed`, `permanently_failed`, `conflict`, …).
    pub links: std::collections::BTreeMap<String, u64>,
    /// When a run of a job using it last succeeded (of the last 500 runs).
    pub last_good_run: Option<DateTime<Utc>>,
    /// Remote calls this process made since it started.
    pub calls: u64,
    /// When one last answered with success.
    pub last_success: Option<DateTime<Utc>>,
    /// Calls that failed.
    pub failures: u64,
    /// Answers asking to slow down (429, 503).
    pub throttled: u64,
    /// Requests that waited for the connector's `rate_limit` first.
    pub rate_limit_waits: u64,
    /// How long they waited, in all (ms).
    pub rate_limit_wait_ms: u64,
    /// The last few failures, newest first.
    pub recent_failures: Vec<CallFailure>,
}

/// `GET /api/connectors`.
#[derive(Serialize, ToSchema)]
pub struct ConnectorsHealth {
    /// Each connector of the tenant.
    pub connectors: Vec<ConnectorHealth>,
    /// More than 50,000 links are not clean: their counts cover the first
    /// 50,001 only.
    pub links_capped: bool,
}

/// One field of a review pair, as the configured model weighs it.
#[derive(Serialize, ToSchema)]
pub struct PairField {
    /// The field compared.
    pub field: String,
    /// Record a's value (any JSON).
    pub a: serde_json::Value,
    /// Record b's value (any JSON).
    pub b: serde_json::Value,
    /// How they agree (`exact`, `fuzzy`, `different`, `missing`, …).
    #[schema(value_type = String)]
    pub level: einklang_core::identity::compare::Level,
    /// Its weight (log2 odds) in the configured model.
    pub weight: f64,
    /// Whether it counts (the strongest of a group counts alone).
    pub counted: bool,
}

/// `GET /api/reviews/{id}`: a review pair with both records and the
/// field-by-field explanation.
#[derive(Serialize, ToSchema)]
pub struct ReviewPair {
    /// The pair as queued (its `probability` is the pass's score).
    pub review: ReviewRow,
    /// Record a now.
    pub a: HubRecord,
    /// Record b now.
    pub b: HubRecord,
    /// Each compared field, weighed by the configured model (without the
    /// pass's term-frequency adjustment: `einklang explain` shows that).
    pub fields: Vec<PairField>,
    /// The configured model's probability for the pair as it is now.
    pub configured_probability: f64,
    /// The entity's `auto_merge` threshold.
    pub auto_merge: f64,
    /// The entity's `review` threshold.
    pub review_threshold: f64,
}
