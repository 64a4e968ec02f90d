//! OAuth2 client credentials (Microsoft 365 Graph style) for the `http`
//! client: a token is requested with the client id and secret, cached
//! until shortly before its `expires_in`, and renewed once more when the
//! API answers 401 (see `client`). The token request is a remote call like
//! any other: traced, and a busy server (429, 503 with `Retry-After`)
//! is waited out before the connector's first request can even be sent.
//!
//! Tokens are shared by every client of the process with the same realm
//! (token URL, client id, secret and scope): the instances of one
//! connector (three mailboxes of one Microsoft 365 tenant) or several
//! connectors of one app registration make one token request, not one
//! each. A token the API refused (401) is dropped for all of them.
//!
//! A token request to the API's own host counts against its `rate_limit`
//! (that server counts it too); one to another host (Microsoft's login
//! server for Graph) does not.

use super::client::{Client, Reply};
use super::spec::Auth;
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

fn realm(auth: &Auth) -> Option<Realm> {
    let Auth::OAuth2 {
        token_url,
        client_id,
        client_secret,
        scope,
    } = auth
    else {
        return None;
    };
    let mut h = Sha256::new();
    for part in [token_url, client_id, client_secret] {
        h.update(part.as_bytes());
        h.update([0]);
    }
    h.update(scope.as_deref().unwrap_or_default().as_bytes());
    Some(h.finalize().into())
}

fn shared() -> std::sync::MutexGuard<'static, HashMap<Realm, (String, Instant)>> {
    SHARED.lock().unwrap_or_else(|e| e.into_inner())
}

impl Client {
    /// A cached client-credentials token, or a new one. Errors start with
    /// `auth:` (not retried as transport failures).
    pub(super) fn oauth2_token(&mut self) -> Result<String, String> {
        if let Some((t, until)) = &self.token {
            if Instant::now() < *until {
                return Ok(t.clone());
            }
        }
        let key = realm(&self.auth);
        let cached = key.and_then(|k| shared().get(&k).cloned());
        if let Some((t, until)) = cached.filter(|(_, until)| Instant::now() < *until) {
            tracing::debug!(target: "einklang::remote", "oauth2 token shared with another client of the same realm");
            self.token = Some((t.clone(), until));
            return Ok(t);
        }
        let Auth::OAuth2 {
            token_url,
            client_id,
            client_secret,
            scope,
        } = &self.auth
        else {
            return Err("auth:not OAuth2".into());
        };
        let token_url = token_url.clone();
        let enc = crate::dav::percent_encode;
        let mut form = format!(
            "grant_type=client_credentials&client_id={}&client_secret={}",
            enc(client_id),
            enc(client_secret)
        );
        if let Some(s) = scope {
            form.push_str(&format!("&scope={}", enc(s)));
        }
        let reply = self.token_reply(&token_url, &form)?;
        let answer: Value = serde_json::from_str(&reply.body).unwrap_or(Value::Null);
        let Some(token) = answer.get("access_token").and_then(Value::as_str) else {
            return Err(format!(
                "auth:token request to {token_url} → {}: no access_token in the answer: {}",
                reply.status,
                excerpt(reply.body.trim(), 120)
            ));
        };
        let lifetime = answer
            .get("expires_in")
            .and_then(Value::as_u64)
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

    /// The answer to the token request, a busy server waited out.
    fn token_reply(&mut self, token_url: &str, form: &str) -> Result<Reply, String> {
        let mut attempt = 1;
        loop {
            let req = ureq::http::Request::builder()
                .method("POST")
                .uri(token_url)
                .header("Content-Type", "application/x-www-form-urlencoded")
                .header("Accept", "application/json")
                .body(form.to_string())
                .map_err(|e| format!("auth:{e}"))?;
            self.calls += 1;
            let counted = self.same_origin(token_url);
            let result = self.run("POST", token_url, req, counted);
            let reply = result.map_err(|e| format!("auth:token request to {token_url}: {e}"))?;
            match self
                .retry
                .wait_out(reply.status, reply.retry_after, attempt)
            {
                Some(wait) => self.waiting("POST", token_url, reply.status, wait, attempt),
                None => return Ok(reply),
            }
            attempt += 1;
        }
    }
}
