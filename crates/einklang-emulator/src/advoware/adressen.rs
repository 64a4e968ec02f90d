//! Advoware's `Adressen` of a Beteiligter: a sub-resource of its own
//! (`GET|POST …/Beteiligte/{betNr}/Adressen`,
//! `PUT|DELETE …/Beteiligte/{betNr}/Adressen/{reihenfolgeIndex}`), as seed
//! 002's address analysis reports it ("ADRESSEN_SYNC_SUMMARY", the test
//! scripts' README):
//! - `POST` takes all 11 fields of [`FIELDS`]; `PUT` writes only the 4 of
//!   [`WRITABLE`] and ignores the rest ("nur 4 R/W Felder"; which 4 is this
//!   emulator's choice); `DELETE` answers 403.
//! - An update addresses an address by its `reihenfolgeIndex` (position,
//!   from 1), which moves: a new address with `standardAnschrift` goes
//!   first and the others move down (this emulator's reading of "must be
//!   looked up via GET + match before every update"). Each address has an
//!   `id` and a `rowId` of its own; the Beteiligter's `rowId` stays.
//! - The Beteiligter's GET does not carry its addresses (this emulator's
//!   choice: the list is read per Beteiligter).

use super::{AdvowareState, Refusal};
use serde_json::{json, Map, Value};

/// The fields a POST takes.
pub const FIELDS: [&str; 11] = [
    "strasse",
    "plz",
    "ort",
    "land",
    "postfach",
    "postfachPLZ",
    "standardAnschrift",
    "anschriftsart",
    "gueltigVon",
    "gueltigBis",
    "bemerkung",
];

/// The fields a PUT writes.
pub const WRITABLE: [&str; 4] = ["strasse", "plz", "ort", "bemerkung"];

impl AdvowareState {
    fn renumber(list: &mut [Map<String, Value>]) {
        for (i, a) in list.iter_mut().enumerate() {
            a.insert("reihenfolgeIndex".into(), json!(i + 1));
        }
    }

    /// The addresses of a Beteiligter, in order.
    pub fn adressen(&self, bet_nr: u64) -> Result<Vec<Value>, Refusal> {
        if !self.beteiligte.contains_key(&bet_nr) {
            return Err((404, format!("Beteiligter {bet_nr} nicht gefunden")));
        }
        let list = self.adressen.get(&bet_nr).cloned().unwrap_or_default();
        Ok(list.into_iter().map(Value::Object).collect())
    }

    /// Add an address; the new one (first when `standardAnschrift`).
    pub fn add_adresse(
        &mut self,
        bet_nr: u64,
        body: &Map<String, Value>,
    ) -> Result<Value, Refusal> {
        if !self.beteiligte.contains_key(&bet_nr) {
            return Err((404, format!("Beteiligter {bet_nr} nicht gefunden")));
        }
        self.serial += 1;
        let id = self.serial;
        let mut a = Map::from_iter([("id".to_string(), json!(id))]);
        for f in FIELDS {
            a.insert(f.into(), body.get(f).cloned().unwrap_or(Value::Null));
        }
        a.insert("rowId".into(), json!(self.row_id()));
        let first = body.get("standardAnschrift") == Some(&json!(true));
        let list = self.adressen.entry(bet_nr).or_default();
        match first {
            true => list.insert(0, a),
            false => list.push(a),
        }
        Self::renumber(list);
        let added = list.iter().find(|a| a["id"] == json!(id)).cloned();
        Ok(Value::Object(added.unwrap_or_default()))
    }

    /// A PUT on the address at `index`: the 4 writable fields, a new rowId.
    pub fn put_adresse(
        &mut self,
        bet_nr: u64,
        index: u64,
        body: &Map<String, Value>,
    ) -> Result<Value, Refusal> {
        let row = self.row_id();
        let list = self
            .adressen
            .get_mut(&bet_nr)
            .ok_or((404, format!("Beteiligter {bet_nr} hat keine Adressen")))?;
        let a = list
            .iter_mut()
            .find(|a| a["reihenfolgeIndex"] == json!(index))
            .ok_or((404, format!("Adresse {index} nicht gefunden")))?;
        for f in WRITABLE {
            if let Some(v) = body.get(f) {
                a.insert(f.into(), v.clone());
            }
        }
        a.insert("rowId".into(), json!(row));
        Ok(Value::Object(a.clone()))
    }
}
