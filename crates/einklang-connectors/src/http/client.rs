//! The HTTP side of the `http` and `graphql` connectors: credentials
//! (including tokens it requests itself — OAuth2 client credentials and
//! signed token requests, see `token`), a rate limit
//! (requests per second in any one-second window, shared by every client
//! of the same API account: `crate::limit`), and retries: a busy server — 429,
//! or 503 with `Retry-After` (seconds or an HTTP date) — is waited out on
//! every request, the token request included (`crate::retries`); 5xx and
//! transport failures are retried with exponential backoff and ±50 %
//! jitter. Non-idempotent requests (a POST create, a GraphQL mutation) are
//! retried only when the server said it did not process them (the busy
//! answers). Every call is traced at debug level, and every message names
//! connector, method, path and status with a short body excerpt — both
//! with every secret replaced by `***`.

use super::spec::{Auth, Retry, TokenScheme};
use crate::limit::{self, Limiter};
use crate::retries::{http_date, retry_after};
use crate::{excerpt, ConnectorError};
use chrono::{DateTime, Utc};
use serde_json::Value;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// An answer, read whole.
#[derive(Debug)]
pub struct Reply {
    /// Status.
    pub status: u16,
    /// The server's clock (`Date`).
    pub date: Option<DateTime<Utc>>,
    /// `Retry-After` in seconds.
    pub retry_after: Option<u64>,
    /// `ETag`.
    pub etag: Option<String>,
    /// `Content-Type`.
    pub content_type: String,
    /// Body text.
    pub body: String,
}

/// A failed request: the status if there was an answer, and a message
/// that is safe to show.
#[derive(Debug)]
pub struct Failure {
    /// Status, if the server answered.
    pub status: Option<u16>,
    /// Retry-After of a 429.
    pub retry_after: Option<u64>,
    /// Message naming method, path and status.
    pub message: String,
}

/// One connector's HTTP client.
pub struct Client {
    pub(super) agent: ureq::Agent,
    pub(super) connector: String,
    base_url: String,
    pub(super) auth: Auth,
    pub(super) token: Option<(String, Instant)>,
    /// The account's shared window (`rate_limit`).
    pub(super) limiter: Option<Arc<Limiter>>,
    pub(super) retry: Retry,
    /// Requests sent (retries included), for accounting.
    pub calls: u64,
}

impl Client {
    /// A client for `base_url`.
    pub fn new(
        connector: &str,
        base_url: &str,
        auth: Auth,
        rate: Option<f64>,
        retry: Retry,
        timeout_s: u64,
    ) -> Client {
        let agent: ureq::Agent = ureq::Agent::config_builder()
            .http_status_as_error(false)
            // per phase, not global: a global timeout makes ureq resolve
            // every host on a thread of its own, one per request
            .timeout_connect(Some(Duration::from_secs(timeout_s)))
            .timeout_send_body(Some(Duration::from_secs(timeout_s)))
            .timeout_recv_response(Some(Duration::from_secs(timeout_s)))
            .timeout_recv_body(Some(Duration::from_secs(timeout_s)))
            .build()
            .into();
        let limiter = rate.map(|r| limit::shared(account(base_url, &auth), r));
        Client {
            agent,
            connector: connector.to_string(),
            base_url: base_url.to_string(),
            auth,
            token: None,
            limiter,
            retry,
            calls: 0,
        }
    }

    /// The absolute URL of a path (absolute URLs stay), with the query.
    pub fn url(&self, path: &str, query: &str) -> String {
        let mut url = if path.starts_with("http://") || path.starts_with("https://") {
            path.to_string()
        } else {
            format!("{}{path}", self.base_url)
        };
        let mut extra = query.to_string();
        if let Auth::Query(k, v) = &self.auth {
            let pair = format!(
                "{}={}",
                crate::dav::percent_encode(k),
                crate::dav::percent_encode(v)
            );
            extra = if extra.is_empty() {
                pair
            } else {
                format!("{extra}&{pair}")
            };
        }
        if !extra.is_empty() {
            url.push(if url.contains('?') { '&' } else { '?' });
            url.push_str(&extra);
        }
        url
    }

    /// Send with retries. `idempotent`: whether a 5xx or a lost answer may
    /// be retried.
    pub fn send(
        &mut self,
        method: &str,
        url: &str,
        body: Option<&Value>,
        headers: &[(&str, &str)],
        idempotent: bool,
    ) -> Result<Reply, Failure> {
        let mut renewed = false;
        let mut attempt = 1;
        loop {
            let result = self.once(method, url, body, headers);
            let last = attempt >= self.retry.attempts;
            match result {
                Ok(r)
                    if r.status == 401 && super::token::requests_tokens(&self.auth) && !renewed =>
                {
                    // the token may have been revoked early: one fresh token
                    self.forget_token();
                    renewed = true;
                }
                Ok(r) if Retry::busy(r.status, r.retry_after) => {
                    let Some(wait) = self.retry.wait_out(r.status, r.retry_after, attempt) else {
                        return Ok(r); // the caller's failure: rate limited, with Retry-After
                    };
                    self.waiting(method, url, r.status, wait, attempt);
                    attempt += 1;
                }
                Ok(r) if r.status >= 500 && idempotent && !last => {
                    std::thread::sleep(self.retry.backoff(attempt));
                    attempt += 1;
                }
                Ok(r) => return Ok(r),
                Err(e) if idempotent && !last && !e.starts_with("auth:") => {
                    std::thread::sleep(self.retry.backoff(attempt));
                    attempt += 1;
                }
                Err(e) => {
                    let e = e.strip_prefix("auth:").unwrap_or(&e).to_string();
                    return Err(Failure {
                        status: None,
                        retry_after: None,
                        message: self.message(method, url, None, &e),
                    });
                }
            }
        }
    }

    /// A 2xx answer's JSON (GraphQL: without `errors`), else a failure.
    pub fn json(
        &mut self,
        method: &str,
        url: &str,
        body: Option<&Value>,
        graphql: bool,
    ) -> Result<(Reply, Value), Failure> {
        let reply = self.send(
            method,
            url,
            body,
            &[],
            method == "GET" || (graphql && !is_mutation(body)),
        )?;
        if !(200..300).contains(&reply.status) {
            return Err(self.failure(method, url, Some(&reply), ""));
        }
        let value = self.parse(method, url, &reply)?;
        if graphql {
            if let Some(errors) = value
                .get("errors")
                .and_then(Value::as_array)
                .filter(|e| !e.is_empty())
            {
                let first = errors[0]
                    .get("message")
                    .and_then(Value::as_str)
                    .unwrap_or("(no message)");
                let detail = format!("GraphQL error: {first}");
                return Err(Failure {
                    status: Some(reply.status),
                    retry_after: None,
                    message: self.message(method, url, Some(reply.status), &detail),
                });
            }
        }
        Ok((reply, value))
    }

    /// The body as JSON; an empty body (204) is `null`. HTML or cut-off
    /// JSON is a failure with an excerpt.
    pub fn parse(&self, method: &str, url: &str, reply: &Reply) -> Result<Value, Failure> {
        if reply.body.trim().is_empty() {
            return Ok(Value::Null);
        }
        serde_json::from_str(&reply.body).map_err(|e| {
            let what = match reply.content_type.is_empty() {
                true => String::new(),
                false => format!(" ({})", reply.content_type),
            };
            let detail = format!(
                "the answer{what} is not JSON: {e}: {}",
                excerpt(reply.body.trim(), 120)
            );
            Failure {
                status: Some(reply.status),
                retry_after: None,
                message: self.message(method, url, Some(reply.status), &detail),
            }
        })
    }

    /// A failure for an answer that is not what was expected.
    pub fn failure(&self, method: &str, url: &str, reply: Option<&Reply>, detail: &str) -> Failure {
        let status = reply.map(|r| r.status);
        let body = reply.map(|r| r.body.trim()).unwrap_or_default();
        let detail = match (detail.is_empty(), body.is_empty()) {
            (true, _) => excerpt(body, 200),
            (false, true) => detail.to_string(),
            (false, false) => format!("{detail}: {}", excerpt(body, 200)),
        };
        Failure {
            status,
            retry_after: reply.and_then(|r| r.retry_after),
            message: self.message(method, url, status, &detail),
        }
    }

    /// `connector `x`: GET /path?q → 500: detail`, secrets replaced.
    pub fn message(&self, method: &str, url: &str, status: Option<u16>, detail: &str) -> String {
        let path = url.strip_prefix(&self.base_url).unwrap_or(url);
        let status = status.map(|s| format!(" → {s}")).unwrap_or_default();
        self.redact(&format!(
            "connector `{}`: {method} {path}{status}: {detail}",
            self.connector
        ))
    }

    /// The same error as a [`ConnectorError`].
    pub fn error(&self, f: Failure) -> ConnectorError {
        let message = f
            .message
            .strip_prefix(&format!("connector `{}`: ", self.connector))
            .unwrap_or(&f.message)
            .to_string();
        ConnectorError::Other {
            connector: self.connector.clone(),
            message,
        }
    }

    pub(super) fn redact(&self, text: &str) -> String {
        let secrets: Vec<&str> = match &self.auth {
            Auth::None => vec![],
            Auth::Bearer(t) => vec![t],
            Auth::Header(_, v) | Auth::Query(_, v) => vec![v],
            Auth::Basic(_, p) => vec![p],
            Auth::OAuth2 { client_secret, .. } => vec![client_secret],
            Auth::SignedToken {
                scheme:
                    TokenScheme::Advoware {
                        api_key, password, ..
                    },
                ..
            } => vec![api_key, password],
        };
        let mut out = text.to_string();
        for s in secrets.into_iter().filter(|s| s.len() >= 3) {
            out = out
                .replace(s, "***")
                .replace(&crate::dav::percent_encode(s), "***");
        }
        if let Some((t, _)) = &self.token {
            out = out.replace(t.as_str(), "***");
        }
        out
    }

    /// Wait `wait` for a busy server, with a debug event saying so.
    pub(super) fn waiting(
        &self,
        method: &str,
        url: &str,
        status: u16,
        wait: Duration,
        attempt: u32,
    ) {
        tracing::debug!(
            connector = %self.connector,
            method,
            path = %self.path(url),
            status,
            wait_s = wait.as_secs(),
            attempt,
            "waiting out a busy server"
        );
        std::thread::sleep(wait);
    }

    /// The path (and query) of a URL, secrets replaced, for traces.
    pub(super) fn path(&self, url: &str) -> String {
        self.redact(url.strip_prefix(&self.base_url).unwrap_or(url))
    }

    /// The event of one call that started at `started`.
    pub(super) fn traced(
        &self,
        method: &str,
        url: &str,
        result: &Result<Reply, String>,
        started: Instant,
    ) {
        let path = self.path(url);
        match result {
            Ok(r) => {
                crate::calls::remote_call(&self.connector, method, &path, Ok(&r.status), started)
            }
            Err(e) => {
                let error = self.redact(e);
                crate::calls::remote_call(&self.connector, method, &path, Err(&error), started)
            }
        }
    }

    /// Send a request; `counted`: within the account's rate limit, waiting
    /// for a slot of the window, held until the answer is read. (The
    /// trace's milliseconds are the request's own, without the wait.)
    pub(super) fn run(
        &self,
        method: &str,
        url: &str,
        req: ureq::http::Request<String>,
        counted: bool,
    ) -> Result<Reply, String> {
        let limiter = self.limiter.as_ref().filter(|_| counted);
        let asked = Instant::now();
        let _slot = limiter.map(|l| l.start());
        crate::health::waited(&self.connector, asked.elapsed());
        let started = Instant::now();
        let result = self
            .agent
            .run(req)
            .map_err(|e| e.to_string())
            .and_then(read_reply);
        self.traced(method, url, &result, started);
        result
    }

    /// Whether a URL is on the API's own host (a token request there
    /// counts against the rate limit; one to another host does not).
    pub(super) fn same_origin(&self, url: &str) -> bool {
        limit::origin(url).eq_ignore_ascii_case(limit::origin(&self.base_url))
    }

    /// One request. Transport failures are `Err(text)`; `auth:` marks a
    /// failed token request (not retried here).
    fn once(
        &mut self,
        method: &str,
        url: &str,
        body: Option<&Value>,
        headers: &[(&str, &str)],
    ) -> Result<Reply, String> {
        let auth = self.authorization()?;
        self.calls += 1;
        let mut req = ureq::http::Request::builder()
            .method(method)
            .uri(url)
            .header("Accept", "application/json");
        if let Some((k, v)) = &auth {
            req = req.header(k.as_str(), v.as_str());
        }
        for (k, v) in headers {
            req = req.header(*k, *v);
        }
        let text = match body {
            Some(b) => {
                req = req.header("Content-Type", "application/json");
                b.to_string()
            }
            None => String::new(),
        };
        let req = req.body(text).map_err(|e| e.to_string())?;
        self.run(method, url, req, true)
    }

    /// The Authorization (or API key) header for the next request.
    fn authorization(&mut self) -> Result<Option<(String, String)>, String> {
        Ok(match &self.auth {
            Auth::None | Auth::Query(..) => None,
            Auth::Bearer(t) => Some(("Authorization".into(), format!("Bearer {t}"))),
            Auth::Header(h, v) => Some((h.clone(), v.clone())),
            Auth::Basic(u, p) => Some((
                "Authorization".into(),
                format!("Basic {}", crate::dav::base64(&format!("{u}:{p}"))),
            )),
            Auth::OAuth2 { .. } | Auth::SignedToken { .. } => Some((
                "Authorization".into(),
                format!("Bearer {}", self.bearer_token()?),
            )),
        })
    }
}

/// The account a client's requests count against: the API's origin and
/// who it is to the API — the token or key, the Basic user, the OAuth2
/// app (token URL and client id), the signed token's app and user —
/// hashed, never kept in clear.
fn account(base_url: &str, auth: &Auth) -> limit::Account {
    let origin = limit::origin(base_url);
    match auth {
        Auth::None => limit::account(origin, &["none"]),
        Auth::Bearer(t) => limit::account(origin, &["bearer", t]),
        Auth::Header(h, v) => limit::account(origin, &["header", &h.to_ascii_lowercase(), v]),
        Auth::Query(k, v) => limit::account(origin, &["query", k, v]),
        Auth::Basic(u, _) => limit::account(origin, &["basic", u]),
        Auth::OAuth2 {
            token_url,
            client_id,
            ..
        } => limit::account(origin, &["oauth2", token_url, client_id]),
        Auth::SignedToken {
            url,
            scheme:
                TokenScheme::Advoware {
                    app_id,
                    kanzlei,
                    database,
                    user,
                    ..
                },
        } => limit::account(origin, &["advoware", url, app_id, kanzlei, database, user]),
    }
}

fn read_reply(mut res: ureq::http::Response<ureq::Body>) -> Result<Reply, String> {
    let header = |name: &str| {
        res.headers()
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(|v| v.trim().to_string())
    };
    let date = header("date").and_then(|d| http_date(&d));
    let retry_after = header("retry-after").and_then(|v| retry_after(&v, date));
    let etag = header("etag");
    let content_type = header("content-type").unwrap_or_default();
    let status = res.status().as_u16();
    let body = res
        .body_mut()
        .with_config()
        .limit(512 * 1024 * 1024)
        .read_to_string()
        .map_err(|e| format!("reading the answer (status {status}): {e}"))?;
    Ok(Reply {
        status,
        date,
        retry_after,
        etag,
        content_type,
        body,
    })
}

/// Whether a GraphQL body is a mutation (not retried after a lost answer).
fn is_mutation(body: Option<&Value>) -> bool {
    let query = body
        .and_then(|b| b.get("query"))
        .and_then(Value::as_str)
        .unwrap_or("");
    query.trim_start().starts_with("mutation")
}
