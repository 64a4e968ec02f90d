//! EspoCRM's list parameters (docs: "API :: CRUD Operations" and "API
//! search parameters"): `maxSize`, `offset`, `orderBy`, `order`, `select`
//! and `where`, given PHP-style (`where[0][type]=after&where[0][attribute]
//! =modifiedAt&where[0][value]=2026-01-26 10:00:00`) or as the JSON
//! `searchParams`. Where items: `equals`, `notEquals`, `greaterThan`,
//! `lessThan`, `greaterThanOrEquals`, `lessThanOrEquals`, `after`,
//! `before`, `between`, `in`, `notIn`, `isNull`, `isNotNull`, `isTrue`,
//! `isFalse`, `contains`, `notContains`, `startsWith`, `endsWith`, `or`,
//! `and`. Datetimes (`YYYY-MM-DD HH:MM:SS`, UTC without a zone) compare as
//! times; `emailAddress` and `phoneNumber` match any of a record's
//! addresses or numbers, as Espo's search does.

use super::channels;
use crate::common::parse_espo;
use serde_json::{json, Map, Value};
use std::cmp::Ordering;

/// PHP-style bracket parameters as one JSON value: `a[0][b]=x` becomes
/// `{"a": [{"b": "x"}]}`; `a[]=x&a[]=y` a list.
pub fn brackets(pairs: &[(String, String)]) -> Value {
    let mut root = Value::Object(Map::new());
    for (key, value) in pairs {
        let (head, rest) = key
            .split_once('[')
            .map_or((key.as_str(), ""), |(h, r)| (h, r));
        let mut path = vec![head.to_string()];
        path.extend(
            rest.strip_suffix(']')
                .unwrap_or(rest)
                .split("][")
                .filter(|_| !rest.is_empty())
                .map(str::to_string),
        );
        insert(&mut root, &path, json!(value));
    }
    arrays(root)
}

fn insert(node: &mut Value, path: &[String], value: Value) {
    let Some((first, rest)) = path.split_first() else {
        *node = value;
        return;
    };
    if !node.is_object() {
        *node = Value::Object(Map::new());
    }
    let obj = node.as_object_mut().unwrap();
    let key = if first.is_empty() {
        obj.len().to_string()
    } else {
        first.clone()
    };
    insert(obj.entry(key).or_insert(Value::Null), rest, value);
}

/// Objects whose keys are all numbers become lists (in key order).
fn arrays(v: Value) -> Value {
    match v {
        Value::Object(o) if !o.is_empty() && o.keys().all(|k| k.parse::<usize>().is_ok()) => {
            let mut items: Vec<(usize, Value)> = o
                .into_iter()
                .map(|(k, v)| (k.parse().unwrap_or(0), arrays(v)))
                .collect();
            items.sort_by_key(|(k, _)| *k);
            Value::Array(items.into_iter().map(|(_, v)| v).collect())
        }
        Value::Object(o) => Value::Object(o.into_iter().map(|(k, v)| (k, arrays(v))).collect()),
        other => other,
    }
}

/// Whether a record meets every where item; `Err` names an unknown type.
pub fn matches(rec: &Map<String, Value>, items: &[Value]) -> Result<bool, String> {
    for item in items {
        if !one(rec, item)? {
            return Ok(false);
        }
    }
    Ok(true)
}

fn one(rec: &Map<String, Value>, item: &Value) -> Result<bool, String> {
    let kind = item["type"].as_str().unwrap_or("");
    let attr = item["attribute"].as_str().unwrap_or("");
    let want = &item["value"];
    let have = rec.get(attr).cloned().unwrap_or(Value::Null);
    let cmp = || compare(&have, want);
    let text = |v: &Value| {
        v.as_str()
            .map(str::to_lowercase)
            .unwrap_or_else(|| v.to_string())
    };
    let list = || {
        want.as_array()
            .cloned()
            .unwrap_or_else(|| vec![want.clone()])
    };
    Ok(match kind {
        "equals" if attr == "emailAddress" => channels::EMAIL.has(rec, want.as_str().unwrap_or("")),
        "equals" if attr == "phoneNumber" => {
            channels::phone("").has(rec, want.as_str().unwrap_or(""))
        }
        "equals" => cmp() == Some(Ordering::Equal),
        "notEquals" => cmp() != Some(Ordering::Equal),
        "greaterThan" | "after" => cmp() == Some(Ordering::Greater),
        "lessThan" | "before" => cmp() == Some(Ordering::Less),
        "greaterThanOrEquals" => matches!(cmp(), Some(Ordering::Greater | Ordering::Equal)),
        "lessThanOrEquals" => matches!(cmp(), Some(Ordering::Less | Ordering::Equal)),
        "between" => {
            let (lo, hi) = (&want[0], &want[1]);
            matches!(
                compare(&have, lo),
                Some(Ordering::Greater | Ordering::Equal)
            ) && matches!(compare(&have, hi), Some(Ordering::Less | Ordering::Equal))
        }
        "in" => list()
            .iter()
            .any(|w| compare(&have, w) == Some(Ordering::Equal)),
        "notIn" => !list()
            .iter()
            .any(|w| compare(&have, w) == Some(Ordering::Equal)),
        "isNull" => have.is_null() || have == json!(""),
        "isNotNull" => !(have.is_null() || have == json!("")),
        "isTrue" => have == json!(true),
        "isFalse" => have != json!(true),
        "contains" => text(&have).contains(&text(want)),
        "notContains" => !text(&have).contains(&text(want)),
        "startsWith" => text(&have).starts_with(&text(want)),
        "endsWith" => text(&have).ends_with(&text(want)),
        "or" => list()
            .iter()
            .map(|i| one(rec, i))
            .collect::<Result<Vec<bool>, String>>()?
            .contains(&true),
        "and" => matches(rec, &list())?,
        other => return Err(format!("unknown where item type `{other}`")),
    })
}

/// Compare an attribute with a filter value: as times when both read as
/// Espo datetimes (or dates), as numbers when both are, else as text.
pub fn compare(have: &Value, want: &Value) -> Option<Ordering> {
    if have.is_null() {
        return None;
    }
    let as_text = |v: &Value| {
        v.as_str()
            .map(str::to_string)
            .unwrap_or_else(|| v.to_string())
    };
    let (h, w) = (as_text(have), as_text(want));
    if let (Some(a), Some(b)) = (parse_espo(&h), parse_espo(&w)) {
        return Some(a.cmp(&b));
    }
    if let (Ok(a), Ok(b)) = (h.parse::<f64>(), w.parse::<f64>()) {
        return a.partial_cmp(&b);
    }
    Some(h.to_lowercase().cmp(&w.to_lowercase()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pairs(q: &[(&str, &str)]) -> Vec<(String, String)> {
        q.iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn bracket_parameters_become_nested_lists() {
        let v = brackets(&pairs(&[
            ("where[0][type]", "after"),
            ("where[0][attribute]", "modifiedAt"),
            ("where[0][value]", "2026-01-26 10:00:00"),
            ("where[1][type]", "in"),
            ("where[1][attribute]", "syncStatus"),
            ("where[1][value][]", "dirty"),
            ("where[1][value][]", "failed"),
            ("maxSize", "50"),
        ]));
        assert_eq!(
            v["where"][0],
            json!({"type": "after", "attribute": "modifiedAt", "value": "2026-01-26 10:00:00"})
        );
        assert_eq!(v["where"][1]["value"], json!(["dirty", "failed"]));
        assert_eq!(v["maxSize"], json!("50"));
    }

    #[test]
    fn where_items_compare_times_numbers_and_text() {
        let rec = json!({"modifiedAt": "2026-01-26 10:00:00", "amount": 12, "lastName": "Müller", "syncStatus": "dirty", "x": null}).as_object().cloned().unwrap();
        let check = |item: Value| matches(&rec, &[item]).unwrap();
        assert!(check(
            json!({"type": "after", "attribute": "modifiedAt", "value": "2026-01-26 09:59:59"})
        ));
        assert!(!check(
            json!({"type": "after", "attribute": "modifiedAt", "value": "2026-01-26 10:00:00"})
        ));
        assert!(
            check(json!({"type": "after", "attribute": "modifiedAt", "value": "2026-01-26"})),
            "a date is its midnight"
        );
        assert!(
            check(json!({"type": "greaterThan", "attribute": "amount", "value": "9"})),
            "12 > 9 as numbers"
        );
        assert!(check(
            json!({"type": "in", "attribute": "syncStatus", "value": ["pending_sync", "dirty"]})
        ));
        assert!(check(
            json!({"type": "startsWith", "attribute": "lastName", "value": "mü"})
        ));
        assert!(
            check(json!({"type": "isNull", "attribute": "x"}))
                && check(json!({"type": "isNull", "attribute": "missing"}))
        );
        assert!(check(
            json!({"type": "or", "value": [{"type": "equals", "attribute": "syncStatus", "value": "clean"}, {"type": "isNotNull", "attribute": "lastName"}]})
        ));
        assert!(matches(&rec, &[json!({"type": "sounds", "attribute": "x"})]).is_err());
    }
}
