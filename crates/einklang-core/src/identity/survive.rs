//! Survivorship: the values a merged record keeps, field by field, from
//! the records merged into it. Per field one rule — source priority, most
//! recent, most complete, longest — and list fields (e-mails, phones,
//! addresses) take the union, the survivor's elements first so its
//! primary stays primary. A flagged value (`transform::flag`) is chosen
//! only when no record has a valid one.

use crate::record::{Fields, Value};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// How one field's value is chosen.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Rule {
    /// The value of the first listed connector that has one.
    SourcePriority(Vec<String>),
    /// The value of the most recently changed record.
    MostRecent,
    /// The value of the record with the most non-empty fields.
    MostComplete,
    /// The longest value (text length).
    Longest,
}

/// The survivorship of an entity: one rule per named field, `default`
/// for the others (`[matching.ENTITY] survive = { ... }`).
#[derive(Clone, Debug, PartialEq)]
pub struct Survivorship {
    /// The rule of fields not named.
    pub default: Rule,
    /// Rules by field.
    pub fields: BTreeMap<String, Rule>,
}

impl Default for Survivorship {
    /// The most complete record's values.
    fn default() -> Self {
        Survivorship {
            default: Rule::MostComplete,
            fields: BTreeMap::new(),
        }
    }
}

impl Survivorship {
    /// The merged values of `members` (`members[0]` is the survivor).
    pub fn apply(&self, members: &[Member<'_>]) -> Fields {
        survive(members, &self.fields, &self.default)
    }
}

/// One record taking part in a merge.
#[derive(Clone, Debug)]
pub struct Member<'a> {
    /// Its values.
    pub fields: &'a Fields,
    /// The connectors it is linked to.
    pub sources: &'a [String],
    /// When it last changed (any monotonic number: epoch seconds, version).
    pub changed: i64,
}

fn empty(v: &Value) -> bool {
    match v {
        Value::Null => true,
        Value::String(s) => s.trim().is_empty(),
        Value::Array(a) => a.is_empty(),
        Value::Object(o) => o.is_empty(),
        _ => false,
    }
}

fn filled(f: &Fields) -> usize {
    f.values().filter(|v| !empty(v)).count()
}

/// The merged values. `members[0]` is the survivor; `rules` by field,
/// `default` for the others.
pub fn survive(members: &[Member<'_>], rules: &BTreeMap<String, Rule>, default: &Rule) -> Fields {
    let mut fields: Vec<&String> = members.iter().flat_map(|m| m.fields.keys()).collect();
    fields.sort();
    fields.dedup();
    let mut out = Fields::new();
    for field in fields {
        let mut values: Vec<(usize, &Value)> = members
            .iter()
            .enumerate()
            .filter_map(|(i, m)| m.fields.get(field).filter(|v| !empty(v)).map(|v| (i, v)))
            .collect();
        if values.is_empty() {
            continue;
        }
        // a flagged value (one einklang could not read) survives only
        // when no member has a valid one
        let flag = crate::transform::flag::is_flag;
        if values.iter().any(|(_, v)| !flag(v)) {
            values.retain(|(_, v)| !flag(v));
        }
        if values.iter().all(|(_, v)| v.is_array()) {
            out.insert(field.clone(), union(&values));
            continue;
        }
        let rule = rules.get(field).unwrap_or(default);
        out.insert(field.clone(), choose(members, &values, rule).clone());
    }
    out
}

/// All elements, each once, in member order (the survivor's first).
fn union(values: &[(usize, &Value)]) -> Value {
    let mut items: Vec<Value> = Vec::new();
    for (_, v) in values {
        for item in v.as_array().into_iter().flatten() {
            if !items.contains(item) {
                items.push(item.clone());
            }
        }
    }
    Value::Array(items)
}

fn choose<'v>(members: &[Member<'_>], values: &[(usize, &'v Value)], rule: &Rule) -> &'v Value {
    let pick = |key: &dyn Fn(usize, &Value) -> i64| {
        // the highest key wins; ties go to the earlier member (the survivor)
        let mut best = values[0];
        for &(i, v) in &values[1..] {
            if key(i, v) > key(best.0, best.1) {
                best = (i, v);
            }
        }
        best.1
    };
    match rule {
        Rule::SourcePriority(order) => {
            let rank = |i: usize| {
                let found = order.iter().position(|c| members[i].sources.contains(c));
                found.map_or(i64::MIN, |p| -(p as i64))
            };
            pick(&|i, _| rank(i))
        }
        Rule::MostRecent => pick(&|i, _| members[i].changed),
        Rule::MostComplete => pick(&|i, _| filled(members[i].fields) as i64),
        Rule::Longest => pick(&|_, v| v.as_str().map_or(0, |s| s.chars().count()) as i64),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use serde_json::json;

    fn rec(v: serde_json::Value) -> Fields {
        v.as_object()
            .unwrap()
            .iter()
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect()
    }

    #[test]
    fn each_rule_picks_as_it_says() {
        let a = rec(
            json!({"name": "Anna Novak", "city": "", "emails": ["anna@novak.si"], "note": "kurz"}),
        );
        let b = rec(
            json!({"name": "Anna Novák-Kos", "city": "Ljubljana", "emails": ["a.novak@firma.si", "anna@novak.si"], "note": "ein längerer Text", "phone": "+38641123456"}),
        );
        let (sa, sb) = (vec!["crm".to_string()], vec!["advoware".to_string()]);
        let members = [
            Member {
                fields: &a,
                sources: &sa,
                changed: 5,
            },
            Member {
                fields: &b,
                sources: &sb,
                changed: 9,
            },
        ];
        let mut rules = BTreeMap::new();
        rules.insert(
            "name".to_string(),
            Rule::SourcePriority(vec!["crm".into(), "advoware".into()]),
        );
        rules.insert("note".to_string(), Rule::Longest);
        let out = survive(&members, &rules, &Rule::MostRecent);
        assert_eq!(out["name"], json!("Anna Novak"), "crm first");
        assert_eq!(out["note"], json!("ein längerer Text"));
        assert_eq!(out["city"], json!("Ljubljana"), "an empty value never wins");
        assert_eq!(out["phone"], json!("+38641123456"));
        assert_eq!(
            out["emails"],
            json!(["anna@novak.si", "a.novak@firma.si"]),
            "union, the survivor's primary first"
        );
        let complete = survive(&members, &BTreeMap::new(), &Rule::MostComplete);
        assert_eq!(complete["name"], json!("Anna Novák-Kos"));
        let recent = survive(&members[..1], &BTreeMap::new(), &Rule::MostRecent);
        assert_eq!(
            recent,
            rec(json!({"name": "Anna Novak", "emails": ["anna@novak.si"], "note": "kurz"}))
        );
    }

    #[test]
    fn a_flagged_value_survives_only_when_no_record_has_a_valid_one() {
        let bad = crate::transform::flag::flag(json!("0170 12"), "not a valid phone number");
        let a = rec(json!({"phone": bad.clone(), "note": "a"}));
        let b = rec(json!({"phone": "+491701039595"}));
        let s: Vec<String> = vec![];
        let members = [
            Member {
                fields: &a,
                sources: &s,
                changed: 9,
            },
            Member {
                fields: &b,
                sources: &s,
                changed: 1,
            },
        ];
        let out = survive(&members, &BTreeMap::new(), &Rule::MostRecent);
        assert_eq!(
            out["phone"],
            json!("+491701039595"),
            "the valid one, though older"
        );
        let alone = survive(&members[..1], &BTreeMap::new(), &Rule::MostRecent);
        assert_eq!(alone["phone"], bad, "kept, not lost");
    }

    proptest! {
        /// Nothing filled is lost: every field a member has a value in is
        /// in the result, every list element too.
        #[test]
        fn no_value_is_lost(a in proptest::collection::vec("[a-c]@x\\.de", 0..3), b in proptest::collection::vec("[a-c]@x\\.de", 0..3), na in "[A-Z][a-z]{0,5}", nb in "[A-Z]?[a-z]{0,5}") {
            let ra = rec(json!({"name": na, "emails": a}));
            let rb = rec(json!({"name": nb, "emails": b}));
            let s: Vec<String> = vec![];
            let members = [Member { fields: &ra, sources: &s, changed: 1 }, Member { fields: &rb, sources: &s, changed: 2 }];
            let out = survive(&members, &BTreeMap::new(), &Rule::MostRecent);
            for e in a.iter().chain(&b) {
                prop_assert!(out["emails"].as_array().unwrap().contains(&json!(e)));
            }
            prop_assert!(out.contains_key("name"));
        }
    }
}
