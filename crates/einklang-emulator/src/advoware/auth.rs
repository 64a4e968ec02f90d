//! Advoware's token request. Seed 002 configures it with an API key
//! ("base64 encoded"), user, password, Kanzlei and database, and its
//! troubleshooting names an HMAC signature; public Advoware clients send
//! `POST {security gateway}/api/v1/Token` with the JSON body `{AppID,
//! Kanzlei, Database, User, Role, Product, Password, Nonce,
//! HMAC512Signature, RequestTimeStamp}`, where the signature is
//! `base64(HMAC-SHA512(base64decode(apiKey), "{Product}:{AppID}:{Nonce}:
//! {RequestTimeStamp}"))`, and get `{access_token, expires_in}` for
//! `Authorization: Bearer`. The refusal's body is not documented; this
//! emulator answers `401 {"error": …}`.

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use hmac::{Hmac, KeyInit, Mac};
use serde_json::Value;
use sha2::Sha512;

/// The credentials the emulated Kanzlei accepts.
#[derive(Clone, Debug)]
pub struct Credentials {
    /// `AppID`.
    pub app_id: String,
    /// The API key, base64 (the HMAC key is its decoded bytes).
    pub api_key: String,
    /// `User`.
    pub user: String,
    /// `Password`.
    pub password: String,
    /// `Kanzlei`.
    pub kanzlei: String,
    /// `Database`.
    pub database: String,
}

impl Default for Credentials {
    fn default() -> Credentials {
        Credentials {
            app_id: "einklang-app".into(),
            api_key: STANDARD.encode("advoware-test-key"),
            user: "einklang".into(),
            password: "advo-pass".into(),
            kanzlei: "KANZLEI".into(),
            database: "ADVOWARE".into(),
        }
    }
}

/// The signature a client computes.
pub fn sign(
    api_key: &str,
    product: &str,
    app_id: &str,
    nonce: &str,
    timestamp: &str,
) -> Option<String> {
    let key = STANDARD.decode(api_key).ok()?;
    let mut mac = Hmac::<Sha512>::new_from_slice(&key).ok()?;
    mac.update(format!("{product}:{app_id}:{nonce}:{timestamp}").as_bytes());
    Some(STANDARD.encode(mac.finalize().into_bytes()))
}

/// Why a token request is refused (`None`: it is good).
pub fn check(c: &Credentials, body: &Value) -> Option<&'static str> {
    let s = |k: &str| {
        body.get(k)
            .map(|v| v.as_str().map_or(v.to_string(), str::to_string))
            .unwrap_or_default()
    };
    if s("AppID") != c.app_id || s("Kanzlei") != c.kanzlei || s("Database") != c.database {
        return Some("unknown application, Kanzlei or database");
    }
    if s("User") != c.user || s("Password") != c.password {
        return Some("wrong user or password");
    }
    let want = sign(
        &c.api_key,
        &s("Product"),
        &s("AppID"),
        &s("Nonce"),
        &s("RequestTimeStamp"),
    );
    if s("Nonce").is_empty()
        || s("RequestTimeStamp").is_empty()
        || want.as_deref() != Some(s("HMAC512Signature").as_str())
    {
        return Some("invalid HMAC512Signature");
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn the_signature_matches_a_public_client_s_test_vector() {
        // advoware-client.mjs's test: key base64("test-secret-key"), app
        // "app-123", nonce "nonce-abc", 2026-08-30T00:00:00.000Z, product 64.
        let key = STANDARD.encode("test-secret-key");
        let sig = sign(
            &key,
            "64",
            "app-123",
            "nonce-abc",
            "2026-08-30T00:00:00.000Z",
        )
        .unwrap();
        assert_eq!(sig, "o7rz9KmoXZs550HfzO6ffiG17XwiPmlBHlksUYKZ3jcfolELow51Fw5KlrQqCK5y41aIValDjrh1iQ2GZ2WtqQ==");
    }

    #[test]
    fn a_request_needs_every_credential_and_a_good_signature() {
        let c = Credentials::default();
        let sig = sign(&c.api_key, "64", &c.app_id, "n1", "2026-01-26T10:00:00Z").unwrap();
        let good = json!({"AppID": c.app_id, "Kanzlei": c.kanzlei, "Database": c.database, "User": c.user, "Role": 2, "Product": 64,
                          "Password": c.password, "Nonce": "n1", "HMAC512Signature": sig, "RequestTimeStamp": "2026-01-26T10:00:00Z"});
        assert_eq!(check(&c, &good), None);
        for (k, v) in [
            ("Password", "x"),
            ("Nonce", "n2"),
            ("Kanzlei", "OTHER"),
            ("HMAC512Signature", "AAAA"),
        ] {
            let mut bad = good.clone();
            bad[k] = json!(v);
            assert!(check(&c, &bad).is_some(), "{k}");
        }
    }
}
