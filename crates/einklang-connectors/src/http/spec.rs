//! The settings of an `http` or `graphql` connector, checked without any
//! I/O into a [`Spec`]: where the records are, how to page, how to ask for
//! changes, and the requests that read, create, update and delete one
//! record. Every problem is reported with its setting key, all at once.

pub use super::webhook::Webhook;
use crate::registry::{SettingProblem, Settings};
use serde_json::{Map, Value};

/// How a connector authenticates. Secrets stay in here: they go into a
/// header or the token request, never into a message.
#[derive(Clone, Debug, PartialEq)]
pub enum Auth {
    /// No credentials.
    None,
    /// `Authorization: Bearer <token>`.
    Bearer(String),
    /// A header of its own (`X-Api-Key: <value>`).
    Header(String, String),
    /// A query parameter (`?api_key=<value>`); redacted in messages.
    Query(String, String),
    /// HTTP Basic.
    Basic(String, String),
    /// OAuth2 client credentials (Microsoft Graph style): a token from
    /// `token_url`, cached until shortly before it expires.
    OAuth2 {
        /// Token endpoint.
        token_url: String,
        /// Client id.
        client_id: String,
        /// Client secret.
        client_secret: String,
        /// Scope, if the server wants one.
        scope: Option<String>,
    },
    /// A token from a signed request of a named scheme (`signed_token`):
    /// requested from `url`, cached and renewed like an OAuth2 token.
    SignedToken {
        /// Token endpoint.
        url: String,
        /// What the request carries and how it is signed.
        scheme: TokenScheme,
    },
}

/// The signed token requests the `http` connector knows (see `signed`).
#[derive(Clone, Debug, PartialEq)]
pub enum TokenScheme {
    /// Advoware: `POST` of a JSON body whose `HMAC512Signature` is
    /// `base64(HMAC-SHA512(base64decode(api_key), "{product}:{app_id}:{nonce}:{timestamp}"))`.
    Advoware {
        /// `AppID`.
        app_id: String,
        /// The API key, base64 (the HMAC key is its decoded bytes).
        api_key: String,
        /// `Kanzlei`.
        kanzlei: String,
        /// `Database`.
        database: String,
        /// `User`.
        user: String,
        /// `Password`.
        password: String,
        /// `Role` (2 unless set).
        role: u64,
        /// `Product` (64 unless set).
        product: u64,
    },
}

/// How a listing pages.
#[derive(Clone, Debug, PartialEq)]
pub enum Paging {
    /// One request returns everything.
    None,
    /// `?page=N&limit=S`, pages counted from `first`.
    Page {
        /// Page parameter.
        param: String,
        /// Page size parameter.
        size_param: String,
        /// Page size.
        size: u64,
        /// Number of the first page.
        first: u64,
    },
    /// `?offset=N&limit=S`.
    Offset {
        /// Offset parameter.
        param: String,
        /// Page size parameter.
        size_param: String,
        /// Page size.
        size: u64,
    },
    /// The next page's cursor at a JSON pointer of the answer, sent back as
    /// `param` (a query parameter, or a GraphQL variable).
    Cursor {
        /// Parameter or variable the cursor is sent as.
        param: String,
        /// Pointer to the next cursor in the answer.
        next: String,
        /// Pointer to a "has more" flag, if the API has one.
        has_more: Option<String>,
    },
    /// The next page's URL at a JSON pointer (Kommo's `/_links/next/href`).
    NextLink {
        /// Pointer to the next page's URL.
        next: String,
    },
}

/// One request: method, path (with `{id}`), query parameters and a body
/// template (strings `"{record}"`, `"{id}"`, `"{since}"`, `"{marker}"`,
/// `"{now}"`/`"{now:FORMAT}"` are replaced), and where the record(s) sit in the answer.
#[derive(Clone, Debug, PartialEq)]
pub struct Call {
    /// HTTP method.
    pub method: String,
    /// Path below `base_url`, or an absolute URL.
    pub path: String,
    /// Query parameters (values may hold placeholders).
    pub params: Map<String, Value>,
    /// Body template, if the request has one.
    pub body: Option<Value>,
    /// JSON pointer to the record (single) or records (lists) in the answer.
    pub select: String,
    /// A write: read the record again (`get`) right after it, for the
    /// truth when the answer lacks the record or its version (Advoware's
    /// POST answers without `rowId`).
    pub reread: bool,
}

/// An incremental read: the listing with a filter on a change time, or a
/// delta feed whose answer carries the link to ask next.
#[derive(Clone, Debug, PartialEq)]
pub struct Changes {
    /// The listing request with `{since}` in a parameter or the body (a
    /// delta feed: the request that starts a full round).
    pub call: Call,
    /// How `{since}` is written: `rfc3339`, `epoch` (seconds), `epoch_ms`
    /// or a chrono/strftime format (written in [`Self::tz`]).
    pub format: String,
    /// The zone a strftime `format` is written in (default UTC).
    pub tz: chrono_tz::Tz,
    /// Seconds the window reaches back, for clock steps and slow commits.
    pub overlap_s: i64,
    /// A delta feed (Microsoft Graph): where its links and removals are.
    pub delta: Option<Delta>,
    /// Statuses meaning "the server no longer knows this cursor" (default
    /// `[410]`): the read starts a full round instead.
    pub expired: Vec<u16>,
}

/// A delta feed: pages linked by `next`, a round ending with the `delta`
/// link that is stored as the cursor and asked next time, removed records
/// marked at `removed` (Microsoft Graph's `@odata.nextLink`,
/// `@odata.deltaLink`, `@removed`).
#[derive(Clone, Debug, PartialEq)]
pub struct Delta {
    /// Pointer of the link to the next round (the cursor).
    pub link: String,
    /// Pointer of the next page's URL within a round, if it pages.
    pub next: Option<String>,
    /// Field (or pointer) of an entry that marks it removed, if the feed
    /// shows removals.
    pub removed: Option<String>,
}

/// A feed of deleted ids (Directus keeps them in `/activity`).
#[derive(Clone, Debug, PartialEq)]
pub struct Deletes {
    /// The request, with `{since}`.
    pub call: Call,
    /// Where the deleted id sits in each entry.
    pub id: String,
}

pub use crate::retries::Retry;

/// A checked `http`/`graphql` connector.
#[derive(Clone, Debug, PartialEq)]
pub struct Spec {
    /// `graphql`: every call is a POST of `{query, variables}`, and an
    /// `errors` array in the answer is a failure.
    pub graphql: bool,
    /// Base URL, without a trailing `/`.
    pub base_url: String,
    /// Credentials.
    pub auth: Auth,
    /// Field (or pointer) of a record's id.
    pub id: String,
    /// Fields holding the version token, first non-empty wins.
    pub version: Vec<String>,
    /// The listing.
    pub list: Call,
    /// Its paging.
    pub paging: Paging,
    /// Incremental reads, if the API can filter by change time.
    pub changes: Option<Changes>,
    /// Deleted ids since a time, if the API shows them.
    pub deletes: Option<Deletes>,
    /// Reading one record by id.
    pub get: Option<Call>,
    /// Statuses of `get` that mean "no such record" (Directus: 403).
    pub missing: Vec<u16>,
    /// Writes.
    pub create: Option<Call>,
    /// See [`Self::create`].
    pub update: Option<Call>,
    /// See [`Self::create`].
    pub delete: Option<Call>,
    /// Header carrying the expected version on updates and deletes.
    pub conditional: Option<String>,
    /// Field where a create's marker is kept (server-assigned ids).
    pub marker_field: Option<String>,
    /// Fields it writes (`None`: all mapped).
    pub writable: Option<Vec<String>>,
    /// Requests per second at most.
    pub rate_limit: Option<f64>,
    /// Retries.
    pub retry: Retry,
    /// Timeout of one request.
    pub timeout_s: u64,
    /// Webhook ingestion.
    pub webhook: Option<Webhook>,
    /// Child lists at endpoints of their own (`children`).
    pub children: Vec<super::children::Children>,
}

/// Setting keys of `http`.
pub const HTTP_KEYS: &[&str] = &[
    "base_url",
    "auth",
    "id",
    "version",
    "list",
    "changes",
    "deletes",
    "get",
    "create",
    "update",
    "delete",
    "conditional",
    "marker_field",
    "writable",
    "rate_limit",
    "retry",
    "timeout_s",
    "webhook",
    "children",
];

/// Setting keys of `graphql` (`url` instead of `base_url`).
pub const GRAPHQL_KEYS: &[&str] = &[
    "url",
    "auth",
    "id",
    "version",
    "list",
    "changes",
    "deletes",
    "get",
    "create",
    "update",
    "delete",
    "marker_field",
    "writable",
    "rate_limit",
    "retry",
    "timeout_s",
    "webhook",
];

/// Collects problems while reading settings.
pub(super) struct Check {
    problems: Vec<SettingProblem>,
}

impl Check {
    /// A request table inside another setting (`children.x.update`):
    /// read as the request `name` is, its problems under `full`.
    pub(super) fn nested_call(
        &mut self,
        full: &str,
        name: &str,
        t: &Map<String, Value>,
        method: &str,
    ) -> Call {
        let mut sub = Check {
            problems: Vec::new(),
        };
        let call = call(&mut sub, name, t, false, method);
        for p in sub.problems {
            let message = p
                .message
                .replace(&format!("`{name}`"), &format!("`{full}`"));
            self.bad(full, message);
        }
        call
    }

    pub(super) fn bad(&mut self, key: &str, message: impl Into<String>) {
        self.problems.push(SettingProblem {
            key: Some(key.to_string()),
            message: message.into(),
        });
    }

    pub(super) fn text(&mut self, key: &str, v: Option<&Value>) -> Option<String> {
        match v {
            None => None,
            Some(Value::String(s)) if !s.trim().is_empty() => Some(s.clone()),
            Some(_) => {
                self.bad(key, format!("`{key}` must be a non-empty text"));
                None
            }
        }
    }

    pub(super) fn table<'v>(
        &mut self,
        key: &str,
        v: Option<&'v Value>,
    ) -> Option<&'v Map<String, Value>> {
        match v {
            None => None,
            Some(Value::Object(m)) => Some(m),
            Some(_) => {
                self.bad(
                    key,
                    format!("`{key}` must be a table such as {{ path = \"/items\" }}"),
                );
                None
            }
        }
    }

    pub(super) fn number(&mut self, key: &str, v: Option<&Value>, default: u64) -> u64 {
        match v {
            None => default,
            Some(n) if n.as_u64().is_some() => n.as_u64().unwrap_or(default),
            Some(_) => {
                self.bad(key, format!("`{key}` must be a whole number"));
                default
            }
        }
    }

    pub(super) fn unknown(&mut self, key: &str, t: &Map<String, Value>, allowed: &[&str]) {
        for k in t.keys().filter(|k| !allowed.contains(&k.as_str())) {
            self.bad(
                key,
                format!(
                    "unknown key `{k}` in `{key}` (accepted: {})",
                    allowed.join(", ")
                ),
            );
        }
    }
}

/// Check settings; the spec when there is no problem.
pub fn parse(kind: &str, settings: &Settings) -> Result<Spec, Vec<SettingProblem>> {
    let mut c = Check {
        problems: Vec::new(),
    };
    let graphql = kind == "graphql";
    let url_key = if graphql { "url" } else { "base_url" };
    let base_url = match c.text(url_key, settings.get(url_key)) {
        Some(u) if u.starts_with("http://") || u.starts_with("https://") => {
            u.trim_end_matches('/').to_string()
        }
        Some(_) => {
            c.bad(
                url_key,
                format!("`{url_key}` must start with http:// or https://"),
            );
            String::new()
        }
        None => {
            c.problems.push(SettingProblem {
                key: None,
                message: format!("missing setting `{url_key}`"),
            });
            String::new()
        }
    };
    let auth = auth(&mut c, settings.get("auth"));
    let id = c
        .text("id", settings.get("id"))
        .unwrap_or_else(|| "id".into());
    let version = match settings.get("version") {
        None => Vec::new(),
        Some(Value::String(s)) => vec![s.clone()],
        Some(Value::Array(a)) if a.iter().all(Value::is_string) => a
            .iter()
            .filter_map(|v| v.as_str().map(str::to_string))
            .collect(),
        Some(_) => {
            c.bad(
                "version",
                "`version` must be a field name or a list of them (first non-empty wins)",
            );
            Vec::new()
        }
    };
    let (list, paging) = match c.table("list", settings.get("list")) {
        Some(t) => (
            call(&mut c, "list", t, graphql, "GET"),
            paging(&mut c, t, graphql),
        ),
        None => {
            if !settings.contains_key("list") {
                c.problems.push(SettingProblem {
                    key: None,
                    message: "missing setting `list` (the request that lists records)".into(),
                });
            }
            (Call::empty(), Paging::None)
        }
    };
    let changes = c
        .table("changes", settings.get("changes"))
        .map(|t| changes(&mut c, t, &list, graphql));
    let deletes = c
        .table("deletes", settings.get("deletes"))
        .map(|t| Deletes {
            id: c
                .text("deletes", t.get("id"))
                .unwrap_or_else(|| "id".into()),
            call: call(&mut c, "deletes", t, graphql, "GET"),
        });
    if deletes.is_some() && changes.as_ref().is_some_and(|c| c.delta.is_some()) {
        c.bad(
            "deletes",
            "a delta feed (`changes` with `delta`) shows its deletes itself: name them with `removed` instead of `deletes`",
        );
    }
    if deletes.is_some() && changes.is_none() {
        c.bad(
            "deletes",
            "`deletes` needs `changes`: both are read from the same point in time",
        );
    }
    let get = c
        .table("get", settings.get("get"))
        .map(|t| call(&mut c, "get", t, graphql, "GET"));
    let missing = get_missing(&mut c, settings.get("get"));
    let create = c
        .table("create", settings.get("create"))
        .map(|t| call(&mut c, "create", t, graphql, "POST"));
    let update = c
        .table("update", settings.get("update"))
        .map(|t| call(&mut c, "update", t, graphql, "PATCH"));
    let delete = c
        .table("delete", settings.get("delete"))
        .map(|t| call(&mut c, "delete", t, graphql, "DELETE"));
    for (key, call) in [("get", &get), ("update", &update), ("delete", &delete)] {
        if let Some(call) = call {
            if !mentions(call, "{id}") {
                c.bad(
                    key,
                    format!("`{key}` must use \"{{id}}\" in its path, a parameter or its body"),
                );
            }
        }
    }
    let retry = match c.table("retry", settings.get("retry")) {
        Some(t) => {
            c.unknown("retry", t, &["attempts", "base_ms", "max_wait_s"]);
            let d = Retry::default();
            Retry {
                attempts: c
                    .number("retry", t.get("attempts"), d.attempts.into())
                    .max(1) as u32,
                base_ms: c.number("retry", t.get("base_ms"), d.base_ms),
                max_wait_s: c.number("retry", t.get("max_wait_s"), d.max_wait_s),
            }
        }
        None => Retry::default(),
    };
    let rate_limit = match settings.get("rate_limit") {
        None => None,
        Some(v) => match v.as_f64() {
            Some(r) if r > 0.0 => Some(r),
            _ => {
                c.bad(
                    "rate_limit",
                    "`rate_limit` must be a positive number of requests per second",
                );
                None
            }
        },
    };
    let writable = settings.get("writable").map(|v| match v.as_array() {
        Some(a) if a.iter().all(Value::is_string) => a
            .iter()
            .filter_map(|s| s.as_str().map(str::to_string))
            .collect(),
        _ => {
            c.bad("writable", "`writable` must be a list of field names");
            Vec::new()
        }
    });
    let spec = Spec {
        graphql,
        base_url,
        auth,
        id,
        version,
        list,
        paging,
        changes,
        deletes,
        get,
        missing,
        create,
        update,
        delete,
        conditional: c.text("conditional", settings.get("conditional")),
        marker_field: c.text("marker_field", settings.get("marker_field")),
        writable,
        rate_limit,
        retry,
        timeout_s: c.number("timeout_s", settings.get("timeout_s"), 30).max(1),
        webhook: super::webhook::settings(&mut c, settings.get("webhook")),
        children: super::children::settings(&mut c, settings.get("children"), graphql),
    };
    if c.problems.is_empty() {
        Ok(spec)
    } else {
        Err(c.problems)
    }
}

impl Call {
    fn empty() -> Call {
        Call {
            method: "GET".into(),
            path: String::new(),
            params: Map::new(),
            body: None,
            select: String::new(),
            reread: false,
        }
    }
}

const CALL_KEYS: &[&str] = &[
    "method",
    "path",
    "params",
    "body",
    "records",
    "record",
    "format",
    "overlap_s",
    "id",
    "missing",
];
/// Keys only `changes` takes.
const CHANGES_KEYS: &[&str] = &["tz", "delta", "next", "removed", "expired"];
const PAGING_KEYS: &[&str] = &[
    "paginate",
    "page_param",
    "size_param",
    "size",
    "first_page",
    "offset_param",
    "cursor_param",
    "next",
    "has_more",
];
const GRAPHQL_CALL_KEYS: &[&str] = &[
    "query",
    "variables",
    "records",
    "record",
    "format",
    "overlap_s",
    "id",
];

fn call(c: &mut Check, key: &str, t: &Map<String, Value>, graphql: bool, method: &str) -> Call {
    let select_key = if ["list", "changes", "deletes"].contains(&key) {
        "records"
    } else {
        "record"
    };
    let select = c.text(key, t.get(select_key)).unwrap_or_default();
    if !select.is_empty() && !select.starts_with('/') {
        c.bad(
            key,
            format!("`{select_key}` must be a JSON pointer such as \"/data\" (it starts with /)"),
        );
    }
    let mut allowed: Vec<&str> = if graphql {
        GRAPHQL_CALL_KEYS.to_vec()
    } else {
        CALL_KEYS.to_vec()
    };
    if key == "list" {
        allowed.extend(PAGING_KEYS);
    }
    if ["create", "update"].contains(&key) {
        allowed.push("reread");
    }
    if key == "changes" {
        allowed.extend(CHANGES_KEYS);
    }
    c.unknown(key, t, &allowed);
    if graphql {
        let Some(query) = c.text(key, t.get("query")) else {
            c.bad(key, format!("`{key}` needs `query` (the GraphQL document)"));
            return Call::empty();
        };
        let variables = match t.get("variables") {
            None => Value::Object(Map::new()),
            Some(v @ Value::Object(_)) => v.clone(),
            Some(_) => {
                c.bad(key, "`variables` must be a table");
                Value::Object(Map::new())
            }
        };
        let mut body = Map::new();
        body.insert("query".into(), Value::String(query));
        body.insert("variables".into(), variables);
        return Call {
            method: "POST".into(),
            path: String::new(),
            params: Map::new(),
            body: Some(Value::Object(body)),
            select,
            reread: reread(c, key, t),
        };
    }
    let path = c.text(key, t.get("path")).unwrap_or_default();
    if path.is_empty() && key != "changes" {
        c.bad(
            key,
            format!("`{key}` needs `path` (below base_url, e.g. \"/items/contacts\")"),
        );
    }
    let method = c
        .text(key, t.get("method"))
        .unwrap_or_else(|| method.into())
        .to_uppercase();
    if !["GET", "POST", "PUT", "PATCH", "DELETE"].contains(&method.as_str()) {
        c.bad(
            key,
            format!("`method` must be GET, POST, PUT, PATCH or DELETE, not {method}"),
        );
    }
    let params = match c.table(key, t.get("params")) {
        Some(p) => p.clone(),
        None => Map::new(),
    };
    let body = match (t.get("body"), method.as_str()) {
        (Some(b), _) => Some(b.clone()),
        (None, "POST" | "PUT" | "PATCH") if ["create", "update"].contains(&key) => {
            Some(Value::String("{record}".into()))
        }
        _ => None,
    };
    let call = Call {
        method,
        path,
        params,
        body,
        select,
        reread: reread(c, key, t),
    };
    if let Some(bad) = strings(&call)
        .into_iter()
        .find_map(einklang_core::mirror::bad_now)
    {
        c.bad(key, format!("`{key}`: `{{{bad}}}`: the format cannot be written; use chrono's specifiers such as {{now:%Y-%m-%d %H:%M:%S}}"));
    }
    call
}

/// `reread = true` (writes only).
fn reread(c: &mut Check, key: &str, t: &Map<String, Value>) -> bool {
    match t.get("reread") {
        None => false,
        Some(Value::Bool(b)) if ["create", "update"].contains(&key) => *b,
        Some(Value::Bool(_)) => {
            c.bad(
                key,
                format!("`reread` is for `create` and `update`, not `{key}`"),
            );
            false
        }
        Some(_) => {
            c.bad(key, "`reread` must be true or false");
            false
        }
    }
}

/// Every text of a call's path, parameters and body.
fn strings(call: &Call) -> Vec<&str> {
    fn walk<'a>(v: &'a Value, out: &mut Vec<&'a str>) {
        match v {
            Value::String(s) => out.push(s),
            Value::Array(a) => a.iter().for_each(|v| walk(v, out)),
            Value::Object(m) => m.values().for_each(|v| walk(v, out)),
            _ => {}
        }
    }
    let mut out = vec![call.path.as_str()];
    call.params.values().for_each(|v| walk(v, &mut out));
    if let Some(b) = &call.body {
        walk(b, &mut out);
    }
    out
}

/// The `changes` table: a `{since}` window or a delta feed.
fn changes(c: &mut Check, t: &Map<String, Value>, list: &Call, graphql: bool) -> Changes {
    let mut call = call(c, "changes", t, graphql, "GET");
    if call.path.is_empty() && !graphql {
        call.path = list.path.clone();
    }
    if call.select.is_empty() {
        call.select = list.select.clone();
    }
    let expired = statuses(c, "changes", "expired", t.get("expired"), vec![410]);
    let text = |c: &mut Check, k: &str| c.text("changes", t.get(k));
    let delta = text(c, "delta").map(|link| Delta {
        link,
        next: text(c, "next"),
        removed: text(c, "removed"),
    });
    if let Some(d) = &delta {
        if graphql {
            c.bad(
                "changes",
                "`delta` is for REST feeds (a delta link is a URL to GET)",
            );
        }
        for p in std::iter::once(&d.link).chain(&d.next) {
            if !p.starts_with('/') {
                c.bad("changes", format!("`delta` and `next` are JSON pointers such as \"/@odata.deltaLink\" (they start with /), not `{p}`"));
            }
        }
        for k in ["format", "tz", "overlap_s"] {
            if t.contains_key(k) {
                c.bad("changes", format!("`{k}` is for a `{{since}}` window; a delta feed (`delta`) has no time window"));
            }
        }
        if mentions(&call, "{since}") {
            c.bad(
                "changes",
                "a delta feed (`delta`) asks its stored link, not a time: leave \"{since}\" out",
            );
        }
        return Changes {
            call,
            format: "rfc3339".into(),
            tz: chrono_tz::UTC,
            overlap_s: 0,
            delta,
            expired,
        };
    }
    for k in ["next", "removed"] {
        if t.contains_key(k) {
            c.bad("changes", format!("`{k}` belongs to a delta feed: name its link with `delta` (e.g. delta = \"/@odata.deltaLink\")"));
        }
    }
    let format = text(c, "format").unwrap_or_else(|| "rfc3339".into());
    let named = ["rfc3339", "epoch", "epoch_ms"].contains(&format.as_str());
    let tz = match text(c, "tz") {
        None => chrono_tz::UTC,
        Some(_) if named => {
            c.bad("changes", "`tz` is the zone of a strftime `format` (such as \"%Y-%m-%d %H:%M:%S\"); rfc3339 and epochs need none");
            chrono_tz::UTC
        }
        Some(name) => name.parse().unwrap_or_else(|_| {
            c.bad("changes", format!("`tz`: unknown time zone `{name}` (use a name such as \"UTC\" or \"Europe/Berlin\")"));
            chrono_tz::UTC
        }),
    };
    if !named && !since_format_ok(&format, tz) {
        c.bad("changes", format!("`format` must be \"rfc3339\", \"epoch\", \"epoch_ms\" or a chrono/strftime format that writes a date-time, such as \"%Y-%m-%d %H:%M:%S\"; \"{format}\" cannot be written"));
    }
    let overlap_s = c.number("changes", t.get("overlap_s"), 60) as i64;
    if !mentions(&call, "{since}") {
        c.bad("changes", "`changes` must use \"{since}\" in a parameter or its body, e.g. params = { \"filter[updated_at][from]\" = \"{since}\" } (or name a delta feed's link with `delta`)");
    }
    Changes {
        call,
        format,
        tz,
        overlap_s,
        delta: None,
        expired,
    }
}

/// A strftime `{since}` format writes a time (through the checked writer,
/// never chrono's panicking `to_string`) and has a specifier at all.
fn since_format_ok(format: &str, tz: chrono_tz::Tz) -> bool {
    format.contains('%') && einklang_core::transform::format::writes_datetime(format, tz)
}

/// A list of HTTP statuses under `name` of table `key`.
fn statuses(
    c: &mut Check,
    key: &str,
    name: &str,
    v: Option<&Value>,
    default: Vec<u16>,
) -> Vec<u16> {
    let Some(v) = v else {
        return default;
    };
    match v.as_array() {
        Some(a)
            if a.iter()
                .all(|s| s.as_u64().is_some_and(|n| (100..600).contains(&n))) =>
        {
            a.iter()
                .filter_map(|s| s.as_u64().map(|n| n as u16))
                .collect()
        }
        _ => {
            c.bad(
                key,
                format!("`{name}` must be a list of HTTP statuses, e.g. {default:?}"),
            );
            default
        }
    }
}

fn paging(c: &mut Check, t: &Map<String, Value>, graphql: bool) -> Paging {
    let style = c
        .text("list", t.get("paginate"))
        .unwrap_or_else(|| "none".into());
    let text =
        |c: &mut Check, k: &str, d: &str| c.text("list", t.get(k)).unwrap_or_else(|| d.into());
    match style.as_str() {
        "none" => Paging::None,
        "page" => Paging::Page {
            param: text(c, "page_param", "page"),
            size_param: text(c, "size_param", "limit"),
            size: c.number("list", t.get("size"), 100).max(1),
            first: c.number("list", t.get("first_page"), 1),
        },
        "offset" => Paging::Offset {
            param: text(c, "offset_param", "offset"),
            size_param: text(c, "size_param", "limit"),
            size: c.number("list", t.get("size"), 100).max(1),
        },
        "cursor" => {
            let next = c.text("list", t.get("next"));
            if next.is_none() {
                c.bad("list", "`paginate = \"cursor\"` needs `next`: the JSON pointer of the next cursor in the answer");
            }
            let default = if graphql { "after" } else { "cursor" };
            Paging::Cursor {
                param: text(c, "cursor_param", default),
                next: next.unwrap_or_default(),
                has_more: c.text("list", t.get("has_more")),
            }
        }
        "next_link" => {
            let next = c.text("list", t.get("next"));
            if next.is_none() {
                c.bad("list", "`paginate = \"next_link\"` needs `next`: the JSON pointer of the next page's URL, e.g. \"/_links/next/href\"");
            }
            Paging::NextLink {
                next: next.unwrap_or_default(),
            }
        }
        other => {
            c.bad(
                "list",
                format!("`paginate` must be none, page, offset, cursor or next_link, not {other}"),
            );
            Paging::None
        }
    }
}

fn get_missing(c: &mut Check, get: Option<&Value>) -> Vec<u16> {
    let missing = get.and_then(|g| g.get("missing"));
    statuses(c, "get", "missing", missing, vec![404, 410])
}

fn auth(c: &mut Check, v: Option<&Value>) -> Auth {
    let Some(t) = c.table("auth", v) else {
        return Auth::None;
    };
    let s = |k: &str| t.get(k).and_then(Value::as_str).map(str::to_string);
    if let Some(token) = s("bearer") {
        return Auth::Bearer(token);
    }
    if let (Some(h), Some(v)) = (s("header"), s("value")) {
        return Auth::Header(h, v);
    }
    if let (Some(q), Some(v)) = (s("query"), s("value")) {
        return Auth::Query(q, v);
    }
    if let (Some(u), Some(p)) = (s("username"), s("password")) {
        return Auth::Basic(u, p);
    }
    if let Some(o) = t.get("oauth2").and_then(Value::as_object) {
        let o = |k: &str| o.get(k).and_then(Value::as_str).map(str::to_string);
        if let (Some(token_url), Some(client_id), Some(client_secret)) =
            (o("token_url"), o("client_id"), o("client_secret"))
        {
            return Auth::OAuth2 {
                token_url,
                client_id,
                client_secret,
                scope: o("scope"),
            };
        }
        c.bad(
            "auth",
            "`oauth2` needs `token_url`, `client_id` and `client_secret`",
        );
        return Auth::None;
    }
    if let Some(v) = t.get("signed_token") {
        return signed_token(c, v);
    }
    c.bad("auth", "`auth` must be one of { bearer = … }, { header = …, value = … }, { query = …, value = … }, { username = …, password = … }, { oauth2 = { token_url = …, client_id = …, client_secret = … } }, { signed_token = { url = …, scheme = \"advoware\", … } }");
    Auth::None
}

/// `auth = { signed_token = { url, scheme = "advoware", app_id, api_key,
/// kanzlei, database, user, password, role, product } }`: every missing
/// field named, the API key base64.
fn signed_token(c: &mut Check, v: &Value) -> Auth {
    const ADVOWARE: [&str; 7] = [
        "app_id", "api_key", "kanzlei", "database", "user", "password", "url",
    ];
    let Some(o) = v.as_object() else {
        c.bad(
            "auth",
            "`signed_token` must be a table: { url = …, scheme = \"advoware\", … }",
        );
        return Auth::None;
    };
    let text = |k: &str| o.get(k).and_then(Value::as_str).map(str::to_string);
    match text("scheme").as_deref() {
        Some("advoware") => {}
        Some(other) => {
            c.bad(
                "auth",
                format!("`signed_token` knows the scheme \"advoware\", not \"{other}\""),
            );
            return Auth::None;
        }
        None => {
            c.bad("auth", "`signed_token` needs `scheme` (\"advoware\")");
            return Auth::None;
        }
    }
    let mut problems = Vec::new();
    let missing: Vec<String> = ADVOWARE
        .iter()
        .filter(|k| text(k).is_none_or(|s| s.is_empty()))
        .map(|k| format!("`{k}`"))
        .collect();
    if !missing.is_empty() {
        problems.push(format!(
            "`signed_token` (advoware) needs {}",
            missing.join(", ")
        ));
    }
    let unknown: Vec<String> = o
        .keys()
        .filter(|k| {
            !ADVOWARE.contains(&k.as_str()) && !["scheme", "role", "product"].contains(&k.as_str())
        })
        .map(|k| format!("`{k}`"))
        .collect();
    if !unknown.is_empty() {
        problems.push(format!(
            "`signed_token` (advoware) has no {}",
            unknown.join(", ")
        ));
    }
    let number = |k: &str, default: u64, problems: &mut Vec<String>| match o.get(k) {
        None => default,
        Some(v) => match v
            .as_u64()
            .or_else(|| v.as_str().and_then(|s| s.trim().parse().ok()))
        {
            Some(n) => n,
            None => {
                problems.push(format!(
                    "`signed_token`: `{k}` must be a whole number, e.g. {default}"
                ));
                default
            }
        },
    };
    let role = number("role", 2, &mut problems);
    let product = number("product", 64, &mut problems);
    let api_key = text("api_key").unwrap_or_default();
    if !api_key.is_empty() && super::signed::base64_decode(&api_key).is_none() {
        problems.push("`signed_token`: `api_key` must be base64 (Advoware hands it out so)".into());
    }
    if text("url").is_some_and(|u| !u.starts_with("http://") && !u.starts_with("https://")) {
        problems.push("`signed_token`: `url` must start with http:// or https://".into());
    }
    if !problems.is_empty() {
        for p in problems {
            c.bad("auth", p);
        }
        return Auth::None;
    }
    let f = |k: &str| text(k).unwrap_or_default();
    Auth::SignedToken {
        url: f("url"),
        scheme: TokenScheme::Advoware {
            app_id: f("app_id"),
            api_key,
            kanzlei: f("kanzlei"),
            database: f("database"),
            user: f("user"),
            password: f("password"),
            role,
            product,
        },
    }
}

/// Whether a placeholder appears in a call's path, parameters or body.
fn mentions(call: &Call, placeholder: &str) -> bool {
    strings(call).iter().any(|s| s.contains(placeholder))
}
