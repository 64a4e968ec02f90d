//! The pure decision of a push: given a hub record and one of its links,
//! what (if anything) must be written to that link's connector.
//!
//! - a pending link (the record is not on the connector yet): create it
//!   with every field the connector is written, under the link's marker;
//! - a tombstoned record: delete the remote record, or write the mapping's
//!   soft-delete fields (`on_delete = { set = … }`), or leave it
//!   (`on_delete = "ignore"`, or a connector that cannot delete);
//! - otherwise: the fields whose projection differs from the base, except
//!   those held for review on this link; nothing differs → the link is
//!   settled clean without a write. Only writable fields are sent, and
//!   to a connector with partial updates only the raw fields that change
//!   (one cell of a list spread over several): a field whose value differs
//!   from the hub's only by normalisation (`0170 1039595` for
//!   `+491701039595`, case, white space) is no change and is never
//!   rewritten. A connector without partial updates (an `http` update by
//!   `PUT`) gets every pushed field, in the hub's canonical form.
//!
//! A flagged value (`einklang_core::transform::flag`) is written as the
//! raw text it holds.
//!
//! The base the link will have once the write succeeded travels with the
//! outbox entry, so the commit after the write needs no re-read.

use crate::inbound::history;
use crate::report::{FieldDiff, PlanItem};
use crate::side::Side;
use einklang_connectors::{RawFields, WriteOp};
use einklang_core::merge::{diff, put};
use einklang_core::{Fields, OnDelete};
use einklang_store::{Link, LinkChange, LinkStatus, OutboxEntry, OutboxOp, RecordState};

/// What to do with one link.
#[derive(Clone, Debug, PartialEq)]
pub enum PushPlan {
    /// No write; the link's state changes (clean, deleted).
    Settle(LinkChange),
    /// A write, with its outbox entry.
    Write {
        /// The durable outbox entry.
        entry: Box<OutboxEntry>,
        /// The connector operation.
        op: WriteOp,
        /// For the plan.
        item: PlanItem,
    },
}

/// Plan the push of `state` through `link` (see the module docs).
pub fn plan_push(side: &Side<'_>, state: &RecordState, link: &Link) -> Option<PushPlan> {
    if state.deleted {
        return plan_delete(side, state, link);
    }
    if link.status == LinkStatus::Pending || never_created(link) {
        return Some(plan_create(side, state, link));
    }
    let held: Vec<&String> = state
        .open_conflicts
        .iter()
        .filter(|(l, _, _)| *l == link.id)
        .map(|(_, f, _)| f)
        .collect();
    let projected = side.project(&state.values);
    let mut new_base = link.base.clone();
    let changed: Vec<(String, einklang_core::Value, einklang_core::Value)> =
        diff(&side_view(side, &link.base), &projected)
            .into_iter()
            .filter(|(f, _, _)| !held.contains(&f))
            .collect();
    if changed.is_empty() {
        let status = if held.is_empty() {
            LinkStatus::Clean
        } else {
            LinkStatus::Conflict
        };
        return (link.status != status).then(|| PushPlan::Settle(state_change(link, status)));
    }
    for (f, _, new) in &changed {
        put(&mut new_base, f, new.clone());
    }
    let fields = if side.caps.partial_update {
        let only = sharing(side, changed.iter().map(|(f, _, _)| f.as_str()));
        raw_changes(side, &only, &state.values, &link.base)
    } else {
        side.mapping.push(&state.values)
    };
    let op = WriteOp::Update {
        id: link.external_id.clone(),
        fields: writable(side, fields),
        expected_version: side
            .caps
            .conditional_writes
            .then(|| link.version.clone())
            .flatten(),
    };
    Some(write(
        side,
        state,
        link,
        OutboxOp::Update,
        op,
        new_base,
        &changed,
    ))
}

/// The raw fields of a partial update: those of the changed fields
/// (`only`) whose value differs from what the base writes. A list spread
/// over several raw fields (`phones` from `Telefon` and `Mobil`) whose one
/// element changed writes that element's field only: the others hold the
/// same numbers, in the formatting a person gave them, and stay as they
/// are. (When nothing differs — a base no read could give — every raw
/// field of the changed fields is written.)
fn raw_changes(side: &Side<'_>, only: &[&str], values: &Fields, base: &Fields) -> RawFields {
    let raw = side.mapping.push_only(values, only);
    let before = side.mapping.push_only(base, only);
    let differing: RawFields = raw
        .iter()
        .filter(|(k, v)| before.get(*k) != Some(*v))
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    match differing.is_empty() {
        false => differing,
        true => raw,
    }
}

/// A link whose create failed (it is waiting for its retry): the remote
/// never held the record, so the retry is the create again. (A create
/// whose answer was lost is not here: recovery settles it first.)
fn never_created(link: &Link) -> bool {
    matches!(
        link.status,
        LinkStatus::Failed | LinkStatus::PermanentlyFailed
    ) && link.base.is_empty()
        && link.version.is_none()
}

/// The entity fields to write for a partial update of `changed`: those,
/// and every field written into the same top-level raw value (a list that
/// several rules share, like Advoware's `kommunikation`, is written whole,
/// or the others' elements would be lost).
fn sharing<'a>(side: &'a Side<'_>, changed: impl Iterator<Item = &'a str>) -> Vec<&'a str> {
    let top = |rule: &einklang_core::FieldRule| rule.source.top_keys();
    let changed: Vec<&str> = changed.collect();
    let keys: Vec<String> = (side.mapping.fields.iter())
        .filter(|r| changed.contains(&r.target.as_str()))
        .flat_map(top)
        .collect();
    let mut out: Vec<&str> = (side.mapping.fields.iter())
        .filter(|r| changed.contains(&r.target.as_str()) || top(r).iter().any(|k| keys.contains(k)))
        .map(|r| r.target.as_str())
        .collect();
    out.dedup();
    out
}

/// The base as the side sees it: only the fields it is written.
fn side_view(side: &Side<'_>, base: &Fields) -> Fields {
    base.iter()
        .filter(|(k, _)| side.roles.get(*k).is_some_and(|r| r.pushes))
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect()
}

fn plan_create(side: &Side<'_>, state: &RecordState, link: &Link) -> PushPlan {
    // only what the record has: no empty keyed elements in a new record
    let filled: Vec<&str> = (state.values.iter())
        .filter(|(_, v)| !einklang_core::schema::is_empty(v))
        .map(|(k, _)| k.as_str())
        .collect();
    let raw: RawFields = side
        .mapping
        .push_only(&state.values, &filled)
        .into_iter()
        .filter(|(_, v)| !v.is_null())
        .collect();
    let new_base = side.project(&state.values);
    let op = WriteOp::Create {
        marker: link.external_id.clone(),
        fields: writable(side, raw),
    };
    let changed = diff(&Fields::new(), &new_base);
    write(side, state, link, OutboxOp::Create, op, new_base, &changed)
}

fn plan_delete(side: &Side<'_>, state: &RecordState, link: &Link) -> Option<PushPlan> {
    if matches!(link.status, LinkStatus::DeletedRemote) {
        return None;
    }
    if link.status == LinkStatus::Pending {
        return Some(PushPlan::Settle(state_change(
            link,
            LinkStatus::DeletedRemote,
        )));
    }
    let expected_version = side
        .caps
        .conditional_writes
        .then(|| link.version.clone())
        .flatten();
    let id = link.external_id.clone();
    let (op, kind) = match &side.mapping.on_delete {
        OnDelete::Ignore => return settle_clean(link),
        OnDelete::Delete if !side.caps.delete => return settle_clean(link),
        OnDelete::Delete => (
            WriteOp::Delete {
                id,
                expected_version,
            },
            OutboxOp::Delete,
        ),
        OnDelete::Set(fields) => {
            // keys may be paths: `"cf[field_id=5].values" = null`; a
            // connector that replaces the whole record on update (a PUT:
            // Advoware empties every field it is not sent) gets the record
            // as last synced with the marks set on it
            let mut raw = match side.caps.partial_update {
                true => RawFields::new(),
                false => {
                    // lists of objects stay as they are (no rebase here)
                    let mut r = side.mapping.push(&link.base);
                    r.retain(|k, _| !side.mapping.writes_list_at(k));
                    r
                }
            };
            for (path, value) in fields {
                einklang_core::transform::push::set_path(&mut raw, path, value.clone());
            }
            let op = WriteOp::Update {
                id,
                fields: writable(side, raw),
                expected_version,
            };
            (op, OutboxOp::SoftDelete)
        }
    };
    Some(write(side, state, link, kind, op, link.base.clone(), &[]))
}

/// A link whose record is deleted but stays on the remote: nothing more to do.
fn settle_clean(link: &Link) -> Option<PushPlan> {
    (link.status != LinkStatus::Clean)
        .then(|| PushPlan::Settle(state_change(link, LinkStatus::Clean)))
}

fn state_change(link: &Link, status: LinkStatus) -> LinkChange {
    LinkChange::State {
        link_id: link.id,
        status,
        attempts: 0,
        next_attempt_at: None,
        last_error: None,
    }
}

/// Drop what the connector does not write.
fn writable(side: &Side<'_>, fields: RawFields) -> RawFields {
    match &side.caps.writable {
        None => fields,
        Some(w) => fields.into_iter().filter(|(k, _)| w.contains(k)).collect(),
    }
}

fn write(
    side: &Side<'_>,
    state: &RecordState,
    link: &Link,
    kind: OutboxOp,
    op: WriteOp,
    new_base: Fields,
    changed: &[(String, einklang_core::Value, einklang_core::Value)],
) -> PushPlan {
    let (payload, expected_version) = match &op {
        WriteOp::Create { fields, .. } => (fields.clone(), None),
        WriteOp::Update {
            fields,
            expected_version,
            ..
        } => (fields.clone(), expected_version.clone()),
        WriteOp::Delete {
            expected_version, ..
        } => (RawFields::new(), expected_version.clone()),
    };
    let entry = OutboxEntry {
        id: 0,
        link_id: link.id,
        record_id: state.id,
        connector: side.name.to_string(),
        entity: state.entity.clone(),
        op: kind,
        idem_key: format!("link:{}:v{}:{}", link.id, state.version, kind.as_str()),
        payload,
        new_base,
        target: link.external_id.clone(),
        expected_version,
        state: "queued".into(),
    };
    let item = PlanItem {
        connector: side.name.to_string(),
        direction: "push",
        action: kind.as_str(),
        record: Some(state.id),
        id: link.external_id.clone(),
        fields: history(changed)
            .into_iter()
            .map(|(field, c)| FieldDiff {
                field,
                old: c.old,
                new: c.new,
            })
            .collect(),
    };
    PushPlan::Write {
        entry: Box::new(entry),
        op,
        item,
    }
}

#[cfg(test)]
mod tests;
