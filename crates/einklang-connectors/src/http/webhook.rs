//! The `webhook` settings of an `http` connector and checking an incoming
//! call against them.
//!
//! `scheme` says how a call proves where it comes from:
//!
//! - `"hmac"` (the default): an HMAC-SHA256 with the shared secret over the
//!   raw body — or over `signed`, a template of `{timestamp}` and `{body}`
//!   for APIs that sign a timestamp with it (Stripe: `"{timestamp}.{body}"`,
//!   Slack: `"v0:{timestamp}:{body}"`) — in hex or base64, each value of
//!   the header may carry a `name=` prefix (`sha256=`, `v0=`, `v1=`) and
//!   several may be given comma-separated (Stripe's `t=…,v1=…`). A signed
//!   timestamp (seconds since 1970, or the `t=` item of its header) must
//!   lie within `tolerance_s` of this clock.
//! - `"espo"`: EspoCRM (v9+) sends `Signature: base64(webhookId + ":" +
//!   hex(HMAC-SHA256(body, secretKey)))`; the webhook id must be the
//!   configured `webhook_id`, the MAC the body's.
//! - `"secret"`: the shared secret itself, in a header (`secret_header`)
//!   or a query parameter (`secret_param`).
//! - `"graph"`: Microsoft Graph change notifications. A call with
//!   `?validationToken=…` is the subscription handshake, answered with the
//!   token; a notification's every `clientState` must be the secret.
//!
//! MACs and secrets are compared in constant time. The ids sit at JSON
//! pointers of the payload (Directus flows: `/key` and `/keys`), as one
//! value or a list; a `*` step takes every element of an array (EspoCRM's
//! batches: `/*/id`). A form-encoded body (`a=1&b=2`) is read as an object
//! of its fields. The records are then read by id.
//!
//! What a copy of a call would repeat (its MAC, its delivery id, or for
//! schemes without a MAC the body's hash) is handed to the receiver, which
//! remembers it for `replay_window_s`; this module keeps no state.

use super::spec::Check;
use super::template::scalar;
use crate::Delivery;
use hmac::{Hmac, KeyInit, Mac};
use serde_json::{Map, Value};
use sha2::{Digest, Sha256};
use std::time::Duration;

/// How a call proves it comes from the sender.
#[derive(Clone, Debug, PartialEq)]
pub enum Scheme {
    /// HMAC-SHA256 of `signed` in `signature_header`, hex or base64.
    Hmac,
    /// EspoCRM: `base64(webhook_id:hex(hmac))` in `signature_header`.
    Espo {
        /// The hook's id, as EspoCRM answered its creation.
        webhook_id: String,
    },
    /// The secret itself, in a header or a query parameter.
    Secret {
        /// Header holding it.
        header: Option<String>,
        /// Query parameter holding it.
        param: Option<String>,
    },
    /// Microsoft Graph: `validationToken` handshake, `clientState` checked.
    Graph,
}

/// A webhook: how an incoming call is checked and where its ids are.
#[derive(Clone, Debug, PartialEq)]
pub struct Webhook {
    /// How a call is checked.
    pub scheme: Scheme,
    /// Header with the signature (`X-Hub-Signature-256`); EspoCRM's
    /// `Signature` by default; unused by `secret` and `graph`.
    pub signature_header: String,
    /// Shared secret of the HMAC-SHA256 (EspoCRM's `secretKey`, Graph's
    /// `clientState`).
    pub secret: String,
    /// JSON pointers at which ids sit (a value or an array of values; `*`
    /// takes every element).
    pub ids: Vec<String>,
    /// Header with the sender's id of the delivery (`X-GitHub-Delivery`).
    pub delivery_header: Option<String>,
    /// Header with the signed timestamp (`X-Slack-Request-Timestamp`).
    pub timestamp_header: Option<String>,
    /// What is signed: `{body}`, with `{timestamp}` when there is one.
    pub signed: String,
    /// Seconds a signed timestamp may be away from this clock.
    pub tolerance_s: u64,
    /// Seconds a copy of an accepted call is refused.
    pub replay_window_s: u64,
}

/// Keys of the `webhook` table.
const KEYS: &[&str] = &[
    "scheme",
    "signature_header",
    "secret",
    "ids",
    "webhook_id",
    "secret_header",
    "secret_param",
    "delivery_header",
    "timestamp_header",
    "signed",
    "tolerance_s",
    "replay_window_s",
];

/// The longest Graph `validationToken` echoed.
pub const MAX_TOKEN: usize = 4096;

/// Check the `webhook` table of a connector's settings.
pub(super) fn settings(c: &mut Check, v: Option<&Value>) -> Option<Webhook> {
    let t = c.table("webhook", v)?;
    c.unknown("webhook", t, KEYS);
    let scheme_name = c
        .text("webhook", t.get("scheme"))
        .unwrap_or_else(|| "hmac".into());
    let header = c.text("webhook", t.get("signature_header"));
    let secret = c.text("webhook", t.get("secret"));
    let mut ids: Vec<String> = match t.get("ids") {
        Some(Value::String(s)) => vec![s.clone()],
        Some(Value::Array(a)) => a
            .iter()
            .filter_map(|s| s.as_str().map(str::to_string))
            .collect(),
        _ => Vec::new(),
    };
    let delivery_header = c.text("webhook", t.get("delivery_header"));
    let timestamp_header = c.text("webhook", t.get("timestamp_header"));
    let signed = c
        .text("webhook", t.get("signed"))
        .unwrap_or_else(|| "{body}".into());
    signed_problems(c, t, &signed, timestamp_header.is_some());
    let tolerance_s = seconds(c, t, "tolerance_s", 300);
    let replay_window_s = seconds(c, t, "replay_window_s", 600);
    let webhook_id = c.text("webhook", t.get("webhook_id"));
    let secret_header = c.text("webhook", t.get("secret_header"));
    let secret_param = c.text("webhook", t.get("secret_param"));
    let only = |c: &mut Check, key: &str, given: bool, scheme: &str| {
        if given {
            c.bad(
                "webhook",
                format!("`{key}` belongs to scheme = \"{scheme}\", not \"{scheme_name}\""),
            );
        }
    };
    if scheme_name != "hmac" {
        only(c, "timestamp_header", timestamp_header.is_some(), "hmac");
        only(c, "signed", t.contains_key("signed"), "hmac");
    }
    if scheme_name != "espo" {
        only(c, "webhook_id", webhook_id.is_some(), "espo");
    }
    if scheme_name != "secret" {
        only(c, "secret_header", secret_header.is_some(), "secret");
        only(c, "secret_param", secret_param.is_some(), "secret");
    }
    let (scheme, header) = match scheme_name.as_str() {
        "hmac" => (Scheme::Hmac, header),
        "espo" => {
            if ids.is_empty() {
                ids = vec!["/*/id".into()];
            }
            let Some(webhook_id) = webhook_id else {
                c.bad("webhook", "scheme = \"espo\" needs `webhook_id`: the id EspoCRM answered when the webhook was created (Administration > Webhooks)");
                return None;
            };
            let header = header.unwrap_or_else(|| "Signature".into());
            (Scheme::Espo { webhook_id }, Some(header))
        }
        "secret" => {
            if secret_header.is_some() == secret_param.is_some() {
                c.bad("webhook", "scheme = \"secret\" needs one of `secret_header` (the header holding the secret) or `secret_param` (the query parameter holding it)");
                return None;
            }
            if header.is_some() {
                c.bad("webhook", "scheme = \"secret\" takes no `signature_header`; name where the secret is with `secret_header` or `secret_param`");
            }
            let scheme = Scheme::Secret {
                header: secret_header,
                param: secret_param,
            };
            (scheme, Some(String::new()))
        }
        "graph" => {
            if ids.is_empty() {
                ids = vec!["/value/*/resourceData/id".into()];
            }
            if header.is_some() {
                c.bad("webhook", "scheme = \"graph\" takes no `signature_header`: Graph proves a notification by its `clientState` (the `secret`)");
            }
            (Scheme::Graph, Some(String::new()))
        }
        other => {
            c.bad(
                "webhook",
                format!("unknown webhook scheme `{other}`: one of \"hmac\", \"espo\", \"secret\", \"graph\""),
            );
            return None;
        }
    };
    match (header, secret, ids.is_empty()) {
        (Some(signature_header), Some(secret), false) => Some(Webhook {
            scheme,
            signature_header,
            secret,
            ids,
            delivery_header,
            timestamp_header,
            signed,
            tolerance_s,
            replay_window_s,
        }),
        _ => {
            let needs = match scheme_name.as_str() {
                "hmac" => "`webhook` needs `signature_header`, `secret` and `ids` (JSON pointers to the ids in the payload)",
                _ => "`webhook` needs `secret` and `ids` (JSON pointers to the ids in the payload)",
            };
            c.bad("webhook", needs);
            None
        }
    }
}

fn signed_problems(c: &mut Check, t: &Map<String, Value>, signed: &str, timestamped: bool) {
    if !signed.contains("{body}") {
        c.bad(
            "webhook",
            "`signed` must contain {body}: what the signature covers, e.g. \"{timestamp}.{body}\"",
        );
    }
    match (timestamped, signed.contains("{timestamp}")) {
        (true, false) => c.bad("webhook", "`timestamp_header` needs `signed` with {timestamp} in it (e.g. \"{timestamp}.{body}\"): a timestamp the signature does not cover can be changed by whoever replays the call"),
        (false, true) => c.bad("webhook", "`signed` uses {timestamp} but there is no `timestamp_header`"),
        _ => {}
    }
    if t.contains_key("tolerance_s") && !timestamped {
        c.bad("webhook", "`tolerance_s` needs `timestamp_header`");
    }
}

fn seconds(c: &mut Check, t: &Map<String, Value>, key: &str, default: u64) -> u64 {
    match t.get(key) {
        None => default,
        Some(v) if v.as_u64().is_some_and(|n| n > 0) => v.as_u64().unwrap_or(default),
        Some(_) => {
            c.bad(
                "webhook",
                format!("`{key}` must be a whole number of seconds, at least 1"),
            );
            default
        }
    }
}

/// Check a call at the present time; what it names and what a copy repeats.
pub fn verify(
    spec: &Webhook,
    headers: &[(String, String)],
    body: &[u8],
) -> Result<Delivery, String> {
    verify_call(spec, "", headers, body)
}

/// [`verify`] with the query string of the call (`a=1&b=2`, without `?`).
pub fn verify_call(
    spec: &Webhook,
    query: &str,
    headers: &[(String, String)],
    body: &[u8],
) -> Result<Delivery, String> {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64);
    verify_call_at(spec, query, headers, body, now)
}

/// [`verify`] with the clock given (seconds since 1970).
pub fn verify_at(
    spec: &Webhook,
    headers: &[(String, String)],
    body: &[u8],
    now: i64,
) -> Result<Delivery, String> {
    verify_call_at(spec, "", headers, body, now)
}

/// [`verify_call`] with the clock given (seconds since 1970).
pub fn verify_call_at(
    spec: &Webhook,
    query: &str,
    headers: &[(String, String)],
    body: &[u8],
    now: i64,
) -> Result<Delivery, String> {
    let timestamp = match &spec.timestamp_header {
        Some(h) => Some(timestamp(h, header(headers, h)?)?),
        None => None,
    };
    let mut lifecycle = false;
    let key = match &spec.scheme {
        Scheme::Hmac => format!(
            "signature:{}",
            signature(spec, headers, body, timestamp.map(|t| t.0))?
        ),
        Scheme::Espo { webhook_id } => {
            format!("signature:{}", espo(spec, webhook_id, headers, body)?)
        }
        Scheme::Secret { header: h, param } => {
            let given = match (h, param) {
                (Some(h), _) => header(headers, h)?.to_string(),
                (None, Some(p)) => {
                    query_value(query, p)
                        .filter(|v| !v.is_empty())
                        .ok_or_else(|| {
                            format!("the webhook call has no `{p}` query parameter: refused")
                        })?
                }
                (None, None) => return Err("no place for the secret is configured".into()),
            };
            if !same(given.as_bytes(), spec.secret.as_bytes()) {
                let place = h.as_ref().map_or_else(
                    || format!("query parameter `{}`", param.as_deref().unwrap_or("")),
                    |h| format!("header `{h}`"),
                );
                return Err(format!("the secret in the {place} is wrong: refused"));
            }
            format!("body:{}", body_hash(body))
        }
        Scheme::Graph => {
            if let Some(token) = query_value(query, "validationToken") {
                return handshake(spec, token);
            }
            lifecycle = graph(spec, body)?;
            format!("body:{}", body_hash(body))
        }
    };
    if let (Some(h), Some((_, at))) = (&spec.timestamp_header, timestamp) {
        let off = (now - at).unsigned_abs();
        if off > spec.tolerance_s {
            return Err(format!(
                "the timestamp in `{h}` is {off} s away from this clock, more than tolerance_s = {}: refused",
                spec.tolerance_s
            ));
        }
    }
    let id = match &spec.delivery_header {
        Some(h) => Some(header(headers, h)?.to_string()),
        None => None,
    };
    let mut keys = vec![key];
    keys.extend(id.iter().map(|id| format!("delivery:{id}")));
    let mut remember = spec.replay_window_s;
    if spec.timestamp_header.is_some() {
        // a copy stays refused as long as its timestamp is accepted
        remember = remember.max(2 * spec.tolerance_s);
    }
    Ok(Delivery {
        // a lifecycle notification (`missed`, …) names no record: an
        // ordinary run reads what it may have missed
        ids: match lifecycle {
            true => Vec::new(),
            false => ids(spec, headers, body)?,
        },
        id,
        keys,
        remember: Duration::from_secs(remember),
        handshake: None,
    })
}

/// Graph's subscription validation: the token, to be echoed as text.
fn handshake(spec: &Webhook, token: String) -> Result<Delivery, String> {
    if token.is_empty() || token.len() > MAX_TOKEN {
        return Err(format!(
            "a validationToken of {} bytes (at most {MAX_TOKEN}): refused",
            token.len()
        ));
    }
    Ok(Delivery {
        ids: Vec::new(),
        id: None,
        keys: Vec::new(),
        remember: Duration::from_secs(spec.replay_window_s),
        handshake: Some(token),
    })
}

/// Every notification of a Graph call carries the configured
/// `clientState`; `true` when one is a lifecycle notification
/// (`lifecycleEvent`: `missed`, `subscriptionRemoved`,
/// `reauthorizationRequired`).
fn graph(spec: &Webhook, body: &[u8]) -> Result<bool, String> {
    let payload: Value = serde_json::from_slice(body)
        .map_err(|e| format!("the Graph notification is not JSON: {e}"))?;
    let Some(items) = payload.get("value").and_then(Value::as_array) else {
        return Err("the Graph notification has no `value` list: refused".into());
    };
    if items.is_empty() {
        return Err("the Graph notification's `value` list is empty: refused".into());
    }
    for (i, item) in items.iter().enumerate() {
        let state = item
            .get("clientState")
            .and_then(Value::as_str)
            .unwrap_or("");
        if !same(state.as_bytes(), spec.secret.as_bytes()) {
            return Err(format!(
                "notification {i} carries a wrong or no `clientState`: refused"
            ));
        }
    }
    Ok(items.iter().any(|i| i.get("lifecycleEvent").is_some()))
}

/// EspoCRM's `Signature`: the hex of the MAC when it matches.
fn espo(
    spec: &Webhook,
    webhook_id: &str,
    headers: &[(String, String)],
    body: &[u8],
) -> Result<String, String> {
    let name = &spec.signature_header;
    let given = header(headers, name)?;
    let decoded = base64(given)
        .and_then(|b| String::from_utf8(b).ok())
        .ok_or_else(|| format!("`{name}` is not base64 text: refused"))?;
    let Some((id, hex_mac)) = decoded.rsplit_once(':') else {
        return Err(format!("`{name}` holds no `webhookId:signature`: refused"));
    };
    if id != webhook_id {
        return Err(format!(
            "`{name}` is signed for webhook `{}`, not webhook_id `{webhook_id}`: refused",
            crate::excerpt(id, 40)
        ));
    }
    let mac =
        hex(hex_mac).ok_or_else(|| format!("the signature in `{name}` is not hex: refused"))?;
    let mut expected =
        Hmac::<Sha256>::new_from_slice(spec.secret.as_bytes()).map_err(|e| e.to_string())?;
    expected.update(body);
    if expected.clone().verify_slice(&mac).is_err() {
        return Err(format!(
            "the signature in `{name}` does not match the body: refused"
        ));
    }
    Ok(hex_mac.to_ascii_lowercase())
}

/// Constant-time equality (the length is not secret).
fn same(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

fn body_hash(body: &[u8]) -> String {
    Sha256::digest(body)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

fn header<'h>(headers: &'h [(String, String)], name: &str) -> Result<&'h str, String> {
    headers
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case(name))
        .map(|(_, v)| v.trim())
        .filter(|v| !v.is_empty())
        .ok_or_else(|| format!("the webhook call has no `{name}` header: refused"))
}

/// The timestamp as sent (it is signed as text) and its value.
fn timestamp<'v>(name: &str, value: &'v str) -> Result<(&'v str, i64), String> {
    let text = value
        .split(',')
        .map(str::trim)
        .find_map(|item| item.strip_prefix("t="))
        .unwrap_or(value);
    text.parse::<i64>()
        .map(|at| (text, at))
        .map_err(|_| format!("`{name}` holds no timestamp in seconds since 1970: refused"))
}

/// Verify the signature; the hex of the MAC when it matches.
fn signature(
    spec: &Webhook,
    headers: &[(String, String)],
    body: &[u8],
    timestamp: Option<&str>,
) -> Result<String, String> {
    let name = &spec.signature_header;
    let given = header(headers, name)?;
    let mut mac =
        Hmac::<Sha256>::new_from_slice(spec.secret.as_bytes()).map_err(|e| e.to_string())?;
    let (before, after) = spec.signed.split_once("{body}").unwrap_or(("", ""));
    let stamp = |part: &str| part.replace("{timestamp}", timestamp.unwrap_or(""));
    mac.update(stamp(before).as_bytes());
    mac.update(body);
    mac.update(stamp(after).as_bytes());
    let candidates: Vec<Vec<u8>> = given
        .split(|c: char| c == ',' || c.is_whitespace())
        .flat_map(|item| [Some(item), prefixed(item)])
        .flatten()
        .filter(|s| !s.is_empty())
        .filter_map(|s| hex(s).or_else(|| base64(s)))
        .collect();
    if candidates.is_empty() {
        return Err(format!("`{name}` is neither hex nor base64: refused"));
    }
    // the state is cloned after hashing: each candidate costs one finalisation
    if !candidates
        .iter()
        .any(|sig| mac.clone().verify_slice(sig).is_ok())
    {
        return Err(format!(
            "the signature in `{name}` does not match the body: refused"
        ));
    }
    let bytes = mac.finalize().into_bytes();
    Ok(bytes.iter().map(|b| format!("{b:02x}")).collect())
}

/// The value of a `name=value` item (`sha256=…`, `v1=…`).
fn prefixed(item: &str) -> Option<&str> {
    let (name, value) = item.split_once('=')?;
    let named = (1..=16).contains(&name.len()) && name.bytes().all(|b| b.is_ascii_alphanumeric());
    (named && !value.is_empty()).then_some(value)
}

/// The payload as JSON: the body itself, or a form-encoded body
/// (`Content-Type: application/x-www-form-urlencoded`, or a body that is
/// not JSON but reads as `a=1&b=2`) as an object of its fields (a field
/// given more than once: a list of its values).
fn payload(headers: &[(String, String)], body: &[u8]) -> Result<Value, String> {
    let form = headers.iter().any(|(k, v)| {
        k.eq_ignore_ascii_case("content-type")
            && v.to_ascii_lowercase()
                .starts_with("application/x-www-form-urlencoded")
    });
    let json = match form {
        true => None,
        false => Some(serde_json::from_slice::<Value>(body)),
    };
    match json {
        Some(Ok(v)) => Ok(v),
        Some(Err(e)) if !looks_like_form(body) => Err(format!("the webhook body is not JSON: {e}")),
        _ => {
            let text = std::str::from_utf8(body)
                .map_err(|_| "the form-encoded webhook body is not UTF-8".to_string())?;
            Ok(Value::Object(form_fields(text)))
        }
    }
}

fn looks_like_form(body: &[u8]) -> bool {
    !body.is_empty()
        && body.contains(&b'=')
        && body
            .iter()
            .all(|b| b.is_ascii_graphic() && !b"{}[]\"".contains(b))
}

/// `a=1&b=2&a=3` as `{"a": ["1", "3"], "b": "2"}`.
fn form_fields(text: &str) -> Map<String, Value> {
    let mut out = Map::new();
    for pair in text.split('&').filter(|p| !p.is_empty()) {
        let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
        let (k, v) = (decode(k), Value::String(decode(v)));
        match out.get_mut(&k) {
            None => {
                out.insert(k, v);
            }
            Some(Value::Array(a)) => a.push(v),
            Some(first) => *first = Value::Array(vec![first.take(), v]),
        }
    }
    out
}

/// Percent-decoding of a form or query component (`+` is a space).
fn decode(s: &str) -> String {
    let b = s.as_bytes();
    let digit = |c: u8| (c as char).to_digit(16).map(|d| d as u8);
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'+' => out.push(b' '),
            b'%' if i + 2 < b.len() => match (digit(b[i + 1]), digit(b[i + 2])) {
                (Some(h), Some(l)) => {
                    out.push(h << 4 | l);
                    i += 2;
                }
                _ => out.push(b'%'),
            },
            c => out.push(c),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// The value of a query parameter, decoded.
pub fn query_value(query: &str, name: &str) -> Option<String> {
    query
        .split('&')
        .filter_map(|p| p.split_once('=').or(Some((p, ""))))
        .find(|(k, _)| decode(k) == name)
        .map(|(_, v)| decode(v))
}

/// The values at a pointer whose `*` steps take every element of an array
/// (or every value of an object).
fn select<'v>(v: &'v Value, pointer: &str) -> Vec<&'v Value> {
    let mut here = vec![v];
    for step in pointer.split('/').skip(1) {
        let step = step.replace("~1", "/").replace("~0", "~");
        here = here
            .into_iter()
            .flat_map(|v| -> Vec<&Value> {
                match (v, step.as_str()) {
                    (Value::Array(a), "*") => a.iter().collect(),
                    (Value::Object(o), "*") => o.values().collect(),
                    (Value::Array(a), i) => i
                        .parse::<usize>()
                        .ok()
                        .and_then(|i| a.get(i))
                        .into_iter()
                        .collect(),
                    (Value::Object(o), k) => o.get(k).into_iter().collect(),
                    _ => Vec::new(),
                }
            })
            .collect();
    }
    here
}

/// The ids at the settings' pointers, each once, in order.
fn ids(spec: &Webhook, headers: &[(String, String)], body: &[u8]) -> Result<Vec<String>, String> {
    let payload = payload(headers, body)?;
    let mut out: Vec<String> = Vec::new();
    for pointer in &spec.ids {
        for v in select(&payload, pointer) {
            match v {
                Value::Array(items) => out.extend(items.iter().filter_map(|v| scalar(Some(v)))),
                v => out.extend(scalar(Some(v))),
            }
        }
    }
    if out.is_empty() {
        return Err(format!(
            "no ids at {} in the webhook body",
            spec.ids.join(", ")
        ));
    }
    let mut seen = std::collections::HashSet::new();
    out.retain(|id| seen.insert(id.clone()));
    Ok(out)
}

fn hex(s: &str) -> Option<Vec<u8>> {
    if s.is_empty() || !s.len().is_multiple_of(2) || !s.bytes().all(|b| b.is_ascii_hexdigit()) {
        return None;
    }
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).ok())
        .collect()
}

fn base64(s: &str) -> Option<Vec<u8>> {
    const A: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut bits = 0u32;
    let mut n = 0;
    let mut out = Vec::new();
    for b in s.trim_end_matches('=').bytes() {
        let v = A.iter().position(|&a| a == b)? as u32;
        bits = (bits << 6) | v;
        n += 6;
        if n >= 8 {
            n -= 8;
            out.push((bits >> n) as u8);
        }
    }
    Some(out)
}

#[cfg(test)]
mod tests;
