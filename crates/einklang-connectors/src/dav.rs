//! WebDAV, as CardDAV and CalDAV servers speak it: one HTTP client (ureq,
//! blocking, rustls, a timeout on every call, Basic auth; a `429` or a
//! `503` with `Retry-After` waited out on every request, see
//! [`crate::retries`]; every call traced at debug level) and a parser of
//! `207 Multi-Status` answers that keeps what sync needs: per href its
//! status, ETag and data, and the collection's sync token.
//!
//! Namespaces are matched by local name (`href`, `getetag`,
//! `address-data`, …): servers differ in their prefixes, never in these.

pub(crate) mod collection;
mod connector;
mod discover;
mod xml;

use crate::retries::{http_date, retry_after, Retry};
use crate::{excerpt, ConnectorError};
use std::time::{Duration, Instant};
pub(crate) use xml::{multistatus, Entry, MultiStatus};

/// Depth and XML Content-Type, as PROPFIND and REPORT need them.
pub(crate) fn xml_headers(depth: &str) -> [(&str, &str); 2] {
    [
        ("Depth", depth),
        ("Content-Type", "application/xml; charset=utf-8"),
    ]
}

/// An HTTP answer, read whole (DAV answers are small: at most one
/// collection's hrefs and ETags, or a batch of items).
#[derive(Debug)]
pub(crate) struct Answer {
    pub status: u16,
    pub etag: Option<String>,
    /// `Retry-After` in seconds, when the server sent one.
    pub retry_after: Option<u64>,
    pub body: String,
}

/// A WebDAV client bound to one collection.
pub(crate) struct Dav {
    agent: ureq::Agent,
    /// The collection URL, ending in `/`.
    pub collection: String,
    /// `scheme://host[:port]`, for resolving absolute hrefs.
    origin: String,
    auth: Option<String>,
    /// The password, to keep it out of messages.
    password: Option<String>,
    connector: String,
    retry: Retry,
}

impl Dav {
    pub fn new(connector: &str, url: &str, user: Option<&str>, password: Option<&str>) -> Self {
        let agent: ureq::Agent = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .allow_non_standard_methods(true)
            .timeout_global(Some(Duration::from_secs(60)))
            .build()
            .into();
        let collection = if url.ends_with('/') {
            url.to_string()
        } else {
            format!("{url}/")
        };
        let origin = origin_of(&collection);
        let auth = user.map(|u| {
            format!(
                "Basic {}",
                base64(&format!("{u}:{}", password.unwrap_or("")))
            )
        });
        Dav {
            agent,
            collection,
            origin,
            auth,
            password: password.map(str::to_string).filter(|p| p.len() >= 3),
            connector: connector.to_string(),
            retry: Retry::default(),
        }
    }

    /// The absolute URL of an item name (`anna.vcf`, percent-encoded here).
    pub fn url_of(&self, name: &str) -> String {
        format!("{}{}", self.collection, percent_encode(name))
    }

    /// The path of an item name, as an href (`/alice/contacts/anna.vcf`).
    pub fn href_of(&self, name: &str) -> String {
        format!("{}{}", self.collection_path(), percent_encode(name))
    }

    /// The path of the collection (`/alice/contacts/`), as the server writes it.
    pub fn collection_path(&self) -> &str {
        &self.collection[self.origin.len()..]
    }

    /// An item's name from its (decoded) href; None for the collection
    /// itself and for anything outside it.
    pub fn name_in(&self, href: &str) -> Option<String> {
        let href = href.strip_prefix(&self.origin).unwrap_or(href);
        let base = xml::percent_decode(self.collection_path());
        let name = href.strip_prefix(base.as_str())?;
        (!name.is_empty() && !name.contains('/')).then(|| name.to_string())
    }

    /// One request, a busy server waited out ([`Retry::wait_out`]).
    /// Transport failures are errors; every status is an answer.
    pub fn call(
        &self,
        method: &str,
        url: &str,
        headers: &[(&str, &str)],
        body: Option<String>,
    ) -> Result<Answer, ConnectorError> {
        let mut attempt = 1;
        loop {
            let answer = self.once(method, url, headers, body.clone())?;
            let Some(wait) = self
                .retry
                .wait_out(answer.status, answer.retry_after, attempt)
            else {
                return Ok(answer);
            };
            tracing::debug!(
                connector = %self.connector,
                method,
                path = self.path(url),
                status = answer.status,
                wait_s = wait.as_secs(),
                attempt,
                "waiting out a busy server"
            );
            std::thread::sleep(wait);
            attempt += 1;
        }
    }

    /// One request, traced.
    fn once(
        &self,
        method: &str,
        url: &str,
        headers: &[(&str, &str)],
        body: Option<String>,
    ) -> Result<Answer, ConnectorError> {
        let started = Instant::now();
        let result = self.send(method, url, headers, body);
        let path = self.path(url);
        match &result {
            Ok(a) => {
                crate::calls::remote_call(&self.connector, method, path, Ok(&a.status), started)
            }
            Err(e) => {
                let error = e.to_string();
                crate::calls::remote_call(&self.connector, method, path, Err(&error), started)
            }
        }
        result
    }

    fn send(
        &self,
        method: &str,
        url: &str,
        headers: &[(&str, &str)],
        body: Option<String>,
    ) -> Result<Answer, ConnectorError> {
        let mut req = ureq::http::Request::builder().method(method).uri(url);
        if let Some(auth) = &self.auth {
            req = req.header("Authorization", auth);
        }
        for (k, v) in headers {
            req = req.header(*k, *v);
        }
        let req = req
            .body(body.unwrap_or_default())
            .map_err(|e| self.error(method, url, None, &e.to_string()))?;
        let mut res = self
            .agent
            .run(req)
            .map_err(|e| self.error(method, url, None, &e.to_string()))?;
        let status = res.status().as_u16();
        let header = |name: &str| {
            let value = res.headers().get(name)?;
            value.to_str().ok().map(|v| v.trim().to_string())
        };
        let etag = header("etag");
        let date = header("date").and_then(|d| http_date(&d));
        let retry_after = header("retry-after").and_then(|v| retry_after(&v, date));
        let body = res
            .body_mut()
            .with_config()
            .limit(256 * 1024 * 1024)
            .read_to_string()
            .map_err(|e| {
                self.error(
                    method,
                    url,
                    Some(status),
                    &format!("reading the answer: {e}"),
                )
            })?;
        Ok(Answer {
            status,
            etag,
            retry_after,
            body,
        })
    }

    /// The path of a URL on this server, for messages and traces.
    fn path<'u>(&self, url: &'u str) -> &'u str {
        url.strip_prefix(&self.origin).unwrap_or(url)
    }

    /// PROPFIND or REPORT expecting 207; the parsed multistatus.
    pub fn multi(
        &self,
        method: &str,
        url: &str,
        depth: &str,
        body: &str,
    ) -> Result<MultiStatus, ConnectorError> {
        let answer = self.call(method, url, &xml_headers(depth), Some(body.to_string()))?;
        self.expect_multi(method, url, answer)
    }

    /// An answer that must be a 207 multistatus, parsed.
    pub fn expect_multi(
        &self,
        method: &str,
        url: &str,
        answer: Answer,
    ) -> Result<MultiStatus, ConnectorError> {
        if answer.status != 207 {
            return Err(self.error(method, url, Some(answer.status), &answer.body));
        }
        multistatus(&answer.body).map_err(|e| {
            let detail = format!("{e}: {}", excerpt(answer.body.trim(), 200));
            self.error(method, url, Some(207), &detail)
        })
    }

    /// The absolute URL of a path the server named (`/alice/`).
    pub fn absolute(&self, href: &str) -> String {
        match href.starts_with("http://") || href.starts_with("https://") {
            true => href.to_string(),
            false => format!("{}{}", self.origin, encode_path(href)),
        }
    }

    /// Bind to another collection on the same server (after discovery).
    pub fn set_collection(&mut self, url: &str) {
        let url = self.absolute(url);
        self.collection = match url.ends_with('/') {
            true => url,
            false => format!("{url}/"),
        };
    }

    /// An error naming connector, method, path and status, with a short
    /// excerpt of the body (never credentials: they are in a header, and
    /// the password is masked should a server echo it).
    pub fn error(
        &self,
        method: &str,
        url: &str,
        status: Option<u16>,
        detail: &str,
    ) -> ConnectorError {
        let path = self.path(url);
        let status = status.map(|s| format!(" → {s}")).unwrap_or_default();
        let mut message = format!("{method} {path}{status}: {}", excerpt(detail.trim(), 300));
        if let Some(p) = &self.password {
            message = message.replace(p.as_str(), "***");
        }
        ConnectorError::Other {
            connector: self.connector.clone(),
            message,
        }
    }
}

/// Percent-encode a decoded path, keeping its `/`.
fn encode_path(path: &str) -> String {
    let parts: Vec<String> = path.split('/').map(percent_encode).collect();
    parts.join("/")
}

/// Percent-encode an item name for a URL path: unreserved ASCII and `@`
/// stay, every other byte is `%XX`.
pub(crate) fn percent_encode(name: &str) -> String {
    let mut out = String::with_capacity(name.len());
    for b in name.bytes() {
        if b.is_ascii_alphanumeric() || b"-_.~@".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

fn origin_of(url: &str) -> String {
    let after = url.find("://").map_or(0, |i| i + 3);
    match url[after..].find('/') {
        Some(i) => url[..after + i].to_string(),
        None => url.to_string(),
    }
}

/// Base64 of a Basic auth pair (RFC 4648, with padding). Eleven lines do
/// not justify a dependency.
pub(crate) fn base64(text: &str) -> String {
    const A: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::new();
    for chunk in text.as_bytes().chunks(3) {
        let b = [
            chunk[0],
            *chunk.get(1).unwrap_or(&0),
            *chunk.get(2).unwrap_or(&0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for i in 0..4 {
            let c = A[((n >> (18 - 6 * i)) & 63) as usize] as char;
            out.push(if i > chunk.len() { '=' } else { c });
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn basic_auth_and_urls() {
        assert_eq!(base64("alice:x"), "YWxpY2U6eA==");
        assert_eq!(base64("ab"), "YWI=");
        assert_eq!(base64("abc"), "YWJj");
        let d = Dav::new("c", "http://127.0.0.1:5232/alice/contacts", None, None);
        assert_eq!(d.collection, "http://127.0.0.1:5232/alice/contacts/");
        assert_eq!(d.collection_path(), "/alice/contacts/");
        assert_eq!(
            d.url_of("a.vcf"),
            "http://127.0.0.1:5232/alice/contacts/a.vcf"
        );
        assert_eq!(
            d.href_of("jürgen k.vcf"),
            "/alice/contacts/j%C3%BCrgen%20k.vcf"
        );
        assert_eq!(
            d.name_in("/alice/contacts/a b.vcf").as_deref(),
            Some("a b.vcf")
        );
        assert_eq!(
            d.name_in("http://127.0.0.1:5232/alice/contacts/a.vcf")
                .as_deref(),
            Some("a.vcf")
        );
        assert_eq!(d.name_in("/alice/contacts/"), None);
        assert_eq!(d.name_in("/bob/a.vcf"), None);
    }
}
