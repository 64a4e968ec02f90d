//! `carddav`: an address book on a CardDAV server (Radicale, Xandikos,
//! Nextcloud, iCloud…) as a two-way peer.
//!
//! - A record is a vCard, read into the same raw fields as the `vcard`
//!   folder kind (`fn`, `n.given`, `email`, `tel`, `adr`, …) plus `href`,
//!   its name in the collection (`anna.vcf`), which is the key.
//! - The version token is the item's ETag. `list` is a `PROPFIND` of the
//!   collection's ETags, `fetch` an `addressbook-multiget`, `changes` a
//!   `sync-collection` since a sync token (RFC 6578; a server that no
//!   longer knows the token, 403 or 412, means "read in full").
//! - A create is a `PUT` with `If-None-Match: *` under a name made from the
//!   marker (the card's UID is the marker too), so `find_created` finds a
//!   create whose answer was lost. An update merges the given fields into
//!   the current card — the one fetched in this run if its ETag still
//!   holds, else one `GET` — keeps every property einklang does not own,
//!   and `PUT`s it with `If-Match`; a delete is a `DELETE` with `If-Match`.
//!   412 is a conflict (re-read, re-plan), 404 not found, 429 waits.
//!   New ETags come from the answers.
//! - `einklang connector install NAME` creates the address book (an
//!   extended `MKCOL`) when it does not exist.

use crate::dav::{Dav, Entry};
use crate::file::vcard::{file_name, parse};
use crate::ops::{merge, op_error};
use crate::{
    Capabilities, ChangeFeed, Connector, ConnectorError, Listed, RawFields, RawRecord, ReadItem,
    Rejected, WriteErrorKind, WriteOp, WriteOutcome, WriteResult,
};
use serde_json::Value;
use std::collections::HashMap;

/// The raw field holding an item's name in the collection.
pub const KEY: &str = "href";

/// Items per multiget.
const MULTIGET: usize = 100;

/// The connector.
pub struct CardDav {
    name: String,
    dav: Dav,
    /// Cards fetched in this process: name → (ETag, text), so an update of
    /// a card just read needs no GET.
    cards: HashMap<String, (String, String)>,
}

impl CardDav {
    /// A connector for the address book at `url`.
    pub fn new(name: &str, url: &str, user: Option<&str>, password: Option<&str>) -> Self {
        CardDav {
            name: name.to_string(),
            dav: Dav::new(name, url, user, password),
            cards: HashMap::new(),
        }
    }

    /// The items of a multistatus with their names, without the
    /// collection itself or sub-collections.
    fn items<'e>(&'e self, entries: &'e [Entry]) -> impl Iterator<Item = (String, &'e Entry)> + 'e {
        entries
            .iter()
            .filter(|e| !e.collection)
            .filter_map(|e| Some((self.dav.name_in(&e.href)?, e)))
    }

    /// Parse a fetched card into a record (and remember its text).
    fn record(&mut self, name: String, entry: &Entry) -> ReadItem {
        let position = format!("href {name}");
        let data = entry.data.clone().unwrap_or_default();
        match parse::lines(&data) {
            Ok(lines) if lines.first().is_some_and(|l| l.name == "BEGIN") => {
                let mut fields = parse::fields(&lines);
                fields.insert(KEY.into(), Value::String(name.clone()));
                if let Some(etag) = &entry.etag {
                    self.cards.insert(name, (etag.clone(), data));
                }
                ReadItem::Record(RawRecord {
                    position,
                    fields,
                    version: entry.etag.clone(),
                })
            }
            Ok(_) | Err(_) => ReadItem::Reject(Rejected {
                position,
                raw: crate::excerpt(&data, 4096),
                reason: "not a vCard: expected BEGIN:VCARD … END:VCARD".into(),
            }),
        }
    }
}

fn multiget(dav: &Dav, hrefs: &[String]) -> String {
    let refs: String = hrefs
        .iter()
        .map(|h| format!("<D:href>{}</D:href>", escape(&dav.href_of(h))))
        .collect();
    format!(
        r#"<?xml version="1.0" encoding="utf-8"?><C:addressbook-multiget xmlns:D="DAV:" xmlns:C="urn:ietf:params:xml:ns:carddav"><D:prop><D:getetag/><C:address-data/></D:prop>{refs}</C:addressbook-multiget>"#
    )
}

/// XML text escape.
fn escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

const LIST: &str = r#"<?xml version="1.0" encoding="utf-8"?><D:propfind xmlns:D="DAV:"><D:prop><D:getetag/><D:resourcetype/></D:prop></D:propfind>"#;
const TOKEN: &str = r#"<?xml version="1.0" encoding="utf-8"?><D:propfind xmlns:D="DAV:"><D:prop><D:sync-token/></D:prop></D:propfind>"#;

fn sync_collection(token: &str) -> String {
    format!(
        r#"<?xml version="1.0" encoding="utf-8"?><D:sync-collection xmlns:D="DAV:"><D:sync-token>{}</D:sync-token><D:sync-level>1</D:sync-level><D:prop><D:getetag/></D:prop></D:sync-collection>"#,
        escape(token)
    )
}

impl Connector for CardDav {
    fn name(&self) -> &str {
        &self.name
    }
    fn kind(&self) -> &'static str {
        "carddav"
    }
    fn capabilities(&self) -> Capabilities {
        Capabilities {
            read: true,
            write: true,
            delete: true,
            fingerprint: false,
            version_tokens: true,
            list_versions: true,
            change_feed: true,
            key_field: Some(KEY.into()),
            client_ids: false,
            partial_update: true,
            conditional_writes: true,
            writable: None,
            batch_size: 100,
        }
    }
    fn fingerprint(&mut self) -> Result<Option<String>, ConnectorError> {
        Ok(None)
    }
    fn read(&mut self) -> Result<Box<dyn Iterator<Item = ReadItem> + '_>, ConnectorError> {
        let ids: Vec<String> = self.list()?.into_iter().map(|l| l.id).collect();
        let mut items = Vec::new();
        for chunk in ids.chunks(MULTIGET) {
            items.extend(self.fetch(chunk)?);
        }
        Ok(Box::new(items.into_iter()))
    }
    fn list(&mut self) -> Result<Vec<Listed>, ConnectorError> {
        let url = self.dav.collection.clone();
        let m = self.dav.multi("PROPFIND", &url, "1", LIST)?;
        Ok(self
            .items(&m.entries)
            .filter(|(_, e)| e.status / 100 == 2)
            .map(|(id, e)| Listed {
                id,
                version: e.etag.clone(),
            })
            .collect())
    }
    fn fetch(&mut self, ids: &[String]) -> Result<Vec<ReadItem>, ConnectorError> {
        let url = self.dav.collection.clone();
        let mut out = Vec::new();
        for chunk in ids.chunks(MULTIGET) {
            let body = multiget(&self.dav, chunk);
            let m = self.dav.multi("REPORT", &url, "1", &body)?;
            let found: Vec<(String, Entry)> = self
                .items(&m.entries)
                .filter(|(_, e)| e.status / 100 == 2 && e.data.is_some())
                .map(|(n, e)| (n, e.clone()))
                .collect();
            for (name, e) in found {
                out.push(self.record(name, &e));
            }
        }
        Ok(out)
    }
    fn cursor(&mut self) -> Result<String, ConnectorError> {
        let url = self.dav.collection.clone();
        let m = self.dav.multi("PROPFIND", &url, "0", TOKEN)?;
        match m.sync_token {
            Some(t) => Ok(t),
            None => Err(self.dav.error(
                "PROPFIND",
                &url,
                Some(207),
                "the server names no sync-token",
            )),
        }
    }
    fn changes(&mut self, cursor: &str) -> Result<Option<ChangeFeed>, ConnectorError> {
        let url = self.dav.collection.clone();
        let headers = [
            ("Depth", "1"),
            ("Content-Type", "application/xml; charset=utf-8"),
        ];
        let answer = self
            .dav
            .call("REPORT", &url, &headers, Some(sync_collection(cursor)))?;
        if matches!(answer.status, 403 | 409 | 412) {
            return Ok(None); // the server no longer knows this token
        }
        if answer.status != 207 {
            return Err(self
                .dav
                .error("REPORT", &url, Some(answer.status), &answer.body));
        }
        let m = crate::dav::multistatus(&answer.body)
            .map_err(|e| self.dav.error("REPORT", &url, Some(207), &e))?;
        let mut feed = ChangeFeed {
            cursor: m.sync_token.clone().unwrap_or_else(|| cursor.to_string()),
            ..ChangeFeed::default()
        };
        for (id, e) in self.items(&m.entries) {
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
    fn write(
        &mut self,
        _key_field: &str,
        ops: &[WriteOp],
    ) -> Result<Vec<WriteResult>, ConnectorError> {
        Ok(ops.iter().map(|op| self.one(op)).collect())
    }
    fn find_created(
        &mut self,
        _key_field: &str,
        marker: &str,
    ) -> Result<Option<WriteOutcome>, ConnectorError> {
        // ours only if the card under the marker's name carries the marker as UID
        let name = file_name(marker, 0);
        let url = self.dav.url_of(&name);
        let answer = self.dav.call("GET", &url, &[], None)?;
        match answer.status {
            404 | 410 => Ok(None),
            200 => {
                let uid = parse::lines(&answer.body)
                    .ok()
                    .and_then(|lines| lines.into_iter().find(|l| l.name == "UID"))
                    .map(|l| parse::unescape(&l.value));
                Ok((uid.as_deref() == Some(marker)).then_some(WriteOutcome {
                    id: name,
                    version: answer.etag,
                }))
            }
            s => Err(self.dav.error("GET", &url, Some(s), &answer.body)),
        }
    }
    fn install(&mut self) -> Result<Vec<String>, ConnectorError> {
        let url = self.dav.collection.clone();
        let headers = [
            ("Depth", "0"),
            ("Content-Type", "application/xml; charset=utf-8"),
        ];
        let probe = self
            .dav
            .call("PROPFIND", &url, &headers, Some(TOKEN.into()))?;
        if probe.status == 207 {
            return Ok(Vec::new());
        }
        let body = r#"<?xml version="1.0" encoding="utf-8"?><D:mkcol xmlns:D="DAV:" xmlns:C="urn:ietf:params:xml:ns:carddav"><D:set><D:prop><D:resourcetype><D:collection/><C:addressbook/></D:resourcetype></D:prop></D:set></D:mkcol>"#;
        let made = self.dav.call(
            "MKCOL",
            &url,
            &[("Content-Type", "application/xml; charset=utf-8")],
            Some(body.into()),
        )?;
        match made.status {
            200 | 201 => Ok(vec![format!("address book {}", self.dav.collection_path())]),
            s => Err(self.dav.error("MKCOL", &url, Some(s), &made.body)),
        }
    }
}

impl CardDav {
    fn one(&mut self, op: &WriteOp) -> WriteResult {
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
                let mut headers = Vec::new();
                if let Some(v) = expected_version {
                    headers.push(("If-Match", v.as_str()));
                }
                let answer = self
                    .dav
                    .call("DELETE", &url, &headers, None)
                    .map_err(|e| transient(op, e))?;
                self.cards.remove(id);
                self.outcome(op, id, "DELETE", answer)
            }
        }
    }

    fn create(&mut self, op: &WriteOp, marker: &str, fields: &RawFields) -> WriteResult {
        let name = file_name(marker, 0);
        let mut clean = RawFields::new();
        merge(&mut clean, fields);
        clean.remove(KEY);
        let card = parse::render(marker, &clean);
        let url = self.dav.url_of(&name);
        let headers = [
            ("If-None-Match", "*"),
            ("Content-Type", "text/vcard; charset=utf-8"),
        ];
        let answer = self
            .dav
            .call("PUT", &url, &headers, Some(card))
            .map_err(|e| transient(op, e))?;
        if answer.status == 412 {
            // a create sent before (its answer lost): the card is ours if
            // it carries the marker as UID
            if let Some(found) = self
                .find_created("", marker)
                .map_err(|e| transient(op, e))?
            {
                return Ok(found);
            }
            let detail = format!("another card already has the name {name}");
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
        let (etag, text) = match self
            .cards
            .get(id)
            .filter(|(e, _)| expected.is_none_or(|x| x == e))
        {
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
                    return Err(op_error(
                        &self.name,
                        op,
                        WriteErrorKind::Conflict,
                        "the card changed since it was read",
                    ));
                }
                (etag, answer.body)
            }
        };
        let lines = parse::lines(&text)
            .map_err(|e| op_error(&self.name, op, WriteErrorKind::Transient, e))?;
        let uid = lines
            .iter()
            .find(|l| l.name == "UID")
            .map(|l| parse::unescape(&l.value))
            .unwrap_or_else(|| id.trim_end_matches(".vcf").to_string());
        let card = parse::rewrite(lines, &uid, fields);
        let headers = [
            ("If-Match", etag.as_str()),
            ("Content-Type", "text/vcard; charset=utf-8"),
        ];
        let answer = self
            .dav
            .call("PUT", &url, &headers, Some(card))
            .map_err(|e| transient(op, e))?;
        self.cards.remove(id);
        self.outcome(op, id, "PUT", answer)
    }

    /// An answer as the op's result.
    fn outcome(&self, op: &WriteOp, id: &str, method: &str, a: crate::dav::Answer) -> WriteResult {
        let kind = match a.status {
            200..=299 => {
                return Ok(WriteOutcome {
                    id: id.to_string(),
                    version: a.etag,
                })
            }
            404 | 410 => WriteErrorKind::NotFound,
            412 => WriteErrorKind::Conflict,
            429 => WriteErrorKind::RateLimited {
                retry_after_secs: None,
            },
            401 | 403 => WriteErrorKind::Forbidden,
            s if s >= 500 => WriteErrorKind::Transient,
            _ => WriteErrorKind::Rejected,
        };
        let detail = format!(
            "{method} → {}: {}",
            a.status,
            crate::excerpt(a.body.trim(), 200)
        );
        Err(op_error(&self.name, op, kind, detail))
    }
}

/// A transport failure of one op: retry later.
fn transient(op: &WriteOp, e: ConnectorError) -> crate::WriteError {
    crate::WriteError {
        kind: WriteErrorKind::Transient,
        message: format!("{} of `{}`: {e}", crate::ops::verb(op), op.target()),
    }
}
