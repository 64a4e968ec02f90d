//! Advoware's `Beteiligte` (parties of a law firm) and their
//! `Kommunikationen`, with the quirks seed 002 reports ("Beteiligte Sync -
//! Architektur-Analyse", "Change Detection Details", "Kommunikation Sync",
//! the test scripts' READMEs). Advoware's API has no public reference;
//! what the seed does not say is marked as this emulator's choice.
//!
//! Routes (base `{emu}/advoware/`, as the seed's `ADVOWARE_API_BASE_URL`):
//! - `POST /advoware/api/v1/Token` ([`auth`]) → `Authorization: Bearer`;
//! - `GET|POST /advoware/api/v1/advonet/Beteiligte`,
//!   `GET|PUT|DELETE /advoware/api/v1/advonet/Beteiligte/{betNr}`;
//! - `GET|POST …/Beteiligte/{betNr}/Kommunikationen`,
//!   `PUT|DELETE …/Beteiligte/{betNr}/Kommunikationen/{id}`;
//! - `GET|POST …/Beteiligte/{betNr}/Adressen`,
//!   `PUT|DELETE …/Beteiligte/{betNr}/Adressen/{reihenfolgeIndex}` ([`adressen`]).
//!
//! Quirks (seed sections in brackets):
//! - `rowId` — base64, about 40 characters — is the only change signal: it
//!   changes on every write of the Beteiligter and there are no change
//!   timestamps ("Advoware liefert KEINE Timestamps"; a `filter` on
//!   `geaendertAm` is refused). A Kommunikation has its own `rowId`; writing
//!   one leaves the Beteiligter's unchanged ("Beteiligte-rowId ändert sich
//!   NICHT bei Kommunikations-Änderungen").
//! - `POST` answers the new Beteiligter without `rowId` (the seed's extra
//!   GET after POST); `PUT` answers a list of one record with the new
//!   `rowId` (`put_result[0].get('rowId')`); `GET` by number answers a list
//!   of one as well (the seed unwraps `result[0]`; this emulator's choice).
//! - `DELETE` answers `403` for Beteiligte and Kommunikationen ("DELETE gibt
//!   403"), so removals are soft: fields emptied (the seed's empty slots).
//! - `PUT` writes only some fields ("nur 8 von 14"): the ones in
//!   [`AdvowareOptions::writable`]; the rest of the 14 ([`FIELDS`]) and any
//!   other field are silently ignored. Which 8 is this emulator's
//!   assumption. A writable field a PUT leaves out is emptied: the seed
//!   merges the current record into every PUT (`merge_for_advoware_put`).
//! - A Kommunikation is `{id, kommKz, tlf, bemerkung, online, rowId}`;
//!   `kommKz` ([`KOMM_KZ`]) is read-only on PUT ("kommKz READ-ONLY bei
//!   PUT") and, with [`AdvowareOptions::kommkz_zero_bug`], read back as `0`
//!   ("kommKz=0 Bug in GET"). The numbering 1–12 is Advoware's enum as the
//!   seed names it (TelGesch, Mobil, Email, …); the seed has no table, so
//!   the order of [`KOMM_KZ`] is this emulator's reading.
//! - A Beteiligter deleted in Advoware itself is `404` (the seed's
//!   `deleted_in_advoware`); tests do that with [`AdvowareHandle::delete`].
//! - Answers that are lost after the write (not from the seed: issue 11's
//!   faults for the seed 002 job, a write Advoware applied whose answer
//!   never arrived). [`AdvowareHandle::drop_answers`] (or `POST
//!   /_emulator/advoware/drop-answers?count=N`) makes the next N successful
//!   POSTs, PUTs and DELETEs apply and then close the connection without a
//!   byte of the answer; the mechanism is the one every system shares,
//!   [`crate::lost`].

pub mod adressen;
pub mod auth;
mod routes;
#[cfg(test)]
mod tests;

pub(crate) use routes::{api, control};

use crate::common::{Clock, Gate};
use base64::Engine;
use serde_json::{json, Map, Value};
use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

/// `kommKz` values: number, Advoware's name, what it holds.
pub const KOMM_KZ: [(u64, &str, &str); 12] = [
    (1, "TelGesch", "phone"),
    (2, "FaxGesch", "fax"),
    (3, "Mobil", "mobile"),
    (4, "MailGesch", "email"),
    (5, "Internet", "url"),
    (6, "TelPrivat", "phone"),
    (7, "FaxPrivat", "fax"),
    (8, "MailPrivat", "email"),
    (9, "AutoTelefon", "mobile"),
    (10, "Sonstige", "other"),
    (11, "EPost", "email"),
    (12, "Bea", "other"),
];

/// What a `kommKz` holds: `phone`, `fax`, `mobile`, `email`, `url`, `other`.
pub fn komm_kind(komm_kz: u64) -> Option<&'static str> {
    KOMM_KZ
        .iter()
        .find(|(n, ..)| *n == komm_kz)
        .map(|(.., kind)| *kind)
}

/// The 14 fields of a Beteiligter the seed's mapper knows.
pub const FIELDS: [&str; 14] = [
    "name",
    "vorname",
    "rechtsform",
    "anrede",
    "titel",
    "bAnrede",
    "zusatz",
    "geburtsdatum",
    "kurzname",
    "geburtsname",
    "familienstand",
    "handelsRegisterNummer",
    "registergericht",
    "art",
];

/// How the emulated Advoware behaves.
#[derive(Clone, Debug)]
pub struct AdvowareOptions {
    /// The accepted credentials.
    pub credentials: auth::Credentials,
    /// Fields a PUT writes (the others are ignored).
    pub writable: Vec<String>,
    /// `GET` reads every `kommKz` as `0`.
    pub kommkz_zero_bug: bool,
    /// Token lifetime in seconds.
    pub token_ttl_s: u64,
}

impl Default for AdvowareOptions {
    fn default() -> AdvowareOptions {
        AdvowareOptions {
            credentials: auth::Credentials::default(),
            writable: FIELDS[..8].iter().map(|f| f.to_string()).collect(),
            kommkz_zero_bug: false,
            token_ttl_s: 3600,
        }
    }
}

/// The emulated Kanzlei's Beteiligte.
#[derive(Debug, Default)]
pub struct AdvowareState {
    /// Options.
    pub options: AdvowareOptions,
    /// The clock of token expiry.
    pub clock: Clock,
    /// Counters and queued faults.
    pub gate: Gate,
    /// Beteiligte by `betNr`, each with its `kommunikation` list.
    pub beteiligte: BTreeMap<u64, Map<String, Value>>,
    /// Tokens and their expiry.
    pub tokens: Vec<(String, i64)>,
    /// Addresses by `betNr` ([`adressen`]).
    pub adressen: BTreeMap<u64, Vec<Map<String, Value>>>,
    serial: u64,
}

/// Why a write was refused: status and message.
pub type Refusal = (u16, String);

impl AdvowareState {
    /// An empty Kanzlei.
    pub fn new(options: AdvowareOptions) -> AdvowareState {
        AdvowareState {
            options,
            serial: 104_859,
            ..AdvowareState::default()
        }
    }

    /// A fresh rowId: base64 of 28 bytes (40 characters).
    fn row_id(&mut self) -> String {
        self.serial += 1;
        let mut bytes = b"ADVO".to_vec();
        bytes.extend_from_slice(&self.serial.to_be_bytes());
        bytes.extend_from_slice(
            &self
                .serial
                .wrapping_mul(0x9E37_79B9_7F4A_7C15)
                .to_le_bytes(),
        );
        bytes.extend_from_slice(&[0x5a; 8]);
        base64::engine::general_purpose::STANDARD.encode(bytes)
    }

    /// Create a Beteiligter with every field of the body that is one of
    /// [`FIELDS`]; its `betNr`.
    pub fn create(&mut self, body: &Map<String, Value>) -> u64 {
        self.serial += 1;
        let bet_nr = self.serial;
        let mut rec = Map::from_iter([("betNr".to_string(), json!(bet_nr))]);
        for f in FIELDS {
            rec.insert(f.into(), body.get(f).cloned().unwrap_or(Value::Null));
        }
        rec.insert("rowId".into(), json!(self.row_id()));
        rec.insert("kommunikation".into(), json!([]));
        self.beteiligte.insert(bet_nr, rec);
        for k in body
            .get("kommunikation")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            let _ = self.add_komm(bet_nr, k.as_object().unwrap_or(&Map::new()));
        }
        bet_nr
    }

    /// A PUT: writable fields set from the body (emptied when missing),
    /// the rest ignored, a new rowId.
    pub fn put(
        &mut self,
        bet_nr: u64,
        body: &Map<String, Value>,
    ) -> Result<Map<String, Value>, Refusal> {
        let writable = self.options.writable.clone();
        let row = self.row_id();
        let rec = self
            .beteiligte
            .get_mut(&bet_nr)
            .ok_or((404, format!("Beteiligter {bet_nr} nicht gefunden")))?;
        for f in &writable {
            rec.insert(f.clone(), body.get(f).cloned().unwrap_or(Value::Null));
        }
        rec.insert("rowId".into(), json!(row));
        Ok(rec.clone())
    }

    /// Add a Kommunikation (`kommKz` 1–12 required); the new entry.
    pub fn add_komm(&mut self, bet_nr: u64, body: &Map<String, Value>) -> Result<Value, Refusal> {
        let kz = body
            .get("kommKz")
            .and_then(Value::as_u64)
            .filter(|k| komm_kind(*k).is_some());
        let Some(kz) = kz else {
            return Err((400, "kommKz muss 1 bis 12 sein".into()));
        };
        self.serial += 1;
        let id = self.serial;
        let row = self.row_id();
        let rec = self
            .beteiligte
            .get_mut(&bet_nr)
            .ok_or((404, format!("Beteiligter {bet_nr} nicht gefunden")))?;
        let text = |k: &str| {
            body.get(k)
                .and_then(Value::as_str)
                .unwrap_or("")
                .to_string()
        };
        let entry = json!({"id": id, "kommKz": kz, "tlf": text("tlf"), "bemerkung": text("bemerkung"),
                           "online": body.get("online").and_then(Value::as_bool).unwrap_or(false), "rowId": row});
        if let Some(Value::Array(list)) = rec.get_mut("kommunikation") {
            list.push(entry.clone());
        }
        Ok(entry)
    }

    /// A Kommunikation's PUT: `tlf`, `bemerkung`, `online` written (`kommKz`
    /// ignored), a new rowId for it; the Beteiligter's rowId stays.
    pub fn put_komm(
        &mut self,
        bet_nr: u64,
        id: u64,
        body: &Map<String, Value>,
    ) -> Result<Value, Refusal> {
        let row = self.row_id();
        let rec = self
            .beteiligte
            .get_mut(&bet_nr)
            .ok_or((404, format!("Beteiligter {bet_nr} nicht gefunden")))?;
        let list = rec
            .get_mut("kommunikation")
            .and_then(Value::as_array_mut)
            .ok_or((404, "keine Kommunikation".to_string()))?;
        let entry = list
            .iter_mut()
            .find(|k| k["id"] == json!(id))
            .ok_or((404, format!("Kommunikation {id} nicht gefunden")))?;
        for f in ["tlf", "bemerkung", "online"] {
            if let Some(v) = body.get(f) {
                entry[f] = v.clone();
            }
        }
        entry["rowId"] = json!(row);
        Ok(entry.clone())
    }

    /// A Beteiligter as GET answers it (`kommKz` 0 under the bug).
    pub fn read(&self, bet_nr: u64) -> Option<Value> {
        let mut rec = Value::Object(self.beteiligte.get(&bet_nr)?.clone());
        if self.options.kommkz_zero_bug {
            for k in rec["kommunikation"].as_array_mut().into_iter().flatten() {
                k["kommKz"] = json!(0);
            }
        }
        Some(rec)
    }
}

/// The Advoware of a running emulator, for tests.
pub struct AdvowareHandle {
    pub(crate) url: String,
    pub(crate) state: Arc<Mutex<AdvowareState>>,
}

impl AdvowareHandle {
    /// The base URL (`{emu}/advoware/`), as the seed's `ADVOWARE_API_BASE_URL`.
    pub fn base_url(&self) -> String {
        format!("{}/advoware/", self.url)
    }

    /// A token as the token route hands out, for tests that configure a
    /// connector with a bearer token (rather than `signed_token`, which
    /// requests its own).
    pub fn issue_token(&self) -> String {
        let mut s = self.state.lock().unwrap();
        let token = format!("advo-token-{}", s.tokens.len() + 1);
        let until = s.clock.now() + s.options.token_ttl_s as i64;
        s.tokens.push((token.clone(), until));
        token
    }

    /// The token URL (`{emu}/advoware/api/v1/Token`).
    pub fn token_url(&self) -> String {
        format!("{}/advoware/api/v1/Token", self.url)
    }

    /// Add a Beteiligter (fields of [`FIELDS`], and `kommunikation` entries
    /// `{kommKz, tlf, bemerkung, online}`); its `betNr`.
    pub fn insert(&self, fields: Value) -> u64 {
        self.state
            .lock()
            .unwrap()
            .create(fields.as_object().unwrap_or(&Map::new()))
    }

    /// Change fields as a user in Advoware would: any of [`FIELDS`], a new rowId.
    pub fn update(&self, bet_nr: u64, fields: Value) {
        let mut s = self.state.lock().unwrap();
        let row = s.row_id();
        let rec = s.beteiligte.get_mut(&bet_nr).expect("a Beteiligter");
        for (k, v) in fields.as_object().into_iter().flatten() {
            if FIELDS.contains(&k.as_str()) {
                rec.insert(k.clone(), v.clone());
            }
        }
        rec.insert("rowId".into(), json!(row));
    }

    /// Add a Kommunikation as a user in Advoware would; the new entry.
    pub fn add_komm(&self, bet_nr: u64, fields: Value) -> Value {
        let mut s = self.state.lock().unwrap();
        s.add_komm(bet_nr, fields.as_object().unwrap_or(&Map::new()))
            .expect("a Beteiligter and a kommKz of 1 to 12")
    }

    /// Change a Kommunikation as a user in Advoware would (its rowId moves).
    pub fn update_komm(&self, bet_nr: u64, id: u64, fields: Value) {
        let mut s = self.state.lock().unwrap();
        s.put_komm(bet_nr, id, fields.as_object().unwrap_or(&Map::new()))
            .expect("a Kommunikation");
    }

    /// Add an address as a user in Advoware would; the new address.
    pub fn add_adresse(&self, bet_nr: u64, fields: Value) -> Value {
        let mut s = self.state.lock().unwrap();
        s.add_adresse(bet_nr, fields.as_object().unwrap_or(&Map::new()))
            .expect("a Beteiligter")
    }

    /// The addresses of a Beteiligter, in `reihenfolgeIndex` order.
    pub fn adressen(&self, bet_nr: u64) -> Vec<Value> {
        self.state
            .lock()
            .unwrap()
            .adressen(bet_nr)
            .unwrap_or_default()
    }

    /// The fields a PUT writes (the rest of [`FIELDS`] it ignores).
    pub fn writable(&self) -> Vec<String> {
        self.state.lock().unwrap().options.writable.clone()
    }

    /// Delete a Beteiligter in Advoware itself (the API cannot): now `404`.
    pub fn delete(&self, bet_nr: u64) {
        self.state.lock().unwrap().beteiligte.remove(&bet_nr);
    }

    /// A Beteiligter as stored (true `kommKz`, whatever the bug option).
    pub fn get(&self, bet_nr: u64) -> Option<Value> {
        self.state
            .lock()
            .unwrap()
            .beteiligte
            .get(&bet_nr)
            .map(|r| Value::Object(r.clone()))
    }

    /// Every Beteiligter, by `betNr`.
    pub fn all(&self) -> Vec<Value> {
        self.state
            .lock()
            .unwrap()
            .beteiligte
            .values()
            .map(|r| Value::Object(r.clone()))
            .collect()
    }
}

crate::common::controls!(AdvowareHandle);
