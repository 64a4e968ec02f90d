//! Bearer tokens the `http` client requests itself — OAuth2 client
//! credentials (`oauth2`) and signed token requests (`signed`): a token is
//! cached until shortly before its `expires_in`, and renewed once more when
//! the API answers 401 (see `client`). The token request is a remote call
//! like any other: traced, and a busy server (429, 503 with `Retry-After`)
//! is waited out before the connector's first request can even be sent.
//!
//! Tokens are shared by every client of the process with the same realm
//! (a hash of the token URL and every credential the request carries): the
//! instances of one connector (three mailboxes of one Microsoft 365 tenant)
//! or several connectors of one app registration make one token request,
//! not one each. A token the API refused (401) is dropped for all of them.
//!
//! A token request to the API's own host counts against its `rate_limit`
//! (that server counts it too); one to another host (Microsoft's login
//! server for Graph) does not.

use super::client::{Client, Reply};
use super::spec::{Auth, TokenScheme};
use crate::excerpt;
use serde_json::Value;
use sha2::{Digest, Sha256};
use std::collections::HashMap;
use std::sync::{LazyLock, Mutex};
use std::time::{Duration, Instant};

/// A realm's hash (the secret never stays in memory as a key).
type Realm = [u8; 32];

/// Tokens by realm, until when they are good.
static SHARED: LazyLock<Mutex<HashMap<Realm, (String, Instant)>>> =
    LazyLock::new(|| Mutex::new(HashMap::new()));

/// A token request: URL, `Content-Type` and body.
pub(super) struct TokenRequest {
    pub url: String,
    pub content_type: &'static str,
    pub body: String,
}

/// Whether an `auth` gets its bearer token from a token request.
pub(super) fn requests_tokens(auth: &Auth) -> bool {
    matches!(auth, Auth::OAuth2 { .. } | Auth::SignedToken { .. })
}

fn realm(auth: &Auth) -> Option<Realm> {
    let parts: Vec<String> = match auth {
        Auth::OAuth2 {
            token_url,
            client_id,
            client_secret,
            scope,
        } => vec![
            "oauth2".into(),
            token_url.clone(),
            client_id.clone(),
            client_secret.clone(),
            scope.clone().unwrap_or_default(),
        ],
        Auth::SignedToken {
            url,
            scheme:
                TokenScheme::Advoware {
                    app_id,
                    api_key,
                    kanzlei,
                    database,
                    user,
                    password,
                    role,
                    product,
                },
        } => vec![
            "advoware".into(),
            url.clone(),
            app_id.clone(),
            api_key.clone(),
            kanzlei.clone(),
            database.clone(),
            user.clone(),
            password.clone(),
            role.to_string(),
            product.to_string(),
        ],
        _ => return None,
    };
    let mut h = Sha256::new();
    for part in parts {
        h.update(part.as_bytes());
        h.update([0]);
    }
    Some(h.finalize().into())
}

fn shared() -> std::sync::MutexGuard<'static, HashMap<Realm, (String, Instant)>> {
    SHARED.lock().unwrap_or_else(|e| e.into_inner())
}

impl Client {
    /// A cached token, or a new one. Errors start with `auth:` (not
    /// retried as transport failures).
    pub(super) fn bearer_token(&mut self) -> Result<String, String> {
        if let Some((t, until)) = &self.token {
            if Instant::now() < *until {
                return Ok(t.clone());
            }
        }
        let key = realm(&self.auth);
        let cached = key.and_then(|k| shared().get(&k).cloned());
        if let Some((t, until)) = cached.filter(|(_, until)| Instant::now() < *until) {
            tracing::debug!(target: "einklang::remote", "token shared with another client of the same realm");
            self.token = Some((t.clone(), until));
            return Ok(t);
        }
        let request = match &self.auth {
            Auth::OAuth2 {
                token_url,
                client_id,
                client_secret,
                scope,
            } => super::oauth2::request(token_url, client_id, client_secret, scope.as_deref()),
            Auth::SignedToken { url, scheme } => super::signed::request(url, scheme)?,
            _ => return Err("auth:no token request for this auth".into()),
        };
        let reply = self.token_reply(&request)?;
        let url = request.url;
        let answer: Value = serde_json::from_str(&reply.body).unwrap_or(Value::Null);
        let Some(token) = answer.get("access_token").and_then(Value::as_str) else {
            return Err(format!(
                "auth:token request to {url} → {}: no access_token in the answer: {}",
                reply.status,
                excerpt(reply.body.trim(), 120)
            ));
        };
        let lifetime = answer
            .get("expires_in")
            .and_then(|v| v.as_u64().or_else(|| v.as_str()?.parse().ok()))
            .unwrap_or(3600);
        // renew a little early: a token must not expire in flight
        let margin = (lifetime / 10).clamp(1, 60);
        let until = Instant::now() + Duration::from_secs(lifetime.saturating_sub(margin));
        self.token = Some((token.to_string(), until));
        if let Some(k) = key {
            shared().insert(k, (token.to_string(), until));
        }
        Ok(token.to_string())
    }

    /// Drop the token the API refused, here and for every client sharing
    /// it (one that another client renewed meanwhile stays).
    pub(super) fn forget_token(&mut self) {
        let Some((refused, _)) = self.token.take() else {
            return;
        };
        if let Some(k) = realm(&self.auth) {
            let mut all = shared();
            if all.get(&k).is_some_and(|(t, _)| *t == refused) {
                all.remove(&k);
            }
        }
    }

    /// The answer to the token request, a busy server waited out. (A
    /// signed request is sent again as it is: its nonce and time stamp are
    /// the ones the server did not process.)
    fn token_reply(&mut self, request: &TokenRequest) -> Result<Reply, String> {
        let url = request.url.as_str();
        let mut attempt = 1;
        loop {
            let req = ureq::http::Request::builder()
                .method("POST")
                .uri(url)
                .header("Content-Type", request.content_type)
                .header("Accept", "application/json")
                .body(request.body.clone())
                .map_err(|e| format!("auth:{e}"))?;
            self.calls += 1;
            let counted = self.same_origin(url);
            let result = self.run("POST", url, req, counted);
            let reply = result.map_err(|e| format!("auth:token request to {url}: {e}"))?;
            match self
                .retry
                .wait_out(reply.status, reply.retry_after, attempt)
            {
                Some(wait) => self.waiting("POST", url, reply.status, wait, attempt),
                None => return Ok(reply),
            }
            attempt += 1;
        }
    }
}
