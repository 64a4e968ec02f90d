//! The pure decisions of the inbound half of a sync: what a record read
//! from a connector does to the hub ([`plan_create`], [`plan_linked`]), and
//! what a record the connector no longer has does ([`plan_gone`]). No I/O:
//! the engine loads the hub state, calls these, and commits what they
//! return in one batch.

use crate::report::{FieldDiff, PlanItem};
use crate::side::Side;
use einklang_core::merge::{diff, merge_inbound, InboundCase};
use einklang_core::{ContentHash, Fields, Policies, Resolution, Value};
use einklang_store::{
    Change, FieldChange, FieldChanges, Link, LinkChange, LinkStatus, LinkWrite, NewConflict,
    RecordState, RecordWrite,
};
use std::collections::BTreeSet;

/// A record read, mapped and normalised, ready to be planned.
#[derive(Clone, Debug, PartialEq)]
pub struct Incoming {
    /// Connector it came from.
    pub connector: String,
    /// Its external id.
    pub external_id: String,
    /// Canonical values.
    pub values: Fields,
    /// Content hash of `values`.
    pub hash: ContentHash,
    /// Remote version token.
    pub version: Option<String>,
}

/// The marker standing in for a record's id on a connector until its create is done.
pub fn marker(record: i64) -> String {
    format!("ek-{record}")
}

/// Is `text` a marker ([`marker`])?
pub fn is_marker(text: &str) -> bool {
    text.strip_prefix("ek-")
        .is_some_and(|n| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()))
}

/// A new record: every field is history with `old = null`.
pub fn plan_create(entity: &str, incoming: &Incoming) -> Change {
    let history = incoming
        .values
        .iter()
        .map(|(k, v)| {
            let change = FieldChange {
                old: Value::Null,
                new: v.clone(),
            };
            (k.clone(), change)
        })
        .collect();
    Change::Create {
        entity: entity.to_string(),
        values: incoming.values.clone(),
        link: LinkWrite {
            connector: incoming.connector.clone(),
            external_id: incoming.external_id.clone(),
            base: incoming.values.clone(),
            content_hash: incoming.hash,
            version: incoming.version.clone(),
        },
        history,
    }
}

/// What merging one read record into its hub record commits.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Linked {
    /// The hub record's change (None: the hub did not change).
    pub record: Option<RecordWrite>,
    /// The link's new base and status (None: nothing to write at all).
    pub link: Option<LinkChange>,
    /// Other links to reset as pending creates (the record came back).
    pub recreate: Vec<LinkChange>,
    /// Conflicts to record (held ones only when new or changed).
    pub conflicts: Vec<NewConflict>,
    /// The hub changed: the record's other links need it.
    pub dirty_others: bool,
    /// For the plan.
    pub item: Option<PlanItem>,
}

/// Merge `incoming` into the hub record `state` through `link` (3-way, per
/// field, see [`einklang_core::merge`]).
pub fn plan_linked(
    side: &Side<'_>,
    policies: &Policies,
    state: &RecordState,
    link: &Link,
    incoming: &Incoming,
) -> Linked {
    let projected = side.project(&state.values);
    let others: Vec<(&str, &Fields)> = state
        .links
        .iter()
        .filter(|l| l.id != link.id && l.status != LinkStatus::DeletedRemote)
        .map(|l| (l.connector.as_str(), &l.base))
        .collect();
    let held: BTreeSet<String> = state
        .open_conflicts
        .iter()
        .filter(|(l, _, _)| *l == link.id)
        .map(|(_, f, _)| f.clone())
        .collect();
    let out = merge_inbound(&InboundCase {
        connector: side.name,
        hub: &state.values,
        projected_hub: &projected,
        base: &link.base,
        remote: &incoming.values,
        others: &others,
        held: &held,
        roles: &side.roles,
        policies,
    });
    let changes = diff(&state.values, &out.hub);
    let resurrect = state.deleted && incoming.hash != link.hash();
    let mut linked = Linked {
        dirty_others: (!changes.is_empty() || resurrect) && !others.is_empty(),
        ..Default::default()
    };
    if !changes.is_empty() || resurrect {
        linked.record = Some(RecordWrite {
            record_id: state.id,
            values: (!changes.is_empty()).then(|| out.hub.clone()),
            deleted: resurrect.then_some(false),
            origin: side.name.to_string(),
            history: history(&changes),
        });
        linked.item = Some(item(
            side,
            state.id,
            &incoming.external_id,
            &changes,
            resurrect,
        ));
    }
    if resurrect {
        linked.recreate = gone_links(state, link.id);
    }
    let now_held = out
        .conflicts
        .iter()
        .any(|c| c.resolution == Resolution::Held);
    let status = if now_held {
        LinkStatus::Conflict
    } else if (state.deleted && !resurrect) || side.hub_ahead(&out.hub, &out.base) {
        // a tombstoned record still owes this remote its delete
        LinkStatus::Dirty
    } else {
        LinkStatus::Clean
    };
    let unchanged = out.base == link.base
        && incoming.hash == link.hash()
        && incoming.version == link.version
        && status == link.status
        && incoming.external_id == link.external_id;
    if !unchanged || linked.record.is_some() {
        linked.link = Some(LinkChange::Synced {
            link_id: link.id,
            expect_hash: Some(link.hash()),
            external_id: incoming.external_id.clone(),
            base: out.base,
            // the remote's hash as read: an unchanged remote costs nothing
            // next time, even while a field of it is held for review
            content_hash: incoming.hash,
            version: incoming.version.clone(),
            status,
        });
    }
    let known = |field: &str, remote: &Value| {
        state
            .open_conflicts
            .iter()
            .any(|(l, f, v)| *l == link.id && f == field && v == remote)
    };
    linked.conflicts = out
        .conflicts
        .into_iter()
        .filter(|c| !(c.resolution == Resolution::Held && known(&c.field, &c.remote_value)))
        .map(|c| NewConflict {
            record_id: state.id,
            entity: state.entity.clone(),
            link_id: link.id,
            connector: side.name.to_string(),
            field: c.field,
            hub_value: c.hub_value,
            remote_value: c.remote_value,
            policy: c.policy,
            resolution: c.resolution.as_str().to_string(),
        })
        .collect();
    linked
}

/// History entries for field changes.
pub fn history(changes: &[(String, Value, Value)]) -> FieldChanges {
    changes
        .iter()
        .map(|(k, old, new)| {
            let change = FieldChange {
                old: old.clone(),
                new: new.clone(),
            };
            (k.clone(), change)
        })
        .collect()
}

fn item(
    side: &Side<'_>,
    record: i64,
    id: &str,
    changes: &[(String, Value, Value)],
    resurrect: bool,
) -> PlanItem {
    PlanItem {
        connector: side.name.to_string(),
        direction: "pull",
        action: if resurrect { "restore" } else { "update" },
        record: Some(record),
        id: id.to_string(),
        fields: changes.iter().map(FieldDiff::from).collect(),
    }
}

/// The record's links whose remote record is gone, to be created again.
pub(crate) fn gone_links(state: &RecordState, except: i64) -> Vec<LinkChange> {
    state
        .links
        .iter()
        .filter(|l| l.id != except && l.status == LinkStatus::DeletedRemote)
        .map(|l| LinkChange::Recreate {
            link_id: l.id,
            marker: marker(state.id),
        })
        .collect()
}

/// What a record the connector no longer has does.
#[derive(Clone, Debug, PartialEq)]
pub enum Gone {
    /// The hub record is already deleted: only the link notes it.
    AlreadyDeleted,
    /// Delete the hub record; its other links will delete theirs.
    DeleteRecord,
    /// The hub changed since this link last synced: the edit beats the
    /// delete, and the record is created on the connector again.
    Recreate,
    /// A connector this step only reads forgot a record other systems
    /// still hold: the link notes it, nothing else changes.
    Forget,
}

/// Decide a record that disappeared from `side` (see [`Gone`]); one
/// that `left_scope` (the mapping's filter no longer takes it, the source
/// still has it) leaves the hub, whatever other systems hold.
pub fn plan_gone(side: &Side<'_>, state: &RecordState, link: &Link, left_scope: bool) -> Gone {
    if state.deleted {
        return Gone::AlreadyDeleted;
    }
    if left_scope {
        return Gone::DeleteRecord;
    }
    let edited = link.status != LinkStatus::Clean
        || !state.open_conflicts.is_empty()
        || side.hub_ahead(&state.values, &link.base);
    let others_live = state
        .links
        .iter()
        .any(|l| l.id != link.id && l.status != LinkStatus::DeletedRemote);
    match (side.pushes, edited) {
        (true, true) => Gone::Recreate,
        (false, _) if others_live => Gone::Forget,
        _ => Gone::DeleteRecord,
    }
}

/// History of a tombstone: the record as it was, going away.
pub fn tombstone(state: &RecordState, origin: &str) -> RecordWrite {
    let mut history = FieldChanges::new();
    history.insert(
        "_deleted".into(),
        FieldChange {
            old: Value::Bool(false),
            new: Value::Bool(true),
        },
    );
    RecordWrite {
        record_id: state.id,
        values: None,
        deleted: Some(true),
        origin: origin.to_string(),
        history,
    }
}

#[cfg(test)]
mod tests;
