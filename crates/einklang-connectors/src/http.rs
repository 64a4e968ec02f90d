//! `http` and `graphql`: a REST or GraphQL API as a peer, configured, not
//! coded ([`spec`] has every setting). One record is one JSON object of
//! the listing; its raw fields are the object's keys.
//!
//! - **Reading.** A full read walks the listing ([`pages`]) before it
//!   yields a record: a listing that breaks off fails the read, so half a
//!   listing can never look like deleted records. With
//!   `changes`, later reads ask only for records changed since the last
//!   read (a filter parameter with `{since}`, written as rfc3339, epoch
//!   seconds or milliseconds, or any strftime format in a zone): the
//!   window starts at the server's clock (`Date`) of the previous read's
//!   first answer, one second earlier, less `overlap_s`, and records seen
//!   again with the version already linked cost nothing. A delta feed
//!   (`delta`: Microsoft Graph) stores the link its round ends with as the
//!   cursor; `cursor` walks the first round and `read` serves it; entries
//!   marked `removed` are deletes; an `expired` status (410) is "cursor
//!   unknown", so the engine reads in full in the same run.
//!   Records of a change listing are kept for the `fetch` that follows, so
//!   an incremental read is one listing, not a request per record. Deleted
//!   ids come from `deletes`, where the API shows them (Directus:
//!   `/activity`); without it a deletion is seen by a full read.
//! - **Writing.** One request per operation from the `create`, `update`
//!   and `delete` templates; the id and version come from the answer (a
//!   record at the call's `record` pointer). A 412 is a conflict, 404 (and
//!   `get.missing`) not found, 403 forbidden, 400/422 rejected, 429 rate
//!   limited, 5xx transient ([`client`] has retries and the rate limit).
//!   Every operation runs in a debug span; every request is traced.
//! - **Sub-resources** ([`children`]): child lists at endpoints of their
//!   own (Advoware's Kommunikationen), read per parent where the answer
//!   lacks them, written child by child, removals blanked where the API
//!   cannot delete; the parent's version carries its children's.
//! - **Ids.** A `create` whose path holds `{id}` uses einklang's marker as
//!   the id; otherwise the server assigns one, and `marker_field` keeps
//!   the marker in the record so a create whose answer was lost is found.

mod children;
pub mod client;
mod oauth2;
pub mod pages;
mod signed;
pub mod spec;
pub mod template;
mod token;
pub mod webhook;
mod write;

use crate::Lookup;
use crate::{
    Capabilities, ChangeFeed, Connector, ConnectorError, Delivery, Listed, RawFields, RawRecord,
    ReadItem, Rejected, WriteOp, WriteOutcome,
};
use client::{Client, Reply};
use serde_json::Value;
use spec::{Call, Spec};
use std::collections::HashMap;
use template::Vars;

/// An `http` or `graphql` connector.
pub struct Http {
    name: String,
    spec: Spec,
    client: Client,
    /// Records of the last change listing, by id, for `fetch`.
    cache: HashMap<String, RawRecord>,
    /// The full round of a delta feed that `cursor` walked, for the
    /// `read` right after it (the round is the listing: no second walk).
    round: Option<Vec<Value>>,
    /// Records of a connector with `children` as `fetch` gave them, for
    /// the update that follows to write the child lists onto.
    held: HashMap<String, RawFields>,
}

impl Http {
    /// A connector from a checked spec (no I/O until first used).
    pub fn new(name: &str, spec: Spec) -> Http {
        let client = Client::new(
            name,
            &spec.base_url,
            spec.auth.clone(),
            spec.rate_limit,
            spec.retry.clone(),
            spec.timeout_s,
        );
        Http {
            name: name.to_string(),
            spec,
            client,
            cache: HashMap::new(),
            round: None,
            held: HashMap::new(),
        }
    }

    /// Requests sent so far (retries and token requests included).
    pub fn calls(&self) -> u64 {
        self.client.calls
    }

    /// An incoming webhook call, checked against the `webhook` settings.
    pub fn webhook_delivery(
        &self,
        query: &str,
        headers: &[(String, String)],
        body: &[u8],
    ) -> Result<Delivery, String> {
        let Some(w) = &self.spec.webhook else {
            return Err(format!(
                "connector `{}` has no `webhook` settings",
                self.name
            ));
        };
        webhook::verify_call(w, query, headers, body)
    }

    fn kind_name(&self) -> &'static str {
        if self.spec.graphql {
            "graphql"
        } else {
            "http"
        }
    }

    fn client_ids(&self) -> bool {
        self.spec.create.as_ref().is_some_and(|c| {
            c.path.contains("{id}")
                || c.body
                    .as_ref()
                    .is_some_and(|b| b.to_string().contains("\"{id}\""))
        })
    }

    /// A listed object as a record (or a reject naming where it was). A
    /// numeric id becomes text: ids are opaque to einklang.
    fn record(&self, value: Value, position: String) -> ReadItem {
        let Value::Object(mut fields) = value else {
            let reason = format!(
                "expected a record (a JSON object), found {}",
                pages::kind_of(&value)
            );
            return ReadItem::Reject(Rejected {
                position,
                raw: crate::excerpt(&value.to_string(), 4096),
                reason,
            });
        };
        if template::scalar(template::field(&fields, &self.spec.id).as_deref()).is_none() {
            let reason = format!("the record has no id at `{}`", self.spec.id);
            return ReadItem::Reject(Rejected {
                position,
                raw: crate::excerpt(&Value::Object(fields).to_string(), 4096),
                reason,
            });
        }
        if let Some(n @ Value::Number(_)) = fields.get(&self.spec.id) {
            let text = Value::String(n.to_string());
            fields.insert(self.spec.id.clone(), text);
        }
        let version = self.version_of(&fields);
        ReadItem::Record(RawRecord {
            position,
            fields,
            version,
        })
    }

    /// The record's version: its own, and a hash of its children's
    /// versions where `children` have them (a child's write leaves the
    /// parent's own version alone).
    fn version_of(&self, fields: &RawFields) -> Option<String> {
        let own = self
            .spec
            .version
            .iter()
            .find_map(|f| template::scalar(template::field(fields, f).as_deref()));
        match self.children_hash(fields) {
            Some(h) => Some(format!("{}+{h}", own.unwrap_or_default())),
            None => own,
        }
    }

    /// A listed or read object with its child lists filled in.
    fn with_children(&mut self, mut v: Value) -> Result<Value, ConnectorError> {
        if let Value::Object(fields) = &mut v {
            self.fill_children(fields)?;
        }
        Ok(v)
    }

    fn id_of(&self, fields: &RawFields) -> Option<String> {
        template::scalar(template::field(fields, &self.spec.id).as_deref())
    }

    /// Walk a listing; failures become errors of the read.
    fn walk(&mut self, call: &Call, vars: &Vars<'_>) -> Result<pages::Listing, ConnectorError> {
        pages::walk(&mut self.client, &self.spec, call, vars).map_err(|f| self.client.error(f))
    }

    /// The `{since}` text of an instant in the configured format (a
    /// strftime format in its zone, through the checked writer).
    fn since_text(&self, t: chrono::DateTime<chrono::Utc>) -> String {
        let rfc3339 = || t.format("%Y-%m-%dT%H:%M:%SZ").to_string();
        match self.spec.changes.as_ref() {
            Some(c) if c.format == "epoch" => t.timestamp().to_string(),
            Some(c) if c.format == "epoch_ms" => t.timestamp_millis().to_string(),
            Some(c) if c.format == "rfc3339" => rfc3339(),
            Some(c) => einklang_core::transform::format::write_datetime(t, &c.format, c.tz)
                .unwrap_or_else(rfc3339),
            None => rfc3339(),
        }
    }

    /// The cursor for a window starting at the server's clock `date` (the
    /// first answer of a read): one second earlier, since `Date` has whole
    /// seconds and a server may compare "after" strictly, less `overlap_s`
    /// for clock steps and commits slower than the read.
    fn cursor_at(&self, date: Option<chrono::DateTime<chrono::Utc>>) -> String {
        let overlap = self.spec.changes.as_ref().map_or(60, |c| c.overlap_s);
        let now = date.unwrap_or_else(chrono::Utc::now);
        self.since_text(now - chrono::Duration::seconds(overlap + 1))
    }

    /// One round of the delta feed from `url` (`None`: the server forgot it).
    fn round(&mut self, url: &str) -> Result<Option<(Vec<Value>, String)>, ConnectorError> {
        let Some(changes) = self.spec.changes.clone() else {
            return Ok(None);
        };
        let Some(delta) = &changes.delta else {
            return Ok(None);
        };
        let round = pages::round(
            &mut self.client,
            url,
            &changes.call.select,
            delta,
            &changes.expired,
        )
        .map_err(|f| self.client.error(f))?;
        Ok(match round {
            pages::Round::Done { entries, link } => Some((entries, link)),
            pages::Round::Expired => None,
        })
    }

    /// Whether a delta entry is a removal mark.
    fn removed(&self, entry: &Value) -> bool {
        let Some(p) = self
            .spec
            .changes
            .as_ref()
            .and_then(|c| c.delta.as_ref()?.removed.as_ref())
        else {
            return false;
        };
        entry
            .as_object()
            .and_then(|e| template::field(e, p))
            .is_some_and(|v| !v.is_null())
    }

    /// A cursor that is a delta link; a feed's first round when there is none.
    fn delta_changes(&mut self, cursor: &str) -> Result<Option<ChangeFeed>, ConnectorError> {
        // a cursor of another kind of feed (the settings changed): read in full
        if !(cursor.starts_with("http://")
            || cursor.starts_with("https://")
            || cursor.starts_with('/'))
        {
            return Ok(None);
        }
        let url = self.client.url(cursor, "");
        let Some((entries, link)) = self.round(&url)? else {
            return Ok(None);
        };
        let mut changed: Vec<Listed> = Vec::new();
        let mut deleted: Vec<String> = Vec::new();
        for (i, v) in entries.into_iter().enumerate() {
            let removed = self.removed(&v);
            let id = v
                .as_object()
                .and_then(|e| template::scalar(template::field(e, &self.spec.id).as_deref()));
            if removed {
                if let Some(id) = id {
                    changed.retain(|l| l.id != id);
                    self.cache.remove(&id);
                    deleted.retain(|d| *d != id);
                    deleted.push(id);
                }
                continue;
            }
            let listed = self.cache_changed(i, v)?;
            changed.retain(|l| l.id != listed.id);
            deleted.retain(|d| *d != listed.id);
            changed.push(listed);
        }
        Ok(Some(ChangeFeed {
            changed,
            deleted,
            cursor: link,
        }))
    }

    /// One reading request (a GET, a GraphQL query) with retries; the
    /// URL (for messages) and the answer, whatever its status.
    fn ask(&mut self, call: &Call, vars: &Vars<'_>) -> Result<(String, Reply), ConnectorError> {
        let url = self.client.url(
            &template::path(&call.path, vars),
            &template::query(&call.params, vars),
        );
        let body = call.body.as_ref().map(|b| template::fill(b, vars));
        let reply = self
            .client
            .send(&call.method, &url, body.as_ref(), &[], true)
            .map_err(|f| self.client.error(f))?;
        Ok((url, reply))
    }

    /// One reading request whose answer is JSON ([`Self::ask`]): the URL
    /// (for messages) and the value at the call's `select`, `None` where
    /// there is nothing or `null` there — and, with `missing`, where the
    /// status is one the spec names as "not there". Any other status
    /// outside 2xx, and an answer that is not JSON, are errors.
    fn ask_json(
        &mut self,
        call: &Call,
        vars: &Vars<'_>,
        missing: bool,
    ) -> Result<(String, Option<Value>), ConnectorError> {
        let (url, reply) = self.ask(call, vars)?;
        if missing && self.spec.missing.contains(&reply.status) {
            return Ok((url, None));
        }
        if !(200..300).contains(&reply.status) {
            return Err(self.refused(call, &url, &reply));
        }
        let value = self
            .client
            .parse(&call.method, &url, &reply)
            .map_err(|f| self.client.error(f))?;
        let selected = template::at(&value, &call.select).filter(|v| !v.is_null());
        Ok((url, selected.cloned()))
    }

    /// A non-2xx answer as an error of the connector.
    fn refused(&self, call: &Call, url: &str, reply: &Reply) -> ConnectorError {
        self.client
            .error(self.client.failure(&call.method, url, Some(reply), ""))
    }

    /// The `i`-th changed record of a feed, kept for the fetch that
    /// follows; its id and version.
    fn cache_changed(&mut self, i: usize, v: Value) -> Result<Listed, ConnectorError> {
        let v = self.with_children(v)?;
        match self.record(v, format!("changed record {}", i + 1)) {
            ReadItem::Record(r) => {
                let id = self.id_of(&r.fields).unwrap_or_default();
                let listed = Listed {
                    id: id.clone(),
                    version: r.version.clone(),
                };
                self.cache.insert(id, r);
                Ok(listed)
            }
            ReadItem::Reject(r) | ReadItem::Broken(r) => Err(ConnectorError::Other {
                connector: self.name.clone(),
                message: format!("{}: {}", r.position, r.reason),
            }),
        }
    }

    /// One record by id through `get` (`None`: not there).
    fn get(&mut self, id: &str) -> Result<Option<ReadItem>, ConnectorError> {
        let Some(call) = self.spec.get.clone() else {
            return Err(self.unsupported("read one record by id (no `get` request is configured)"));
        };
        let vars = Vars {
            id: Some(id),
            ..Vars::default()
        };
        let (_, selected) = self.ask_json(&call, &vars, true)?;
        match selected {
            None => Ok(None),
            Some(v) => {
                let v = self.with_children(v)?;
                Ok(Some(self.record(v, format!("id {id}"))))
            }
        }
    }
}

impl Connector for Http {
    fn name(&self) -> &str {
        &self.name
    }

    fn kind(&self) -> &'static str {
        self.kind_name()
    }

    fn capabilities(&self) -> Capabilities {
        let s = &self.spec;
        Capabilities {
            read: true,
            write: s.create.is_some() || s.update.is_some(),
            delete: s.delete.is_some(),
            fingerprint: false,
            version_tokens: !s.version.is_empty(),
            list_versions: false,
            fetch: s.get.is_some(),
            change_feed: s.changes.is_some(),
            key_field: (!s.id.starts_with('/')).then(|| s.id.clone()),
            client_ids: self.client_ids(),
            finds_created: (self.client_ids() && self.spec.get.is_some())
                || self.spec.marker_field.is_some(),
            partial_update: s.update.as_ref().is_some_and(|u| u.method != "PUT"),
            conditional_writes: s.conditional.is_some(),
            // child lists are written through their own requests
            writable: s.writable.clone().map(|mut w| {
                w.extend(s.children.iter().map(|c| c.field.clone()));
                w
            }),
            batch_size: 50,
        }
    }

    fn fingerprint(&mut self) -> Result<Option<String>, ConnectorError> {
        Ok(None)
    }

    fn webhook(
        &self,
        query: &str,
        headers: &[(String, String)],
        body: &[u8],
    ) -> Option<Result<Delivery, String>> {
        self.spec.webhook.as_ref()?;
        Some(self.webhook_delivery(query, headers, body))
    }

    fn probe(&mut self) -> Result<String, ConnectorError> {
        let _span = crate::calls::span(&self.name, self.kind_name(), "probe");
        self.round = None;
        // the first page of the listing: reachable, authorised, JSON
        let call = self.spec.list.clone();
        let vars = Vars::default();
        let url = self.client.url(
            &template::path(&call.path, &vars),
            &template::query(&call.params, &vars),
        );
        let body = call.body.as_ref().map(|b| template::fill(b, &vars));
        let (_, value) = self
            .client
            .json(&call.method, &url, body.as_ref(), self.spec.graphql)
            .map_err(|f| self.client.error(f))?;
        let n = template::at(&value, &call.select)
            .and_then(Value::as_array)
            .map_or(0, Vec::len);
        Ok(format!(
            "{} answers ({n} records on the first page)",
            self.spec.base_url
        ))
    }

    fn read(&mut self) -> Result<Box<dyn Iterator<Item = ReadItem> + '_>, ConnectorError> {
        let _span = crate::calls::span(&self.name, self.kind_name(), "read");
        self.held.clear();
        // the delta round `cursor` just walked is the complete listing
        if let Some(entries) = self.round.take() {
            let records: Vec<Value> = entries.into_iter().filter(|e| !self.removed(e)).collect();
            let mut items: Vec<ReadItem> = Vec::with_capacity(records.len());
            for (i, v) in records.into_iter().enumerate() {
                let v = self.with_children(v)?;
                items.push(self.record(v, format!("record {}", i + 1)));
            }
            return Ok(Box::new(items.into_iter()));
        }
        let call = self.spec.list.clone();
        // the first page before the read starts: a listing that cannot
        // begin (credentials, a wrong path) is the read's error
        let mut walker = pages::Walker::default();
        let first = walker.next_page(&mut self.client, &self.spec, &call, &Vars::default());
        let first = first.map_err(|f| self.client.error(f))?;
        Ok(Box::new(Paged {
            conn: self,
            call,
            walker,
            over: first.is_none(),
            page: first.unwrap_or_default().into(),
            read: 0,
        }))
    }

    fn fetch(&mut self, ids: &[String]) -> Result<Vec<ReadItem>, ConnectorError> {
        let _span = crate::calls::span(&self.name, self.kind_name(), "fetch");
        let mut out = Vec::with_capacity(ids.len());
        for id in ids {
            let item = match self.cache.remove(id) {
                Some(r) => ReadItem::Record(r),
                None => match self.get(id)? {
                    Some(item) => item,
                    None => continue,
                },
            };
            if let ReadItem::Record(r) = &item {
                if !self.spec.children.is_empty() {
                    self.held.insert(id.clone(), r.fields.clone());
                }
            }
            out.push(item);
        }
        Ok(out)
    }

    fn cursor(&mut self) -> Result<String, ConnectorError> {
        let _span = crate::calls::span(&self.name, self.kind_name(), "cursor");
        let Some(changes) = self.spec.changes.clone() else {
            return Err(
                self.unsupported("tell its change cursor (no `changes` request is configured)")
            );
        };
        self.round = None;
        if changes.delta.is_some() {
            // a delta feed's position is the end of a full round: walk it
            // and keep it for the read that follows
            let call = &changes.call;
            let vars = Vars::default();
            let url = self.client.url(
                &template::path(&call.path, &vars),
                &template::query(&call.params, &vars),
            );
            let Some((entries, link)) = self.round(&url)? else {
                let detail = "the first round of the delta feed was refused as expired";
                return Err(self
                    .client
                    .error(self.client.failure("GET", &url, None, detail)));
            };
            self.round = Some(entries);
            return Ok(link);
        }
        // the server's clock, from an answer that lists nothing (since now)
        let probe = self.since_text(chrono::Utc::now() + chrono::Duration::days(1));
        let vars = Vars {
            since: Some(&probe),
            ..Vars::default()
        };
        let (url, reply) = self.ask(&changes.call, &vars)?;
        if !(200..300).contains(&reply.status) {
            return Err(self.refused(&changes.call, &url, &reply));
        }
        Ok(self.cursor_at(reply.date))
    }

    fn changes(&mut self, cursor: &str) -> Result<Option<ChangeFeed>, ConnectorError> {
        let _span = crate::calls::span(&self.name, self.kind_name(), "changes");
        let Some(changes) = self.spec.changes.clone() else {
            return Err(self.unsupported("list changes (no `changes` request is configured)"));
        };
        self.round = None;
        if changes.delta.is_some() {
            self.cache.clear();
            return self.delta_changes(cursor);
        }
        let vars = Vars {
            since: Some(cursor),
            ..Vars::default()
        };
        let listing = match pages::walk(&mut self.client, &self.spec, &changes.call, &vars) {
            Ok(l) => l,
            // the server no longer takes this cursor: read in full
            Err(f) if f.status.is_some_and(|s| changes.expired.contains(&s)) => return Ok(None),
            Err(f) => return Err(self.client.error(f)),
        };
        let next = self.cursor_at(listing.date);
        self.cache.clear();
        let mut changed = Vec::new();
        for (i, v) in listing.records.into_iter().enumerate() {
            changed.push(self.cache_changed(i, v)?);
        }
        let mut deleted = Vec::new();
        if let Some(d) = self.spec.deletes.clone() {
            for entry in self.walk(&d.call, &vars)?.records {
                let id = entry
                    .as_object()
                    .and_then(|e| template::scalar(template::field(e, &d.id).as_deref()));
                if let Some(id) = id.filter(|id| !self.cache.contains_key(id)) {
                    deleted.push(id);
                }
            }
        }
        Ok(Some(ChangeFeed {
            changed,
            deleted,
            cursor: next,
        }))
    }

    fn write(
        &mut self,
        _key_field: &str,
        ops: &[WriteOp],
    ) -> Result<Vec<crate::WriteResult>, ConnectorError> {
        let _span = crate::calls::span(&self.name, self.kind_name(), "write");
        self.round = None;
        let mut results = Vec::with_capacity(ops.len());
        for op in ops {
            let result = match op {
                WriteOp::Create { marker, fields } => self.create(op, marker, fields),
                WriteOp::Update {
                    id,
                    fields,
                    expected_version,
                } => self.update(op, id, fields, expected_version.as_ref()),
                WriteOp::Delete {
                    id,
                    expected_version,
                } => self.delete(op, id, expected_version.as_ref()),
            };
            results.push(result);
        }
        Ok(results)
    }

    fn find_created(&mut self, _key_field: &str, marker: &str) -> Result<Lookup, ConnectorError> {
        let _span = crate::calls::span(&self.name, self.kind_name(), "find_created");
        if self.client_ids() && self.spec.get.is_some() {
            return Ok(match self.get(marker)? {
                Some(ReadItem::Record(r)) => Lookup::Found(WriteOutcome {
                    id: marker.to_string(),
                    version: r.version,
                    record: None,
                    complete: false,
                    unwritten: Vec::new(),
                }),
                _ => Lookup::Absent,
            });
        }
        let Some(field) = self.spec.marker_field.clone() else {
            return Ok(Lookup::CannotTell);
        };
        let call = self.spec.list.clone();
        for v in self.walk(&call, &Vars::default())?.records {
            if let Some(r) = v.as_object().filter(|r| {
                template::field(r, &field).as_deref() == Some(&Value::String(marker.into()))
            }) {
                if let Some(id) = self.id_of(r) {
                    return Ok(Lookup::Found(WriteOutcome {
                        id,
                        version: self.version_of(r),
                        record: None,
                        complete: false,
                        unwritten: Vec::new(),
                    }));
                }
            }
        }
        Ok(Lookup::Absent)
    }
}

/// The listing of a read, a page at a time: the records of one page are
/// handed on before the next is asked for, so memory holds one page. A
/// page that fails ends the read with [`ReadItem::Broken`] — the records
/// handed on before it are not the whole source.
struct Paged<'c> {
    conn: &'c mut Http,
    call: Call,
    walker: pages::Walker,
    page: std::collections::VecDeque<Value>,
    /// Records handed on so far.
    read: usize,
    over: bool,
}

impl Paged<'_> {
    fn broken(&mut self, position: String, e: ConnectorError) -> ReadItem {
        self.over = true;
        self.page.clear();
        ReadItem::Broken(Rejected {
            position,
            raw: String::new(),
            reason: format!("the read broke off: {e}"),
        })
    }
}

impl Iterator for Paged<'_> {
    type Item = ReadItem;

    fn next(&mut self) -> Option<ReadItem> {
        loop {
            if let Some(v) = self.page.pop_front() {
                self.read += 1;
                let position = format!("record {}", self.read);
                return Some(match self.conn.with_children(v) {
                    Ok(v) => self.conn.record(v, position),
                    Err(e) => self.broken(position, e),
                });
            }
            if self.over {
                return None;
            }
            let c = &mut *self.conn;
            let next =
                (self.walker).next_page(&mut c.client, &c.spec, &self.call, &Vars::default());
            match next {
                Ok(Some(items)) => self.page.extend(items),
                Ok(None) => {
                    self.over = true;
                    return None;
                }
                Err(f) => {
                    let e = c.client.error(f);
                    let position = format!("after record {}", self.read);
                    return Some(self.broken(position, e));
                }
            }
        }
    }
}
