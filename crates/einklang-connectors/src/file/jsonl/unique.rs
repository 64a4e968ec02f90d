//! JSON text parsed into a `serde_json::Value` whose objects name each key
//! once.
//!
//! `serde_json` keeps the last value of a key an object names twice, so
//! `{"id": "1", "id": "2"}` silently becomes record 2. [`parse`] refuses
//! such an object, at any depth, naming the key; the error's column is
//! just after the key's second occurrence.
//!
//! Hand-written (a `DeserializeSeed` building the same `Value` as
//! `serde_json`'s own visitor, with one check in `visit_map`): `serde_json`
//! has no switch for it, `serde_with`'s duplicate-key checks need a typed
//! map, and the crates that wrap `Value` like this are young and bring far
//! more than these lines.

use serde::de::{self, DeserializeSeed, Deserializer, MapAccess, SeqAccess, Visitor};
use serde_json::map::Entry;
use serde_json::{Map, Number, Value};
use std::fmt;

/// Parse `text` (one JSON value, nothing after it but whitespace).
pub(crate) fn parse(text: &str) -> Result<Value, serde_json::Error> {
    let mut de = serde_json::Deserializer::from_str(text);
    let value = Unique.deserialize(&mut de)?;
    de.end()?;
    Ok(value)
}

/// Builds a `Value`, refusing a key named twice in one object.
struct Unique;

impl<'de> DeserializeSeed<'de> for Unique {
    type Value = Value;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Value, D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for Unique {
    type Value = Value;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON value")
    }
    fn visit_bool<E: de::Error>(self, v: bool) -> Result<Value, E> {
        Ok(Value::Bool(v))
    }
    fn visit_i64<E: de::Error>(self, v: i64) -> Result<Value, E> {
        Ok(v.into())
    }
    fn visit_u64<E: de::Error>(self, v: u64) -> Result<Value, E> {
        Ok(v.into())
    }
    fn visit_f64<E: de::Error>(self, v: f64) -> Result<Value, E> {
        Ok(Number::from_f64(v).map_or(Value::Null, Value::Number))
    }
    fn visit_str<E: de::Error>(self, v: &str) -> Result<Value, E> {
        Ok(Value::String(v.to_owned()))
    }
    fn visit_string<E: de::Error>(self, v: String) -> Result<Value, E> {
        Ok(Value::String(v))
    }
    fn visit_unit<E: de::Error>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Value, A::Error> {
        let mut items = Vec::with_capacity(seq.size_hint().unwrap_or(0));
        while let Some(item) = seq.next_element_seed(Unique)? {
            items.push(item);
        }
        Ok(Value::Array(items))
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Value, A::Error> {
        let mut object = Map::new();
        while let Some(key) = map.next_key::<String>()? {
            match object.entry(key) {
                Entry::Vacant(slot) => {
                    slot.insert(map.next_value_seed(Unique)?);
                }
                Entry::Occupied(slot) => {
                    let key = slot.key();
                    return Err(de::Error::custom(format_args!("duplicate key `{key}`")));
                }
            }
        }
        Ok(Value::Object(object))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_are_those_of_serde_json() {
        let text = r#"{"a": [1, -2, 3.5, 1e400, true, null, "x\u00e9"], "b": {"c": {}}, "d": 18446744073709551615}"#;
        // 1e400 is out of range for both: an error, the same one.
        assert!(parse(text).is_err() && serde_json::from_str::<Value>(text).is_err());
        let text = text.replace("1e400", "1e300");
        assert_eq!(
            parse(&text).unwrap(),
            serde_json::from_str::<Value>(&text).unwrap()
        );
        assert!(parse("{} x").is_err(), "trailing characters");
    }

    #[test]
    fn a_key_named_twice_is_an_error_at_any_depth() {
        for (text, key, column) in [
            (r#"{"id": 1, "id": 2}"#, "id", 14),
            (r#"{"a": [{"b": 1, "c": 2, "b": 3}]}"#, "b", 27),
        ] {
            let err = parse(text).unwrap_err();
            assert!(err.is_data(), "{err}");
            assert_eq!(
                err.to_string(),
                format!("duplicate key `{key}` at line 1 column {column}")
            );
        }
    }
}
