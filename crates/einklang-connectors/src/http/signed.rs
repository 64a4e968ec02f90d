//! Signed token requests (`auth = { signed_token = { … } }`): APIs that
//! hand out a bearer token only for a request signed with an API key.
//! Each scheme is named and sends exactly its fields — no templating.
//!
//! `scheme = "advoware"` (seed 002): `POST {url}` with the JSON body
//!
//! ```json
//! {"AppID": app_id, "Kanzlei": kanzlei, "Database": database, "User": user,
//!  "Role": role, "Product": product, "Password": password,
//!  "Nonce": "<a fresh UUID>", "RequestTimeStamp": "2026-01-26T10:00:00.000Z",
//!  "HMAC512Signature": "<base64>"}
//! ```
//!
//! where the signature is `base64(HMAC-SHA512(key = base64decode(api_key),
//! "{product}:{app_id}:{nonce}:{timestamp}"))`; the answer is
//! `{access_token, expires_in, …}`. Caching, sharing and renewal are
//! `token`'s.

use super::spec::TokenScheme;
use super::token::TokenRequest;
use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use hmac::{Hmac, KeyInit, Mac};
use serde_json::json;
use sha2::Sha512;

/// The bytes of a base64 text (padded, standard alphabet; surrounding
/// blanks ignored), `None` if it is not base64.
pub(super) fn base64_decode(text: &str) -> Option<Vec<u8>> {
    STANDARD.decode(text.trim()).ok()
}

/// Advoware's `HMAC512Signature`; `None` if the key is not base64.
pub(super) fn advoware_signature(
    api_key: &str,
    product: u64,
    app_id: &str,
    nonce: &str,
    timestamp: &str,
) -> Option<String> {
    let key = base64_decode(api_key)?;
    let mut mac = Hmac::<Sha512>::new_from_slice(&key).ok()?;
    mac.update(format!("{product}:{app_id}:{nonce}:{timestamp}").as_bytes());
    Some(STANDARD.encode(mac.finalize().into_bytes()))
}

/// A random (version 4) UUID, as a nonce.
fn uuid() -> String {
    let mut b: [u8; 16] = std::array::from_fn(|_| fastrand::u8(..));
    b[6] = (b[6] & 0x0f) | 0x40;
    b[8] = (b[8] & 0x3f) | 0x80;
    let h: String = b.iter().map(|x| format!("{x:02x}")).collect();
    format!(
        "{}-{}-{}-{}-{}",
        &h[..8],
        &h[8..12],
        &h[12..16],
        &h[16..20],
        &h[20..]
    )
}

/// The token request of a scheme, with a fresh nonce and time stamp.
/// Errors start with `auth:`.
pub(super) fn request(url: &str, scheme: &TokenScheme) -> Result<TokenRequest, String> {
    let TokenScheme::Advoware {
        app_id,
        api_key,
        kanzlei,
        database,
        user,
        password,
        role,
        product,
    } = scheme;
    let nonce = uuid();
    let stamp = chrono::Utc::now()
        .format("%Y-%m-%dT%H:%M:%S%.3fZ")
        .to_string();
    let signature = advoware_signature(api_key, *product, app_id, &nonce, &stamp)
        .ok_or("auth:signed_token: `api_key` is not base64")?;
    let body = json!({
        "AppID": app_id,
        "Kanzlei": kanzlei,
        "Database": database,
        "User": user,
        "Role": role,
        "Product": product,
        "Password": password,
        "Nonce": nonce,
        "RequestTimeStamp": stamp,
        "HMAC512Signature": signature,
    });
    Ok(TokenRequest {
        url: url.to_string(),
        content_type: "application/json",
        body: body.to_string(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use einklang_emulator::advoware::auth;

    #[test]
    fn the_signature_is_the_emulator_s() {
        let key = STANDARD.encode("advoware-test-key");
        for (product, app, nonce, stamp) in [
            (
                64,
                "einklang-app",
                "3f2b8c1e-0000-4000-8000-000000000001",
                "2026-01-26T10:00:00.000Z",
            ),
            (1, "app-123", "nonce-abc", "2026-08-30T00:00:00.000Z"),
        ] {
            assert_eq!(
                advoware_signature(&key, product, app, nonce, stamp),
                auth::sign(&key, &product.to_string(), app, nonce, stamp),
            );
        }
        assert_eq!(advoware_signature("not base64!", 64, "a", "n", "t"), None);
    }

    #[test]
    fn the_request_passes_the_emulator_s_check() {
        let c = auth::Credentials::default();
        let scheme = TokenScheme::Advoware {
            app_id: c.app_id.clone(),
            api_key: c.api_key.clone(),
            kanzlei: c.kanzlei.clone(),
            database: c.database.clone(),
            user: c.user.clone(),
            password: c.password.clone(),
            role: 2,
            product: 64,
        };
        let r = request("http://x/api/v1/Token", &scheme).unwrap();
        assert_eq!(r.content_type, "application/json");
        let body: serde_json::Value = serde_json::from_str(&r.body).unwrap();
        assert_eq!(auth::check(&c, &body), None, "{body}");
        assert_eq!(
            (body["Role"].as_u64(), body["Product"].as_u64()),
            (Some(2), Some(64))
        );
        let stamp = body["RequestTimeStamp"].as_str().unwrap();
        assert!(stamp.len() == 24 && stamp.ends_with('Z'), "{stamp}");
        let nonce = body["Nonce"].as_str().unwrap();
        assert!(nonce.len() == 36 && nonce.as_bytes()[14] == b'4', "{nonce}");
        let again = request("http://x/api/v1/Token", &scheme).unwrap();
        assert_ne!(r.body, again.body, "a fresh nonce each time");
    }
}
