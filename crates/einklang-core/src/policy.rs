//! Conflict policies: who wins when the hub and a remote changed the same
//! field differently since the link's base.
//!
//! A [`Policies`] set holds one [`Policy`] per field, with a default for
//! the rest. [`Policy::resolve`] is the pure decision for one conflict.

use crate::record::{Fields, Value};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// How a conflict on a field is resolved.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Policy {
    /// The first of these parties that takes part in the conflict wins: a
    /// connector name, or `hub` for the hub's current value. A connector
    /// takes part when it is the remote whose change conflicts, or when it
    /// already holds the hub's value (its base equals it). When none of them
    /// takes part, the conflict is held for review.
    Authority(Vec<String>),
    /// The side whose value of this entity field (a date-time) is later
    /// wins; equal or missing timestamps are held for review.
    Newest(String),
    /// The hub keeps its value, the conflict is recorded and waits for a
    /// person (`einklang resolve`); the field is not written to that remote
    /// until then.
    Review,
}

impl Policy {
    /// Short description for conflict records and plans: `authority:espo`,
    /// `newest:changed_at`, `review`.
    pub fn describe(&self) -> String {
        match self {
            Policy::Authority(list) => format!("authority:{}", list.join(",")),
            Policy::Newest(field) => format!("newest:{field}"),
            Policy::Review => "review".into(),
        }
    }
}

/// What a conflict's resolution does.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Resolution {
    /// The remote's value goes into the hub (and from there everywhere).
    TakeRemote,
    /// The hub keeps its value, which is written back to the remote.
    KeepHub,
    /// Nothing moves until a person decides.
    Held,
}

impl Resolution {
    /// Name as stored.
    pub fn as_str(self) -> &'static str {
        match self {
            Resolution::TakeRemote => "take_remote",
            Resolution::KeepHub => "keep_hub",
            Resolution::Held => "held",
        }
    }
}

/// One conflict as the policy sees it.
#[derive(Clone, Copy, Debug)]
pub struct ConflictCase<'a> {
    /// The connector whose change conflicts with the hub.
    pub connector: &'a str,
    /// The field.
    pub field: &'a str,
    /// The hub's current value.
    pub hub_value: &'a Value,
    /// The whole hub record (for timestamps).
    pub hub: &'a Fields,
    /// The whole remote record, normalised (for timestamps).
    pub remote: &'a Fields,
    /// Bases of the record's other links, by connector.
    pub others: &'a [(&'a str, &'a Fields)],
}

impl Policy {
    /// Decide one conflict.
    pub fn resolve(&self, case: &ConflictCase<'_>) -> Resolution {
        match self {
            Policy::Review => Resolution::Held,
            Policy::Newest(ts) => match (case.remote.get(ts), case.hub.get(ts)) {
                (Some(Value::String(r)), Some(Value::String(h))) if r > h => Resolution::TakeRemote,
                (Some(Value::String(r)), Some(Value::String(h))) if r < h => Resolution::KeepHub,
                _ => Resolution::Held,
            },
            Policy::Authority(parties) => {
                for party in parties {
                    if party == case.connector {
                        return Resolution::TakeRemote;
                    }
                    if party == "hub" {
                        return Resolution::KeepHub;
                    }
                    let holds_hub_value = case.others.iter().any(|(c, base)| {
                        *c == party.as_str()
                            && base.get(case.field).unwrap_or(&Value::Null) == case.hub_value
                    });
                    if holds_hub_value {
                        return Resolution::KeepHub;
                    }
                }
                Resolution::Held
            }
        }
    }
}

/// The policies of one entity: per field, with a default.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Policies {
    /// For fields without their own policy.
    pub default: Policy,
    /// Per field.
    pub fields: BTreeMap<String, Policy>,
}

impl Default for Policies {
    /// Everything held for review: nothing is lost without a person deciding.
    fn default() -> Self {
        Policies {
            default: Policy::Review,
            fields: BTreeMap::new(),
        }
    }
}

impl Policies {
    /// The policy for `field`. A field that is itself some policy's
    /// `newest` timestamp is resolved by `newest` on itself.
    pub fn for_field(&self, field: &str) -> std::borrow::Cow<'_, Policy> {
        if let Some(p) = self.fields.get(field) {
            return std::borrow::Cow::Borrowed(p);
        }
        let is_timestamp = std::iter::once(&self.default)
            .chain(self.fields.values())
            .any(|p| matches!(p, Policy::Newest(ts) if ts == field));
        if is_timestamp {
            std::borrow::Cow::Owned(Policy::Newest(field.to_string()))
        } else {
            std::borrow::Cow::Borrowed(&self.default)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn fields(v: serde_json::Value) -> Fields {
        v.as_object().unwrap().clone().into_iter().collect()
    }

    fn case<'a>(
        connector: &'a str,
        hub: &'a Fields,
        remote: &'a Fields,
        others: &'a [(&'a str, &'a Fields)],
    ) -> ConflictCase<'a> {
        ConflictCase {
            connector,
            field: "name",
            hub_value: hub.get("name").unwrap_or(&Value::Null),
            hub,
            remote,
            others,
        }
    }

    #[test]
    fn authority_takes_the_remote_when_it_is_the_authority() {
        let (hub, remote) = (
            fields(json!({"name": "Hub"})),
            fields(json!({"name": "Espo"})),
        );
        let p = Policy::Authority(vec!["espo".into()]);
        assert_eq!(
            p.resolve(&case("espo", &hub, &remote, &[])),
            Resolution::TakeRemote
        );
    }

    #[test]
    fn authority_keeps_the_hub_when_the_authority_holds_the_hub_value() {
        let hub = fields(json!({"name": "Espo"}));
        let remote = fields(json!({"name": "Advo"}));
        let espo_base = fields(json!({"name": "Espo"}));
        let others = [("espo", &espo_base)];
        let p = Policy::Authority(vec!["espo".into()]);
        assert_eq!(
            p.resolve(&case("advo", &hub, &remote, &others)),
            Resolution::KeepHub
        );
    }

    #[test]
    fn authority_not_taking_part_holds_for_review() {
        let hub = fields(json!({"name": "Google"}));
        let remote = fields(json!({"name": "Advo"}));
        let espo_base = fields(json!({"name": "old"}));
        let others = [("espo", &espo_base)];
        let p = Policy::Authority(vec!["espo".into()]);
        assert_eq!(
            p.resolve(&case("advo", &hub, &remote, &others)),
            Resolution::Held
        );
        let p = Policy::Authority(vec!["espo".into(), "hub".into()]);
        assert_eq!(
            p.resolve(&case("advo", &hub, &remote, &others)),
            Resolution::KeepHub
        );
    }

    #[test]
    fn authority_order_decides_between_parties() {
        let hub = fields(json!({"name": "B"}));
        let remote = fields(json!({"name": "C"}));
        let b_base = fields(json!({"name": "B"}));
        let others = [("b", &b_base)];
        let bc = Policy::Authority(vec!["b".into(), "c".into()]);
        let cb = Policy::Authority(vec!["c".into(), "b".into()]);
        assert_eq!(
            bc.resolve(&case("c", &hub, &remote, &others)),
            Resolution::KeepHub
        );
        assert_eq!(
            cb.resolve(&case("c", &hub, &remote, &others)),
            Resolution::TakeRemote
        );
    }

    #[test]
    fn newest_compares_timestamps_and_holds_ties() {
        let p = Policy::Newest("changed".into());
        let hub = fields(json!({"name": "a", "changed": "2025-01-02T00:00:00Z"}));
        let newer = fields(json!({"name": "b", "changed": "2025-01-03T00:00:00Z"}));
        let older = fields(json!({"name": "b", "changed": "2025-01-01T00:00:00Z"}));
        let same = fields(json!({"name": "b", "changed": "2025-01-02T00:00:00Z"}));
        let none = fields(json!({"name": "b"}));
        assert_eq!(
            p.resolve(&case("x", &hub, &newer, &[])),
            Resolution::TakeRemote
        );
        assert_eq!(
            p.resolve(&case("x", &hub, &older, &[])),
            Resolution::KeepHub
        );
        assert_eq!(p.resolve(&case("x", &hub, &same, &[])), Resolution::Held);
        assert_eq!(p.resolve(&case("x", &hub, &none, &[])), Resolution::Held);
    }

    #[test]
    fn review_always_holds_and_timestamps_resolve_by_newest() {
        let hub = fields(json!({"name": "a"}));
        assert_eq!(
            Policy::Review.resolve(&case("x", &hub, &hub, &[])),
            Resolution::Held
        );
        let mut ps = Policies::default();
        ps.fields
            .insert("notes".into(), Policy::Newest("changed".into()));
        assert_eq!(*ps.for_field("changed"), Policy::Newest("changed".into()));
        assert_eq!(*ps.for_field("name"), Policy::Review);
    }
}
