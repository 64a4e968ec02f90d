//! Microsoft Graph contacts of several mailboxes (seed 000: "Microsoft 365
//! Kontakte (3 Postfächer)", OAuth2 client credentials with tenant, client
//! id and secret). Shapes after the Graph v1.0 docs: the `contact`
//! resource (learn.microsoft.com/graph/api/resources/contact), "List
//! contacts" (`/users/{id}/contacts`, `$top` default 10, `$skip`,
//! `$filter`, `$select`, `$orderby`), "Update contact" (PATCH, partial),
//! "Paging Microsoft Graph data" (`@odata.nextLink` keeps the other query
//! parameters), and the identity platform's client credentials flow
//! (`/{tenant}/oauth2/v2.0/token`, scope `https://graph.microsoft.com/.default`).
//!
//! Routes (one server: `login.microsoftonline.com` is `{emu}/login`,
//! `graph.microsoft.com` is `{emu}/graph`):
//! - `POST /login/{tenant}/oauth2/v2.0/token`: one token for all mailboxes;
//!   a scope without `/.default`, a wrong secret or tenant are refused with
//!   the `AADSTS…` errors of the identity platform;
//! - `GET|POST /graph/v1.0/users/{user}/contacts`, and
//!   `GET|PATCH|DELETE /graph/v1.0/users/{user}/contacts/{id}`;
//! - `GET /graph/v1.0/users/{user}/contactFolders/{folder}/contacts/delta`
//!   ("contact: delta", the documented path; the folder is the mailbox's
//!   one contacts folder, `AAMkADEmContactsAAA=`, or `contacts`) and
//!   `GET /graph/v1.0/users/{user}/contacts/delta` (the same, undocumented
//!   but answered by Graph): rounds of pages linked by `@odata.nextLink`
//!   (`$skiptoken`), the last carrying `@odata.deltaLink` (`$deltatoken`);
//!   see [`delta`].
//!
//! Records carry every property of the resource (lists empty, addresses
//! `{}`, the rest `null` until written), `@odata.etag` (`W/"<changeKey>"`)
//! and a `changeKey` that changes on every write. PATCH replaces the
//! properties it names (a list sent replaces the whole list; an address is
//! merged, as OData's PATCH does for complex values), ignores read-only
//! ones and `@odata.*` annotations, refuses unknown ones (`400
//! RequestBodyRead`) and honours `If-Match` (`412
//! ErrorIrresolvableConflict`). A missing contact is `404
//! ErrorItemNotFound`, an unknown mailbox `404 ErrorInvalidUser`, a missing
//! or expired token `401 InvalidAuthenticationToken`, the rate limit `429`
//! with `Retry-After`. Made up: ids, change keys and tokens are
//! recognisable counters, not Exchange's binary ids; `displayName` is
//! "given surname" when a create leaves it out.

pub mod delta;
mod query;
mod routes;
#[cfg(test)]
mod tests;

pub(crate) use routes::{api, control};

use crate::common::{iso, Clock, Gate};
use serde_json::{json, Map, Value};
use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

/// How the emulated tenant behaves.
#[derive(Clone, Debug)]
pub struct GraphOptions {
    /// The tenant in the token URL.
    pub tenant: String,
    /// The app registration's client id.
    pub client_id: String,
    /// Its client secret.
    pub client_secret: String,
    /// Token lifetime in seconds.
    pub token_ttl_s: u64,
    /// Requests per second before `429`.
    pub rps: Option<u32>,
}

impl Default for GraphOptions {
    fn default() -> GraphOptions {
        GraphOptions {
            tenant: "einklang-tenant".into(),
            client_id: "einklang-graph-app".into(),
            client_secret: "graph-s3cret".into(),
            token_ttl_s: 3599,
            rps: None,
        }
    }
}

/// The emulated tenant's mailboxes and tokens.
#[derive(Debug, Default)]
pub struct GraphState {
    /// Options.
    pub options: GraphOptions,
    /// The clock of `lastModifiedDateTime`.
    pub clock: Clock,
    /// Counters, rate limit, faults (`TOKEN` counts token requests).
    pub gate: Gate,
    /// Contacts by mailbox (lower-case user principal name), in creation order.
    pub mailboxes: BTreeMap<String, Vec<Map<String, Value>>>,
    /// Tokens and their expiry (epoch seconds).
    pub tokens: Vec<(String, i64)>,
    /// What delta queries read: every create, change and delete.
    pub changes: delta::Log,
    serial: u64,
}

/// List properties (empty until written).
const LISTS: &[&str] = &[
    "businessPhones",
    "categories",
    "children",
    "emailAddresses",
    "homePhones",
    "imAddresses",
];
/// Address properties (`{}` until written; merged by PATCH).
const ADDRESSES: &[&str] = &["businessAddress", "homeAddress", "otherAddress"];
/// Properties no client writes.
const READ_ONLY: &[&str] = &[
    "id",
    "changeKey",
    "createdDateTime",
    "lastModifiedDateTime",
    "parentFolderId",
];
/// The other properties (`null` until written).
const SCALARS: &[&str] = &[
    "assistantName",
    "birthday",
    "businessHomePage",
    "companyName",
    "department",
    "displayName",
    "fileAs",
    "generation",
    "givenName",
    "initials",
    "jobTitle",
    "manager",
    "middleName",
    "mobilePhone",
    "nickName",
    "officeLocation",
    "personalNotes",
    "profession",
    "spouseName",
    "surname",
    "title",
    "yomiCompanyName",
    "yomiGivenName",
    "yomiSurname",
];

/// Whether `name` is a property of the contact resource.
pub fn is_property(name: &str) -> bool {
    [LISTS, ADDRESSES, READ_ONLY, SCALARS]
        .iter()
        .any(|l| l.contains(&name))
}

/// Graph's error body.
pub fn error(code: &str, message: &str) -> Value {
    json!({"error": {"code": code, "message": message, "innerError": {"request-id": "00000000-0000-4000-8000-000000000000"}}})
}

impl GraphState {
    /// An empty tenant.
    pub fn new(options: GraphOptions) -> GraphState {
        GraphState {
            gate: Gate::limited(options.rps),
            options,
            ..GraphState::default()
        }
    }

    /// A new contact in `mailbox` (created if missing) from a create body.
    pub fn create(
        &mut self,
        mailbox: &str,
        body: &Map<String, Value>,
    ) -> Result<Map<String, Value>, Value> {
        check(body)?;
        let now = iso(self.clock.now());
        self.serial += 1;
        let mut c = Map::new();
        for k in SCALARS {
            c.insert(k.to_string(), Value::Null);
        }
        for k in LISTS {
            c.insert(k.to_string(), json!([]));
        }
        for k in ADDRESSES {
            c.insert(k.to_string(), json!({}));
        }
        c.insert(
            "id".into(),
            json!(format!("AAMkADEm{:08}AAA=", self.serial)),
        );
        c.insert("createdDateTime".into(), json!(now));
        c.insert("parentFolderId".into(), json!("AAMkADEmContactsAAA="));
        apply(&mut c, body);
        if c["displayName"].is_null() {
            let name = format!(
                "{} {}",
                c["givenName"].as_str().unwrap_or(""),
                c["surname"].as_str().unwrap_or("")
            );
            c.insert("displayName".into(), json!(name.trim()));
        }
        self.stamp(&mut c);
        self.mailboxes
            .entry(mailbox.to_lowercase())
            .or_default()
            .push(c.clone());
        self.changes.note(mailbox, c["id"].as_str().unwrap_or(""));
        Ok(c)
    }

    /// Apply a PATCH body to a contact; the contact as stored.
    pub fn patch(
        &mut self,
        mailbox: &str,
        id: &str,
        body: &Map<String, Value>,
    ) -> Result<Map<String, Value>, Value> {
        check(body)?;
        let mut c = self.find(mailbox, id).cloned().ok_or_else(not_found)?;
        apply(&mut c, body);
        self.stamp(&mut c);
        if let Some(slot) = self.find_mut(mailbox, id) {
            *slot = c.clone();
        }
        self.changes.note(mailbox, id);
        Ok(c)
    }

    /// Remove a contact; whether there was one.
    pub fn delete(&mut self, mailbox: &str, id: &str) -> bool {
        let Some(list) = self.mailboxes.get_mut(&mailbox.to_lowercase()) else {
            return false;
        };
        let before = list.len();
        list.retain(|c| c["id"] != json!(id));
        let gone = list.len() < before;
        if gone {
            self.changes.note(mailbox, id);
        }
        gone
    }

    /// A new change key and modification time.
    fn stamp(&mut self, c: &mut Map<String, Value>) {
        self.serial += 1;
        c.insert(
            "changeKey".into(),
            json!(format!("EQAAABYAAAD{:010}", self.serial)),
        );
        c.insert("lastModifiedDateTime".into(), json!(iso(self.clock.now())));
    }

    /// A contact of a mailbox.
    pub fn find(&self, mailbox: &str, id: &str) -> Option<&Map<String, Value>> {
        self.mailboxes
            .get(&mailbox.to_lowercase())?
            .iter()
            .find(|c| c["id"] == json!(id))
    }

    fn find_mut(&mut self, mailbox: &str, id: &str) -> Option<&mut Map<String, Value>> {
        self.mailboxes
            .get_mut(&mailbox.to_lowercase())?
            .iter_mut()
            .find(|c| c["id"] == json!(id))
    }
}

/// `404 ErrorItemNotFound`'s body.
pub fn not_found() -> Value {
    error(
        "ErrorItemNotFound",
        "The specified object was not found in the store.",
    )
}

/// A contact as the API answers it: `@odata.etag` first.
pub fn render(c: &Map<String, Value>) -> Value {
    let mut out = Map::new();
    out.insert(
        "@odata.etag".into(),
        json!(format!("W/\"{}\"", c["changeKey"].as_str().unwrap_or(""))),
    );
    out.extend(c.clone());
    Value::Object(out)
}

/// Refuse properties the resource does not have, and lists that are not lists.
fn check(body: &Map<String, Value>) -> Result<(), Value> {
    for (k, v) in body {
        if k.starts_with("@odata.") {
            continue;
        }
        if !is_property(k) {
            let m = format!("The property '{k}' does not exist on type 'microsoft.graph.contact'. Make sure to only use property names that are defined by the type or mark the type as open type.");
            return Err(error("RequestBodyRead", &m));
        }
        if LISTS.contains(&k.as_str()) && !(v.is_array() || v.is_null()) {
            return Err(error(
                "RequestBodyRead",
                &format!("Cannot convert the literal '{v}' to the expected type 'Collection'."),
            ));
        }
        if k == "emailAddresses" {
            check_emails(v)?;
        }
    }
    Ok(())
}

fn check_emails(v: &Value) -> Result<(), Value> {
    for e in v.as_array().into_iter().flatten() {
        let Some(obj) = e.as_object() else {
            return Err(error(
                "RequestBodyRead",
                "An emailAddress must be an object with name and address.",
            ));
        };
        if let Some(k) = obj.keys().find(|k| *k != "name" && *k != "address") {
            let m = format!(
                "The property '{k}' does not exist on type 'microsoft.graph.emailAddress'."
            );
            return Err(error("RequestBodyRead", &m));
        }
    }
    Ok(())
}

/// Write the body's properties: lists and scalars replaced, addresses merged.
fn apply(c: &mut Map<String, Value>, body: &Map<String, Value>) {
    for (k, v) in body {
        if k.starts_with("@odata.") || READ_ONLY.contains(&k.as_str()) {
            continue;
        }
        let v = match (k.as_str(), v) {
            (k, Value::Null) if LISTS.contains(&k) => json!([]),
            (k, Value::Null) if ADDRESSES.contains(&k) => json!({}),
            (k, Value::Object(part)) if ADDRESSES.contains(&k) => {
                let mut merged = c
                    .get(k)
                    .and_then(Value::as_object)
                    .cloned()
                    .unwrap_or_default();
                merged.extend(part.clone());
                Value::Object(merged)
            }
            (_, v) => v.clone(),
        };
        c.insert(k.clone(), v);
    }
}

/// The Graph tenant of a running emulator, for tests.
pub struct GraphHandle {
    pub(crate) url: String,
    pub(crate) state: Arc<Mutex<GraphState>>,
}

impl GraphHandle {
    /// The API's base URL (`{emu}/graph/v1.0`), as `https://graph.microsoft.com/v1.0`.
    pub fn base_url(&self) -> String {
        format!("{}/graph/v1.0", self.url)
    }

    /// The token URL of the configured tenant.
    pub fn token_url(&self) -> String {
        let tenant = self.state.lock().unwrap().options.tenant.clone();
        format!("{}/login/{tenant}/oauth2/v2.0/token", self.url)
    }

    /// Make a mailbox exist (empty).
    pub fn add_mailbox(&self, mailbox: &str) {
        self.state
            .lock()
            .unwrap()
            .mailboxes
            .entry(mailbox.to_lowercase())
            .or_default();
    }

    /// Add a contact to a mailbox (made if missing), as the API takes it; its id.
    pub fn insert(&self, mailbox: &str, fields: Value) -> String {
        let body = fields.as_object().cloned().unwrap_or_default();
        let c = self
            .state
            .lock()
            .unwrap()
            .create(mailbox, &body)
            .unwrap_or_else(|e| panic!("refused: {e}"));
        c["id"].as_str().unwrap_or("").to_string()
    }

    /// Change a contact as another client would (as PATCH does).
    pub fn update(&self, mailbox: &str, id: &str, fields: Value) {
        let body = fields.as_object().cloned().unwrap_or_default();
        self.state
            .lock()
            .unwrap()
            .patch(mailbox, id, &body)
            .unwrap_or_else(|e| panic!("refused: {e}"));
    }

    /// Delete a contact.
    pub fn delete(&self, mailbox: &str, id: &str) {
        self.state.lock().unwrap().delete(mailbox, id);
    }

    /// A contact as the API answers it (with `@odata.etag`).
    pub fn get(&self, mailbox: &str, id: &str) -> Option<Value> {
        self.state.lock().unwrap().find(mailbox, id).map(render)
    }

    /// Make every delta and skip token issued so far unknown: the next
    /// delta request with one is answered `410 Gone` (`SyncStateNotFound`),
    /// as Exchange answers a token that fell out of its cache.
    pub fn expire_delta_tokens(&self) {
        self.state.lock().unwrap().changes.expire();
    }

    /// A mailbox's contacts, in creation order.
    pub fn all(&self, mailbox: &str) -> Vec<Value> {
        let s = self.state.lock().unwrap();
        s.mailboxes
            .get(&mailbox.to_lowercase())
            .map_or(Vec::new(), |l| l.iter().map(render).collect())
    }
}

crate::common::controls!(GraphHandle);
