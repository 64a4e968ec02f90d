//! Checking an incoming webhook and finding the ids it names. The
//! signature is an HMAC-SHA256 of the raw body with the shared secret, in
//! hex or base64, with or without a `sha256=` prefix (GitHub, Shopify and
//! most SaaS APIs sign this way); it is compared in constant time. The ids
//! sit at JSON pointers of the payload (Directus flows: `/key` and
//! `/keys`), as one value or a list. The records are then read by id like
//! any other change.

use super::spec::Webhook;
use super::template::{at, scalar};
use hmac::{Hmac, KeyInit, Mac};
use serde_json::Value;
use sha2::Sha256;

/// The ids of a verified webhook call.
pub fn ids(
    spec: &Webhook,
    headers: &[(String, String)],
    body: &[u8],
) -> Result<Vec<String>, String> {
    let header = &spec.signature_header;
    let Some((_, given)) = headers.iter().find(|(k, _)| k.eq_ignore_ascii_case(header)) else {
        return Err(format!(
            "the webhook call has no `{header}` header: refused"
        ));
    };
    let given = given.trim();
    let given = given.strip_prefix("sha256=").unwrap_or(given);
    let signature = hex(given)
        .or_else(|| base64(given))
        .ok_or_else(|| format!("`{header}` is neither hex nor base64: refused"))?;
    let mut mac =
        Hmac::<Sha256>::new_from_slice(spec.secret.as_bytes()).map_err(|e| e.to_string())?;
    mac.update(body);
    mac.verify_slice(&signature)
        .map_err(|_| format!("the signature in `{header}` does not match the body: refused"))?;
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
    if !s.len().is_multiple_of(2) || !s.bytes().all(|b| b.is_ascii_hexdigit()) {
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
mod tests {
    use super::*;

    fn sign(secret: &str, body: &[u8]) -> String {
        let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).unwrap();
        mac.update(body);
        mac.finalize()
            .into_bytes()
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect()
    }

    #[test]
    fn verifies_and_extracts() {
        let spec = Webhook {
            signature_header: "X-Signature".into(),
            secret: "s3cret".into(),
            ids: vec!["/key".into(), "/keys".into()],
        };
        let body = br#"{"event":"contacts.items.update","keys":["1","2"],"collection":"contacts"}"#;
        let good = vec![(
            "x-signature".to_string(),
            format!("sha256={}", sign("s3cret", body)),
        )];
        assert_eq!(ids(&spec, &good, body).unwrap(), ["1", "2"]);
        let bad = vec![("X-Signature".to_string(), sign("other", body))];
        assert!(ids(&spec, &bad, body)
            .unwrap_err()
            .contains("does not match"));
        assert!(ids(&spec, &[], body)
            .unwrap_err()
            .contains("no `X-Signature` header"));
        let create = br#"{"event":"contacts.items.create","key":5}"#;
        let h = vec![("X-Signature".to_string(), sign("s3cret", create))];
        assert_eq!(ids(&spec, &h, create).unwrap(), ["5"]);
        assert_eq!(base64("aGk="), Some(b"hi".to_vec()));
    }
}
