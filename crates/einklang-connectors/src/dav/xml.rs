//! Parsing a WebDAV `multistatus` with quick-xml, by local names.

use quick_xml::events::Event;
use quick_xml::Reader;

/// One `<response>`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct Entry {
    /// Its href, percent-decoded.
    pub href: String,
    /// The status of the response, or of its successful propstat.
    pub status: u16,
    /// `getetag`, quotes kept as the server sent them.
    pub etag: Option<String>,
    /// `address-data` or `calendar-data`.
    pub data: Option<String>,
    /// The local names inside `resourcetype` (`collection`, `addressbook`,
    /// `calendar`, …).
    pub types: Vec<String>,
    /// `displayname`.
    pub displayname: Option<String>,
    /// Properties that hold an href (`current-user-principal`,
    /// `addressbook-home-set`, `calendar-home-set`): (property, href).
    pub links: Vec<(String, String)>,
}

impl Entry {
    /// Whether `resourcetype` names `kind` (`collection`, `addressbook`, …).
    pub fn is(&self, kind: &str) -> bool {
        self.types.iter().any(|t| t == kind)
    }

    /// The href held by property `prop`.
    pub fn link(&self, prop: &str) -> Option<&str> {
        let found = self.links.iter().find(|(p, _)| p == prop);
        found.map(|(_, h)| h.as_str())
    }
}

/// A whole answer.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct MultiStatus {
    pub entries: Vec<Entry>,
    pub sync_token: Option<String>,
}

/// `HTTP/1.1 404 Not Found` → 404.
fn status_code(text: &str) -> u16 {
    text.split_whitespace()
        .nth(1)
        .and_then(|c| c.parse().ok())
        .unwrap_or(0)
}

/// `%20` and friends, as hrefs are written.
pub(crate) fn percent_decode(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        let hex = |c: u8| (c as char).to_digit(16);
        match (
            b[i],
            b.get(i + 1).copied().and_then(hex),
            b.get(i + 2).copied().and_then(hex),
        ) {
            (b'%', Some(h), Some(l)) => {
                out.push((h * 16 + l) as u8);
                i += 3;
            }
            (c, _, _) => {
                out.push(c);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Parse a multistatus body.
pub(crate) fn multistatus(body: &str) -> Result<MultiStatus, String> {
    let mut reader = Reader::from_str(body);
    let mut out = MultiStatus::default();
    let mut path: Vec<String> = Vec::new();
    let mut text = String::new();
    let mut entry = Entry::default();
    let mut prop_ok: Option<bool> = None;
    let mut pending = Entry::default();
    let mut seen_root = false;
    loop {
        match reader.read_event().map_err(|e| format!("not XML: {e}"))? {
            Event::Start(e) => {
                let name = String::from_utf8_lossy(e.local_name().as_ref()).into_owned();
                if path.last().is_some_and(|p| p == "resourcetype") {
                    pending.types.push(name.clone());
                }
                path.push(name);
                text.clear();
            }
            Event::Empty(e) => {
                let name = String::from_utf8_lossy(e.local_name().as_ref()).into_owned();
                if path.last().is_some_and(|p| p == "resourcetype") {
                    pending.types.push(name);
                }
            }
            Event::Text(t) => text.push_str(&t.xml_content().map_err(|e| e.to_string())?),
            Event::CData(t) => text.push_str(&t.decode().map_err(|e| e.to_string())?),
            Event::GeneralRef(r) => {
                if let Some(c) = r.resolve_char_ref().map_err(|e| e.to_string())? {
                    text.push(c);
                } else {
                    let name = r.decode().map_err(|e| e.to_string())?;
                    text.push_str(
                        quick_xml::escape::resolve_predefined_entity(&name).unwrap_or(""),
                    );
                }
            }
            Event::End(_) => {
                let name = path.pop().unwrap_or_default();
                let parent = path.last().map(String::as_str).unwrap_or("");
                let value = std::mem::take(&mut text);
                match (name.as_str(), parent) {
                    ("href", "response") => entry.href = percent_decode(value.trim()),
                    ("status", "response") => entry.status = status_code(&value),
                    ("status", "propstat") => prop_ok = Some(status_code(&value) / 100 == 2),
                    ("getetag", "prop") => pending.etag = Some(value.trim().to_string()),
                    ("address-data" | "calendar-data", "prop") => pending.data = Some(value),
                    ("displayname", "prop") => pending.displayname = Some(value.trim().to_string()),
                    ("href", link) if path.len() >= 2 && path[path.len() - 2] == "prop" => {
                        let href = percent_decode(value.trim());
                        pending.links.push((link.to_string(), href));
                    }
                    ("propstat", _) => {
                        if prop_ok.take().unwrap_or(false) {
                            entry.etag = entry.etag.take().or(pending.etag.take());
                            entry.data = entry.data.take().or(pending.data.take());
                            entry.types.append(&mut pending.types);
                            entry.displayname =
                                entry.displayname.take().or(pending.displayname.take());
                            entry.links.append(&mut pending.links);
                            if entry.status == 0 {
                                entry.status = 200;
                            }
                        }
                        pending = Entry::default();
                    }
                    ("response", _) => out.entries.push(std::mem::take(&mut entry)),
                    // in a sync-collection answer, or a PROPFIND of the property
                    ("sync-token", "multistatus" | "prop") if !value.trim().is_empty() => {
                        out.sync_token = Some(value.trim().to_string())
                    }
                    ("multistatus", _) => seen_root = true,
                    _ => {}
                }
            }
            Event::Eof => break,
            _ => {}
        }
    }
    if !seen_root {
        return Err("not a WebDAV multistatus".into());
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_sync_answer_with_changes_and_a_deletion() {
        let body = r#"<?xml version="1.0"?>
<multistatus xmlns="DAV:" xmlns:CR="urn:ietf:params:xml:ns:carddav">
 <response><href>/alice/contacts/ann%20n.vcf</href>
  <propstat><prop><getetag>"e1"</getetag><CR:address-data>BEGIN:VCARD&#13;
FN:Ann &amp; Co
END:VCARD</CR:address-data></prop><status>HTTP/1.1 200 OK</status></propstat>
  <propstat><prop><displayname/></prop><status>HTTP/1.1 404 Not Found</status></propstat></response>
 <response><href>/alice/contacts/bob.vcf</href><status>HTTP/1.1 404 Not Found</status></response>
 <sync-token>http://radicale.org/ns/sync/abc</sync-token>
</multistatus>"#;
        let m = multistatus(body).unwrap();
        assert_eq!(
            m.sync_token.as_deref(),
            Some("http://radicale.org/ns/sync/abc")
        );
        assert_eq!(m.entries.len(), 2);
        let ann = &m.entries[0];
        assert_eq!(
            (ann.href.as_str(), ann.status, ann.etag.as_deref()),
            ("/alice/contacts/ann n.vcf", 200, Some("\"e1\""))
        );
        assert_eq!(
            ann.data.as_deref(),
            Some("BEGIN:VCARD\r\nFN:Ann & Co\nEND:VCARD")
        );
        assert_eq!(
            (m.entries[1].status, m.entries[1].etag.clone()),
            (404, None)
        );
    }

    #[test]
    fn prefixed_names_and_collections() {
        let body = r#"<D:multistatus xmlns:D="DAV:"><D:response><D:href>/a/</D:href><D:propstat><D:prop>
            <D:resourcetype><D:collection/><C:addressbook xmlns:C="urn:ietf:params:xml:ns:carddav"/></D:resourcetype>
            </D:prop><D:status>HTTP/1.1 200 OK</D:status></D:propstat></D:response></D:multistatus>"#;
        let m = multistatus(body).unwrap();
        assert!(m.entries[0].is("collection") && m.entries[0].is("addressbook"));
        let home = r#"<multistatus xmlns="DAV:"><response><href>/</href><propstat><prop>
            <current-user-principal><href>/alice/</href></current-user-principal>
            <displayname>Kontakte</displayname></prop><status>HTTP/1.1 200 OK</status></propstat></response></multistatus>"#;
        let m = multistatus(home).unwrap();
        assert_eq!(m.entries[0].link("current-user-principal"), Some("/alice/"));
        assert_eq!(
            (
                m.entries[0].href.as_str(),
                m.entries[0].displayname.as_deref()
            ),
            ("/", Some("Kontakte"))
        );
        let html = multistatus("<html><body>Login</body></html>").unwrap_err();
        assert!(html.contains("not a WebDAV multistatus"), "{html}");
        let token = r#"<multistatus xmlns="DAV:"><response><href>/a/</href><propstat><prop><sync-token>t7</sync-token></prop><status>HTTP/1.1 200 OK</status></propstat></response></multistatus>"#;
        assert_eq!(
            multistatus(token).unwrap().sync_token.as_deref(),
            Some("t7")
        );
    }
}
