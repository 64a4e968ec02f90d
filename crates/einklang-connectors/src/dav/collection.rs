//! One DAV collection (an address book or a calendar) as a connector:
//! everything CardDAV and CalDAV share. What differs — the item format,
//! the report and property names, how a collection is made — comes from
//! an [`ItemFormat`].
//!
//! - A record is one item (a `.vcf` or `.ics` resource) read into raw
//!   fields, plus `href`: its name in the collection, which is the key.
//! - The version token is the item's ETag. `list` is a `PROPFIND` of the
//!   collection's ETags, `fetch` a multiget `REPORT`, `changes` a
//!   `sync-collection` since a sync token (RFC 6578; a token the server no
//!   longer knows, 403 or 412, means "read in full").
//! - A create is a `PUT` with `If-None-Match: *` under a name made from the
//!   marker, with the marker as UID, so a create whose answer was lost is
//!   found again (`find_created`) and a re-sent one is answered by the
//!   first. An update merges the given fields into the current item — the
//!   one fetched in this process if its ETag still holds, else one `GET` —
//!   keeps every property einklang does not own (and of a card every line
//!   whose value did not change), and `PUT`s it with
//!   `If-Match`; a delete is a `DELETE` with `If-Match`. 412 is a conflict
//!   (re-read, re-plan), 404 not found; a 429 the client could not wait
//!   out is rate limited, 5xx transient (both retried on the schedule).

use super::{Answer, Dav, Entry};
use crate::file::vcard::file_stem;
use crate::ops::op_error;
use crate::Lookup;
use crate::{
    Capabilities, ChangeFeed, ConnectorError, Listed, RawFields, RawRecord, ReadItem, Rejected,
    WriteError, WriteErrorKind, WriteOp, WriteOutcome, WriteResult,
};
use serde_json::Value;
use std::collections::HashMap;

/// The raw field holding an item's name in the collection.
pub const KEY: &str = "href";

/// Items per multiget.
const MULTIGET: usize = 100;

/// What a kind of DAV item is: its format and its protocol names.
pub trait ItemFormat {
    /// Connector kind (`carddav`).
    const KIND: &'static str;
    /// What one item is called in messages (`card`).
    const ITEM: &'static str;
    /// What the collection is called in messages (`address book`).
    const COLLECTION: &'static str;
    /// The `resourcetype` of such a collection (`addressbook`).
    const RESOURCE_TYPE: &'static str;
    /// File extension of new items (`.vcf`).
    const EXT: &'static str;
    /// Content-Type of items.
    const MEDIA: &'static str;
    /// The multiget REPORT element with its namespace prefix `C`
    /// (`C:addressbook-multiget`) and the data property (`C:address-data`).
    const MULTIGET: &'static str;
    /// See [`Self::MULTIGET`].
    const DATA: &'static str;
    /// The namespace bound to `C`.
    const NS: &'static str;
    /// The home-set property that discovery follows (`addressbook-home-set`).
    const HOME_SET: &'static str;

    /// The method and body that make a collection.
    fn make_collection() -> (&'static str, String);
    /// An item's text as raw fields, or why it is not one.
    fn read(text: &str) -> Result<RawFields, String>;
    /// The text of a new item with UID `uid`, or why the fields make none.
    fn create(uid: &str, fields: &RawFields) -> Result<String, String>;
    /// The item `text` with `fields` merged in, unknown properties kept.
    fn rewrite(text: &str, fields: &RawFields) -> Result<String, String>;
    /// The UID of an item.
    fn uid(text: &str) -> Option<String>;
    /// The raw fields it writes (`None`: all it reads).
    fn writable() -> Option<Vec<String>>;
}

/// A DAV collection as a connector; the [`crate::Connector`] impl is in
/// `dav/connector.rs`.
pub struct Collection<F> {
    pub(super) name: String,
    pub(super) dav: Dav,
    /// Set when `url` names a server or principal and the collection is
    /// found by discovery (`collection` setting); cleared once found.
    pub(super) discover: Option<super::discover::Wanted>,
    /// Items fetched in this process: name → (ETag, text), so an update of
    /// an item just read needs no GET.
    items: HashMap<String, (String, String)>,
    format: std::marker::PhantomData<F>,
}

impl<F: ItemFormat> Collection<F> {
    /// A connector for the collection at `url`, or (with `collection`) for
    /// the collection of that name found from `url` by discovery.
    pub(crate) fn new(
        name: &str,
        url: &str,
        collection: Option<&str>,
        user: Option<&str>,
        password: Option<&str>,
    ) -> Self {
        let discover = Some(super::discover::Wanted {
            name: collection.map(str::to_string),
        });
        Collection {
            name: name.to_string(),
            dav: Dav::new(name, url, user, password),
            discover,
            items: HashMap::new(),
            format: std::marker::PhantomData,
        }
    }

    pub(super) fn capabilities(&self) -> Capabilities {
        Capabilities {
            read: true,
            write: true,
            delete: true,
            fingerprint: false,
            version_tokens: true,
            list_versions: true,
            fetch: true,
            change_feed: true,
            key_field: Some(KEY.into()),
            client_ids: false,
            finds_created: true,
            partial_update: true,
            conditional_writes: true,
            writable: F::writable().map(|mut w| {
                w.push(KEY.into());
                w
            }),
            batch_size: 100,
        }
    }

    /// The item name of a marker (`ek-17.vcf`).
    fn item_name(marker: &str) -> String {
        format!("{}{}", file_stem(marker), F::EXT)
    }

    /// The items of a multistatus with their names, without the
    /// collection itself or sub-collections.
    fn named<'e>(&'e self, entries: &'e [Entry]) -> impl Iterator<Item = (String, &'e Entry)> + 'e {
        entries
            .iter()
            .filter(|e| !e.is("collection"))
            .filter_map(|e| Some((self.dav.name_in(&e.href)?, e)))
    }

    /// Parse a fetched item into a record (and remember its text).
    fn record(&mut self, name: String, entry: &Entry) -> ReadItem {
        let position = format!("href {name}");
        let data = entry.data.clone().unwrap_or_default();
        match F::read(&data) {
            Ok(mut fields) => {
                fields.insert(KEY.into(), Value::String(name.clone()));
                if let Some(etag) = &entry.etag {
                    self.items.insert(name, (etag.clone(), data));
                }
                ReadItem::Record(RawRecord {
                    position,
                    fields,
                    version: entry.etag.clone(),
                })
            }
            Err(reason) => ReadItem::Reject(Rejected {
                position,
                raw: crate::excerpt(&data, 4096),
                reason,
            }),
        }
    }

    pub(super) fn list(&mut self) -> Result<Vec<Listed>, ConnectorError> {
        let url = self.dav.collection.clone();
        let m = self.dav.multi("PROPFIND", &url, "1", LIST)?;
        let listed = self.named(&m.entries).filter(|(_, e)| e.status / 100 == 2);
        Ok(listed
            .map(|(id, e)| Listed {
                id,
                version: e.etag.clone(),
            })
            .collect())
    }

    pub(super) fn fetch(&mut self, ids: &[String]) -> Result<Vec<ReadItem>, ConnectorError> {
        let url = self.dav.collection.clone();
        let mut out = Vec::new();
        for chunk in ids.chunks(MULTIGET) {
            let m = self.dav.multi("REPORT", &url, "1", &self.multiget(chunk))?;
            let found: Vec<(String, Entry)> = self
                .named(&m.entries)
                .filter(|(_, e)| e.status / 100 == 2 && e.data.is_some())
                .map(|(n, e)| (n, e.clone()))
                .collect();
            for (name, e) in found {
                out.push(self.record(name, &e));
            }
        }
        Ok(out)
    }

    fn multiget(&self, names: &[String]) -> String {
        let refs: String = names
            .iter()
            .map(|n| format!("<D:href>{}</D:href>", xml_escape(&self.dav.href_of(n))))
            .collect();
        format!(
            r#"<?xml version="1.0" encoding="utf-8"?><{m} xmlns:D="DAV:" xmlns:C="{ns}"><D:prop><D:getetag/><{d}/></D:prop>{refs}</{m}>"#,
            m = F::MULTIGET,
            ns = F::NS,
            d = F::DATA,
        )
    }

    pub(super) fn cursor(&mut self) -> Result<String, ConnectorError> {
        let url = self.dav.collection.clone();
        let m = self.dav.multi("PROPFIND", &url, "0", TOKEN)?;
        m.sync_token.ok_or_else(|| {
            self.dav.error(
                "PROPFIND",
                &url,
                Some(207),
                "the server names no sync-token",
            )
        })
    }

    pub(super) fn changes(&mut self, cursor: &str) -> Result<Option<ChangeFeed>, ConnectorError> {
        let url = self.dav.collection.clone();
        let body = format!(
            r#"<?xml version="1.0" encoding="utf-8"?><D:sync-collection xmlns:D="DAV:"><D:sync-token>{}</D:sync-token><D:sync-level>1</D:sync-level><D:prop><D:getetag/></D:prop></D:sync-collection>"#,
            xml_escape(cursor)
        );
        let answer = self
            .dav
            .call("REPORT", &url, &super::xml_headers("1"), Some(body))?;
        if matches!(answer.status, 403 | 409 | 412) {
            return Ok(None); // the server no longer knows this token
        }
        let m = self.dav.expect_multi("REPORT", &url, answer)?;
        let mut feed = ChangeFeed {
            cursor: m.sync_token.clone().unwrap_or_else(|| cursor.to_string()),
            ..ChangeFeed::default()
        };
        for (id, e) in self.named(&m.entries) {
            match e.status {
                404 => feed.deleted.push(id),
                s if s / 100 == 2 => feed.changed.push(Listed {
                    id,
                    version: e.etag.clone(),
                }),
                _ => {}
            }
        }
        Ok(Some(feed))
    }

    /// The item the marker names, if it is ours (its UID is the marker).
    pub(super) fn find_created(&mut self, marker: &str) -> Result<Lookup, ConnectorError> {
        let name = Self::item_name(marker);
        let url = self.dav.url_of(&name);
        let answer = self.dav.call("GET", &url, &[], None)?;
        match answer.status {
            404 | 410 => Ok(Lookup::Absent),
            200 if F::uid(&answer.body).as_deref() == Some(marker) => {
                Ok(Lookup::Found(WriteOutcome {
                    id: name,
                    version: answer.etag,
                    record: None,
                    complete: false,
                    unwritten: Vec::new(),
                }))
            }
            // another item sits under our name: ours cannot be there
            200 => Ok(Lookup::Absent),
            s => Err(self.dav.error("GET", &url, Some(s), &answer.body)),
        }
    }

    /// Make the collection when it does not exist.
    pub(super) fn install(&mut self) -> Result<Vec<String>, ConnectorError> {
        let url = self.dav.collection.clone();
        let probe = self.dav.call(
            "PROPFIND",
            &url,
            &super::xml_headers("0"),
            Some(TOKEN.into()),
        )?;
        if probe.status == 207 {
            return Ok(Vec::new());
        }
        let (method, body) = F::make_collection();
        let made = self
            .dav
            .call(method, &url, &super::xml_headers("0"), Some(body))?;
        match made.status {
            200 | 201 => Ok(vec![format!(
                "{} {}",
                F::COLLECTION,
                self.dav.collection_path()
            )]),
            s => Err(self.dav.error(method, &url, Some(s), &made.body)),
        }
    }

    pub(super) fn one(&mut self, op: &WriteOp) -> WriteResult {
        match op {
            WriteOp::Create { marker, fields } => self.create(op, marker, fields),
            WriteOp::Update {
                id,
                fields,
                expected_version,
            } => self.update(op, id, fields, expected_version.as_deref()),
            WriteOp::Delete {
                id,
                expected_version,
            } => {
                let url = self.dav.url_of(id);
                let headers: Vec<(&str, &str)> = expected_version
                    .iter()
                    .map(|v| ("If-Match", v.as_str()))
                    .collect();
                let answer = self
                    .dav
                    .call("DELETE", &url, &headers, None)
                    .map_err(|e| transient(op, e))?;
                self.items.remove(id);
                self.outcome(op, id, "DELETE", answer)
            }
        }
    }

    fn create(&mut self, op: &WriteOp, marker: &str, fields: &RawFields) -> WriteResult {
        let name = Self::item_name(marker);
        let mut clean = fields.clone();
        clean.retain(|k, v| k != KEY && !v.is_null());
        let url = self.dav.url_of(&name);
        let headers = [("If-None-Match", "*"), ("Content-Type", F::MEDIA)];
        let text = F::create(marker, &clean)
            .map_err(|e| op_error(&self.name, op, WriteErrorKind::Rejected, e))?;
        let answer = self
            .dav
            .call("PUT", &url, &headers, Some(text))
            .map_err(|e| transient(op, e))?;
        if answer.status == 412 {
            // a create sent before (its answer lost) is ours if the item
            // under that name carries the marker as UID
            if let Lookup::Found(found) = self.find_created(marker).map_err(|e| transient(op, e))? {
                return Ok(found);
            }
            let detail = format!("another {} already has the name {name}", F::ITEM);
            return Err(op_error(&self.name, op, WriteErrorKind::Rejected, detail));
        }
        self.outcome(op, &name, "PUT", answer)
    }

    fn update(
        &mut self,
        op: &WriteOp,
        id: &str,
        fields: &RawFields,
        expected: Option<&str>,
    ) -> WriteResult {
        let url = self.dav.url_of(id);
        let cached = self
            .items
            .get(id)
            .filter(|(e, _)| expected.is_none_or(|x| x == e));
        let (etag, text) = match cached {
            Some((e, t)) => (e.clone(), t.clone()),
            None => {
                let answer = self
                    .dav
                    .call("GET", &url, &[], None)
                    .map_err(|e| transient(op, e))?;
                if answer.status != 200 {
                    return self.outcome(op, id, "GET", answer);
                }
                let etag = answer.etag.clone().unwrap_or_default();
                if expected.is_some_and(|x| x != etag) {
                    let detail = format!("the {} changed since it was read", F::ITEM);
                    return Err(op_error(&self.name, op, WriteErrorKind::Conflict, detail));
                }
                (etag, answer.body)
            }
        };
        let mut changes = fields.clone();
        changes.remove(KEY);
        let text = F::rewrite(&text, &changes)
            .map_err(|e| op_error(&self.name, op, WriteErrorKind::Rejected, e))?;
        let headers = [("If-Match", etag.as_str()), ("Content-Type", F::MEDIA)];
        let answer = self
            .dav
            .call("PUT", &url, &headers, Some(text))
            .map_err(|e| transient(op, e))?;
        self.items.remove(id);
        self.outcome(op, id, "PUT", answer)
    }

    /// An answer as the op's result. A success without an ETag (a server
    /// that changed what it stored) asks for the ETag, so the version is
    /// known and the write does not come back as a change.
    fn outcome(&self, op: &WriteOp, id: &str, method: &str, a: Answer) -> WriteResult {
        let kind = match a.status {
            200..=299 => {
                let version = match (&a.etag, method) {
                    (None, "PUT") => self.etag_of(id).map_err(|e| transient(op, e))?,
                    _ => a.etag,
                };
                return Ok(WriteOutcome {
                    id: id.to_string(),
                    version,
                    record: None,
                    complete: false,
                    unwritten: Vec::new(),
                });
            }
            404 | 410 => WriteErrorKind::NotFound,
            412 => WriteErrorKind::Conflict,
            429 => WriteErrorKind::RateLimited {
                retry_after_secs: a.retry_after,
            },
            401 | 403 => WriteErrorKind::Forbidden,
            s if s >= 500 => WriteErrorKind::Transient,
            _ => WriteErrorKind::Rejected,
        };
        let detail = format!(
            "{method} {} → {}: {}",
            self.dav.href_of(id),
            a.status,
            crate::excerpt(a.body.trim(), 200)
        );
        Err(op_error(&self.name, op, kind, detail))
    }

    /// The ETag of one item.
    fn etag_of(&self, id: &str) -> Result<Option<String>, ConnectorError> {
        let url = self.dav.url_of(id);
        let m = self.dav.multi("PROPFIND", &url, "0", LIST)?;
        Ok(m.entries.into_iter().find_map(|e| e.etag))
    }
}

const LIST: &str = r#"<?xml version="1.0" encoding="utf-8"?><D:propfind xmlns:D="DAV:"><D:prop><D:getetag/><D:resourcetype/></D:prop></D:propfind>"#;
const TOKEN: &str = r#"<?xml version="1.0" encoding="utf-8"?><D:propfind xmlns:D="DAV:"><D:prop><D:sync-token/></D:prop></D:propfind>"#;

/// XML text escape.
pub(super) fn xml_escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

/// A transport failure of one op: retry later.
fn transient(op: &WriteOp, e: ConnectorError) -> WriteError {
    WriteError {
        kind: WriteErrorKind::Transient,
        message: format!("{} of `{}`: {e}", crate::ops::verb(op), op.target()),
    }
}
