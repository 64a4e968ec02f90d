//! EspoCRM's email addresses and phone numbers of a record. After the
//! Espo docs' field types ("Email": `emailAddress` plus `emailAddressData:
//! [{emailAddress, primary, optOut, invalid, lower}]`; "Phone":
//! `phoneNumber` plus `phoneNumberData: [{phoneNumber, primary, type,
//! optOut, invalid}]`): the data list is the truth, the plain attribute
//! mirrors its primary entry. A write of the list replaces it (one entry
//! ends up primary, listed first); a write of the plain attribute alone
//! replaces the primary entry's value (or makes a listed one primary).

use serde_json::{json, Map, Value};

/// Which channel: email or phone.
#[derive(Clone, Copy, Debug)]
pub struct Channel {
    /// `emailAddress` or `phoneNumber`.
    pub attr: &'static str,
    /// `emailAddressData` or `phoneNumberData`.
    pub data: &'static str,
    /// The type a phone entry gets when a write gives none (email: none).
    pub default_type: Option<&'static str>,
}

/// Email addresses.
pub const EMAIL: Channel = Channel {
    attr: "emailAddress",
    data: "emailAddressData",
    default_type: None,
};

/// Phone numbers, typed `Mobile` unless a write says otherwise.
pub fn phone(default_type: &'static str) -> Channel {
    Channel {
        attr: "phoneNumber",
        data: "phoneNumberData",
        default_type: Some(default_type),
    }
}

impl Channel {
    /// Apply a write's fields of this channel to a record (nothing when
    /// the write names neither attribute).
    pub fn apply(&self, rec: &mut Map<String, Value>, body: &Map<String, Value>) {
        let list = if let Some(data) = body.get(self.data) {
            data.as_array()
                .map(|l| l.iter().filter_map(|e| self.entry(e)).collect())
                .unwrap_or_default()
        } else if let Some(plain) = body.get(self.attr) {
            self.with_primary(self.current(rec), plain.as_str().unwrap_or("").trim())
        } else {
            return;
        };
        self.store(rec, list);
    }

    /// The record's entries.
    pub fn current(&self, rec: &Map<String, Value>) -> Vec<Value> {
        rec.get(self.data)
            .and_then(Value::as_array)
            .cloned()
            .unwrap_or_default()
    }

    /// One written entry, normalised (`None` when its value is empty).
    fn entry(&self, e: &Value) -> Option<Value> {
        let value = e.get(self.attr)?.as_str()?.trim().to_string();
        if value.is_empty() {
            return None;
        }
        let flag = |k: &str| e.get(k).and_then(Value::as_bool).unwrap_or(false);
        let mut out = json!({self.attr: value, "primary": flag("primary"), "optOut": flag("optOut"), "invalid": flag("invalid")});
        match self.default_type {
            None => out["lower"] = json!(value.to_lowercase()),
            Some(t) => out["type"] = json!(e.get("type").and_then(Value::as_str).unwrap_or(t)),
        }
        Some(out)
    }

    /// The entries after the plain attribute was written as `value`.
    fn with_primary(&self, mut list: Vec<Value>, value: &str) -> Vec<Value> {
        let key = |v: &Value| v[self.attr].as_str().unwrap_or("").to_lowercase();
        if let Some(at) = list.iter().position(|e| key(e) == value.to_lowercase()) {
            for (i, e) in list.iter_mut().enumerate() {
                e["primary"] = json!(i == at);
            }
            return list;
        }
        list.retain(|e| e["primary"] != json!(true));
        if !value.is_empty() {
            let fresh = self.entry(&json!({self.attr: value, "primary": true}));
            list.insert(0, fresh.unwrap_or(Value::Null));
        }
        list
    }

    /// Store entries: duplicates dropped, exactly one primary and first,
    /// the plain attribute and its flags mirrored.
    fn store(&self, rec: &mut Map<String, Value>, list: Vec<Value>) {
        let mut seen = Vec::new();
        let mut list: Vec<Value> = list
            .into_iter()
            .filter(|e| {
                let k = e[self.attr].as_str().unwrap_or("").to_lowercase();
                let fresh = !seen.contains(&k);
                seen.push(k);
                fresh
            })
            .collect();
        let primary = list
            .iter()
            .position(|e| e["primary"] == json!(true))
            .unwrap_or(0);
        for (i, e) in list.iter_mut().enumerate() {
            e["primary"] = json!(i == primary);
        }
        if primary < list.len() {
            let p = list.remove(primary);
            list.insert(0, p);
        }
        let first = list.first().cloned().unwrap_or(Value::Null);
        rec.insert(
            self.attr.into(),
            first.get(self.attr).cloned().unwrap_or(Value::Null),
        );
        rec.insert(
            format!("{}IsOptedOut", self.attr),
            first.get("optOut").cloned().unwrap_or(Value::Null),
        );
        rec.insert(
            format!("{}IsInvalid", self.attr),
            first.get("invalid").cloned().unwrap_or(Value::Null),
        );
        rec.insert(self.data.into(), Value::Array(list));
    }

    /// Whether any entry of the record has this value (case-insensitive).
    pub fn has(&self, rec: &Map<String, Value>, value: &str) -> bool {
        self.current(rec).iter().any(|e| {
            e[self.attr]
                .as_str()
                .is_some_and(|v| v.eq_ignore_ascii_case(value))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write(rec: &mut Map<String, Value>, ch: Channel, body: Value) {
        ch.apply(rec, body.as_object().unwrap());
    }

    #[test]
    fn the_list_is_the_truth_and_the_attribute_its_primary() {
        let mut rec = Map::new();
        write(
            &mut rec,
            EMAIL,
            json!({"emailAddressData": [{"emailAddress": "b@x.de"}, {"emailAddress": "A@x.de", "primary": true, "optOut": true}, {"emailAddress": "a@X.de"}, {"emailAddress": ""}]}),
        );
        let data = rec["emailAddressData"].as_array().unwrap();
        assert_eq!(data.len(), 2, "the empty and the duplicate went");
        assert_eq!(
            data[0],
            json!({"emailAddress": "A@x.de", "lower": "a@x.de", "primary": true, "optOut": true, "invalid": false})
        );
        assert_eq!(
            (
                rec["emailAddress"].clone(),
                rec["emailAddressIsOptedOut"].clone()
            ),
            (json!("A@x.de"), json!(true))
        );
        assert_eq!(data[1]["primary"], json!(false));
    }

    #[test]
    fn writing_the_attribute_replaces_the_primary_or_promotes_a_listed_one() {
        let mut rec = Map::new();
        let ch = phone("Mobile");
        write(
            &mut rec,
            ch,
            json!({"phoneNumberData": [{"phoneNumber": "+49 1", "primary": true, "type": "Office"}, {"phoneNumber": "+49 2"}]}),
        );
        write(&mut rec, ch, json!({"phoneNumber": "+49 2"}));
        assert_eq!(rec["phoneNumber"], json!("+49 2"));
        assert_eq!(
            rec["phoneNumberData"].as_array().unwrap().len(),
            2,
            "promoted, nothing lost"
        );
        write(&mut rec, ch, json!({"phoneNumber": "+49 3"}));
        let data = rec["phoneNumberData"].as_array().unwrap();
        assert_eq!(
            (
                data.len(),
                data[0]["phoneNumber"].clone(),
                data[0]["type"].clone()
            ),
            (2, json!("+49 3"), json!("Mobile"))
        );
        write(&mut rec, ch, json!({"phoneNumber": ""}));
        assert_eq!(
            rec["phoneNumber"],
            json!("+49 1"),
            "the next one is primary now"
        );
        write(&mut rec, ch, json!({"phoneNumberData": []}));
        assert_eq!(
            (rec["phoneNumber"].clone(), rec["phoneNumberData"].clone()),
            (Value::Null, json!([]))
        );
    }
}
