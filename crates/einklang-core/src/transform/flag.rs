//! Flagged values: what the hub keeps when a value of an optional field
//! cannot be read — a phone number that fails the numbering plan, an
//! e-mail address without a domain, a date in no format einklang knows,
//! a value a value map does not list.
//!
//! Such a value does not cost the record: the field holds a *flag*, the
//! object `{"invalid": RAW, "reason": WHY}`, where `RAW` is the value as
//! the source holds it (text trimmed, nothing else changed) and `WHY` the
//! plain-language reason, in the field type's terms ([`reason`]: `'0170
//! 12' is not a valid phone number`) — never a connector's, so that the
//! same raw value read from two connectors is the same flag. In a list field (`phones`, `emails`) only the
//! element that could not be read is flagged; the others are canonical as
//! always. Only a record einklang cannot keep at all goes to the
//! quarantine: no usable id, a required field missing or invalid, a value
//! over `max_field_bytes`, a filter that cannot be evaluated, or a record
//! the connector could not parse.
//!
//! Why the flag lives in the field itself (and not in a `_flags` entry
//! beside an empty field): everything that handles values handles it
//! without knowing about it, and none can lose it —
//!
//! - **merge and conflicts** compare values by equality: a flag equal to
//!   the base is no change, a remote that fixed the number is an ordinary
//!   change from the flag to the canonical value (and a list element's
//!   identity is its raw text, `merge::list::element_key`);
//! - **history** records the flag as the field's value, with its reason;
//! - **push** writes `RAW` back, verbatim, through no inverse transform
//!   ([`super::push`]): a source gets back exactly what it holds, so the
//!   projection of a flagged value reads back as the same flag and is no
//!   change to write;
//! - **matching** compares a flagged phone by its country code and
//!   national digits as the numbering plan would read it in the model's
//!   region (`identity::normalise::phone`; by its digits alone when even
//!   that fails), other flagged values by their raw text; survivorship
//!   prefers a valid value to a flagged one;
//! - **content hashes** cover the flag like any value.
//!
//! A `_flags` entry beside an emptied field would drop the value from the
//! record, so a push would clear it on every connector, and every one of
//! the above would have to learn to look beside the field. An object with exactly the
//! two keys `invalid` and `reason` is a flag; no canonical value has that
//! shape (addresses have other keys, every other type is a scalar).

use crate::record::{Fields, Value};
use crate::schema::FieldType;
use serde_json::Map;

/// The flag of `raw`, a value of a field of type `ty` that could not be
/// read (see [`reason`]).
pub fn flag_as(ty: &FieldType, raw: Value) -> Value {
    let raw = match raw {
        Value::String(s) if s.trim().len() != s.len() => Value::String(s.trim().to_string()),
        other => other,
    };
    let why = reason(ty, &raw);
    flag(raw, why)
}

/// Why a value of a field of type `ty` could not be read — in the field
/// type's terms only, never a connector's (its date format, its value
/// map): the same raw value read from two connectors is the same flag, so
/// neither sees a change in the other's reading of it.
pub fn reason(ty: &FieldType, raw: &Value) -> String {
    let what = match ty {
        FieldType::Phone | FieldType::Phones => "a valid phone number".to_string(),
        FieldType::Email | FieldType::Emails => "an email address".to_string(),
        FieldType::Date => "a date".to_string(),
        FieldType::DateTime => "a date and time".to_string(),
        FieldType::Number => "a number".to_string(),
        FieldType::Bool => "true or false".to_string(),
        FieldType::Enum(values) => format!("one of {}", values.join(", ")),
        FieldType::Addresses => "an address".to_string(),
        FieldType::Text | FieldType::Ref(_) => match raw {
            Value::Array(_) | Value::Object(_) => "text".to_string(),
            _ => "a value its mapping can read".to_string(),
        },
    };
    format!("{} is not {what}", super::values::describe(raw))
}

/// The key holding the raw value of a flag.
pub const INVALID: &str = "invalid";
/// The key holding the reason of a flag.
pub const REASON: &str = "reason";

/// A flagged value: the raw value and why it could not be read.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Flag<'v> {
    /// The value as the source holds it (text trimmed).
    pub raw: &'v Value,
    /// Why it could not be read.
    pub reason: &'v str,
}

/// Flag `raw` (surrounding white space of text is dropped: it is no part
/// of a value) with `reason`.
pub fn flag(raw: Value, reason: impl Into<String>) -> Value {
    let raw = match raw {
        Value::String(s) if s.trim().len() != s.len() => Value::String(s.trim().to_string()),
        other => other,
    };
    let mut o = Map::new();
    o.insert(INVALID.into(), raw);
    o.insert(REASON.into(), Value::String(reason.into()));
    Value::Object(o)
}

/// The flag `v` is, if it is one.
pub fn flagged(v: &Value) -> Option<Flag<'_>> {
    let o = v.as_object()?;
    if o.len() != 2 {
        return None;
    }
    let raw = o.get(INVALID)?;
    let reason = o.get(REASON)?.as_str()?;
    Some(Flag { raw, reason })
}

/// Is `v` a flag?
pub fn is_flag(v: &Value) -> bool {
    flagged(v).is_some()
}

/// Is `v` a flag, or a list holding one?
pub fn has_flag(v: &Value) -> bool {
    match v {
        Value::Array(items) => items.iter().any(is_flag),
        v => is_flag(v),
    }
}

/// `v` with every flag (itself, or an element of a list) replaced by its
/// raw value: what a connector is written.
pub fn unflag(v: Value) -> Value {
    match v {
        Value::Array(items) => Value::Array(items.into_iter().map(unflag).collect()),
        v => match flagged(&v) {
            Some(f) => f.raw.clone(),
            None => v,
        },
    }
}

/// One flagged value of a record.
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
pub struct Flagged {
    /// The field.
    pub field: String,
    /// The raw value.
    pub value: Value,
    /// Why it could not be read.
    pub reason: String,
}

/// Every flagged value of a record, in field order (list elements in list order).
pub fn flags_of(fields: &Fields) -> Vec<Flagged> {
    let mut out = Vec::new();
    for (field, v) in fields {
        let items = match v {
            Value::Array(items) => items.iter().collect(),
            v => vec![v],
        };
        for f in items.into_iter().filter_map(flagged) {
            out.push(Flagged {
                field: field.clone(),
                value: f.raw.clone(),
                reason: f.reason.to_string(),
            });
        }
    }
    out
}

/// Does the record hold a flagged value?
pub fn any_flag(fields: &Fields) -> bool {
    fields.values().any(has_flag)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn a_flag_keeps_the_raw_value_trimmed_and_its_reason() {
        let f = flag(json!("  0170 12 "), "'0170 12' is not a valid phone number");
        assert_eq!(
            f,
            json!({"invalid": "0170 12", "reason": "'0170 12' is not a valid phone number"})
        );
        let got = flagged(&f).unwrap();
        assert_eq!(got.raw, &json!("0170 12"));
        assert!(is_flag(&f) && has_flag(&json!(["+49301111111", f.clone()])));
        assert_eq!(
            unflag(json!(["+49301111111", f])),
            json!(["+49301111111", "0170 12"])
        );
    }

    #[test]
    fn addresses_and_other_objects_are_no_flags() {
        for v in [
            json!({"street": "Hauptstr. 1", "city": "Graz"}),
            json!({"invalid": "x"}),
            json!({"invalid": "x", "reason": 3}),
            json!({"invalid": "x", "reason": "r", "city": "Graz"}),
            json!("text"),
        ] {
            assert!(!is_flag(&v), "{v}");
            assert_eq!(unflag(v.clone()), v);
        }
    }

    #[test]
    fn flags_of_lists_every_flag_in_field_order() {
        let fields: Fields = [
            (
                "phones".to_string(),
                json!(["+49301111111", flag(json!("12"), "short")]),
            ),
            ("email".to_string(), flag(json!("anna@"), "no address")),
            ("name".to_string(), json!("Anna")),
        ]
        .into();
        let found: Vec<(String, Value)> = flags_of(&fields)
            .into_iter()
            .map(|f| (f.field, f.value))
            .collect();
        assert_eq!(
            found,
            vec![
                ("email".into(), json!("anna@")),
                ("phones".into(), json!("12"))
            ]
        );
        assert!(any_flag(&fields));
    }
}
