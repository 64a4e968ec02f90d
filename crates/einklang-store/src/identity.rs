//! Data types of identity resolution in the store: merges (with the
//! snapshot that lets `unmerge` restore both records and their links
//! exactly) and the review queue of uncertain pairs.

pub(crate) mod batch;

use crate::model::{RecordId, RunId};
use chrono::{DateTime, Utc};
use einklang_core::Fields;
use serde::{Deserialize, Serialize};

/// One merge to apply: `merged` goes into `survivor`, which takes `values`.
#[derive(Clone, Debug, PartialEq)]
pub struct MergeWrite {
    /// Entity of both records.
    pub entity: String,
    /// The record that stays.
    pub survivor: RecordId,
    /// The record merged away (deactivated with `merged_into`).
    pub merged: RecordId,
    /// Versions of (survivor, merged) the values were computed from: the
    /// merge fails with [`crate::StoreError::Changed`] when either moved.
    pub expect_versions: (i64, i64),
    /// The survivor's values after the merge (survivorship).
    pub values: Fields,
    /// The pair's match probability (1.0 for a person's decision).
    pub probability: f64,
    /// Why: `auto` (above the threshold), `review` (accepted), `ingest`.
    pub reason: String,
}

/// One merge of [`crate::HubStore::merge_many`]: `merged` goes into
/// `survivor`, whose values are computed in the transaction from both
/// records as they are then (so a survivor that took part in an earlier
/// merge of the same batch brings that merge's values).
#[derive(Clone, Debug, PartialEq)]
pub struct MergeStep {
    /// The record that stays.
    pub survivor: RecordId,
    /// The record merged away.
    pub merged: RecordId,
    /// The pair's match probability.
    pub probability: f64,
    /// Why: `auto`, `review`, `ingest`.
    pub reason: String,
}

/// One record of a merge as [`crate::HubStore::merge_many`] hands it to
/// survivorship: its values, the connectors of its links (by link id) and
/// when it last changed (microseconds since the epoch).
#[derive(Clone, Debug, PartialEq)]
pub struct MergeMember {
    /// Its values.
    pub values: Fields,
    /// The connector of each of its links.
    pub sources: Vec<String>,
    /// Its `updated_at`, in microseconds since the epoch.
    pub changed: i64,
}

/// What [`crate::HubStore::merge_many`] did: the merge ids of the steps
/// committed, in order, and — when a step was refused or found a record
/// changed — its error; the steps after it were not tried.
#[derive(Debug, Default)]
pub struct MergesDone {
    /// Merge ids of the committed steps (the first `ids.len()` steps).
    pub ids: Vec<i64>,
    /// Why step `ids.len()` was not merged ([`crate::StoreError::Refused`]
    /// or [`crate::StoreError::Changed`]).
    pub stopped: Option<crate::StoreError>,
}

/// The survivor's values of a merge from its two members (survivor first).
pub type Survive<'a> = dyn Fn(&[MergeMember; 2]) -> Fields + 'a;

/// A merge as stored.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct MergeRow {
    /// Id.
    pub id: i64,
    /// Entity.
    pub entity: String,
    /// The record that stayed.
    pub survivor: RecordId,
    /// The record merged away.
    pub merged: RecordId,
    /// Match probability.
    pub probability: f64,
    /// `auto`, `review`, `ingest`.
    pub reason: String,
    /// `active` or `undone`.
    pub status: String,
    /// The run that merged.
    pub run_id: RunId,
    /// When.
    pub created_at: DateTime<Utc>,
    /// The run that undid it.
    pub undone_run: Option<RunId>,
}

/// Status of a review pair.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum ReviewStatus {
    /// Waiting for a person.
    Open,
    /// Accepted: the records were merged.
    Accepted,
    /// Rejected: different records, never proposed again.
    Rejected,
    /// One of the records is no longer live (merged or deleted elsewhere).
    Stale,
}

impl ReviewStatus {
    /// Name as stored.
    pub fn as_str(self) -> &'static str {
        match self {
            ReviewStatus::Open => "open",
            ReviewStatus::Accepted => "accepted",
            ReviewStatus::Rejected => "rejected",
            ReviewStatus::Stale => "stale",
        }
    }
    /// Parse the stored name.
    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "open" => ReviewStatus::Open,
            "accepted" => ReviewStatus::Accepted,
            "rejected" => ReviewStatus::Rejected,
            "stale" => ReviewStatus::Stale,
            _ => return None,
        })
    }
}

/// A pair to put up for review (`a < b` is not required; the store orders them).
#[derive(Clone, Debug, PartialEq)]
pub struct NewReview {
    /// Entity.
    pub entity: String,
    /// One record.
    pub a: RecordId,
    /// The other.
    pub b: RecordId,
    /// Match probability.
    pub probability: f64,
}

/// A review pair as stored.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ReviewRow {
    /// Id (for `einklang review accept|reject ID`).
    pub id: i64,
    /// Entity.
    pub entity: String,
    /// The lower record id.
    pub a: RecordId,
    /// The higher record id.
    pub b: RecordId,
    /// Match probability when proposed.
    pub probability: f64,
    /// Status.
    pub status: ReviewStatus,
    /// Run that proposed it.
    pub run_id: RunId,
    /// When proposed.
    pub created_at: DateTime<Utc>,
    /// When decided.
    pub decided_at: Option<DateTime<Utc>>,
    /// Who decided.
    pub decided_by: Option<String>,
}

/// What a merge changed, kept with it so `unmerge` can put it back: the
/// rows as they were before (times and values as the store's own text).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub(crate) struct Snapshot {
    /// Survivor, then the merged record.
    pub records: Vec<RecordRow>,
    /// Every link of both records.
    pub links: Vec<LinkRow>,
    /// Conflict rows moved from the merged record to the survivor.
    pub conflicts: Vec<i64>,
    /// Outbox rows moved likewise.
    pub outbox: Vec<i64>,
}

/// A record row's mutable columns.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub(crate) struct RecordRow {
    pub id: RecordId,
    pub vals: String,
    pub version: i64,
    pub merged_into: Option<RecordId>,
    pub deleted_at: Option<String>,
    pub updated_at: String,
}

/// A link row's columns a merge changes, and its hash to tell whether a
/// sync moved its base since.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub(crate) struct LinkRow {
    pub id: i64,
    pub record_id: RecordId,
    pub status: String,
    pub updated_at: String,
    pub content_hash: Vec<u8>,
}

/// Why an unmerge cannot go ahead, or `None`.
pub(crate) fn unmerge_refusal(
    merge: &MergeRow,
    survivor_version_then: i64,
    survivor_version_now: Option<i64>,
    merged_into_now: Option<RecordId>,
) -> Option<String> {
    if merge.status != "active" {
        return Some(format!("merge {} was already undone", merge.id));
    }
    match survivor_version_now {
        None => return Some(format!("record {} no longer exists", merge.survivor)),
        Some(v) if v != survivor_version_then => {
            return Some(format!(
                "record {} changed after merge {} (version {survivor_version_then} → {v}); \
                 undo later merges into it first (`einklang merges --record {}`), or edit the records by hand",
                merge.survivor, merge.id, merge.survivor
            ))
        }
        Some(_) => {}
    }
    if merged_into_now != Some(merge.survivor) {
        return Some(format!(
            "record {} is no longer merged into {}",
            merge.merged, merge.survivor
        ));
    }
    None
}

/// Field changes from `old` to `new`, for the history of a merge.
pub(crate) fn changes(old: &Fields, new: &Fields) -> crate::FieldChanges {
    let null = serde_json::Value::Null;
    old.keys()
        .chain(new.keys())
        .filter(|k| old.get(*k) != new.get(*k))
        .map(|k| {
            let change = crate::FieldChange {
                old: old.get(k).unwrap_or(&null).clone(),
                new: new.get(k).unwrap_or(&null).clone(),
            };
            (k.clone(), change)
        })
        .collect()
}

/// The history origin of a merge and of its undoing.
pub(crate) fn origin(undo: bool, merge: &MergeRow) -> String {
    origin_of(undo, merge.merged, merge.survivor)
}

/// [`origin`] of the records of a merge.
pub(crate) fn origin_of(undo: bool, merged: RecordId, survivor: RecordId) -> String {
    let verb = if undo { "unmerge" } else { "merge" };
    format!("{verb} {merged} → {survivor}")
}

/// The one-field history of the merged record: `merged_into` set or cleared.
pub(crate) fn merged_into_change(
    from: Option<RecordId>,
    to: Option<RecordId>,
) -> crate::FieldChanges {
    let v = |r: Option<RecordId>| r.map_or(serde_json::Value::Null, serde_json::Value::from);
    let change = crate::FieldChange {
        old: v(from),
        new: v(to),
    };
    [("merged_into".to_string(), change)].into_iter().collect()
}

/// Why record `rid` (with `entity` and its `row`) cannot take part in
/// merge `m`, or `None`.
pub(crate) fn merge_refusal(
    m: &MergeWrite,
    rid: RecordId,
    entity: &str,
    row: &RecordRow,
) -> Option<String> {
    let what = format!("cannot merge record {} into {}", m.merged, m.survivor);
    if m.merged == m.survivor {
        return Some(format!("{what}: it is the same record"));
    }
    if entity != m.entity {
        return Some(format!(
            "{what}: record {rid} is a {entity}, not a {}",
            m.entity
        ));
    }
    if let Some(into) = row.merged_into {
        return Some(format!("{what}: record {rid} was merged into {into}"));
    }
    if row.deleted_at.is_some() {
        return Some(format!("{what}: record {rid} is deleted"));
    }
    None
}
