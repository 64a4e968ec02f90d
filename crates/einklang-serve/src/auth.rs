//! API tokens: made here (`ek_` and 32 random bytes from the operating
//! system, hex), kept as their SHA-256 hash ([`einklang_store::ApiTokens`]),
//! checked on every request from `Authorization: Bearer <token>` — or,
//! for the dashboard's pages and script, from a signed-in session's
//! cookie ([`crate::dashboard::session`], CSRF-checked).
//!
//! No token, an unknown or revoked one → 401; a role below the route's →
//! 403; an object of another tenant is never found (404), since every
//! store call is scoped to the token's tenant.

use crate::{ApiError, Shared};
use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use einklang_store::{Role, TokenRow};
use sha2::{Digest, Sha256};
use std::sync::Arc;

/// A new token's text (shown once).
pub fn new_token() -> String {
    format!("ek_{}", random_hex())
}

/// 32 random bytes from the operating system, hex.
pub fn random_hex() -> String {
    let mut bytes = [0u8; 32];
    getrandom::fill(&mut bytes).expect("the operating system's random source");
    hex(&bytes)
}

/// The hash a token is kept as.
pub fn hash(token: &str) -> String {
    hex(&Sha256::digest(token.as_bytes()))
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// The caller of a request: its token's name, tenant and role.
#[derive(Clone, Debug)]
pub struct Caller(pub TokenRow);

impl Caller {
    /// The caller's tenant.
    pub fn tenant(&self) -> &str {
        &self.0.tenant
    }

    /// `Ok` when the caller's role is at least `role`.
    pub fn needs(&self, role: Role) -> Result<(), ApiError> {
        match self.0.role >= role {
            true => Ok(()),
            false => Err(ApiError::Forbidden(format!(
                "token `{}` is {}; this needs {}",
                self.0.name,
                self.0.role.as_str(),
                role.as_str()
            ))),
        }
    }

    /// What runs it triggers are recorded as triggered by: `token:<name>`,
    /// or `<email> (token:<name>)` when the caller names its user.
    pub fn triggered_by(&self, user: Option<&str>) -> String {
        match user.map(str::trim).filter(|u| !u.is_empty()) {
            Some(u) => format!("{} (token:{})", crate::clip(u, 200), self.0.name),
            None => format!("token:{}", self.0.name),
        }
    }
}

impl FromRequestParts<Arc<Shared>> for Caller {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &Arc<Shared>) -> Result<Self, ApiError> {
        let header = parts
            .headers
            .get(axum::http::header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok());
        let hashed = match header {
            Some(header) => {
                let Some(token) = header.strip_prefix("Bearer ").map(str::trim) else {
                    return Err(ApiError::Unauthorized(
                        "no `Authorization: Bearer <token>` header".into(),
                    ));
                };
                hash(token)
            }
            None => session_token(parts, state)?,
        };
        let row = state.with_store(move |s| s.token_by_hash(&hashed)).await?;
        match row {
            Some(row) => Ok(Caller(row)),
            None => Err(ApiError::Unauthorized("unknown or revoked token".into())),
        }
    }
}

/// The token hash of the dashboard session the request's cookie names
/// ([`crate::dashboard::session`]); a request that changes something
/// must carry the session's CSRF token in `X-CSRF-Token`.
fn session_token(parts: &Parts, state: &Shared) -> Result<String, ApiError> {
    use crate::dashboard::session::{cookie, same_secret, COOKIE};
    let session = cookie(&parts.headers, COOKIE)
        .and_then(|id| state.sessions.get(id))
        .ok_or_else(|| {
            ApiError::Unauthorized(
                "no `Authorization: Bearer <token>` header (nor a dashboard session)".into(),
            )
        })?;
    let safe = matches!(
        parts.method,
        axum::http::Method::GET | axum::http::Method::HEAD
    );
    let csrf = parts
        .headers
        .get("x-csrf-token")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    if !safe && !same_secret(csrf, &session.csrf) {
        return Err(ApiError::Forbidden(
            "a dashboard session's change needs its CSRF token in `X-CSRF-Token`".into(),
        ));
    }
    Ok(session.token_hash)
}
