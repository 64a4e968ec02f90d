//! Finding the collection (RFC 6764 §6 without DNS): from any URL on the
//! server, the current user's principal, its home set, and in it the
//! address book or calendar by name — or the only one there is.
//!
//! Runs once per process, before the first call that needs the
//! collection. A `url` that already is a collection of the right type
//! costs one `PROPFIND`.

use super::collection::{Collection, ItemFormat};
use super::{xml_headers, Entry};
use crate::ConnectorError;

/// What discovery looks for: the collection's name (its last path segment
/// or display name), or `None` for "the url itself, or the only one".
pub(crate) struct Wanted {
    pub name: Option<String>,
}

impl<F: ItemFormat> Collection<F> {
    /// Find the collection if not done yet.
    pub(super) fn ready(&mut self) -> Result<(), ConnectorError> {
        let Some(wanted) = self.discover.take() else {
            return Ok(());
        };
        match self.locate(&wanted) {
            Ok(url) => {
                self.dav.set_collection(&url);
                Ok(())
            }
            Err(e) => {
                self.discover = Some(wanted);
                Err(e)
            }
        }
    }

    fn locate(&self, wanted: &Wanted) -> Result<String, ConnectorError> {
        let url = self.dav.collection.clone();
        let body = format!(
            r#"<?xml version="1.0" encoding="utf-8"?><D:propfind xmlns:D="DAV:" xmlns:C="{ns}"><D:prop><D:resourcetype/><D:displayname/><D:current-user-principal/><C:{home}/></D:prop></D:propfind>"#,
            ns = F::NS,
            home = F::HOME_SET,
        );
        let answer = self
            .dav
            .call("PROPFIND", &url, &xml_headers("0"), Some(body))?;
        if answer.status == 404 && wanted.name.is_none() {
            return Ok(url); // not made yet: `connector install` makes it
        }
        let probe = self.dav.expect_multi("PROPFIND", &url, answer)?;
        let here = probe.entries.into_iter().next().unwrap_or_default();
        if here.is(F::RESOURCE_TYPE) && wanted.name.as_deref().is_none_or(|n| matches(&here, n)) {
            return Ok(url);
        }
        let home = match here.link(F::HOME_SET) {
            Some(home) => home.to_string(),
            None => self.home_of(&url, &here)?,
        };
        self.pick(&home, wanted)
    }

    /// The home set, through the current user's principal.
    fn home_of(&self, url: &str, here: &Entry) -> Result<String, ConnectorError> {
        let Some(principal) = here.link("current-user-principal") else {
            let detail = format!(
                "neither a {} nor a server that names the current user's principal",
                F::COLLECTION
            );
            return Err(self.dav.error("PROPFIND", url, Some(207), &detail));
        };
        let body = format!(
            r#"<?xml version="1.0" encoding="utf-8"?><D:propfind xmlns:D="DAV:" xmlns:C="{ns}"><D:prop><C:{home}/></D:prop></D:propfind>"#,
            ns = F::NS,
            home = F::HOME_SET,
        );
        let principal = self.dav.absolute(principal);
        let m = self.dav.multi("PROPFIND", &principal, "0", &body)?;
        let home = m.entries.iter().find_map(|e| e.link(F::HOME_SET));
        home.map(str::to_string).ok_or_else(|| {
            let detail = format!("the principal names no {}", F::HOME_SET);
            self.dav.error("PROPFIND", &principal, Some(207), &detail)
        })
    }

    /// The collection in `home` by name, or the only one.
    fn pick(&self, home: &str, wanted: &Wanted) -> Result<String, ConnectorError> {
        let home = self.dav.absolute(home);
        let body = r#"<?xml version="1.0" encoding="utf-8"?><D:propfind xmlns:D="DAV:"><D:prop><D:resourcetype/><D:displayname/></D:prop></D:propfind>"#;
        let m = self.dav.multi("PROPFIND", &home, "1", body)?;
        let found: Vec<&Entry> = m
            .entries
            .iter()
            .filter(|e| e.is(F::RESOURCE_TYPE))
            .collect();
        let chosen: Vec<&&Entry> = match &wanted.name {
            Some(n) => found.iter().filter(|e| matches(e, n)).collect(),
            None => found.iter().collect(),
        };
        match (chosen.as_slice(), &wanted.name) {
            ([one], _) => Ok(self.dav.absolute(&one.href)),
            // not made yet: `connector install` makes it under the home set
            ([], Some(n)) => Ok(format!("{}/{}/", home.trim_end_matches('/'), n)),
            _ => {
                let names: Vec<String> =
                    found.iter().map(|e| segment(&e.href).to_string()).collect();
                // the instruction first: a long list is cut in messages
                let detail = format!(
                    "{} {}s here: name one with `collection` ({})",
                    names.len(),
                    F::COLLECTION,
                    names.join(", ")
                );
                Err(self.dav.error("PROPFIND", &home, Some(207), &detail))
            }
        }
    }
}

/// The last path segment of an href (`/alice/contacts/` → `contacts`).
fn segment(href: &str) -> &str {
    href.trim_end_matches('/')
        .rsplit('/')
        .next()
        .unwrap_or(href)
}

/// Whether a collection is the one named `name` (by path segment or display name).
fn matches(e: &Entry, name: &str) -> bool {
    segment(&e.href) == name || e.displayname.as_deref() == Some(name)
}
