//! EspoCRM's REST API (seed 002: the law firm's CRM, master of
//! "Stammdaten", its webhooks the fast path of the sync). After the Espo
//! docs (docs.espocrm.com: development/api, api/crud, api-search-params,
//! administration/webhooks, administration/fields):
//!
//! - `X-Api-Key` auth (a wrong key: `401`, empty body);
//! - `GET /espo/api/v1/{Entity}` with `maxSize` (default 20, more than 200
//!   is `403`), `offset`, `orderBy`/`order` (default `createdAt desc`),
//!   `select`, `where` ([`search`]); the answer `{total, list}`
//!   (`X-No-Total: true`: `total` is `-1` while more follow, else `-2`);
//!   list entries leave out `emailAddressData`/`phoneNumberData` unless
//!   `select` names them (Espo loads them for the detail view);
//! - `GET|PUT|PATCH|DELETE /espo/api/v1/{Entity}/{id}` (`PUT` is a partial
//!   update answering the whole record; `DELETE` answers `true`; a missing
//!   record is `404` with an empty body), `POST /espo/api/v1/{Entity}`;
//! - records: 17-hex-digit ids, `createdAt`/`modifiedAt` as `YYYY-MM-DD
//!   HH:MM:SS` in UTC without a zone (seed 002's "kein Timezone!"),
//!   `versionNumber`, emails and phones as [`channels`]; `modifiedAt`
//!   moves only when a write changes something (a no-op write is silent);
//! - refusals as Espo sends them: `400` with `X-Status-Reason:
//!   validationFailure` and `{"messageTranslation": {"label":
//!   "validationFailure", "data": {"field", "type"}}}` (a Contact needs a
//!   `lastName`, an Account a `name`, addresses an `@`); `409` with
//!   `X-Status-Reason: duplicate` and the duplicates as the body when a
//!   create matches a record by name or email (skipped with
//!   `X-Skip-Duplicate-Check: true`); `409` with `X-Status-Reason:
//!   modified` and `{values, versionNumber}` when a write carries a stale
//!   `versionNumber` and differs (optimistic concurrency, as if enabled);
//! - webhooks ([`hooks`]): `POST /espo/api/v1/Webhook`, `DELETE
//!   /espo/api/v1/Webhook/{id}`.
//!
//! `Contact` and `Account` exist; tests may add custom entity types (seed
//! 002's `CBeteiligte`). Shapes of the refusal bodies are Espo's as its
//! source builds them; they were not checked against a live server.

pub mod channels;
pub mod hooks;
mod routes;
pub mod search;
#[cfg(test)]
mod tests;

pub(crate) use routes::{api, control};

use crate::common::{espo_time, Clock, Gate};
use hooks::{Change, Hooks};
use serde_json::{json, Map, Value};
use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

/// How the emulated EspoCRM behaves.
#[derive(Clone, Debug)]
pub struct EspoOptions {
    /// The API user's key (`X-Api-Key`).
    pub api_key: String,
    /// The largest `maxSize` (Espo's `recordListMaxSizeLimit`).
    pub max_size: usize,
    /// Send webhooks right after every API write (else on [`EspoHandle::deliver`]).
    pub auto_deliver: bool,
    /// Requests per second before `429`.
    pub rps: Option<u32>,
}

impl Default for EspoOptions {
    fn default() -> EspoOptions {
        EspoOptions {
            api_key: "espo-api-key".into(),
            max_size: 200,
            auto_deliver: false,
            rps: None,
        }
    }
}

/// Why a write was refused.
#[derive(Clone, Debug, PartialEq)]
pub enum Refusal {
    /// A field failed validation: field, type (`required`, `valid`).
    Validation(String, String),
    /// A create looks like these records.
    Duplicate(Vec<Value>),
    /// A stale `versionNumber`: the current values of the sent attributes.
    Modified(Value, u64),
    /// No such record.
    NotFound,
}

/// The emulated EspoCRM: records by entity type, webhooks.
#[derive(Debug, Default)]
pub struct EspoState {
    /// Options.
    pub options: EspoOptions,
    /// The clock of `createdAt`/`modifiedAt`.
    pub clock: Clock,
    /// Counters, rate limit, faults.
    pub gate: Gate,
    /// Records by entity type and id.
    pub entities: BTreeMap<String, BTreeMap<String, Map<String, Value>>>,
    /// Webhooks and their queue.
    pub hooks: Hooks,
    /// Updates to make once the `GET` count reaches a number, right after
    /// a list page was answered (a write during someone's read).
    during: Vec<(u64, String, String, Value)>,
    serial: u64,
}

/// Attributes the system sets (a write's values are ignored).
const SYSTEM: &[&str] = &[
    "id",
    "deleted",
    "createdAt",
    "modifiedAt",
    "createdById",
    "createdByName",
    "modifiedById",
    "modifiedByName",
    "versionNumber",
    "emailAddressIsOptedOut",
    "emailAddressIsInvalid",
    "phoneNumberIsOptedOut",
    "phoneNumberIsInvalid",
    "skipDuplicateCheck",
    "forceDuplicate",
];

impl EspoState {
    /// The updates due once `gets` requests were answered.
    pub(crate) fn take_during(&mut self, gets: u64) -> Vec<(String, String, Value)> {
        let (due, later): (Vec<_>, Vec<_>) = std::mem::take(&mut self.during)
            .into_iter()
            .partition(|(n, ..)| *n <= gets);
        self.during = later;
        due.into_iter().map(|(_, e, i, f)| (e, i, f)).collect()
    }

    /// An EspoCRM with `Contact` and `Account`.
    pub fn new(options: EspoOptions) -> EspoState {
        let mut s = EspoState {
            gate: Gate::limited(options.rps),
            options,
            ..EspoState::default()
        };
        s.entities.insert("Contact".into(), BTreeMap::new());
        s.entities.insert("Account".into(), BTreeMap::new());
        s
    }

    /// Create (`id` none) or update a record.
    pub fn save(
        &mut self,
        entity: &str,
        id: Option<&str>,
        body: &Map<String, Value>,
        dup_check: bool,
    ) -> Result<Map<String, Value>, Refusal> {
        let table = self.entities.entry(entity.to_string()).or_default();
        let before = match id {
            Some(id) => Some(table.get(id).cloned().ok_or(Refusal::NotFound)?),
            None => None,
        };
        if let Some(cur) = &before {
            stale(cur, body)?;
        }
        let now = self.clock.now();
        let mut rec = before.clone().unwrap_or_else(|| {
            self.serial += 1;
            blank(entity, &format!("68e4{:013x}", self.serial), now)
        });
        write(entity, &mut rec, body);
        validate(entity, &rec)?;
        if before.is_none() && dup_check {
            let dups = self.duplicates(entity, &rec);
            if !dups.is_empty() {
                return Err(Refusal::Duplicate(dups));
            }
        }
        let changed = diff(before.as_ref(), &rec);
        if before.is_some() && changed.is_empty() {
            return Ok(rec);
        }
        rec.insert("modifiedAt".into(), json!(espo_time(now)));
        rec.insert(
            "versionNumber".into(),
            json!(rec["versionNumber"].as_u64().unwrap_or(0) + 1),
        );
        let change = if before.is_some() {
            Change::Update
        } else {
            Change::Create
        };
        self.hooks.record(entity, change, &rec, &changed);
        let id = rec["id"].as_str().unwrap_or("").to_string();
        self.entities
            .entry(entity.to_string())
            .or_default()
            .insert(id, rec.clone());
        Ok(rec)
    }

    /// Delete a record; whether there was one.
    pub fn remove(&mut self, entity: &str, id: &str) -> bool {
        let gone = self.entities.get_mut(entity).and_then(|t| t.remove(id));
        if let Some(rec) = &gone {
            self.hooks.record(entity, Change::Delete, rec, &Map::new());
        }
        gone.is_some()
    }

    /// Records a new one looks like: same name, or a shared email address.
    fn duplicates(&self, entity: &str, rec: &Map<String, Value>) -> Vec<Value> {
        let name = |r: &Map<String, Value>| {
            r.get("name")
                .and_then(Value::as_str)
                .unwrap_or("")
                .trim()
                .to_lowercase()
        };
        let emails: Vec<String> = channels::EMAIL
            .current(rec)
            .iter()
            .filter_map(|e| e["lower"].as_str().map(str::to_string))
            .collect();
        let table = self
            .entities
            .get(entity)
            .into_iter()
            .flat_map(|t| t.values());
        table
            .filter(|r| {
                (!name(rec).is_empty() && name(r) == name(rec))
                    || emails.iter().any(|e| channels::EMAIL.has(r, e))
            })
            .map(|r| Value::Object(r.clone()))
            .collect()
    }
}

/// A new record's system attributes and empty channels.
fn blank(entity: &str, id: &str, now: i64) -> Map<String, Value> {
    let mut rec = json!({
        "id": id, "name": null, "deleted": false, "createdAt": espo_time(now), "modifiedAt": espo_time(now),
        "createdById": "api-user", "createdByName": "API", "modifiedById": "api-user", "modifiedByName": "API",
        "versionNumber": 0, "description": null, "assignedUserId": null, "assignedUserName": null,
    });
    if entity == "Contact" {
        for k in [
            "salutationName",
            "firstName",
            "lastName",
            "accountId",
            "accountName",
            "title",
            "addressStreet",
            "addressCity",
            "addressPostalCode",
            "addressCountry",
        ] {
            rec[k] = Value::Null;
        }
    }
    let mut rec = rec.as_object().cloned().unwrap_or_default();
    let empty = Map::from_iter([
        ("emailAddressData".to_string(), json!([])),
        ("phoneNumberData".to_string(), json!([])),
    ]);
    channels::EMAIL.apply(&mut rec, &empty);
    phones(entity).apply(&mut rec, &empty);
    rec
}

fn phones(entity: &str) -> channels::Channel {
    channels::phone(if entity == "Account" {
        "Office"
    } else {
        "Mobile"
    })
}

/// Apply a write's attributes to a record.
fn write(entity: &str, rec: &mut Map<String, Value>, body: &Map<String, Value>) {
    let channel = [
        "emailAddress",
        "emailAddressData",
        "phoneNumber",
        "phoneNumberData",
    ];
    for (k, v) in body {
        let computed = entity == "Contact" && k == "name";
        if !SYSTEM.contains(&k.as_str()) && !channel.contains(&k.as_str()) && !computed {
            rec.insert(k.clone(), v.clone());
        }
    }
    channels::EMAIL.apply(rec, body);
    phones(entity).apply(rec, body);
    if entity == "Contact" {
        let part = |k: &str| {
            rec.get(k)
                .and_then(Value::as_str)
                .unwrap_or("")
                .trim()
                .to_string()
        };
        let name = format!("{} {}", part("firstName"), part("lastName"))
            .trim()
            .to_string();
        rec.insert(
            "name".into(),
            if name.is_empty() {
                Value::Null
            } else {
                json!(name)
            },
        );
    }
}

fn validate(entity: &str, rec: &Map<String, Value>) -> Result<(), Refusal> {
    let required = match entity {
        "Contact" => Some("lastName"),
        "Account" => Some("name"),
        _ => None,
    };
    if let Some(field) = required {
        if rec
            .get(field)
            .and_then(Value::as_str)
            .unwrap_or("")
            .trim()
            .is_empty()
        {
            return Err(Refusal::Validation(field.into(), "required".into()));
        }
    }
    let bad_email = channels::EMAIL
        .current(rec)
        .iter()
        .any(|e| !e["emailAddress"].as_str().unwrap_or("").contains('@'));
    if bad_email {
        return Err(Refusal::Validation("emailAddress".into(), "valid".into()));
    }
    Ok(())
}

/// `Modified` when the write carries another `versionNumber` than the
/// record's and changes an attribute.
fn stale(cur: &Map<String, Value>, body: &Map<String, Value>) -> Result<(), Refusal> {
    let (Some(sent), Some(have)) = (
        body.get("versionNumber").and_then(Value::as_u64),
        cur["versionNumber"].as_u64(),
    ) else {
        return Ok(());
    };
    if sent == have {
        return Ok(());
    }
    let differ: Map<String, Value> = body
        .iter()
        .filter(|(k, v)| *k != "versionNumber" && cur.get(*k) != Some(*v))
        .map(|(k, _)| (k.clone(), cur.get(k).cloned().unwrap_or(Value::Null)))
        .collect();
    if differ.is_empty() {
        return Ok(());
    }
    Err(Refusal::Modified(Value::Object(differ), have))
}

/// Attributes whose value differs from before (all, for a new record).
fn diff(before: Option<&Map<String, Value>>, after: &Map<String, Value>) -> Map<String, Value> {
    after
        .iter()
        .filter(|(k, v)| {
            !["modifiedAt", "versionNumber"].contains(&k.as_str())
                && before.is_none_or(|b| b.get(*k) != Some(*v))
        })
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect()
}

/// The EspoCRM of a running emulator, for tests.
pub struct EspoHandle {
    pub(crate) url: String,
    pub(crate) state: Arc<Mutex<EspoState>>,
}

impl EspoHandle {
    /// The site URL (`{emu}/espo`); the API is under `api/v1/` of it.
    pub fn site_url(&self) -> String {
        format!("{}/espo", self.url)
    }

    /// The API's base URL (`{emu}/espo/api/v1`).
    pub fn api_url(&self) -> String {
        format!("{}/espo/api/v1", self.url)
    }

    /// Add a record as another user would (no duplicate check); its id.
    pub fn insert(&self, entity: &str, fields: Value) -> String {
        let body = fields.as_object().cloned().unwrap_or_default();
        let rec = self
            .state
            .lock()
            .unwrap()
            .save(entity, None, &body, false)
            .unwrap_or_else(|r| panic!("refused: {r:?}"));
        rec["id"].as_str().unwrap_or("").to_string()
    }

    /// Change a record as another user would (queues webhooks).
    pub fn update(&self, entity: &str, id: &str, fields: Value) {
        let body = fields.as_object().cloned().unwrap_or_default();
        self.state
            .lock()
            .unwrap()
            .save(entity, Some(id), &body, false)
            .unwrap_or_else(|r| panic!("refused: {r:?}"));
    }

    /// Change a record as another user would, right after the list page
    /// that makes the `after_gets`-th `GET` has been answered: a write
    /// that lands while a client reads a listing page by page.
    pub fn update_during_list(&self, after_gets: u64, entity: &str, id: &str, fields: Value) {
        self.state
            .lock()
            .unwrap()
            .during
            .push((after_gets, entity.into(), id.into(), fields));
    }

    /// Delete a record (queues webhooks).
    pub fn delete(&self, entity: &str, id: &str) {
        self.state.lock().unwrap().remove(entity, id);
    }

    /// A record as `GET {Entity}/{id}` answers it.
    pub fn get(&self, entity: &str, id: &str) -> Option<Value> {
        self.state
            .lock()
            .unwrap()
            .entities
            .get(entity)?
            .get(id)
            .map(|r| Value::Object(r.clone()))
    }

    /// Every record of a type, by id.
    pub fn all(&self, entity: &str) -> Vec<Value> {
        let s = self.state.lock().unwrap();
        s.entities.get(entity).map_or(Vec::new(), |t| {
            t.values().map(|r| Value::Object(r.clone())).collect()
        })
    }

    /// Subscribe a URL to an event (`Contact.update`); the hook's id and secret.
    pub fn subscribe(&self, event: &str, url: &str) -> (String, String) {
        let h = routes::subscribe(&mut self.state.lock().unwrap(), event, url);
        (h.id, h.secret)
    }

    /// The webhook payloads waiting to be sent.
    pub fn queued(&self) -> Vec<Value> {
        self.state.lock().unwrap().hooks.pending()
    }

    /// Send the queued webhooks now; what was sent.
    pub fn deliver(&self) -> Vec<hooks::Sent> {
        hooks::deliver(&self.state)
    }
}

crate::common::controls!(EspoHandle);
