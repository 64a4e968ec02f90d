//! API tokens of `einklang serve`: each scoped to one tenant and one
//! role. The store keeps a token's SHA-256 hash only (the token itself is
//! shown once, when it is made), so a copy of the store grants nothing.
//! Revoked tokens stay, with the time, for the record.

use crate::{Result, StoreError};
use chrono::{DateTime, Utc};
use serde::Serialize;

/// What a token may do.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// Read everything of its tenant.
    Viewer,
    /// Also trigger runs, resolve conflicts, decide reviews.
    Operator,
    /// Also manage tokens.
    Admin,
}

impl Role {
    /// Name as stored and typed.
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Viewer => "viewer",
            Role::Operator => "operator",
            Role::Admin => "admin",
        }
    }

    /// Parse a stored or typed name.
    pub fn parse(s: &str) -> Option<Role> {
        Some(match s {
            "viewer" => Role::Viewer,
            "operator" => Role::Operator,
            "admin" => Role::Admin,
            _ => return None,
        })
    }
}

/// A token as stored (never the token itself).
#[derive(Clone, Debug, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct TokenRow {
    /// Its name (unique among the tenant's live tokens).
    pub name: String,
    /// Tenant.
    pub tenant: String,
    /// Role.
    pub role: Role,
    /// When made.
    pub created_at: DateTime<Utc>,
    /// When last used.
    pub last_used_at: Option<DateTime<Utc>>,
    /// When revoked.
    pub revoked_at: Option<DateTime<Utc>>,
}

/// The tokens (see the module docs).
pub trait ApiTokens {
    /// Keep a new token's hash. `false` when the tenant has a live token
    /// of that name.
    fn add_token(&mut self, tenant: &str, name: &str, role: Role, hash: &str) -> Result<bool>;

    /// The tenant's tokens, live and revoked, by name.
    fn tokens(&mut self, tenant: &str) -> Result<Vec<TokenRow>>;

    /// Revoke the live token `name`; `false` when there is none.
    fn revoke_token(&mut self, tenant: &str, name: &str) -> Result<bool>;

    /// The live token with this hash (any tenant), its use noted.
    fn token_by_hash(&mut self, hash: &str) -> Result<Option<TokenRow>>;
}

/// A token row's role as stored.
pub(crate) fn role(name: &str, stored: &str) -> Result<Role> {
    Role::parse(stored).ok_or_else(|| StoreError::Corrupt {
        what: format!("token `{name}`"),
        message: format!("unknown role `{stored}`"),
    })
}

/// Whether a token's last use is worth writing down again: once a minute
/// at most, so verifying a token is a read.
pub(crate) fn stale_use(last: Option<DateTime<Utc>>) -> bool {
    last.is_none_or(|t| Utc::now() - t > chrono::Duration::seconds(60))
}
