//! The 3-way per-field merge of one remote record into its hub record.
//!
//! Every sync compares, per field, three values: the remote's current value
//! `r`, the link's base `b` (what hub and remote agreed on at the last
//! sync) and the hub's value as this connector would hold it, `ph` (the
//! hub record projected through the connector's mapping, see
//! [`crate::project`]; a field the connector cannot be written is never
//! "changed by the hub" from its point of view).
//!
//! | remote | hub (`ph`) | outcome |
//! | --- | --- | --- |
//! | `r == b` | any | nothing from this remote; hub changes are pushed later |
//! | changed | `ph == b` | the remote's value is taken into the hub |
//! | changed | `ph == r` | both made the same change: only the base moves |
//! | changed | changed differently | a conflict, decided by the field's [`Policy`] |
//!
//! List fields (emails, phones, addresses) merge element-wise instead
//! ([`list::merge_list`]); only element and primary conflicts reach the
//! policy. A field the connector only receives (`direction = "push"`) is
//! never taken from it: a remote change there is reverted by the next push
//! (its base moves to the remote's value, so the hub's differs again). A
//! field with an open conflict under review for this link stays as it is.
//!
//! [`Inbound::base`] is the link's new base. Whether the remote needs a
//! write afterwards is decided by comparing the new hub's projection with
//! that base, which the engine does when it plans the push.

pub mod list;

use crate::policy::{ConflictCase, Policies, Policy, Resolution};
use crate::record::{Fields, Value};
use serde::Serialize;
use std::collections::{BTreeMap, BTreeSet};

/// How one entity field takes part in one connector's sync.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub struct FieldRole {
    /// Changes of the remote are taken into the hub.
    pub pulls: bool,
    /// The hub's value is written to the remote.
    pub pushes: bool,
    /// A list field, merged element-wise.
    pub list: bool,
}

/// Everything the merge of one remote record needs.
#[derive(Clone, Copy, Debug)]
pub struct InboundCase<'a> {
    /// The remote's connector name.
    pub connector: &'a str,
    /// The hub record's current values.
    pub hub: &'a Fields,
    /// The hub record projected through this connector's mapping.
    pub projected_hub: &'a Fields,
    /// The link's base.
    pub base: &'a Fields,
    /// The remote record, mapped and normalised.
    pub remote: &'a Fields,
    /// Bases of the record's other links, by connector (for authority).
    pub others: &'a [(&'a str, &'a Fields)],
    /// Fields with a conflict under review for this link.
    pub held: &'a BTreeSet<String>,
    /// The fields the connector's mapping covers, with their roles.
    pub roles: &'a BTreeMap<String, FieldRole>,
    /// The entity's conflict policies.
    pub policies: &'a Policies,
}

/// One conflict the merge met.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct FieldConflict {
    /// The field.
    pub field: String,
    /// The hub's value at the time.
    pub hub_value: Value,
    /// The remote's value.
    pub remote_value: Value,
    /// The policy that decided (`authority:espo`, `newest:changed_at`, `review`).
    pub policy: String,
    /// What it decided.
    pub resolution: Resolution,
}

/// The outcome of merging one remote record.
#[derive(Clone, Debug, PartialEq)]
pub struct Inbound {
    /// The hub record's new values.
    pub hub: Fields,
    /// The link's new base.
    pub base: Fields,
    /// Conflicts met, decided or held.
    pub conflicts: Vec<FieldConflict>,
}

const NULL: Value = Value::Null;

fn get<'a>(f: &'a Fields, k: &str) -> &'a Value {
    f.get(k).unwrap_or(&NULL)
}

/// Set `k` to `v`, or remove it when `v` is null or an empty list.
pub fn put(f: &mut Fields, k: &str, v: Value) {
    let empty = v.is_null() || v.as_array().is_some_and(|a| a.is_empty());
    if empty {
        f.remove(k);
    } else {
        f.insert(k.to_string(), v);
    }
}

fn as_list(v: &Value) -> &[Value] {
    v.as_array().map(Vec::as_slice).unwrap_or(&[])
}

/// Merge `case.remote` into `case.hub` field by field (see the module docs).
pub fn merge_inbound(case: &InboundCase<'_>) -> Inbound {
    let mut out = Inbound {
        hub: case.hub.clone(),
        base: case.base.clone(),
        conflicts: Vec::new(),
    };
    for (field, role) in case.roles {
        let (r, b) = (get(case.remote, field), get(case.base, field));
        if r == b {
            continue;
        }
        if !role.pulls {
            put(&mut out.base, field, r.clone());
            continue;
        }
        let policy = case.policies.for_field(field);
        if case.held.contains(field) {
            out.conflicts
                .push(conflict(case, field, &policy, Resolution::Held));
            continue;
        }
        if role.list {
            merge_list_field(case, field, &policy, &mut out);
        } else {
            merge_scalar(case, field, role, &policy, &mut out);
        }
    }
    out
}

fn merge_scalar(
    case: &InboundCase<'_>,
    field: &str,
    role: &FieldRole,
    policy: &Policy,
    out: &mut Inbound,
) {
    let (r, b) = (get(case.remote, field), get(case.base, field));
    let ph = if role.pushes {
        get(case.projected_hub, field)
    } else {
        b
    };
    let resolution = if ph == b {
        Resolution::TakeRemote
    } else if ph == r {
        put(&mut out.base, field, r.clone());
        return;
    } else {
        let decided = policy.resolve(&conflict_case(case, field));
        out.conflicts.push(conflict(case, field, policy, decided));
        decided
    };
    match resolution {
        Resolution::TakeRemote => {
            put(&mut out.hub, field, r.clone());
            put(&mut out.base, field, r.clone());
        }
        Resolution::KeepHub => put(&mut out.base, field, r.clone()),
        Resolution::Held => {}
    }
}

fn merge_list_field(case: &InboundCase<'_>, field: &str, policy: &Policy, out: &mut Inbound) {
    let (r, b, h) = (
        get(case.remote, field),
        get(case.base, field),
        get(case.hub, field),
    );
    let mut decided = Vec::new();
    let mut decide = || {
        let d = policy.resolve(&conflict_case(case, field));
        decided.push(d);
        d
    };
    let m = list::merge_list(as_list(b), as_list(r), as_list(h), &mut decide);
    if m.held {
        out.conflicts
            .push(conflict(case, field, policy, Resolution::Held));
        return;
    }
    if let Some(&d) = decided.first() {
        out.conflicts.push(conflict(case, field, policy, d));
    }
    put(&mut out.hub, field, Value::Array(m.merged));
    put(&mut out.base, field, r.clone());
}

fn conflict_case<'a>(case: &InboundCase<'a>, field: &'a str) -> ConflictCase<'a> {
    ConflictCase {
        connector: case.connector,
        field,
        hub_value: get(case.hub, field),
        hub: case.hub,
        remote: case.remote,
        others: case.others,
    }
}

fn conflict(
    case: &InboundCase<'_>,
    field: &str,
    policy: &Policy,
    resolution: Resolution,
) -> FieldConflict {
    FieldConflict {
        field: field.to_string(),
        hub_value: get(case.hub, field).clone(),
        remote_value: get(case.remote, field).clone(),
        policy: policy.describe(),
        resolution,
    }
}

/// The fields whose values differ between `old` and `new`, with both values
/// (null for absent), sorted by name.
pub fn diff(old: &Fields, new: &Fields) -> Vec<(String, Value, Value)> {
    let keys: BTreeSet<&String> = old.keys().chain(new.keys()).collect();
    keys.into_iter()
        .filter_map(|k| {
            let (o, n) = (get(old, k), get(new, k));
            (o != n).then(|| (k.clone(), o.clone(), n.clone()))
        })
        .collect()
}

#[cfg(test)]
mod tests;
