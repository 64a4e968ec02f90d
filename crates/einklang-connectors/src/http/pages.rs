//! Walking a listing page by page: page numbers, offsets, cursors (in a
//! query parameter or, for GraphQL, a variable) and next links. A page
//! shorter than its size, an empty page, a `204 No Content` (Kommo), a
//! missing cursor or link ends the walk. A page limit guards against a
//! server that pages forever.

use super::client::{Client, Failure};
use super::spec::{Call, Paging, Spec};
use super::template::{self, Vars};
use chrono::{DateTime, Utc};
use serde_json::Value;

/// More pages than this is a server bug, not data.
const MAX_PAGES: usize = 100_000;

/// One listing: the records and the server's clock at its first page.
pub struct Listing {
    /// The records, as they came.
    pub records: Vec<Value>,
    /// `Date` of the first answer.
    pub date: Option<DateTime<Utc>>,
}

/// All records of `call`, page after page.
pub fn walk(
    client: &mut Client,
    spec: &Spec,
    call: &Call,
    vars: &Vars<'_>,
) -> Result<Listing, Failure> {
    let mut walker = Walker::default();
    let mut records = Vec::new();
    while let Some(page) = walker.next_page(client, spec, call, vars)? {
        records.extend(page);
    }
    Ok(Listing {
        records,
        date: walker.date,
    })
}

/// A listing read a page at a time ([`Walker::next_page`]), so a reader
/// can hand on the records of one page before it asks for the next.
#[derive(Default)]
pub struct Walker {
    /// Pages asked for so far.
    page: usize,
    /// The walk is over.
    done: bool,
    next_url: Option<String>,
    cursor: Option<String>,
    /// `Date` of the first answer.
    pub date: Option<DateTime<Utc>>,
}

impl Walker {
    /// The records of the next page, `None` once the listing is over.
    pub fn next_page(
        &mut self,
        client: &mut Client,
        spec: &Spec,
        call: &Call,
        vars: &Vars<'_>,
    ) -> Result<Option<Vec<Value>>, Failure> {
        if self.done {
            return Ok(None);
        }
        if self.page >= MAX_PAGES {
            self.done = true;
            let detail = format!("more than {MAX_PAGES} pages in one listing");
            return Err(client.failure(&call.method, &call.path, None, &detail));
        }
        let page = self.page;
        self.page += 1;
        let mut params = call.params.clone();
        let mut body = call.body.as_ref().map(|b| template::fill(b, vars));
        let paging = self.paging(spec, page);
        // GraphQL pages by variables, REST by query parameters
        let variables = body
            .as_mut()
            .and_then(|b| b.get_mut("variables"))
            .and_then(Value::as_object_mut);
        match (spec.graphql, variables) {
            (true, Some(v)) => v.extend(paging),
            _ => params.extend(paging),
        }
        let url = match &self.next_url {
            Some(u) => client.url(u, ""),
            None => client.url(
                &template::path(&call.path, vars),
                &template::query(&params, vars),
            ),
        };
        // a failed page ends the walk: the caller fails the whole read
        self.done = true;
        let (reply, value) = client.json(&call.method, &url, body.as_ref(), spec.graphql)?;
        self.date = self.date.or(reply.date);
        if reply.status == 204 || value.is_null() {
            return Ok(None);
        }
        let items = match template::at(&value, &call.select) {
            Some(Value::Array(items)) => items.clone(),
            None | Some(Value::Null) => Vec::new(),
            Some(other) => {
                let detail = format!(
                    "expected a list of records at `{}`, found {}",
                    pointer_name(&call.select),
                    kind_of(other)
                );
                return Err(client.failure(&call.method, &url, Some(&reply), &detail));
            }
        };
        let count = items.len() as u64;
        self.done = !match &spec.paging {
            Paging::None => false,
            Paging::Page { size, .. } | Paging::Offset { size, .. } => count >= *size,
            Paging::Cursor { next, has_more, .. } => {
                self.cursor = template::scalar(template::at(&value, next));
                let flagged = has_more
                    .as_ref()
                    .map(|p| template::at(&value, p) == Some(&Value::Bool(true)));
                self.cursor.is_some() && count > 0 && flagged.unwrap_or(true)
            }
            Paging::NextLink { next } => {
                self.next_url = template::scalar(template::at(&value, next));
                self.next_url.is_some() && count > 0
            }
        };
        Ok(Some(items))
    }

    /// The paging parameters of page `page` (from 0).
    fn paging(&self, spec: &Spec, page: usize) -> Vec<(String, Value)> {
        match &spec.paging {
            Paging::Page {
                param,
                size_param,
                size,
                first,
            } => vec![
                (param.clone(), Value::from(first + page as u64)),
                (size_param.clone(), Value::from(*size)),
            ],
            Paging::Offset {
                param,
                size_param,
                size,
            } => vec![
                (param.clone(), Value::from(page as u64 * size)),
                (size_param.clone(), Value::from(*size)),
            ],
            Paging::Cursor { param, .. } => self
                .cursor
                .iter()
                .map(|c| (param.clone(), Value::String(c.clone())))
                .collect(),
            Paging::None | Paging::NextLink { .. } => Vec::new(),
        }
    }
}

fn pointer_name(p: &str) -> &str {
    if p.is_empty() {
        "the top of the answer"
    } else {
        p
    }
}

/// What a JSON value is, for messages.
pub fn kind_of(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a text",
        Value::Array(_) => "a list",
        Value::Object(_) => "an object",
    }
}

/// One round of a delta feed, as far as it went.
pub enum Round {
    /// Every page was read: the entries and the link to ask next time.
    Done {
        /// The entries (records and removal marks), in order.
        entries: Vec<Value>,
        /// The link of the next round (the new cursor).
        link: String,
    },
    /// The server no longer knows the link (one of the `expired` statuses).
    Expired,
}

/// Walk one round of a delta feed from `url`: pages by `next`, until an
/// answer carries the `link` of the next round. An answer with neither is
/// an error (a round that ends without a cursor cannot be resumed).
pub fn round(
    client: &mut Client,
    url: &str,
    select: &str,
    delta: &super::spec::Delta,
    expired: &[u16],
) -> Result<Round, Failure> {
    let mut entries = Vec::new();
    let mut url = url.to_string();
    for _ in 0..MAX_PAGES {
        let value = match client.json("GET", &url, None, false) {
            Ok((_, v)) => v,
            Err(f) if f.status.is_some_and(|s| expired.contains(&s)) => return Ok(Round::Expired),
            Err(f) => return Err(f),
        };
        match template::at(&value, select) {
            Some(Value::Array(items)) => entries.extend(items.iter().cloned()),
            None | Some(Value::Null) => {}
            Some(other) => {
                let detail = format!(
                    "expected a list of records at `{}`, found {}",
                    pointer_name(select),
                    kind_of(other)
                );
                return Err(client.failure("GET", &url, None, &detail));
            }
        }
        if let Some(link) = template::scalar(template::at(&value, &delta.link)) {
            return Ok(Round::Done { entries, link });
        }
        let next = (delta.next.as_ref()).and_then(|p| template::scalar(template::at(&value, p)));
        match next {
            Some(n) => url = client.url(&n, ""),
            None => {
                let detail = format!(
                    "the answer has neither the next round's link at `{}` nor a next page",
                    delta.link
                );
                return Err(client.failure("GET", &url, None, &detail));
            }
        }
    }
    let detail = format!("more than {MAX_PAGES} pages in one round");
    Err(client.failure("GET", &url, None, &detail))
}
