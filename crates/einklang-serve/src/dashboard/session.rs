//! Dashboard sessions: signing in with an API token makes a session — a
//! random id in an `HttpOnly`, `SameSite=Strict` cookie — that stands
//! for that token until it is revoked, the person signs out or the
//! session idles for [`IDLE`]. The token itself never reaches the page.
//!
//! Each session has a CSRF token: a request the cookie authenticates
//! that changes something (anything but GET and HEAD) must carry it in
//! `X-CSRF-Token` (the dashboard's script does) or a form field `csrf`
//! (sign-out), else 403 — a page of another site cannot read it.
//!
//! Sessions live in this process's memory: a restart signs everyone
//! out; behind a load balancer give each process its own sessions
//! (sticky) or sign in per process.

use crate::auth::random_hex;
use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// The cookie holding the session id.
pub const COOKIE: &str = "einklang_session";
/// A session unused this long ends.
pub const IDLE: Duration = Duration::from_secs(12 * 3600);
/// The most sessions kept; the oldest are dropped beyond.
const MAX: usize = 10_000;

/// One signed-in browser.
#[derive(Clone, Debug)]
pub struct Session {
    /// The hash of the token signed in with.
    pub token_hash: String,
    /// What state-changing requests must carry.
    pub csrf: String,
    last_used: Instant,
}

/// The sessions of this process.
#[derive(Default)]
pub struct Sessions(Mutex<HashMap<String, Session>>);

impl Sessions {
    /// A new session for the token of `token_hash`: its id.
    pub fn open(&self, token_hash: String) -> String {
        let id = random_hex();
        let mut all = self.0.lock().unwrap_or_else(|p| p.into_inner());
        let now = Instant::now();
        all.retain(|_, s| now.duration_since(s.last_used) < IDLE);
        if all.len() >= MAX {
            if let Some(oldest) = all
                .iter()
                .min_by_key(|(_, s)| s.last_used)
                .map(|(k, _)| k.clone())
            {
                all.remove(&oldest);
            }
        }
        all.insert(
            id.clone(),
            Session {
                token_hash,
                csrf: random_hex(),
                last_used: now,
            },
        );
        id
    }

    /// The live session of `id`, marked as used.
    pub fn get(&self, id: &str) -> Option<Session> {
        let mut all = self.0.lock().unwrap_or_else(|p| p.into_inner());
        let now = Instant::now();
        match all.get_mut(id) {
            Some(s) if now.duration_since(s.last_used) < IDLE => {
                s.last_used = now;
                Some(s.clone())
            }
            Some(_) => {
                all.remove(id);
                None
            }
            None => None,
        }
    }

    /// End session `id`.
    pub fn close(&self, id: &str) {
        self.0.lock().unwrap_or_else(|p| p.into_inner()).remove(id);
    }
}

/// The value of cookie `name` in a request's `Cookie` headers.
pub fn cookie<'a>(headers: &'a axum::http::HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get_all(axum::http::header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|kv| kv.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v.trim())
}

/// Whether `given` is `expected`, in time that does not depend on where
/// they differ.
pub fn same_secret(given: &str, expected: &str) -> bool {
    given.len() == expected.len()
        && given
            .bytes()
            .zip(expected.bytes())
            .fold(0u8, |acc, (a, b)| acc | (a ^ b))
            == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_session_stands_for_its_token_until_closed() {
        let s = Sessions::default();
        let id = s.open("hash".into());
        let got = s.get(&id).expect("open");
        assert_eq!(got.token_hash, "hash");
        assert_eq!(got.csrf.len(), 64);
        assert_ne!(got.csrf, id);
        assert!(s.get("other").is_none());
        s.close(&id);
        assert!(s.get(&id).is_none());
    }

    #[test]
    fn cookies_and_secrets() {
        let mut h = axum::http::HeaderMap::new();
        h.insert(
            axum::http::header::COOKIE,
            "a=1; einklang_session=abc ; lang=de".parse().unwrap(),
        );
        assert_eq!(cookie(&h, COOKIE), Some("abc"));
        assert_eq!(cookie(&h, "lang"), Some("de"));
        assert_eq!(cookie(&h, "x"), None);
        assert!(same_secret("abc", "abc"));
        assert!(!same_secret("abc", "abd"));
        assert!(!same_secret("ab", "abc"));
    }
}
