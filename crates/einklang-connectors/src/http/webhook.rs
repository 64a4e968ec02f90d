//! The `webhook` settings of an `http` connector and checking an incoming
//! call against them.
//!
//! The signature is an HMAC-SHA256 with the shared secret over the raw
//! body — or over `signed`, a template of `{timestamp}` and `{body}` for
//! APIs that sign a timestamp with it (Stripe: `"{timestamp}.{body}"`,
//! Slack: `"v0:{timestamp}:{body}"`) — in hex or base64, each value of the
//! header may carry a `name=` prefix (`sha256=`, `v0=`, `v1=`) and several
//! may be given comma-separated (Stripe's `t=…,v1=…`); the MAC is compared
//! in constant time. A signed timestamp (seconds since 1970, or the `t=`
//! item of its header) must lie within `tolerance_s` of this clock. The
//! ids sit at JSON pointers of the payload (Directus flows: `/key` and
//! `/keys`), as one value or a list; the records are then read by id like
//! any other change.
//!
//! What a copy of a call would repeat (its MAC, its delivery id) is handed
//! to the receiver, which remembers it for `replay_window_s`; this module
//! keeps no state.

use super::spec::Check;
use super::template::{at, scalar};
use crate::Delivery;
use hmac::{Hmac, KeyInit, Mac};
use serde_json::{Map, Value};
use sha2::Sha256;
use std::time::Duration;

/// A webhook: how an incoming call is checked and where its ids are.
#[derive(Clone, Debug, PartialEq)]
pub struct Webhook {
    /// Header with the signature (`X-Hub-Signature-256`).
    pub signature_header: String,
    /// Shared secret of the HMAC-SHA256.
    pub secret: String,
    /// JSON pointers at which ids sit (a value or an array of values).
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
    "signature_header",
    "secret",
    "ids",
    "delivery_header",
    "timestamp_header",
    "signed",
    "tolerance_s",
    "replay_window_s",
];

/// Check the `webhook` table of a connector's settings.
pub(super) fn settings(c: &mut Check, v: Option<&Value>) -> Option<Webhook> {
    let t = c.table("webhook", v)?;
    c.unknown("webhook", t, KEYS);
    let header = c.text("webhook", t.get("signature_header"));
    let secret = c.text("webhook", t.get("secret"));
    let ids: Vec<String> = match t.get("ids") {
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
    match (header, secret, ids.is_empty()) {
        (Some(signature_header), Some(secret), false) => Some(Webhook {
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
            c.bad("webhook", "`webhook` needs `signature_header`, `secret` and `ids` (JSON pointers to the ids in the payload)");
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
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64);
    verify_at(spec, headers, body, now)
}

/// [`verify`] with the clock given (seconds since 1970).
pub fn verify_at(
    spec: &Webhook,
    headers: &[(String, String)],
    body: &[u8],
    now: i64,
) -> Result<Delivery, String> {
    let timestamp = match &spec.timestamp_header {
        Some(h) => Some(timestamp(h, header(headers, h)?)?),
        None => None,
    };
    let mac = signature(spec, headers, body, timestamp.map(|t| t.0))?;
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
    let mut keys = vec![format!("signature:{mac}")];
    keys.extend(id.iter().map(|id| format!("delivery:{id}")));
    let mut remember = spec.replay_window_s;
    if spec.timestamp_header.is_some() {
        // a copy stays refused as long as its timestamp is accepted
        remember = remember.max(2 * spec.tolerance_s);
    }
    Ok(Delivery {
        ids: ids(spec, body)?,
        id,
        keys,
        remember: Duration::from_secs(remember),
    })
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

/// The ids at the settings' pointers.
fn ids(spec: &Webhook, body: &[u8]) -> Result<Vec<String>, String> {
    let payload: Value =
        serde_json::from_slice(body).map_err(|e| format!("the webhook body is not JSON: {e}"))?;
    let mut out = Vec::new();
    for pointer in &spec.ids {
        match at(&payload, pointer) {
            Some(Value::Array(items)) => out.extend(items.iter().filter_map(|v| scalar(Some(v)))),
            Some(v) => out.extend(scalar(Some(v))),
            None => {}
        }
    }
    if out.is_empty() {
        return Err(format!(
            "no ids at {} in the webhook body",
            spec.ids.join(", ")
        ));
    }
    out.dedup();
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
