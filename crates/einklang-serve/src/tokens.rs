//! Token management over HTTP, for admins, within their own tenant —
//! what `einklang token create|list|revoke` does on the command line.
//!
//! | route | role |
//! | --- | --- |
//! | `GET /api/tokens` | admin |
//! | `POST /api/tokens` `{"name", "role"}` | admin: 201 with the token, shown this once |
//! | `DELETE /api/tokens/{name}` | admin: 204; 404 when there is no live token of that name |

use crate::answers::{NewTokenAnswer, Tokens};
use crate::auth::Caller;
use crate::{ApiError, Shared};
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use einklang_store::Role;
use serde::Deserialize;
use std::sync::Arc;

/// `GET /api/tokens`.
#[utoipa::path(get, path = "/api/tokens", tag = "tokens", security(("token" = [])), responses((status = 200, body = crate::answers::Tokens, description = "`tokens`: name, role, created, last used, revoked — never the token"), (status = 401, body = crate::answers::ErrorAnswer, description = "no token, or an unknown or revoked one"), (status = 403, body = crate::answers::ErrorAnswer, description = "the token's role is too low")))]
pub(crate) async fn list(
    State(s): State<Arc<Shared>>,
    caller: Caller,
) -> Result<Json<Tokens>, ApiError> {
    caller.needs(Role::Admin)?;
    let tenant = caller.tenant().to_string();
    let rows = s.with_store(move |st| st.tokens(&tenant)).await?;
    Ok(Json(Tokens { tokens: rows }))
}

#[derive(Deserialize, utoipa::ToSchema)]
pub(crate) struct NewToken {
    /// Its name (unique among the tenant's live tokens).
    name: String,
    /// viewer, operator or admin.
    role: String,
}

/// `POST /api/tokens`.
#[utoipa::path(post, path = "/api/tokens", tag = "tokens", security(("token" = [])), request_body = NewToken, responses((status = 201, body = crate::answers::NewTokenAnswer, description = "`token` (shown this once), `name`, `role`"), (status = 400, body = crate::answers::ErrorAnswer, description = "an unknown role, or a name that is empty or too long"), (status = 401, body = crate::answers::ErrorAnswer, description = "no token, or an unknown or revoked one"), (status = 403, body = crate::answers::ErrorAnswer, description = "the token's role is too low"), (status = 409, body = crate::answers::ErrorAnswer, description = "a live token has that name")))]
pub(crate) async fn create(
    State(s): State<Arc<Shared>>,
    caller: Caller,
    Json(t): Json<NewToken>,
) -> Result<Response, ApiError> {
    caller.needs(Role::Admin)?;
    let role = Role::parse(&t.role).ok_or_else(|| {
        ApiError::BadRequest(format!(
            "unknown role `{}`: viewer, operator or admin",
            crate::clip(&t.role, 20)
        ))
    })?;
    let name = t.name.trim().to_string();
    if name.is_empty() || name.chars().count() > 100 || name.chars().any(char::is_control) {
        return Err(ApiError::BadRequest(
            "a token's name is 1–100 printable characters".into(),
        ));
    }
    let token = crate::auth::new_token();
    let hash = crate::auth::hash(&token);
    let (tenant, n) = (caller.tenant().to_string(), name.clone());
    if !s
        .with_store(move |st| st.add_token(&tenant, &n, role, &hash))
        .await?
    {
        return Err(ApiError::Conflict(format!(
            "a live token is named `{}`: revoke it first or pick another name",
            crate::clip(&name, 100)
        )));
    }
    tracing::info!(name = %name, role = role.as_str(), by = %caller.0.name, "API token created");
    Ok((
        StatusCode::CREATED,
        Json(NewTokenAnswer { token, name, role }),
    )
        .into_response())
}

/// `DELETE /api/tokens/{name}`.
#[utoipa::path(delete, path = "/api/tokens/{name}", tag = "tokens", security(("token" = [])), params(("name" = String, Path)), responses((status = 204, description = "revoked"), (status = 401, body = crate::answers::ErrorAnswer, description = "no token, or an unknown or revoked one"), (status = 403, body = crate::answers::ErrorAnswer, description = "the token's role is too low"), (status = 404, body = crate::answers::ErrorAnswer, description = "no live token of that name")))]
pub(crate) async fn revoke(
    State(s): State<Arc<Shared>>,
    caller: Caller,
    Path(name): Path<String>,
) -> Result<StatusCode, ApiError> {
    caller.needs(Role::Admin)?;
    let (tenant, n) = (caller.tenant().to_string(), name.clone());
    match s.with_store(move |st| st.revoke_token(&tenant, &n)).await? {
        true => {
            tracing::info!(name = %name, by = %caller.0.name, "API token revoked");
            Ok(StatusCode::NO_CONTENT)
        }
        false => Err(ApiError::NotFound(format!(
            "no live token named `{}`",
            crate::clip(&name, 100)
        ))),
    }
}
