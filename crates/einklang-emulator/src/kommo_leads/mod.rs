//! Kommo leads (seed 003: the car rental's full refresh of leads created
//! in 2025 with status ≠ 143, 250 a page, `_links.next`, with contacts;
//! custom fields 1218176/1218178 as epoch dates, 1234163 and 823206 as
//! enums). Shapes and behaviour after the Kommo API v4 docs
//! (developers.kommo.com/reference/leads-list, /update-leads; the same
//! pages on amocrm.com/developers/content/api_v4/leads-2):
//!
//! - `GET /api/v4/leads`: `page`, `limit` (at most 250, default 50),
//!   `with=contacts` (adds `_embedded.contacts[] {id, is_main}`),
//!   `filter[created_at|updated_at|closed_at][from|to]` (epoch seconds,
//!   inclusive), `filter[id]`, `filter[pipeline_id]`,
//!   `filter[responsible_user_id]` (one value or `[]`/`[0]` lists),
//!   `filter[statuses][0][pipeline_id]` + `[status_id]`, `query`,
//!   `order[id|created_at|updated_at]=asc|desc`; the answer is
//!   `{_page, _links {self, next}, _embedded {leads}}` with absolute
//!   links; a page with nothing on it is `204 No Content`.
//!   Quirk kept from the docs: "you can filter only one stage in one
//!   pipeline" — only `filter[statuses][0]` is honoured, further entries
//!   are ignored. There is no "not equal": `status_id != 143` is the
//!   client's to filter.
//! - `GET /api/v4/leads/{id}`: one lead, `204` when there is none.
//! - `POST /api/v4/leads` (a list): creates; `_embedded.contacts` links
//!   contacts, the first is the main one.
//! - `PATCH /api/v4/leads` (a list with ids) and `PATCH /api/v4/leads/{id}`:
//!   partial updates; a custom field named in the body replaces that
//!   field only, `values: null` clears it; answers `{id, updated_at}`.
//! - `GET /api/v4/leads/custom_fields`: the field catalog.
//! - `GET /api/v4/leads/pipelines` and `/api/v4/leads/pipelines/{id}`:
//!   pipelines with their statuses ([`pipelines`]); a write naming a
//!   status its pipeline does not have is refused.
//!
//! Auth, the rate limit (`429` with `Retry-After`) and injected faults are
//! the Kommo account's, shared with `/api/v4/contacts` (`admit` of the crate root).
//! Refused writes answer `400` with Kommo's `validation-errors` body.

pub mod fields;
pub mod pipelines;
mod routes;
#[cfg(test)]
mod tests;

pub use fields::{FieldDef, Problem};
pub(crate) use routes::{api, control};

use crate::State;
use serde_json::{json, Map, Value};
use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

/// Pipeline of leads created without one (made up).
pub const DEFAULT_PIPELINE: u64 = 7_000_001;
/// First stage of [`DEFAULT_PIPELINE`] (made up).
pub const DEFAULT_STATUS: u64 = 70_000_011;
/// "Closed - lost", in every Kommo pipeline (seed 003).
pub const STATUS_LOST: u64 = 143;

/// The leads of the emulated Kommo account.
#[derive(Debug)]
pub struct Leads {
    /// Leads by id, as stored (contacts under `_embedded.contacts`).
    pub records: BTreeMap<u64, Map<String, Value>>,
    /// Custom fields of leads by id.
    pub catalog: BTreeMap<u64, FieldDef>,
    /// Last id given.
    pub next_id: u64,
    /// Lead API requests by method.
    pub requests: BTreeMap<String, u64>,
}

impl Default for Leads {
    fn default() -> Leads {
        Leads {
            records: BTreeMap::new(),
            catalog: fields::seed_catalog(),
            next_id: 20_000_000,
            requests: BTreeMap::new(),
        }
    }
}

/// Fields a write may set (others are ignored, as are `id` and links).
const WRITABLE: &[&str] = &[
    "name",
    "price",
    "status_id",
    "pipeline_id",
    "responsible_user_id",
    "loss_reason_id",
    "created_by",
    "updated_by",
    "created_at",
    "updated_at",
    "closed_at",
    "group_id",
];

impl Leads {
    /// Apply a write at `now`: a new lead when `id` is `None`. The stored
    /// lead, or the problem that refused the write (nothing changed).
    pub fn write(
        &mut self,
        id: Option<u64>,
        body: &Map<String, Value>,
        now: i64,
    ) -> Result<Map<String, Value>, Problem> {
        let mut lead =
            match id {
                Some(id) => self.records.get(&id).cloned().ok_or_else(|| {
                    Problem::new("id", "NotFound", format!("lead {id} not found"))
                })?,
                None => {
                    self.next_id += 1;
                    new_lead(self.next_id, now)
                }
            };
        for (k, v) in body {
            match k.as_str() {
                "custom_fields_values" => {
                    let mut cur = fields::entries(&lead);
                    fields::merge(&self.catalog, &mut cur, v)?;
                    let cur = if cur.is_empty() {
                        Value::Null
                    } else {
                        Value::Array(cur)
                    };
                    lead.insert(k.clone(), cur);
                }
                "_embedded" => link_contacts(&mut lead, v),
                k if WRITABLE.contains(&k) => {
                    lead.insert(k.to_string(), v.clone());
                }
                _ => {}
            }
        }
        let number = |k: &str| lead.get(k).and_then(Value::as_u64).unwrap_or(0);
        pipelines::check(number("pipeline_id"), number("status_id"))?;
        if !body.contains_key("updated_at") {
            lead.insert("updated_at".into(), json!(now));
        }
        let id = lead["id"].as_u64().unwrap_or(0);
        self.records.insert(id, lead.clone());
        Ok(lead)
    }

    /// A lead as the API answers it (contacts only `with_contacts`).
    pub fn render(&self, lead: &Map<String, Value>, with_contacts: bool, origin: &str) -> Value {
        let mut out = lead.clone();
        let id = &lead["id"];
        out.insert(
            "_links".into(),
            json!({"self": {"href": format!("{origin}/api/v4/leads/{id}")}}),
        );
        if let Some(Value::Object(embedded)) = out.get_mut("_embedded") {
            match embedded.get_mut("contacts") {
                Some(Value::Array(contacts)) if with_contacts => {
                    for c in contacts.iter_mut() {
                        let href = format!("{origin}/api/v4/contacts/{}?page=1&limit=50", c["id"]);
                        c["_links"] = json!({"self": {"href": href}});
                    }
                }
                _ => {
                    embedded.remove("contacts");
                }
            }
        }
        Value::Object(out)
    }
}

fn new_lead(id: u64, now: i64) -> Map<String, Value> {
    let v = json!({
        "id": id, "name": format!("Lead #{id}"), "price": 0, "responsible_user_id": 0, "group_id": 0,
        "status_id": DEFAULT_STATUS, "pipeline_id": DEFAULT_PIPELINE, "loss_reason_id": null,
        "created_by": 0, "updated_by": 0, "created_at": now, "updated_at": now, "closed_at": null,
        "closest_task_at": null, "is_deleted": false, "custom_fields_values": null, "score": null,
        "account_id": 1, "labor_cost": null,
        "_embedded": {"tags": [], "companies": [], "contacts": []},
    });
    v.as_object().cloned().unwrap_or_default()
}

/// `_embedded.contacts: [{id, is_main?}]` of a write: the lead's contacts,
/// the first main unless one says `is_main`.
fn link_contacts(lead: &mut Map<String, Value>, embedded: &Value) {
    let Some(list) = embedded.get("contacts").and_then(Value::as_array) else {
        return;
    };
    let any_main = list.iter().any(|c| c["is_main"].as_bool() == Some(true));
    let links: Vec<Value> = list
        .iter()
        .enumerate()
        .filter_map(|(i, c)| {
            let id = c.get("id")?.as_u64()?;
            let main = c["is_main"].as_bool().unwrap_or(!any_main && i == 0);
            Some(json!({"id": id, "is_main": main}))
        })
        .collect();
    lead.insert(
        "_embedded".into(),
        json!({"tags": [], "companies": [], "contacts": links}),
    );
}

/// The Kommo leads of a running emulator, for tests: arrange and inspect
/// leads and custom fields as another client of the account would.
pub struct LeadsHandle {
    pub(crate) state: Arc<Mutex<State>>,
}

impl LeadsHandle {
    /// Add (or replace) a custom field of leads:
    /// `{"id", "name", "type", "code"?, "enums"?: [{"id", "value"}]}`.
    pub fn define_field(&self, def: Value) {
        let def = FieldDef::from_json(&def).expect("a custom field definition");
        self.state.lock().unwrap().leads.catalog.insert(def.id, def);
    }

    /// Add a lead written as the API takes it; its id. Panics on a write
    /// the API would refuse.
    pub fn insert(&self, fields: Value) -> u64 {
        let r = self.write(None, fields);
        r["id"].as_u64().unwrap_or(0)
    }

    /// Change a lead as another client would (as `PATCH` does).
    pub fn update(&self, id: u64, fields: Value) {
        self.write(Some(id), fields);
    }

    fn write(&self, id: Option<u64>, fields: Value) -> Map<String, Value> {
        let mut s = self.state.lock().unwrap();
        let now = s.now();
        let body = fields.as_object().cloned().unwrap_or_default();
        s.leads
            .write(id, &body, now)
            .unwrap_or_else(|p| panic!("refused: {p:?}"))
    }

    /// Delete a lead.
    pub fn delete(&self, id: u64) {
        self.state.lock().unwrap().leads.records.remove(&id);
    }

    /// A lead as `GET /api/v4/leads/{id}?with=contacts` answers it.
    pub fn get(&self, id: u64) -> Option<Value> {
        let s = self.state.lock().unwrap();
        let lead = s.leads.records.get(&id)?;
        Some(s.leads.render(lead, true, ""))
    }

    /// All leads, by id.
    pub fn all(&self) -> Vec<Value> {
        let s = self.state.lock().unwrap();
        s.leads
            .records
            .values()
            .map(|l| s.leads.render(l, true, ""))
            .collect()
    }

    /// Lead API requests so far, by method.
    pub fn requests(&self) -> BTreeMap<String, u64> {
        self.state.lock().unwrap().leads.requests.clone()
    }

    /// Lead API requests of one method.
    pub fn count(&self, method: &str) -> u64 {
        self.requests().get(method).copied().unwrap_or(0)
    }
}
