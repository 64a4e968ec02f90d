//! The OData query options of Graph's contact list: `$filter` (clauses
//! `property op value` joined by `and`; `lastModifiedDateTime` and
//! `createdDateTime` compared as times, text properties as quoted
//! strings; ops `eq ne gt ge lt le`), `$orderby` (`property [asc|desc]`),
//! `$select` (`id` and `@odata.etag` always come along) and the
//! `@odata.nextLink` of a page. Anything else in `$filter` is refused, as
//! Graph refuses what it cannot evaluate (`400 ErrorInvalidUrlQueryFilter`).

use super::{error, is_property};
use crate::common::{encode, parse_iso};
use serde_json::{Map, Value};
use std::cmp::Ordering;

/// One `property op value` clause.
#[derive(Clone, Debug, PartialEq)]
pub struct Clause {
    property: String,
    op: String,
    value: String,
}

const TIMES: &[&str] = &["lastModifiedDateTime", "createdDateTime"];

/// Parse `$filter`.
pub fn filter(text: &str) -> Result<Vec<Clause>, Value> {
    let invalid = || {
        error(
            "ErrorInvalidUrlQueryFilter",
            "The query filter contains one or more invalid nodes.",
        )
    };
    let mut out = Vec::new();
    for part in text.split(" and ") {
        let mut words = part.trim().splitn(3, ' ');
        let (Some(property), Some(op), Some(value)) = (words.next(), words.next(), words.next())
        else {
            return Err(invalid());
        };
        let ok_op = ["eq", "ne", "gt", "ge", "lt", "le"].contains(&op);
        let time = TIMES.contains(&property);
        let quoted = value.len() >= 2 && value.starts_with('\'') && value.ends_with('\'');
        if !ok_op
            || !is_property(property)
            || (time && parse_iso(value).is_none())
            || (!time && !quoted)
        {
            return Err(invalid());
        }
        let value = if quoted {
            value[1..value.len() - 1].replace("''", "'")
        } else {
            value.to_string()
        };
        out.push(Clause {
            property: property.into(),
            op: op.into(),
            value,
        });
    }
    Ok(out)
}

/// Whether a contact meets every clause.
pub fn matches(c: &Map<String, Value>, clauses: &[Clause]) -> bool {
    clauses.iter().all(|cl| {
        let have = c.get(&cl.property).and_then(Value::as_str).unwrap_or("");
        let ord = if TIMES.contains(&cl.property.as_str()) {
            parse_iso(have).cmp(&parse_iso(&cl.value))
        } else {
            have.cmp(cl.value.as_str())
        };
        match cl.op.as_str() {
            "eq" => ord == Ordering::Equal,
            "ne" => ord != Ordering::Equal,
            "gt" => ord == Ordering::Greater,
            "ge" => ord != Ordering::Less,
            "lt" => ord == Ordering::Less,
            _ => ord != Ordering::Greater,
        }
    })
}

/// Sort by `$orderby` (`property [asc|desc]`); unknown properties refused.
pub fn order(list: &mut [&Map<String, Value>], text: &str) -> Result<(), Value> {
    let mut words = text.split_whitespace();
    let property = words.next().unwrap_or("");
    if !is_property(property) {
        return Err(error(
            "BadRequest",
            &format!(
                "Could not find a property named '{property}' on type 'microsoft.graph.contact'."
            ),
        ));
    }
    let key = |c: &Map<String, Value>| {
        c.get(property)
            .map(|v| v.as_str().map_or(v.to_string(), str::to_lowercase))
            .unwrap_or_default()
    };
    list.sort_by_key(|c| key(c));
    if words.next() == Some("desc") {
        list.reverse();
    }
    Ok(())
}

/// The properties `$select` keeps (with `id`); unknown ones refused.
pub fn select(text: &str) -> Result<Vec<String>, Value> {
    let mut keep = vec!["id".to_string()];
    for p in text.split(',').map(str::trim).filter(|p| !p.is_empty()) {
        if !is_property(p) {
            return Err(error(
                "BadRequest",
                &format!(
                    "Could not find a property named '{p}' on type 'microsoft.graph.contact'."
                ),
            ));
        }
        keep.push(p.to_string());
    }
    Ok(keep)
}

/// A rendered contact cut to the selected properties (and its etag).
pub fn cut(rendered: Value, keep: &[String]) -> Value {
    let Value::Object(obj) = rendered else {
        return rendered;
    };
    let out: Map<String, Value> = obj
        .into_iter()
        .filter(|(k, _)| k == "@odata.etag" || keep.contains(k))
        .collect();
    Value::Object(out)
}

/// The next page's URL: the same options, `$skip` moved on.
pub fn next_link(base: &str, q: &[(String, String)], top: usize, skip: usize) -> String {
    let mut pairs: Vec<String> = q
        .iter()
        .filter(|(k, _)| k != "$skip" && k != "$top")
        .map(|(k, v)| format!("{}={}", encode(k), encode(v)))
        .collect();
    pairs.push(format!("%24top={top}"));
    pairs.push(format!("%24skip={skip}"));
    format!("{base}?{}", pairs.join("&"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn contact(modified: &str, name: &str) -> Map<String, Value> {
        json!({"id": name, "lastModifiedDateTime": modified, "surname": name})
            .as_object()
            .cloned()
            .unwrap()
    }

    #[test]
    fn time_and_text_clauses_combine() {
        let a = contact("2026-01-26T10:00:00Z", "Berger");
        let f =
            filter("lastModifiedDateTime ge 2026-01-26T10:00:00Z and surname eq 'Berger'").unwrap();
        assert!(matches(&a, &f));
        assert!(!matches(
            &a,
            &filter("lastModifiedDateTime gt 2026-01-26T10:00:00Z").unwrap()
        ));
        assert!(matches(
            &a,
            &filter("lastModifiedDateTime lt 2026-01-26T11:00:00+00:00").unwrap()
        ));
        assert!(!matches(&a, &filter("surname ne 'Berger'").unwrap()));
    }

    #[test]
    fn what_graph_cannot_evaluate_is_refused() {
        for bad in [
            "lastModifiedDateTime ge yesterday",
            "surname eq Berger",
            "shoeSize eq '42'",
            "startswith(surname,'B')",
            "surname like 'B'",
        ] {
            let e = filter(bad).unwrap_err();
            assert_eq!(
                e["error"]["code"],
                json!("ErrorInvalidUrlQueryFilter"),
                "{bad}"
            );
        }
        assert!(select("givenName,nope").is_err());
        assert!(order(&mut [], "nope desc").is_err());
    }

    #[test]
    fn next_links_keep_the_other_options() {
        let q = vec![
            ("$filter".to_string(), "surname eq 'A'".to_string()),
            ("$top".to_string(), "2".to_string()),
        ];
        let link = next_link("http://h/graph/v1.0/users/u/contacts", &q, 2, 4);
        assert_eq!(link, "http://h/graph/v1.0/users/u/contacts?%24filter=surname%20eq%20%27A%27&%24top=2&%24skip=4");
    }
}
