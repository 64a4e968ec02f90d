//! Kommo's custom fields of leads: the catalog (id, name, code, type,
//! enums) and how the `custom_fields_values` of a write merge into a
//! lead's. Shapes after the Kommo API v4 docs ("Custom fields" and the
//! custom field values model, developers.kommo.com; amocrm.ru
//! crm_platform/custom-fields): a value entry is `{field_id, field_name,
//! field_code, field_type, values: [{value, enum_id, enum_code}]}`, dates
//! are epoch seconds in `value`, select fields carry `enum_id`. A write
//! names a field by `field_id` (or `field_code`); only the fields it names
//! change, and `"values": null` clears one.

use serde_json::{json, Map, Value};
use std::collections::BTreeMap;

/// A custom field of leads.
#[derive(Clone, Debug, PartialEq)]
pub struct FieldDef {
    /// Its id (`field_id`).
    pub id: u64,
    /// Its name (`field_name`).
    pub name: String,
    /// Its code (`field_code`), if any.
    pub code: Option<String>,
    /// Its type: `text`, `numeric`, `checkbox`, `select`, `multiselect`,
    /// `date`, `date_time`, `birthday`, `url`, `textarea`, …
    pub kind: String,
    /// The choices of a select field: (id, value, code).
    pub enums: Vec<(u64, String, Option<String>)>,
}

impl FieldDef {
    /// From `{"id", "name", "type", "code"?, "enums"?: [{"id", "value", "code"?}]}`.
    pub fn from_json(v: &Value) -> Result<FieldDef, String> {
        let text = |k: &str| v.get(k).and_then(Value::as_str).map(str::to_string);
        let enums = v
            .get("enums")
            .and_then(Value::as_array)
            .cloned()
            .unwrap_or_default();
        Ok(FieldDef {
            id: v["id"]
                .as_u64()
                .ok_or("a custom field needs a numeric `id`")?,
            name: text("name").ok_or("a custom field needs a `name`")?,
            code: text("code"),
            kind: text("type").unwrap_or_else(|| "text".into()),
            enums: enums
                .iter()
                .filter_map(|e| {
                    let value = e.get("value")?.as_str()?.to_string();
                    let code = e.get("code").and_then(Value::as_str).map(str::to_string);
                    Some((e.get("id")?.as_u64()?, value, code))
                })
                .collect(),
        })
    }

    /// As `GET /api/v4/leads/custom_fields` lists it.
    pub fn to_json(&self) -> Value {
        let enums: Vec<Value> = self
            .enums
            .iter()
            .enumerate()
            .map(|(i, (id, value, code))| json!({"id": id, "value": value, "code": code, "sort": (i + 1) * 10}))
            .collect();
        json!({
            "id": self.id, "name": self.name, "type": self.kind, "code": self.code,
            "entity_type": "leads", "is_api_only": false, "sort": 500,
            "enums": if enums.is_empty() { Value::Null } else { Value::Array(enums) },
        })
    }

    fn is_select(&self) -> bool {
        ["select", "multiselect", "radiobutton"].contains(&self.kind.as_str())
    }

    fn is_date(&self) -> bool {
        ["date", "date_time", "birthday"].contains(&self.kind.as_str())
    }
}

/// The catalog the emulator starts with: the fields seed 003 names
/// (1218176 "Date/Time Delivery", 1218178 "Date/Time Collect" as epoch
/// dates; 1234163 the vehicle and 823206 the source as select fields).
/// The enum ids and labels are made up; tests can define their own.
pub fn seed_catalog() -> BTreeMap<u64, FieldDef> {
    let field = |id, name: &str, kind: &str, enums: &[(u64, &str)]| FieldDef {
        id,
        name: name.into(),
        code: None,
        kind: kind.into(),
        enums: enums
            .iter()
            .map(|(i, v)| (*i, v.to_string(), None))
            .collect(),
    };
    [
        field(1218176, "Date/Time Delivery", "date_time", &[]),
        field(1218178, "Date/Time Collect", "date_time", &[]),
        field(
            1234163,
            "Vehicle",
            "select",
            &[(3001, "Toyota Corolla"), (3002, "VW Golf")],
        ),
        field(
            823206,
            "Source",
            "select",
            &[(5001, "Website"), (5002, "Instagram")],
        ),
    ]
    .into_iter()
    .map(|f| (f.id, f))
    .collect()
}

/// Why a write was refused: the path in the body, a code and a sentence.
#[derive(Clone, Debug, PartialEq)]
pub struct Problem {
    /// `custom_fields_values.0.values.0.enum_id`.
    pub path: String,
    /// `NotSupportedChoice`, `InvalidType`, `FieldMissing`, `NotFound`.
    pub code: &'static str,
    /// What is wrong.
    pub detail: String,
}

impl Problem {
    /// A problem at `path`.
    pub fn new(path: impl Into<String>, code: &'static str, detail: impl Into<String>) -> Problem {
        Problem {
            path: path.into(),
            code,
            detail: detail.into(),
        }
    }
}

/// Merge a write's `custom_fields_values` into a lead's entries: each
/// named field's entry is replaced in place (or added), `values: null`
/// (or `[]`) removes it, fields not named stay.
pub fn merge(
    catalog: &BTreeMap<u64, FieldDef>,
    current: &mut Vec<Value>,
    incoming: &Value,
) -> Result<(), Problem> {
    let Some(entries) = incoming.as_array() else {
        return Err(Problem::new(
            "custom_fields_values",
            "InvalidType",
            "must be an array",
        ));
    };
    for (i, entry) in entries.iter().enumerate() {
        let def = lookup(catalog, entry).ok_or_else(|| {
            Problem::new(
                format!("custom_fields_values.{i}.field_id"),
                "NotSupportedChoice",
                "The value you have selected is not a valid choice.",
            )
        })?;
        let slot = current
            .iter()
            .position(|e| e["field_id"].as_u64() == Some(def.id));
        let values = match &entry["values"] {
            Value::Null => Vec::new(),
            v => normalize(def, v, i)?,
        };
        match (slot, values.is_empty()) {
            (Some(at), true) => {
                current.remove(at);
            }
            (Some(at), false) => current[at] = entry_of(def, values),
            (None, false) => current.push(entry_of(def, values)),
            (None, true) => {}
        }
    }
    Ok(())
}

fn lookup<'a>(catalog: &'a BTreeMap<u64, FieldDef>, entry: &Value) -> Option<&'a FieldDef> {
    if let Some(id) = entry.get("field_id").and_then(Value::as_u64) {
        return catalog.get(&id);
    }
    let code = entry.get("field_code")?.as_str()?;
    catalog.values().find(|f| f.code.as_deref() == Some(code))
}

fn entry_of(def: &FieldDef, values: Vec<Value>) -> Value {
    json!({"field_id": def.id, "field_name": def.name, "field_code": def.code, "field_type": def.kind, "values": values})
}

/// One field's `values` as stored.
fn normalize(def: &FieldDef, values: &Value, i: usize) -> Result<Vec<Value>, Problem> {
    let path = format!("custom_fields_values.{i}.values");
    let Some(list) = values.as_array() else {
        return Err(Problem::new(
            path,
            "InvalidType",
            "must be an array or null",
        ));
    };
    if def.kind == "select" && list.len() > 1 {
        return Err(Problem::new(
            path,
            "InvalidType",
            "a select field takes one value",
        ));
    }
    list.iter()
        .enumerate()
        .map(|(j, v)| value_of(def, v, &format!("{path}.{j}")))
        .collect()
}

fn value_of(def: &FieldDef, v: &Value, path: &str) -> Result<Value, Problem> {
    let raw = v.get("value").cloned().unwrap_or(Value::Null);
    if def.is_select() {
        return choice(def, v, path);
    }
    let value = if def.is_date() {
        epoch(&raw).ok_or_else(|| {
            Problem::new(
                format!("{path}.value"),
                "InvalidType",
                "a date is a Unix timestamp",
            )
        })?
    } else if def.kind == "checkbox" {
        Value::Bool(raw.as_bool().unwrap_or(false))
    } else {
        match raw {
            Value::Null => {
                return Err(Problem::new(
                    format!("{path}.value"),
                    "FieldMissing",
                    "value is required",
                ))
            }
            Value::String(s) => Value::String(s),
            other => Value::String(other.to_string()),
        }
    };
    Ok(json!({ "value": value }))
}

/// A date value: epoch seconds, as a number, digits or RFC 3339.
fn epoch(raw: &Value) -> Option<Value> {
    let secs = match raw {
        Value::Number(n) => n.as_i64()?,
        Value::String(s) => s.parse().ok().or_else(|| crate::common::parse_iso(s))?,
        _ => return None,
    };
    Some(Value::from(secs))
}

/// A select value by `enum_id`, `enum_code` or `value` (the label).
fn choice(def: &FieldDef, v: &Value, path: &str) -> Result<Value, Problem> {
    let by_id = v.get("enum_id").and_then(Value::as_u64);
    let by_code = v.get("enum_code").and_then(Value::as_str);
    let by_label = v.get("value").and_then(Value::as_str);
    let hit = def.enums.iter().find(|(id, label, code)| {
        by_id == Some(*id)
            || (by_id.is_none() && by_code.is_some() && code.as_deref() == by_code)
            || (by_id.is_none() && by_code.is_none() && by_label == Some(label.as_str()))
    });
    let Some((id, label, code)) = hit else {
        return Err(Problem::new(
            format!("{path}.enum_id"),
            "NotSupportedChoice",
            "The value you have selected is not a valid choice.",
        ));
    };
    Ok(json!({"value": label, "enum_id": id, "enum_code": code}))
}

/// The entries of a stored lead as a list (`null` is none).
pub fn entries(lead: &Map<String, Value>) -> Vec<Value> {
    lead.get("custom_fields_values")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn apply(current: &mut Vec<Value>, incoming: Value) -> Result<(), Problem> {
        merge(&seed_catalog(), current, &incoming)
    }

    #[test]
    fn a_write_replaces_only_the_fields_it_names() {
        let mut cur = Vec::new();
        apply(&mut cur, json!([{"field_id": 1218176, "values": [{"value": 1767225600}]}, {"field_id": 1234163, "values": [{"enum_id": 3001}]}])).unwrap();
        apply(
            &mut cur,
            json!([{"field_id": 1234163, "values": [{"value": "VW Golf"}]}]),
        )
        .unwrap();
        assert_eq!(cur.len(), 2);
        assert_eq!(
            cur[0]["values"],
            json!([{"value": 1767225600}]),
            "untouched"
        );
        assert_eq!(
            cur[1]["values"],
            json!([{"value": "VW Golf", "enum_id": 3002, "enum_code": null}])
        );
        assert_eq!(
            (cur[1]["field_name"].as_str(), cur[1]["field_type"].as_str()),
            (Some("Vehicle"), Some("select"))
        );
    }

    #[test]
    fn values_null_clears_one_field() {
        let mut cur = Vec::new();
        apply(&mut cur, json!([{"field_id": 1218176, "values": [{"value": "1767225600"}]}, {"field_id": 1218178, "values": [{"value": "2026-01-02T10:00:00Z"}]}])).unwrap();
        assert_eq!(
            cur[0]["values"][0]["value"],
            json!(1767225600),
            "digits become a number"
        );
        assert_eq!(
            cur[1]["values"][0]["value"],
            json!(1767348000),
            "RFC 3339 becomes epoch seconds"
        );
        apply(&mut cur, json!([{"field_id": 1218176, "values": null}])).unwrap();
        assert_eq!(cur.len(), 1);
        assert_eq!(cur[0]["field_id"], json!(1218178));
    }

    #[test]
    fn unknown_fields_choices_and_bad_dates_are_refused() {
        let mut cur = Vec::new();
        let e = apply(
            &mut cur,
            json!([{"field_id": 1, "values": [{"value": "x"}]}]),
        )
        .unwrap_err();
        assert_eq!(
            (e.path.as_str(), e.code),
            ("custom_fields_values.0.field_id", "NotSupportedChoice")
        );
        let e = apply(
            &mut cur,
            json!([{"field_id": 823206, "values": [{"enum_id": 9}]}]),
        )
        .unwrap_err();
        assert_eq!(e.path, "custom_fields_values.0.values.0.enum_id");
        let e = apply(
            &mut cur,
            json!([{"field_id": 1218176, "values": [{"value": "tomorrow"}]}]),
        )
        .unwrap_err();
        assert_eq!(e.code, "InvalidType");
        assert!(cur.is_empty(), "nothing is half-applied by a refused field");
    }

    #[test]
    fn a_field_is_found_by_its_code_too() {
        let mut catalog = seed_catalog();
        let def = FieldDef::from_json(
            &json!({"id": 7, "name": "Notes", "code": "NOTES", "type": "textarea"}),
        )
        .unwrap();
        catalog.insert(7, def);
        let mut cur = Vec::new();
        merge(
            &catalog,
            &mut cur,
            &json!([{"field_code": "NOTES", "values": [{"value": 12}]}]),
        )
        .unwrap();
        assert_eq!(cur[0]["values"], json!([{"value": "12"}]));
        assert_eq!(cur[0]["field_code"], json!("NOTES"));
    }
}
